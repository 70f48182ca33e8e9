"""Per-document permissions in a real browser (issue 14; COLLAB_SIGN_IN=local): the owner opens
the share dialog from the File menu, lets only invited people edit and invites Bea; Bea, signed
in, edits; a guest with the same edit link reads only; then the owner makes Bea a viewer and her
open page turns read-only live, without a reload, and refuses her typing; last, only invited
people may view, and the guest's open page is taken out of the document, saying why. Screenshots in
tests/browser/artifacts (share-*.png)."""
from __future__ import annotations

import os
import secrets
from typing import Any, Iterator

import pytest
import requests

from bench.liveserver import LiveServer
from browserkit import editor_text, wait_all_equal
from test_signin import PASSWORD, fill_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "local", "COLLAB_SIGN_UP": "1"}
    with LiveServer(tmp_path_factory.mktemp("share-server"), env=env) as s:
        yield s


def signed_up(new_context: Any, name: str, next_path: str, lands: str = "#sign-out") -> tuple[Any, str]:
    email = f"{name.lower()}-{secrets.token_hex(3)}@example.org"
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"/signup?next={next_path}")
    fill_form(page, email, PASSWORD, name=name)
    page.wait_for_selector(lands)
    return page, email


def test_the_owner_shares_by_invitation_and_a_downgrade_is_live(new_context, server, doc, artifacts):
    errors: list[str] = []
    owner, _ = signed_up(new_context, "Olga", f"/d/{doc}")  # joining makes the document: hers
    owner.on("pageerror", lambda e: errors.append(str(e)))
    owner.wait_for_function("window.collab && window.collab.conn.joined")
    owner.click(".cm-content")
    owner.keyboard.type("Olga's plan. ")
    wait_all_equal(server, doc, [owner])

    # Bea has an account, and the link, before she is invited
    bea, bea_email = signed_up(new_context, "Bea", "/")
    bea.on("pageerror", lambda e: errors.append(str(e)))

    # the share dialog, from the File menu: only invited people edit; Bea invited as editor
    owner.click("#file-menu summary")
    owner.click("#share-permissions")
    owner.wait_for_selector("#share-dialog[open]")
    assert owner.input_value("#share-edit-link").endswith(f"/d/{doc}")
    owner.select_option("#share-edit", "invited")
    owner.wait_for_selector("#share-message:has-text('Saved')")
    owner.fill("#share-invite-person", bea_email)
    owner.select_option("#share-invite-role", "editor")
    owner.click("#share-invite")
    owner.wait_for_selector("#share-members li:has-text('Bea')")
    assert "may edit" in owner.text_content("#share-members")
    owner.screenshot(path=str(artifacts / "share-dialog-1280.png"))
    owner.click("#share-close")

    # Bea, invited, edits
    bea.goto(f"/d/{doc}")
    bea.wait_for_function("window.collab && window.collab.conn.joined")
    assert bea.get_attribute("body", "data-role") == "editor"
    bea.click(".cm-content")
    bea.keyboard.press("Control+End")
    bea.keyboard.type("Bea agrees.")
    assert wait_all_equal(server, doc, [owner, bea]) == "Olga's plan. Bea agrees."
    bea.screenshot(path=str(artifacts / "share-invited-editor-1280.png"))

    # a guest with the same edit link reads, live, and cannot type
    guest = new_context(viewport={"width": 1280, "height": 800}).new_page()
    guest.goto(f"/d/{doc}")
    guest.wait_for_function("window.collab && window.collab.conn.joined")
    guest.wait_for_selector("#status:has-text('read-only')")
    guest.click(".cm-content")
    guest.keyboard.type("guest text")
    assert "guest text" not in editor_text(guest)
    guest.screenshot(path=str(artifacts / "share-guest-read-only-1280.png"))

    # the owner makes Bea a viewer: her open page is read-only at once, no reload
    owner.click("#file-menu summary")
    owner.click("#share-permissions")
    owner.wait_for_selector("#share-dialog[open]")
    owner.fill("#share-invite-person", bea_email)
    owner.select_option("#share-invite-role", "viewer")
    owner.click("#share-invite")
    owner.wait_for_selector("#share-members li:has-text('may view')")
    bea.wait_for_selector("body[data-role=viewer]")
    bea.wait_for_selector("#status:has-text('read-only')")
    assert bea.evaluate("window.collab.editor.view.state.readOnly")
    bea.click(".cm-content")
    bea.keyboard.type(" Bea again")
    assert " Bea again" not in editor_text(bea)
    bea.screenshot(path=str(artifacts / "share-downgraded-live-1280.png"))
    assert requests.get(f"{server.url}/api/docs/{doc}", timeout=10).json()["text"] == "Olga's plan. Bea agrees."
    # the dialog is the owner's only: Bea's File menu has no such item
    bea.click("#file-menu summary")
    assert bea.locator("#share-permissions").count() == 0
    # only invited people may view: the guest is taken out of the document, and told why
    owner.select_option("#share-view", "invited")
    owner.wait_for_selector("#share-message:has-text('Saved')")
    guest.wait_for_selector("#status:has-text('No longer open to you')")
    assert "sign in" in guest.text_content("#notice") and "Olga" not in guest.text_content("#notice")
    guest.screenshot(path=str(artifacts / "share-guest-removed-1280.png"))
    assert bea.get_attribute("body", "data-role") == "viewer" and not bea.locator("#notice:visible").count()
    # "may view" keeps nobody to viewing who has the edit link while anyone with it may edit:
    # the dialog says so (it promised "may view" while Bea edited: found from outside)
    assert owner.is_hidden("#share-caveat")
    owner.select_option("#share-edit", "link")
    owner.wait_for_selector("#share-caveat:visible")
    assert "edits too" in owner.text_content("#share-caveat")
    owner.screenshot(path=str(artifacts / "share-caveat-1280.png"))
    owner.click("#share-close")
    assert errors == []


