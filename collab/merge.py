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
    them). Raises PatchConflict when the patch does not apply exactly to that base text."""
    texts = [head_text]
    for edits in reversed(revisions):
        texts.append(undo(texts[-1], edits))
    texts.reverse()  # texts[i]: before revision i; texts[-1] is the head
    remote: ops.Operation = ops.single(len(texts[0]), 0, 0, "")
    for before, edits in zip(texts, revisions):
        remote = ops.compose(remote, ops.from_edits(edits, len(before)))
    _, local_edits = apply_patch(texts[0], hunks)
    _, local = ops.transform(remote, ops.from_edits(local_edits, len(texts[0])))
    return ops.apply(head_text, local), ops.to_edits(local, head_text)
