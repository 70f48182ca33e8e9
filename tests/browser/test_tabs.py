"""Several tabs of one browser on one document (issue 13 item 7): each tab keeps its unsent
edits under its own key, and the edits of tabs that were closed are sent by the next tab of
that document that opens, once each."""
from __future__ import annotations

import pytest

from browserkit import WAIT_MS, editor_text, open_editor, server_text, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ENTRIES = "(doc) => Object.keys(localStorage).filter((k) => k === 'collab:doc:' + doc || k.startsWith('collab:doc:' + doc + ':'))"


def saved_entries(page, doc: str) -> list[str]:
    return page.evaluate(f"({ENTRIES})({doc!r})")


def test_offline_edits_of_two_closed_tabs_are_both_sent_once(new_context, server, doc, artifacts):
    ctx = new_context()
    one = open_editor(ctx, f"/d/{doc}", name="Tabby")
    one.click(".cm-content")
    one.keyboard.type("shared line\n")
    two = open_editor(ctx, f"/d/{doc}")
    wait_all_equal(server, doc, [one, two])
    ctx.set_offline(True)
    for page in (one, two):
        page.wait_for_selector("#status[data-state=offline]")
    one.keyboard.press("Control+End")
    one.keyboard.type("typed in tab one ✍️")
    two.click(".cm-content")
    two.keyboard.press("Control+Home")
    two.keyboard.type("typed in tab two 中文\n")
    for page in (one, two):  # each tab has written its unsent edits down
        page.wait_for_function("localStorage.getItem(window.collab.conn.storageKey) !== null")
    entries = saved_entries(two, doc)  # one per tab (checked last: the text is what matters)
    one.close()
    two.close()
    assert "typed in tab" not in server_text(server, doc)

    ctx.set_offline(False)
    three = open_editor(ctx, f"/d/{doc}")
    three.wait_for_function(f"({ENTRIES})({doc!r}).length === 0", timeout=3 * WAIT_MS)
    text = wait_all_equal(server, doc, [three])
    three.screenshot(path=str(artifacts / "tabs-reopened.png"))
    print(f"after reopening: {text!r}")
    assert text.count("typed in tab one ✍️") == 1 and text.count("typed in tab two 中文\n") == 1, text
    assert text.count("shared line\n") == 1, text
    assert editor_text(three) == text
    assert len(entries) == 2, entries
    # reopening once more sends nothing again (the entries are gone, not just sent)
    three.close()
    four = open_editor(ctx, f"/d/{doc}")
    assert wait_all_equal(server, doc, [four]) == text and saved_entries(four, doc) == []
    assert not four.errors


def test_an_open_tab_does_not_take_another_open_tabs_edits(new_context, server, doc):
    """A tab opening beside a live tab with unsent edits leaves them to it (no edit twice)."""
    ctx = new_context()
    one = open_editor(ctx, f"/d/{doc}")
    ctx.set_offline(True)
    one.wait_for_selector("#status[data-state=offline]")
    one.click(".cm-content")
    one.keyboard.type("only once, please")
    one.wait_for_function("localStorage.getItem(window.collab.conn.storageKey) !== null")
    ctx.set_offline(False)
    # the first tab's reconnect and the second tab's start race; both end with one copy
    two = open_editor(ctx, f"/d/{doc}")
    text = wait_all_equal(server, doc, [one, two])
    assert text == "only once, please"
    assert two.evaluate("window.collab.conn.adopted || 0") == 0
    one.wait_for_function(f"({ENTRIES})({doc!r}).length === 0")