def test_the_share_dialog_fits_a_phone_and_a_stranger_is_told_to_ask_the_owner(new_context, server, doc, artifacts):
    owner, _ = signed_up(new_context, "Olga", f"/d/{doc}")
    owner.set_viewport_size({"width": 390, "height": 780})
    owner.wait_for_function("window.collab && window.collab.conn.joined")
    owner.click("#file-menu summary")
    owner.click("#share-permissions")
    owner.wait_for_selector("#share-dialog[open]")
    owner.select_option("#share-edit", "invited")
    owner.wait_for_selector("#share-message:has-text('Saved')")
    owner.select_option("#share-view", "invited")
    owner.wait_for_function("document.querySelector('#share-message').textContent.startsWith('Saved')")
    box = owner.locator("#share-dialog").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert owner.evaluate("document.querySelector('#share-dialog').scrollWidth <= document.querySelector('#share-dialog').clientWidth")
    owner.screenshot(path=str(artifacts / "share-dialog-390.png"))
    # a signed-in stranger with the link: a page that says so, naming nothing of the document
    stranger, _ = signed_up(new_context, "Sam", f"/d/{doc}", lands="body[data-page=error]")
    assert stranger.get_attribute("body", "data-status") == "403"
    said = stranger.text_content("body")
    assert "ask its owner to invite you" in said and "Olga" not in said
    stranger.screenshot(path=str(artifacts / "share-stranger-refused-1280.png"))
    # a guest: asked to sign in, with a link that comes back here
    guest = new_context(viewport={"width": 1280, "height": 800}).new_page()
    view = owner.input_value("#share-view-link").rsplit("/", 1)[1]
    guest.goto(f"/v/{view}")
    guest.wait_for_selector("body[data-page=error]")
    assert guest.get_attribute("body", "data-status") == "401"
    assert guest.locator(f"a[href='/signin?next=/v/{view}']").count() == 1
