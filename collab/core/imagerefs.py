"""Which uploaded images some version of a document shows: what `collab gc-images` keeps.

History keeps every version, and restoring one brings its text back, image links included;
so an image stays while any version of any document names it (a copy of a document, or a
link pasted into another one, names the first document's image). An image is named by its
id (24 base62 characters, core/ids.py), wherever it stands: in `/images/<id>`, in an absolute
URL, or alone. Counting the bare id is the cautious reading: an image is removed only when
no version holds those 24 characters at all.

Reading every version's whole text would cost versions x size. It is enough to look where
each revision changed the text: an id present at version v was either present at v - 1
(then it was seen before: every text starts as "" at version 0), or it overlaps, or touches,
what revision v inserted or where it deleted. So each revision is looked at around its edits
only, in the text after it, 23 characters either side: linear in what the revisions changed.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import re
from typing import AbstractSet, Iterable

from .ids import IMAGE_ID_LENGTH
from .patches import Edit
from .rope import Rope

# every 24-character run of base62 characters, at every start (overlapping: an id may sit
# inside a longer run of letters and digits)
_CANDIDATES = re.compile(rf"(?=([A-Za-z0-9]{{{IMAGE_ID_LENGTH}}}))")
REACH = IMAGE_ID_LENGTH - 1  # how far before or after an edit an id touching it may start or end


def ids_in(text: str, ids: AbstractSet[str]) -> set[str]:
    """The ids of `ids` that `text` holds anywhere."""
    return {m.group(1) for m in _CANDIDATES.finditer(text)} & ids if ids else set()


def changed_windows(edits: Iterable[Edit], length: int) -> list[tuple[int, int]]:
    """Where an edit list (positions in the old text, in order, as core.patches makes them)
    changed the new text: for each edit, the inserted range widened by REACH either side,
    clipped to the new text's `length`, overlapping windows merged."""
    windows: list[tuple[int, int]] = []
    shift = 0
    for e in edits:
        start = e.pos + shift
        end = start + len(e.insert)
        shift += len(e.insert) - len(e.delete)
        lo, hi = max(0, start - REACH), min(length, end + REACH)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    return windows


def ids_after(rope: Rope, edits: Iterable[Edit], ids: AbstractSet[str]) -> set[str]:
    """The ids of `ids` that a revision's edits may have brought into `rope` (its text after)."""
    found: set[str] = set()
    for lo, hi in changed_windows(edits, len(rope)):
        found |= ids_in(rope[lo:hi], ids)
    return found
