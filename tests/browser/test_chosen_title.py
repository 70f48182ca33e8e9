"""A title chosen from the File menu, in a real browser: the other editor's tab and bar and a
viewer's show it at once instead of the first heading, the history page too; emptied, the
first heading is the title again. A title that does not fit is refused with the reason."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from browserkit import open_editor, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def set_title(page: Any, answer: str) -> None:
    page.click("#file-menu summary")
    page.once("dialog", lambda d: d.accept(answer))
    page.click("#set-title")


def test_a_chosen_title_replaces_the_heading_everywhere_until_emptied(new_context, server, doc, artifacts):
    ann: Any = open_editor(new_context(), f"/d/{doc}", name="Ann")
    ann.click(".cm-content")
    ann.keyboard.type("# The heading\n\nbody")
    wait_all_equal(server, doc, [ann])
    view = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10).json()["view_url"].rsplit("/", 1)[1]
    bob: Any = open_editor(new_context(viewport={"width": 390, "height": 780}), f"/d/{doc}", name="Bob")
    reader: Any = open_editor(new_context(), f"/v/{view}")
    for page in (ann, bob, reader):
        page.wait_for_function("document.title === 'The heading · collab'")

    set_title(ann, "Chosen for all")
    ann.wait_for_selector("#file-note[data-kind='done']")
    for page in (ann, bob, reader):
        page.wait_for_function("document.title === 'Chosen for all · collab'")
        assert page.inner_text(".docname") == "Chosen for all"
    bob.screenshot(path=str(artifacts / "title-chosen-390.png"))
    history = new_context().new_page()
    history.goto(f"{server.url}/v/{view}/history")
    history.wait_for_function("document.title.startsWith('Chosen for all')")

    set_title(ann, "x" * 81)
    ann.wait_for_selector("#file-note[data-kind='error']")
    assert "at most 80 characters" in ann.inner_text("#file-note")

    set_title(ann, "")
    for page in (ann, bob, reader):
        page.wait_for_function("document.title === 'The heading · collab'")
    # a later heading is the title again, live
    bob.click(".cm-content")
    bob.keyboard.press("Control+Home")
    bob.keyboard.press("End")
    bob.keyboard.type(" renamed")
    ann.wait_for_function("document.title === 'The heading renamed · collab'")
