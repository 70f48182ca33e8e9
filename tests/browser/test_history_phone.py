"""The history page on a phone (390 and 320 px wide): nothing is wider than the screen, on
the version, in Compare (inline and side by side) and in a revert's preview."""
from __future__ import annotations

from typing import Any

import pytest

from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LONG_NAME = "Maximilian Alexander von Humboldt-Wiedemann, sixty-four letters!"[:64]


def overflow(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [390, 320])
def test_the_history_page_fits_a_phone(new_context, server, doc, artifacts, width):
    """Issue 13: at 390 px the timeline row (play, speed, steps, slider, version, "Link to
    this version") did not wrap and made the page 531 px wide."""
    with Document.open(server.url, doc, name=LONG_NAME) as writer:
        for text in ("Notes 😀 中文\n", "an_unbroken_word_" * 8 + "\n", "the end\n"):
            with writer.editing():
                writer.replace(len(writer.text), 0, text)
            writer.wait_synced()
    page = new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(f"/d/{doc}/history#v=3")
    page.wait_for_selector("#hist-text[data-version='3'][data-state=blame]")
    assert page.is_visible("#permalink") and page.is_visible("#slider")
    assert overflow(page)[0] <= width, overflow(page)
    page.screenshot(path=str(artifacts / f"history-{width}.png"), full_page=True)
    page.click("#tab-compare")
    page.wait_for_selector("#cmp-out[data-state=done]")
    page.check("#cmp-all")
    assert overflow(page)[0] <= width, ("inline", overflow(page))
    page.select_option("#cmp-mode", "side")
    page.fill("#cmp-from", "0")
    page.click("#cmp-run")
    page.wait_for_selector("#cmp-out[data-state=done][data-from='0']")
    assert overflow(page)[0] <= width, ("side by side", overflow(page))
    page.fill("#revert-author", LONG_NAME)
    page.click("#revert-preview")
    page.wait_for_selector("#revert-out[data-state=done]")
    assert overflow(page)[0] <= width, ("revert", overflow(page))
    page.screenshot(path=str(artifacts / f"history-{width}-compare.png"), full_page=True)
