"""Local accounts in a real browser (COLLAB_SIGN_IN=local, COLLAB_SIGN_UP=1): sign up, sign
out, sign in, type, find the account's name on the history page, sign out again; the
sign-in page meets WCAG AA contrast in both themes. Screenshots at 1280 and 390 px."""
from __future__ import annotations

import os
import secrets
from typing import Any, Iterator

import pytest
import requests

from bench.liveserver import LiveServer
from browserkit import wait_all_equal
from test_history_author import slide
from test_theme import low_contrast

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "local", "COLLAB_SIGN_UP": "1"}
    with LiveServer(tmp_path_factory.mktemp("signin-server"), env=env) as s:
        yield s


def fill_form(page: Any, email: str, password: str, name: str | None = None) -> None:
    page.fill("#email", email)
    if name is not None:
        page.fill("#name", name)
    page.fill("#password", password)
    page.click("#submit")


def test_sign_up_type_see_the_account_in_the_history_and_sign_out(new_context, server, doc, artifacts):
    email = f"ann-{secrets.token_hex(3)}@example.org"
    for width, height in ((1280, 800), (390, 780)):
        ctx = new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        if width == 1280:  # sign up once, then out, then in again by the form
            page.goto(f"/signup?next=/d/{doc}")
            page.screenshot(path=str(artifacts / "signin-signup-1280.png"))
            fill_form(page, email, PASSWORD, name="Ann Account")
            page.wait_for_function("window.collab && window.collab.conn.joined")
            page.click("#sign-out")
            page.wait_for_selector("#new-doc")  # the start page
            assert page.locator("#sign-in").count() == 1
        page.goto(f"/signin?next=/d/{doc}")
        page.wait_for_selector("#email")
        page.screenshot(path=str(artifacts / f"signin-form-{width}.png"))
        fill_form(page, email, "not the password")
        page.wait_for_selector("#form-error")
        assert "do not match" in page.text_content("#form-error")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_function("window.collab && window.collab.conn.joined")
        page.wait_for_selector("#name[readonly]")
        assert page.input_value("#name") == "Ann Account"
        page.click(".cm-content")
        page.keyboard.press("Control+End")
        page.keyboard.type(f"typed at {width} px. ")
        page.wait_for_function(f"window.collab.editor.text().includes('typed at {width} px. ')")
        assert f"typed at {width} px." in wait_all_equal(server, doc, [page])
        page.keyboard.type("Again. ")  # a second revision, whatever the typing's batching: v1 is not the head
        assert wait_all_equal(server, doc, [page]).endswith("Again. ")
        page.screenshot(path=str(artifacts / f"signin-editor-{width}.png"))

        revisions = requests.get(f"{server.url}/api/docs/{doc}/revisions", timeout=10).json()["revisions"]
        assert revisions and {r["author"] for r in revisions} == {"Ann Account"}
        assert all(r["account"].startswith("u_") for r in revisions)

        page.goto(f"/d/{doc}/history")
        page.wait_for_selector("#hist-text[data-state=text], #hist-text[data-state=blame]")
        page.wait_for_selector("#step-author[data-account^='u_']")
        assert "Ann Account" in page.text_content("#step-author")
        page.screenshot(path=str(artifacts / f"signin-history-{width}.png"))
        if width == 1280:  # a restore from the history page is the account's too
            page.wait_for_selector("#name[readonly]")  # (account.js asks /api/me first)
            assert page.input_value("#name") == "Ann Account"
            slide(page, 1)
            page.click("#restore")
            assert "by Ann Account?" in page.text_content("body")
            page.click("#restore-confirm")
            page.wait_for_selector("#hist-notice:has-text('Restored v1 as')")
            last = requests.get(f"{server.url}/api/docs/{doc}/revisions", timeout=10).json()["revisions"][-1]
            assert last["id"].startswith("restore-") and last["author"] == "Ann Account"
            assert last["account"] == revisions[0]["account"]

        page.goto(f"/d/{doc}")
        page.wait_for_selector("#sign-out")
        page.click("#sign-out")
        page.wait_for_selector("#new-doc")
        me = page.evaluate("fetch('/api/me').then((r) => r.json())")
        assert me["account"] is None
        assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_sign_in_page_meets_aa_contrast(new_context, scheme):
    page = new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800}).new_page()
    page.goto("/signin")
    page.fill("#email", "nobody@example.org")
    page.fill("#password", "wrong password")
    page.click("#submit")
    page.wait_for_selector("#form-error")
    assert low_contrast(page) == [], "sign-in page with its error"


def test_signed_out_in_another_tab_the_editor_says_so_and_goes_on_saving(new_context, server, doc):
    """Found from outside: the server ends a signed-out session's sockets, Socket.IO does not
    reconnect after a server's disconnect, and the tab stayed on "Reconnecting…" with its
    edits unsaved, still showing the account's name and Sign out."""
    email = f"cat-{secrets.token_hex(3)}@example.org"
    ctx = new_context()
    page = ctx.new_page()
    page.goto(f"/signup?next=/d/{doc}")
    fill_form(page, email, PASSWORD, name="Cat")
    page.wait_for_selector("#sign-out")
    page.wait_for_function("window.collab && window.collab.conn.joined")
    page.click(".cm-content")
    page.keyboard.type("signed in ")
    wait_all_equal(server, doc, [page])
    other = ctx.new_page()  # the same browser: one cookie
    other.goto("/")
    assert other.evaluate("fetch('/api/signout', {method: 'POST', headers: {Accept: 'application/json'}}).then((r) => r.status)") == 200
    page.wait_for_selector("#notice:has-text('You were signed out')")
    page.wait_for_selector("#sign-in")
    assert not page.locator("#sign-out").count()
    page.keyboard.type("then a guest")
    assert wait_all_equal(server, doc, [page]) == "signed in then a guest"
    revisions = requests.get(f"{server.url}/api/docs/{doc}/revisions", timeout=10).json()["revisions"]
    assert revisions[0].get("account") and not revisions[-1].get("account")  # the last ones are a guest's
