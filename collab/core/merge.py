"""Merging a stale patch whose hunks overlap revisions committed since its base.

Moving hunks (patches.move_hunks) refuses a hunk whose context or deleted text a later
revision changed: matching it anyway would be guessing. When those revisions are few, the
server can do better than `conflict` without guessing: undo them to get the exact text the
patch was made on, apply the patch to that text exactly, and carry its change over the
revisions as an operation, as a client carries its own edits (the committed revisions'
inserts first). Pure: no I/O.
"""
from __future__ import annotations

from typing import Sequence

from . import operations as ops
from .patches import REACH_BACK, Edit, Hunk, apply_edits, apply_patch

MERGE_WINDOW = 100  # at most this many revisions between a patch's base and the head


def undo(text_after: str, edits: Sequence[Edit]) -> str:
    """The text before a revision, from the text after it and its edits (made on the text before)."""
    inverse = []
    shift = 0
    for e in edits:
        inverse.append(Edit(e.pos + shift, e.insert, e.delete))
        shift += len(e.insert) - len(e.delete)
    return apply_edits(text_after, inverse)


def merge_span(head_length: int, revisions: Sequence[Sequence[Edit]], hunks: Sequence[Hunk]) -> tuple[int, int]:
    """The code points [lo, hi) of the head text (of `head_length`) that merge_stale needs:
    before lo and after hi, no revision changed anything and the patch reads nothing, so
    that part is the same in every version from the base to the head (a keystroke merged
    next to another reads a few thousand code points of a 4 M document, not all of it)."""
    lo = hunks[0].start - REACH_BACK if hunks else head_length  # the patch reads from here (patch_span)
    tail = head_length  # code points at the end that no revision touched
    length = head_length
    for edits in reversed(revisions):  # each revision's edits are on the text before it
        before = length - sum(len(e.insert) - len(e.delete) for e in edits)
        for e in edits:
            lo = min(lo, e.pos)
            tail = min(tail, before - e.end)
        length = before
    drift = 0  # `length` is now the base's: the furthest the patch reads in it
    for h in hunks:
        tail = min(tail, length - (h.start + drift + len(h.text1)))
        drift += len(h.text1) - len(h.text2)
    lo = min(max(0, lo), head_length)
    return lo, max(lo, head_length - max(0, tail))


def merge_stale(head_text: str, revisions: Sequence[Sequence[Edit]], hunks: Sequence[Hunk],
                offset: int = 0) -> tuple[str, list[Edit]]:
    """Apply `hunks`, made against the text before `revisions`, to `head_text` (the text after
    them). Raises PatchConflict when the patch does not apply exactly to that base text.

    The patch's change is transformed over each revision in turn (ot's rule: transforming
    over several operations one by one equals transforming over their composition), which
    costs the size of the patch and of each revision, not of everything composed so far.

    With `offset`, `head_text` is the part of the head from that code point on that
    merge_span gives: the revisions' and hunks' positions and the edits returned are the
    whole text's, the text returned is the part's."""
    if offset:
        revisions = [[Edit(e.pos - offset, e.delete, e.insert) for e in edits] for edits in revisions]
    base = head_text
    lengths = []  # lengths[i]: of the text before revision i
    for edits in reversed(revisions):
        base = undo(base, edits)
        lengths.append(len(base))
    lengths.reverse()
    _, local_edits = apply_patch(base, hunks, offset)
    if offset:
        local_edits = [Edit(e.pos - offset, e.delete, e.insert) for e in local_edits]
    local = ops.from_edits(local_edits, len(base))
    for length, edits in zip(lengths, revisions):
        # the committed revision's inserts go first
        _, local = ops.transform(ops.from_edits(edits, length), local)
    edits = ops.to_edits(local, head_text)
    return ops.apply(head_text, local), edits if not offset else [Edit(e.pos + offset, e.delete, e.insert) for e in edits]
