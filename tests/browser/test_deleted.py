"""A document deleted while it is open in the browser: the editor says so for good (no retry
loop, no reconnecting), keeps the text on screen, and a reload shows the 410 page."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from browserkit import editor_text, open_editor, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_an_open_editor_shows_that_its_document_was_deleted(new_context, server, doc):
    page: Any = open_editor(new_context(), f"/d/{doc}", name="Ann")
    page.click(".cm-content")
    page.keyboard.type("soon gone")
    wait_all_equal(server, doc, [page])
    r = requests.delete(f"{server.url}/api/docs/{doc}", timeout=10)
    assert r.status_code == 200, r.text
    page.wait_for_selector("#status[data-state='deleted']")
    assert page.inner_text("#status") == "This document was deleted"
    assert "deleted" in page.inner_text("#notice") and page.is_visible("#notice")
    assert page.is_hidden("#retry")
    assert editor_text(page) == "soon gone"  # what was there stays, to be copied
    # stopped for good: the socket is closed and nothing is scheduled (no join or retry to come)
    assert page.evaluate("!window.collab.conn.socket.connected && !window.collab.conn.socket.active")
    assert page.evaluate("Object.values(window.collab.conn.loop._timers).every((t) => !t)")
    reload = page.reload()
    assert reload.status == 410 and "deleted" in page.inner_text("body")
