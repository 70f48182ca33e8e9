"""Guests with sign-in on, in a real browser (COLLAB_SIGN_IN=local, COLLAB_CREATE=signed_in):
a guest who calls themselves by a registered person's name is shown as "Ann (guest)" in the
people list and in the history's steps and blame, never as Ann; and a guest is offered
"Sign in to create a document" instead of New document, and told to sign in at a new link."""
from __future__ import annotations

import os
import secrets
from typing import Any, Iterator

import pytest

from bench.liveserver import LiveServer
from browserkit import wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "local", "COLLAB_SIGN_UP": "1", "COLLAB_CREATE": "signed_in"}
    with LiveServer(tmp_path_factory.mktemp("guests-server"), env=env) as s:
        yield s


def joined(page: Any) -> None:
    page.wait_for_function("window.collab && window.collab.conn.joined")


def test_a_guest_named_like_an_account_is_marked_a_guest_everywhere(new_context, server, doc, artifacts):
    ann = new_context().new_page()
    ann.goto(f"/signup?next=/d/{doc}")
    ann.fill("#email", f"ann-{secrets.token_hex(3)}@example.org")
    ann.fill("#name", "Ann")
    ann.fill("#password", PASSWORD)
    ann.click("#submit")
    joined(ann)  # a signed-in person creates the document by opening its link
    ann.click(".cm-content")
    ann.keyboard.type("Ann's line. ")
    assert wait_all_equal(server, doc, [ann]) == "Ann's line. "

    guest = new_context().new_page()
    guest.goto("/")
    guest.wait_for_selector("#new-doc-sign-in")
    assert guest.locator("#new-doc").count() == 0
    assert guest.get_attribute("#new-doc-sign-in", "href") == "/signin?next=/"
    other = "b-" + secrets.token_hex(6)
    response = guest.goto(f"/d/{other}")
    assert response.status == 401 and "Sign in to create a document" in guest.text_content("h1")
    assert guest.get_attribute(f"a[href='/signin?next=/d/{other}']", "href")
    guest.goto(f"/d/{doc}")  # an existing document opens by its link
    joined(guest)
    guest.fill("#name", "Ann")
    guest.press("#name", "Enter")
    guest.click(".cm-content")
    guest.keyboard.press("Control+End")
    guest.keyboard.type("Not Ann.")
    assert wait_all_equal(server, doc, [ann, guest]) == "Ann's line. Not Ann."

    ann.wait_for_selector("#peers .peer:has-text('Ann (guest)')", state="attached")  # (folded away at this width)
    names = ann.eval_on_selector_all("#peers .peer", "ps => ps.map((p) => p.textContent)")
    assert sorted(names) == ["Ann (guest)", "Ann (you)"], names
    ann.screenshot(path=str(artifacts / "guests-people.png"))

    history = ann.context.new_page()
    history.goto(f"/d/{doc}/history")
    history.wait_for_selector("#hist-text[data-state=blame]")
    legend = history.eval_on_selector_all("#legend li", "ls => ls.map((l) => l.textContent)")
    assert sorted(legend) == ["Ann", "Ann (guest)"], legend
    steps = history.eval_on_selector_all("#steps .who", "ws => ws.map((w) => w.textContent)")
    assert "Ann (guest)" in steps and "Ann" in steps, steps
    history.screenshot(path=str(artifacts / "guests-history.png"))

    # the revert panel offers each of them and reverts exactly the one picked: the guest by
    # name (revisions without an account), Ann by her account (before: by display name, so
    # either took out both, and once revert went by account the page's name found nobody)
    offered = history.eval_on_selector_all("#authors option", "os => os.map((o) => o.value)")
    assert sorted(offered) == ["Ann", "Ann (guest)"], offered
    # to the first version by the slider (its step is listed only when it is near the one shown:
    # a busy machine makes the typing above more, smaller revisions)
    history.wait_for_selector("#steps li.current")  # (the page has its versions)
    history.eval_on_selector("#slider", "(s) => { s.value = '0'; s.dispatchEvent(new Event('input', {bubbles: true})); }")
    history.wait_for_selector("#steps li.current[data-version='0']")
    history.fill("#revert-author", "Ann (guest)")
    history.click("#revert-preview")
    history.wait_for_selector("#revert-out[data-state=done]")
    assert "Not Ann." in history.inner_text("#revert-diff")
    guest_diff = history.inner_html("#revert-diff")
    history.fill("#revert-author", "Ann")
    history.click("#revert-preview")
    history.wait_for_function("(before) => document.querySelector('#revert-out').dataset.state === 'done' && "
                              "document.querySelector('#revert-diff').innerHTML !== before", arg=guest_diff)
    history.click("#revert-apply")
    history.wait_for_selector("#revert-apply", state="hidden")
    assert wait_all_equal(server, doc, [ann, guest]) == "Not Ann.", history.inner_text("body")[-600:]
