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
    # ... but takes no more typing, which could never be saved (the stranger's "LOST?"), and
    # the people menu is gone with the document
    page.click(".cm-content")
    page.keyboard.type("LOST?")
    assert editor_text(page) == "soon gone" and page.is_hidden("#people")
    # stopped for good: the socket is closed and nothing is scheduled (no join or retry to come)
    assert page.evaluate("!window.collab.conn.socket.connected && !window.collab.conn.socket.active")
    assert page.evaluate("Object.values(window.collab.conn.loop._timers).every((t) => !t)")
    reload = page.reload()
    assert reload.status == 410 and "deleted" in page.inner_text("body")


def test_an_open_editor_and_viewer_say_their_links_no_longer_work(new_context, server, doc):
    """A new view token retires the viewer's link (the editor goes on), then a rename the
    editor's: each page says "This link no longer works" with the reason, stops for good,
    and a reload shows the 410 page saying the same."""
    editor: Any = open_editor(new_context(), f"/d/{doc}", name="Ann")
    editor.click(".cm-content")
    editor.keyboard.type("kept")
    wait_all_equal(server, doc, [editor])
    view = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10).json()["view_url"].rsplit("/", 1)[1]
    viewer: Any = open_editor(new_context(), f"/v/{view}")
    r = requests.post(f"{server.url}/api/docs/{doc}/view-token", timeout=10)
    assert r.status_code == 200, r.text
    viewer.wait_for_selector("#status[data-state='deleted'][data-reason='rotated']")
    assert viewer.inner_text("#status") == "This link no longer works"
    assert "replaced by a new one" in viewer.inner_text("#notice") and viewer.is_hidden("#retry")
    assert editor_text(viewer) == "kept"
    # the editor goes on writing
    editor.keyboard.type(" on")
    assert wait_all_equal(server, doc, [editor]) == "kept on"
    assert editor.get_attribute("#status", "data-state") == "connected"
    r = requests.post(f"{server.url}/api/docs/{doc}/rename", json={"id": doc + "-b"}, timeout=10)
    assert r.status_code == 200, r.text
    editor.wait_for_selector("#status[data-state='deleted'][data-reason='renamed']")
    assert editor.inner_text("#status") == "This link no longer works"
    assert "renamed" in editor.inner_text("#notice") and editor_text(editor) == "kept on"
    for page in (editor, viewer):
        reload = page.reload()
        assert reload.status == 410 and "This link no longer works" in page.inner_text("body")
