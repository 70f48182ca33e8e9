"""The colours a person may pick for themselves (issue 15), and how a pick that someone
present already has gives way to the nearest free one.

The same list, in the same order, is `COLORS` in frontend/src/dom.js (a test compares them):
the browser colours everyone from it, picked or automatic. Each colour's relative luminance
lies between 0.12 and 0.18, so that it reaches WCAG AA against both themes' backgrounds as a
graphical object (3:1 on #fff and on #111318: dots, cursors, borders) and a cursor's white
name label on it reaches 4.5:1 as text. Ordered by hue: "nearest" is the neighbour in this
list, so the colour given instead is the closest in hue.

A pick is only ever one of these strings (lower case): whatever else a client sends is
refused, never stored, relayed or put into a page's CSS.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

from typing import Iterable

from .errors import CollabError

PALETTE: tuple[str, ...] = (
    "#d41111",  # red
    "#aa4f0e",  # orange
    "#89630b",  # amber
    "#52760a",  # olive
    "#0a7b26",  # green
    "#0a766d",  # teal
    "#0d6fa0",  # cyan
    "#185fec",  # blue
    "#7147f0",  # indigo
    "#a413ec",  # purple
    "#c110a4",  # magenta
    "#cb105e",  # pink
)


def check_color(value: object) -> str | None:
    """A picked colour: one of PALETTE (any letter case, returned in lower case), or None for
    "automatic" (absent or null). Anything else is refused: a colour goes into other
    people's pages, so only the palette's own strings ever pass."""
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in PALETTE:
        shown = repr(value)[:40]
        raise CollabError("bad_request", f"color {shown} is not one of the palette's colours "
                                         f"({', '.join(PALETTE)}); leave it out (or null) for automatic")
    return value.lower()


def nearest_free(picked: str, taken: Iterable[str]) -> str:
    """`picked`, or when someone present has it, the free palette colour nearest to it in hue
    (the next one up wins a tie). With every colour taken, `picked` itself: the promise of
    distinct colours cannot hold past the palette's size, and the person's own pick is then
    the least surprising."""
    assert picked in PALETTE, "a pick is checked (check_color) before it is placed"
    used = set(taken)
    start = PALETTE.index(picked)
    n = len(PALETTE)
    for step in range(n):
        for candidate in (PALETTE[(start + step) % n], PALETTE[(start - step) % n]):
            if candidate not in used:
                return candidate
    return picked
