"""Who restores and reverts on the history page: the name this browser uses in the editor
(frontend/src/dom.js, one "who am I" for both pages), also while it is being typed, and with
storage off, where each write had a new random "Guest NNN" (issue 13)."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from browserkit import editor_text, open_editor
from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NAME = "Zoë Tester 😀"
# a browser that blocks site data: every use of localStorage throws, as Chromium's does then
STORAGE_OFF = """Object.defineProperty(window, 'localStorage', {
  configurable: true, get() { throw new DOMException('Access is denied for this document.', 'SecurityError'); } });"""


def three_versions(server: Any, doc: str) -> None:
    with Document.open(server.url, doc, name="Ann") as ann:
        for text in ("one 😀\n", "two 中文\n", "three\n"):
            with ann.editing():
                ann.replace(len(ann.text), 0, text)
            ann.wait_synced()


def revisions(server: Any, doc: str, since: int) -> list[dict[str, Any]]:
    r = requests.get(f"{server.url}/api/docs/{doc}/revisions?since={since}", timeout=10)
    r.raise_for_status()
    return r.json()["revisions"]


def open_history(ctx: Any, doc: str) -> Any:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"/d/{doc}/history")
    page.wait_for_selector("#hist-text[data-state=text], #hist-text[data-state=blame]")
    return page


def slide(page: Any, v: int) -> None:
    page.eval_on_selector(
        "#slider", "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true})); }", v)
    page.wait_for_selector(f"#hist-text[data-version='{v}']")


def restore(page: Any, v: int) -> int:
    """Restore version v from the history page; the new version."""
    slide(page, v)
    page.click("#restore")
    page.click("#restore-confirm")
    page.wait_for_selector(f"#hist-notice:has-text('Restored v{v} as')")
    return int(page.text_content("#hist-notice").split("new version v")[1].split(".")[0])


def test_a_restore_and_a_revert_are_credited_to_the_name_set_in_the_editor(new_context, server, doc):
    three_versions(server, doc)
    ctx = new_context()
    editor = open_editor(ctx, f"/d/{doc}")
    editor.fill("#name", NAME)
    editor.press("#name", "Enter")
    page = open_history(ctx, doc)
    v = restore(page, 1)
    assert [r["author"] for r in revisions(server, doc, v - 1)] == [NAME]
    assert page.input_value("#name") == NAME  # the history page says who it writes as
    slide(page, 0)  # revert Ann since v0: the text she wrote, restored by Zoë, is still hers
    page.fill("#revert-author", "Ann")
    page.click("#revert-preview")
    page.click("#revert-apply")
    page.wait_for_selector("#hist-notice:has-text('Reverted Ann')")
    assert [r["author"] for r in revisions(server, doc, v)] == [NAME]
    # and the editor writes as the same person
    editor.click(".cm-content")
    editor.keyboard.press("Control+End")
    editor.keyboard.type("!")
    editor.wait_for_function("!window.collab.sync.unsaved")
    assert revisions(server, doc, v + 1)[-1]["author"] == NAME and editor_text(editor).endswith("!")
    assert not page.errors and not editor.errors


def test_a_name_being_typed_in_the_editor_is_the_one_an_open_history_tab_uses(new_context, server, doc):
    """The editor kept a name only once its field lost focus or got Enter: a history tab open
    beside it credited a restore to the old "Guest NNN" while the editor showed the new name."""
    three_versions(server, doc)
    ctx = new_context()
    page = open_history(ctx, doc)
    editor = open_editor(ctx, f"/d/{doc}")
    assert editor.input_value("#name").startswith("Guest ")
    editor.fill("#name", NAME)  # typed, still in the field
    v = restore(page, 2)
    assert [r["author"] for r in revisions(server, doc, v - 1)] == [NAME]
    page.wait_for_function("document.querySelector('#name').value === %r" % NAME)  # the tab's field follows
    # and the editor, once the typing stopped, is that person to everyone else too
    with Document.open(server.url, doc, name="Watcher") as watcher:
        watcher._wait(lambda: NAME in [p["name"] for p in watcher.peers], 10, "the editor's new name in presence")
    assert editor.input_value("#name") == NAME  # still in the field, never committed with Enter
    assert not page.errors and not editor.errors


def test_with_storage_off_a_page_writes_as_one_person_the_one_named(new_context, server, doc):
    """Storage blocked: every restore was credited to a new random "Guest NNN", and renaming
    in the editor threw, so the editor kept writing as its first guest name."""
    three_versions(server, doc)
    ctx = new_context()
    ctx.add_init_script(STORAGE_OFF)
    page = open_history(ctx, doc)
    first, second = restore(page, 1), restore(page, 2)
    authors = [r["author"] for r in revisions(server, doc, first - 1)]
    assert len(authors) == 2 and authors[0] == authors[1], authors
    assert page.input_value("#name") == authors[0]
    page.fill("#name", "Offline Olga")
    page.press("#name", "Enter")
    slide(page, 2)
    page.click("#restore")
    assert "by Offline Olga?" in page.text_content("#restore-question")  # it says who it writes as
    page.click("#restore-cancel")
    v = restore(page, 1)
    assert [r["author"] for r in revisions(server, doc, v - 1)] == ["Offline Olga"]
    # the editor in that browser: a rename holds, its typing is credited to the new name
    editor = ctx.new_page()
    editor.goto(f"/d/{doc}")
    editor.wait_for_function("window.collab && window.collab.conn.joined")
    editor.fill("#name", "Offline Omar")
    editor.press("#name", "Enter")
    editor.click(".cm-content")
    editor.keyboard.press("Control+End")
    editor.keyboard.type("?")
    editor.wait_for_function("!window.collab.sync.unsaved")
    assert revisions(server, doc, v)[-1]["author"] == "Offline Omar"
    assert not page.errors
