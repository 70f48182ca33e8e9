""""My documents" in a real browser (COLLAB_SIGN_IN=local): a person signs up, writes two
documents and views a third by its read-only link; the start page lists them with their
titles on another device (a fresh browser context), searches, sorts, renames one, takes
one off the list and deletes one. Screenshots at 1280 and 390 px."""
from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests

from bench.liveserver import LiveServer
from browserkit import wait_all_equal
from test_signin import PASSWORD, fill_form, server  # noqa: F401 (its signed-in server, one per module)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def titles(page: Any) -> list[str]:
    return page.eval_on_selector_all("#mine-list li a", "els => els.map(e => e.textContent)")


def wait_titles(page: Any, expected: list[str]) -> None:
    page.wait_for_function("want => JSON.stringify([...document.querySelectorAll('#mine-list li a')]"
                           ".map(e => e.textContent)) === JSON.stringify(want)", arg=expected)


def type_into(page: Any, server: LiveServer, doc: str, text: str) -> None:
    page.goto(f"/d/{doc}")
    page.wait_for_function("window.collab && window.collab.conn.joined")
    page.click(".cm-content")
    page.keyboard.type(text)
    assert wait_all_equal(server, doc, [page]) == text


def test_my_documents_on_another_device_search_sort_rename_forget_and_delete(new_context, server, artifacts):
    tag = secrets.token_hex(3)
    email = f"mine-{tag}@example.org"
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/signup?next=/")
    fill_form(page, email, PASSWORD, name="Mina")
    page.wait_for_selector("#signed-in-as")
    plan, notes = f"plan-{tag}", f"notes-{tag}"
    type_into(page, server, plan, "# Team plan\n\nfirst things")
    type_into(page, server, notes, "Meeting notes\n===\n")
    # a third, written by someone else, that Mina only views
    other = f"other-{tag}"
    created = requests.post(f"{server.url}/api/docs", json={"doc": other, "text": "# Their minutes\n"}, timeout=10)
    view_url = created.json()["view_url"]
    page.goto(view_url)
    page.wait_for_function("window.collab && window.collab.conn.joined")
    page.goto("/")  # leaving stores the titles

    for width, height in ((1280, 800), (390, 780)):  # another device: a new browser context
        device = new_context(viewport={"width": width, "height": height}).new_page()
        device.on("pageerror", lambda e: errors.append(str(e)))
        device.goto("/signin?next=/")
        fill_form(device, email, PASSWORD)
        device.wait_for_selector("#mine-list li")
        device.wait_for_function("document.querySelectorAll('#mine-list li').length === 3")
        assert sorted(titles(device)) == ["Meeting notes", "Team plan", "Their minutes"]
        assert device.locator("#mine-list li", has_text="Their minutes").locator(".tag").text_content() == "read-only"
        href = device.locator("#mine-list a", has_text="Their minutes").get_attribute("href")
        assert href.startswith("/v/") and other not in href  # a view link never shows the edit id
        assert device.locator("#mine-list li", has_text="Their minutes").locator("text=Delete").count() == 0
        device.screenshot(path=str(artifacts / f"mydocs-{width}.png"), full_page=True)
        assert device.eval_on_selector_all("#mine-list li a", "els => els.every(e => e.scrollWidth <= e.clientWidth)"), \
            f"a title is cut off at {width} px"
        width_used = device.evaluate("document.documentElement.scrollWidth")
        assert width_used <= width, f"the start page is {width_used} px wide at {width} px"

    device.select_option("#mine-sort", "title")
    wait_titles(device, ["Meeting notes", "Team plan", "Their minutes"])
    device.fill("#mine-search", "PLAN")
    wait_titles(device, ["Team plan"])
    device.fill("#mine-search", "")
    wait_titles(device, ["Meeting notes", "Team plan", "Their minutes"])

    # rename: the new link is listed, the old one answers 410
    device.once("dialog", lambda d: d.accept(f"renamed-{tag}"))
    device.locator("#mine-list li", has_text="Team plan").locator("text=Rename").click()
    device.wait_for_selector(f"#mine-list a[href='/d/renamed-{tag}']")
    assert requests.get(f"{server.url}/api/docs/{plan}", timeout=10).status_code == 410
    # off the list: the document stays
    device.locator("#mine-list li", has_text="Their minutes").locator(".forget").click()
    wait_titles(device, ["Meeting notes", "Team plan"])
    assert requests.get(f"{server.url}/api/docs/{other}", timeout=10).status_code == 200
    # delete, after a confirmation
    device.once("dialog", lambda d: d.accept())
    device.locator("#mine-list li", has_text="Meeting notes").locator("text=Delete").click()
    wait_titles(device, ["Team plan"])
    assert requests.get(f"{server.url}/api/docs/{notes}", timeout=10).status_code == 410
    device.screenshot(path=str(artifacts / "mydocs-after-1280.png"))
    assert errors == []
