"""Revert one author's changes made since a version, keeping everyone else's later work.

Selective undo over a linear history: walk revisions since+1..head carrying `pending`,
an operation on the text at the current version that takes that author's changes out
again. At the author's own revision, the revision's inverse is put in front of it
(compose); at anyone else's, it is carried over that revision (transform), so later work
by others stays where it is. Applied to the head text it gives the reverted text: what
the author inserted goes (except what others typed inside it), what the author deleted
comes back (where it was, among the later text).

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .errors import CollabError
from .blame import AuthoredRevision
from .history import HistoryError
from .operations import Operation, apply, compose, from_edits, to_edits, transform
from .patches import Edit, apply_patch, parse_patch, patch_from_edits


@dataclass(frozen=True)
class Reverted:
    version: int  # the head the revert was computed on
    head_text: str  # the text at that head
    text: str  # the text with the author's changes taken out
    edits: list[Edit]  # head_text -> text

    @property
    def patch(self) -> str:
        """The canonical patch head_text -> text ("" when there is nothing to revert)."""
        return patch_from_edits(self.head_text, self.edits)


def invert(edits: Sequence[Edit]) -> list[Edit]:
    """Edits undoing `edits`: on the text they produce, giving back the text they were made on."""
    out = []
    growth = 0
    for e in edits:
        out.append(Edit(e.pos + growth, e.insert, e.delete))
        growth += len(e.insert) - len(e.delete)
    return out


def revert(text: str, version: int, revisions: Iterable[AuthoredRevision], author: str) -> Reverted:
    """Take `author`'s changes out of revisions version+1, version+2, ... (in order, all
    of them up to the head), starting from `text`, the text at `version`."""
    pending: Operation = from_edits([], len(text))
    for rev in revisions:
        if rev.version != version + 1:
            raise HistoryError(version + 1, f"missing (found {rev.version} next)")
        try:
            new_text, edits = apply_patch(text, parse_patch(rev.patch))
        except CollabError as exc:
            raise HistoryError(rev.version, f"does not apply: {exc.message}") from None
        if rev.author == author:
            # undo this revision first, then what was pending before it
            pending = compose(from_edits(invert(edits), len(new_text)), pending)
        else:
            pending = transform(pending, from_edits(edits, len(text)))[0]
        text, version = new_text, rev.version
    return Reverted(version, text, apply(text, pending), to_edits(pending, text))
