"""Each person picks their colour (issue 15): from the people panel, remembered on this device,
sent with the join; the same colour in presence, remote cursors and authorship colours; a
second pick of a colour someone present has gives way to the nearest free one, and the
picker says so; when the first one leaves, the pick comes back. At 1280 px and at 390 px."""
from __future__ import annotations

import pytest

from browserkit import open_editor, wait_all_equal
from collab.core.palette import PALETTE

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RED, ORANGE = PALETTE[0], PALETTE[1]


def css(page, color: str) -> str:
    """`color` as the page writes it back (rgb(...)), to compare with a style read from it."""
    return page.evaluate("(c) => { const e = document.createElement('i'); e.style.color = c; return e.style.color; }", color)


def peer_dot(page, name: str) -> str:
    return page.evaluate("(n) => { const p = [...document.querySelectorAll('#peers .peer')].find((p) => p.textContent.startsWith(n)); return p ? p.querySelector('.dot').style.background : ''; }", name)


def wait_dot(page, name: str, color: str) -> None:
    page.wait_for_function("([n, c]) => { const p = [...document.querySelectorAll('#peers .peer')].find((p) => p.textContent.startsWith(n)); return p && p.querySelector('.dot').style.background === c; }",
                           arg=[name, css(page, color)])


def test_a_picked_colour_is_kept_shown_everywhere_and_never_shared(new_context, server, doc, artifacts):
    wide = new_context(viewport={"width": 1280, "height": 700})
    wide.add_init_script(f"localStorage.setItem('collab:color', {RED!r})")  # picked on this device before
    ann = open_editor(wide, f"/d/{doc}", name="Ann")
    phone = new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    bob = open_editor(phone, f"/d/{doc}", name="Bob")
    wait_dot(ann, "Ann", RED)
    wait_dot(bob, "Ann", RED)

    # Bob picks red too, in the picker: he is given orange, and the picker says why
    bob.click("#people summary")
    bob.click("#color-pick")
    bob.click(f".swatch[data-color='{RED}']")
    assert bob.evaluate("localStorage.getItem('collab:color')") == RED
    bob.wait_for_function("document.querySelector('#color-note').textContent.includes('Ann has red here')")
    assert "orange" in bob.inner_text("#color-note")
    wait_dot(bob, "Bob", ORANGE)
    wait_dot(ann, "Bob", ORANGE)
    assert peer_dot(ann, "Ann") == css(ann, RED)
    assert bob.get_attribute(f".swatch[data-color='{RED}']", "aria-checked") == "true"
    width = bob.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    bob.screenshot(path=str(artifacts / "colors-390.png"))
    bob.evaluate("document.querySelector('#theme').click()")  # the same panel in the dark theme (the open panel covers the button)
    bob.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    bob.screenshot(path=str(artifacts / "colors-390-dark.png"))
    bob.evaluate("document.querySelector('#theme').click()")

    # his cursor and his text on Ann's screen are orange too
    bob.click(".cm-content")
    bob.keyboard.press("Control+End")
    bob.keyboard.type(" Bob was here.")
    wait_all_equal(server, doc, [ann, bob])
    ann.wait_for_selector(".cm-remote-cursor")
    assert ann.evaluate("document.querySelector('.cm-remote-cursor').style.borderLeftColor") == css(ann, ORANGE)
    ann.click("#people summary")
    ann.check("#authorship")
    ann.wait_for_function("[...document.querySelectorAll('.cm-author')].some((e) => e.title === 'Bob')")
    mark = ann.evaluate("[...document.querySelectorAll('.cm-author')].find((e) => e.title === 'Bob').style.getPropertyValue('--author')")
    assert css(ann, mark.strip()) == css(ann, ORANGE)
    assert not ann.evaluate("document.querySelector('#color-note').textContent")  # Ann has her pick
    assert ann.evaluate("document.querySelector('.bar').getBoundingClientRect().height") < 60  # one row
    ann.screenshot(path=str(artifacts / "colors-1280.png"))

    # remembered on Bob's device: a reload asks for red again, and is given orange again
    bob.reload()
    bob.wait_for_function("window.collab && window.collab.conn.joined")
    wait_dot(ann, "Bob", ORANGE)
    # Ann leaves: Bob's page asks for his pick again and gets it, on both screens
    carol = open_editor(new_context(), f"/d/{doc}", name="Carol")
    ann.close()
    wait_dot(bob, "Bob", RED)
    wait_dot(carol, "Bob", RED)
    assert not bob.evaluate("document.querySelector('#color-note').textContent")
    for page in (bob, carol):
        assert not page.errors, page.errors


def name_color(name: str) -> str:
    """The colour of a name when nobody picked it (frontend/src/dom.js colorIndex)."""
    h = 0
    for ch in name:
        h = (h * 31 + ord(ch)) % 2**32
    return PALETTE[h % len(PALETTE)]


def test_automatic_gives_the_name_colour_back_and_sends_nothing(new_context, server, doc):
    """Picking "Automatic" forgets the pick on this device, and the join carries no colour
    (as before this extension)."""
    ctx = new_context(viewport={"width": 1280, "height": 700})
    ctx.add_init_script(f"localStorage.getItem('collab:color') || localStorage.setItem('collab:color', {ORANGE!r})")
    assert name_color("Dee") != ORANGE
    page = open_editor(ctx, f"/d/{doc}", name="Dee")
    wait_dot(page, "Dee", ORANGE)
    page.click("#people summary")
    page.click("#color-pick")
    page.click(".swatch[data-color='auto']")
    assert page.evaluate("localStorage.getItem('collab:color')") is None
    wait_dot(page, "Dee", name_color("Dee"))
    assert page.evaluate("window.collab.conn._joinMessage().color") is None
