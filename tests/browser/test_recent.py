"""Documents you can find again (issue 14, item 5, the part without accounts): every document
has a title, its first heading (else its first line), shown in the tab and the bar; the
start page lists the documents opened in this browser ("recent on this device", in
localStorage: nothing leaves the browser), searchable by title, each removable, and a
document that was deleted leaves the list."""
from __future__ import annotations

import pytest
import requests

from browserkit import WAIT_MS, open_editor, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_titles_in_the_tab_and_the_start_pages_recent_list(new_context, server, doc, artifacts):
    ctx = new_context()
    page = open_editor(ctx, f"/d/{doc}", name="Finder")
    assert page.title() == f"{doc} · collab"  # no text yet: the id
    page.click(".cm-content")
    page.keyboard.type("# Team plan for *2027*\n\nFirst item\n")
    page.wait_for_function("document.title === 'Team plan for 2027 · collab'", timeout=WAIT_MS)
    assert page.inner_text(".bar .docname") == "Team plan for 2027"
    wait_all_equal(server, doc, [page])
    history = ctx.new_page()
    history.goto(f"/d/{doc}/history")
    history.wait_for_function("document.title === 'Team plan for 2027 · history · collab'", timeout=WAIT_MS)
    assert history.inner_text(".bar .docname") == "Team plan for 2027"
    history.close()
    # a second document, opened by its read-only link only
    other = requests.post(f"{server.url}/api/docs", json={"text": "Shopping list\n- milk"}, timeout=10).json()
    view_path = "/v/" + other["view_url"].rsplit("/v/", 1)[1]
    viewer = open_editor(ctx, view_path)
    viewer.wait_for_function("document.title === 'Shopping list · collab'", timeout=WAIT_MS)
    viewer.close()

    start = ctx.new_page()
    start.goto("/")
    items = start.locator("#recent .recent-item")
    items.first.wait_for()
    assert items.count() == 2
    assert items.nth(0).locator("a").inner_text() == "Shopping list"  # the newest first
    assert items.nth(0).locator("a").get_attribute("href") == view_path
    assert items.nth(0).locator(".tag").inner_text() == "read-only"
    assert items.nth(1).locator("a").get_attribute("href") == f"/d/{doc}"
    start.screenshot(path=str(artifacts / "start-recent.png"))
    start.set_viewport_size({"width": 390, "height": 700})
    start.screenshot(path=str(artifacts / "start-recent-390.png"))
    assert start.evaluate("document.documentElement.scrollWidth") <= 390

    # removing one from the list leaves the document alone
    items.nth(0).locator("button.forget").click()
    assert items.count() == 1 and items.nth(0).locator("a").inner_text() == "Team plan for 2027"
    assert requests.get(f"{server.url}/api/docs/{other['doc']}", timeout=10).status_code == 200

    # a deleted document leaves the list once a page of it learns so
    assert requests.delete(f"{server.url}/api/docs/{doc}", headers={"Origin": server.url}, timeout=10).ok
    page.wait_for_selector("body[data-deleted=true]", timeout=WAIT_MS)
    start.reload()
    assert start.locator("#recent").is_hidden()
    assert not page.errors


def test_search_by_title_when_the_list_is_long(new_context, server, artifacts):
    ctx = new_context()
    page = ctx.new_page()
    page.goto("/")
    entries = [{"path": f"/d/doc-{i}", "title": f"{'Budget' if i % 3 == 0 else 'Notes'} {i}", "readOnly": False,
                "at": 1_700_000_000_000 + i} for i in range(8)]
    page.evaluate("(list) => localStorage.setItem('collab:recent:v1', JSON.stringify(list))", entries)
    page.reload()
    page.fill("#recent-search", "budget")
    shown = page.locator("#recent .recent-item a").all_inner_texts()
    assert shown == ["Budget 0", "Budget 3", "Budget 6"]
    page.fill("#recent-search", "nothing like it")
    assert "No title matches." in page.inner_text("#recent")
    page.click("#recent-clear")
    assert page.evaluate("JSON.parse(localStorage.getItem('collab:recent:v1'))") == []
    assert page.locator("#recent").is_hidden()
