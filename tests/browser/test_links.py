"""Withdrawing a link from the editor's Share menu, in a real browser: "New read-only link"
cuts off the page reading with the old one and hands the new one to its maker; "New edit
link" cuts off the other editor, takes its maker's tab to the new address (saying so), and
the old addresses answer 410. Refused while this tab has unsaved changes. 1280 and 390 px."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from browserkit import editor_text, open_editor, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def share(page: Any, item: str) -> None:
    page.click("#share summary")
    page.once("dialog", lambda d: d.accept())
    page.click(f"#{item}")


@pytest.mark.parametrize("width", [1280, 390])
def test_new_links_from_the_share_menu_cut_off_the_old_ones(new_context, server, doc, artifacts, width):
    size = {"width": width, "height": 800}
    ann: Any = open_editor(new_context(viewport=size), f"/d/{doc}", name="Ann")
    ann.click(".cm-content")
    ann.keyboard.type("shared text")
    wait_all_equal(server, doc, [ann])
    old_view = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10).json()["view_url"]
    reader: Any = open_editor(new_context(viewport=size), old_view.replace(server.url, ""))
    bob: Any = open_editor(new_context(viewport=size), f"/d/{doc}", name="Bob")

    share(ann, "new-view-link")
    ann.wait_for_selector("#file-note[data-kind='done']")
    note = ann.inner_text("#file-note")
    assert "New read-only link made" in note
    new_view = note.split(": ", 1)[1].split(" ", 1)[0]
    assert new_view.startswith(f"{server.url}/v/") and new_view != old_view
    reader.wait_for_selector("#status[data-state='deleted'][data-reason='rotated']")
    assert requests.get(old_view, timeout=10).status_code == 410
    assert requests.get(new_view, timeout=10).status_code == 200
    assert bob.get_attribute("#status", "data-state") == "connected"  # editors are not affected

    # not while this tab has changes the server has not acknowledged
    ann.context.set_offline(True)
    ann.wait_for_selector("#status[data-state=offline]")
    ann.click(".cm-content")
    ann.keyboard.press("Control+End")
    ann.keyboard.type(" and more")
    ann.wait_for_function("document.querySelector('#status').dataset.unsaved !== '0'")
    ann.click("#share summary")
    ann.click("#new-edit-link")
    ann.wait_for_selector("#file-note[data-kind='error']")
    assert "Wait until all changes are saved" in ann.inner_text("#file-note")
    ann.context.set_offline(False)
    assert wait_all_equal(server, doc, [ann, bob]) == "shared text and more"

    share(ann, "new-edit-link")
    ann.wait_for_url(lambda url: f"/d/{doc}" not in url)
    new_doc = ann.url.rsplit("/d/", 1)[1]
    ann.wait_for_function("window.collab && window.collab.conn.joined")
    assert "new edit link" in ann.inner_text("#file-note") and editor_text(ann) == "shared text and more"
    ann.screenshot(path=str(artifacts / f"links-new-edit-{width}.png"))
    bob.wait_for_selector("#status[data-state='deleted'][data-reason='renamed']")
    assert bob.inner_text("#status") == "This link no longer works"
    bob.screenshot(path=str(artifacts / f"links-cut-off-{width}.png"))
    assert requests.get(f"{server.url}/api/docs/{doc}", timeout=10).status_code == 410
    ann.click(".cm-content")
    ann.keyboard.press("Control+End")
    ann.keyboard.type(", under the new link")
    assert wait_all_equal(server, new_doc, [ann]) == "shared text and more, under the new link"
    # the read-only link made before the rename still works: a rename keeps it
    assert requests.get(new_view, timeout=10).status_code == 200
