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
from .patches import Edit, Hunk, apply_edits, apply_patch

MERGE_WINDOW = 100  # at most this many revisions between a patch's base and the head


def undo(text_after: str, edits: Sequence[Edit]) -> str:
    """The text before a revision, from the text after it and its edits (made on the text before)."""
    inverse = []
    shift = 0
    for e in edits:
        inverse.append(Edit(e.pos + shift, e.insert, e.delete))
        shift += len(e.insert) - len(e.delete)
    return apply_edits(text_after, inverse)


def merge_stale(head_text: str, revisions: Sequence[Sequence[Edit]], hunks: Sequence[Hunk]) -> tuple[str, list[Edit]]:
    """Apply `hunks`, made against the text before `revisions`, to `head_text` (the text after
    them). Raises PatchConflict when the patch does not apply exactly to that base text.

    The patch's change is transformed over each revision in turn (ot's rule: transforming
    over several operations one by one equals transforming over their composition), which
    costs the size of the patch and of each revision, not of everything composed so far."""
    base = head_text
    lengths = []  # lengths[i]: of the text before revision i
    for edits in reversed(revisions):
        base = undo(base, edits)
        lengths.append(len(base))
    lengths.reverse()
    _, local_edits = apply_patch(base, hunks)
    local = ops.from_edits(local_edits, len(base))
    for length, edits in zip(lengths, revisions):
        # the committed revision's inserts go first
        _, local = ops.transform(ops.from_edits(edits, length), local)
    return ops.apply(head_text, local), ops.to_edits(local, head_text)
