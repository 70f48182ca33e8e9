"""The history page shows each person in the colour the editor shows them in (issue 15):
a colour picked in the editor colours that person's blame, steps and legend on the history
page, also after they left and after a server restart (the server keeps the colour each
author last wrote in); someone automatic has the colour the editor gives them; no two people
share one. At 1280 px and at 390 px."""
from __future__ import annotations

from typing import Any

import pytest

from browserkit import open_editor, wait_all_equal
from collab.core.palette import PALETTE
from test_color_picker import css, name_color, wait_dot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

BLUE = PALETTE[7]


def pick(page: Any, color: str) -> None:
    """The person picks `color` in the people panel, as anyone does."""
    page.click("#people summary")
    page.click("#color-pick")
    page.click(f".swatch[data-color='{color}']")
    page.click("#people summary")  # closed again


def type_at_end(page: Any, text: str) -> None:
    page.click(".cm-content")
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def peer_color(page: Any, name: str) -> str:
    """The colour of `name`'s dot in the editor's people list (rgb(...))."""
    return page.evaluate("(n) => { const p = [...document.querySelectorAll('#peers .peer')].find((p) => p.textContent.startsWith(n)); return p ? getComputedStyle(p.querySelector('.dot')).backgroundColor : ''; }", name)


def history_colors(page: Any) -> dict[str, set[str]]:
    """Every colour each person has on the history page, as computed: the blame's
    `--author`, and the dots of the legend, the steps and the step's author."""
    return page.evaluate("""() => {
      const out = {};
      const add = (name, color) => (out[name] = out[name] || []).push(color);
      const rgb = (c) => { const e = document.createElement('i'); e.style.color = c; return e.style.color; };
      for (const s of document.querySelectorAll('#hist-text .blame')) add(s.dataset.author, rgb(getComputedStyle(s).getPropertyValue('--author').trim()));
      for (const li of document.querySelectorAll('#legend li, #steps li.step')) {
        const dot = li.querySelector('.dot');
        const who = li.querySelector('.who');
        if (dot) add(who ? who.textContent : li.textContent, getComputedStyle(dot).backgroundColor);
      }
      const dot = document.querySelector('#step-author .dot');
      if (dot) add(document.querySelector('#step-author').textContent, getComputedStyle(dot).backgroundColor);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...new Set(v)]]));
    }""")


def open_history(ctx: Any, doc: str, expected: dict[str, str]) -> Any:
    """The history page at its head, once every person in `expected` shows in their colour."""
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"/d/{doc}/history")
    page.wait_for_selector("#hist-text[data-state=blame]")
    wait_colors(page, expected)
    return page


def wait_colors(page: Any, expected: dict[str, str]) -> None:
    page.wait_for_function("""(want) => {
      const rgb = (c) => { const e = document.createElement('i'); e.style.color = c; return e.style.color; };
      return Object.entries(want).every(([name, color]) =>
        [...document.querySelectorAll('#hist-text .blame')].some((s) => s.dataset.author === name
          && rgb(getComputedStyle(s).getPropertyValue('--author').trim()) === rgb(color))
        && [...document.querySelectorAll('#legend li')].some((li) => li.textContent === name
          && getComputedStyle(li.querySelector('.dot')).backgroundColor === rgb(color))
        // the steps near the one shown (a busy machine makes more, smaller revisions: not
        // everyone's need be listed), each in its person's colour
        && [...document.querySelectorAll('#steps li.step')].every((li) => li.querySelector('.who').textContent !== name
          || getComputedStyle(li.querySelector('.dot')).backgroundColor === rgb(color)));
    }""", arg=expected)
    seen = history_colors(page)
    for name, color in expected.items():
        assert seen.get(name) == [css(page, color)], (name, seen)
    shown = [c for cs in seen.values() for c in cs]
    assert len(shown) == len(set(shown)), f"two people share a colour: {seen}"


def test_a_picked_colour_is_the_persons_colour_in_history_also_after_they_left_and_a_restart(
        new_context, server, doc, artifacts):
    wide = new_context(viewport={"width": 1280, "height": 720})
    ann = open_editor(wide, f"/d/{doc}", name="Ann")
    pick(ann, BLUE)
    # Carol picks the colour Bob's name would have: the editor gives Bob, who picked nothing, another
    carol_ctx = new_context()
    carol = open_editor(carol_ctx, f"/d/{doc}", name="Carol")
    bobs = name_color("Bob")
    assert bobs != BLUE
    pick(carol, bobs)
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    for page, text in ((ann, "Ann wrote this. "), (carol, "Carol wrote this. "), (bob, "Bob wrote this.")):
        type_at_end(page, text)
        wait_all_equal(server, doc, [ann, carol, bob])
    wait_dot(ann, "Ann", BLUE)
    wait_dot(ann, "Carol", bobs)
    bob_in_editor = peer_color(ann, "Bob")
    assert bob_in_editor not in (css(ann, BLUE), css(ann, bobs))
    expected = {"Ann": BLUE, "Carol": bobs, "Bob": bob_in_editor}

    # while they are here, the history page has the editor's colours
    history = open_history(wide, doc, expected)
    assert history.evaluate("document.documentElement.scrollWidth") <= 1280
    history.screenshot(path=str(artifacts / "history-colors-1280.png"))

    # they leave: each keeps their colour
    for page in (ann, carol, bob):
        page.close()
    history.reload()
    history.wait_for_selector("#hist-text[data-state=blame]")
    wait_colors(history, expected)

    # the server restarts: what it kept is read back
    server.restart()
    phone = new_context(viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    small = open_history(phone, doc, expected)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the history page is {width} px wide on a 390 px screen"
    small.screenshot(path=str(artifacts / "history-colors-390.png"), full_page=True)
    small.evaluate("document.querySelector('#theme').click()")  # the same colours in the dark theme
    small.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    wait_colors(small, expected)
    small.screenshot(path=str(artifacts / "history-colors-390-dark.png"), full_page=True)
    for page in (history, small):
        assert not page.errors, page.errors
