"""Text operations: the algebra clients use to keep local edits across revisions.

An operation covers a whole text, as a list like ot.js's JSON form: a positive int keeps
that many code points, a negative int deletes that many, a str inserts itself. `compose`
chains two operations; `transform` carries two concurrent operations over each other.
Pure: no I/O, no framework imports. frontend/src/sync.js has the same rules:
- an insert inside a range the other side deletes survives (nothing typed is lost);
- characters both sides delete are deleted once;
- when both insert at the same point, the first argument's text goes first.
"""
from __future__ import annotations

from typing import Sequence, Union

from .patches import Edit

Op = Union[int, str]
Operation = list[Op]


class _Builder:
    """Appends components, merging neighbours and putting an insert before a delete."""

    def __init__(self) -> None:
        self.ops: Operation = []

    def retain(self, n: int) -> None:
        if n <= 0:
            return
        if self.ops and isinstance(self.ops[-1], int) and self.ops[-1] > 0:
            self.ops[-1] += n
        else:
            self.ops.append(n)

    def insert(self, s: str) -> None:
        if not s:
            return
        ops = self.ops
        if ops and isinstance(ops[-1], str):
            ops[-1] += s
        elif ops and isinstance(ops[-1], int) and ops[-1] < 0:
            # delete+insert and insert+delete mean the same: keep the insert first
            if len(ops) > 1 and isinstance(ops[-2], str):
                ops[-2] += s
            else:
                ops.insert(len(ops) - 1, s)
        else:
            ops.append(s)

    def delete(self, n: int) -> None:
        if n <= 0:
            return
        if self.ops and isinstance(self.ops[-1], int) and self.ops[-1] < 0:
            self.ops[-1] -= n
        else:
            self.ops.append(-n)


def base_length(op: Sequence[Op]) -> int:
    return sum(c if c > 0 else -c for c in op if isinstance(c, int))


def target_length(op: Sequence[Op]) -> int:
    return sum(c if c > 0 else 0 for c in op if isinstance(c, int)) + sum(len(c) for c in op if isinstance(c, str))


def is_noop(op: Sequence[Op]) -> bool:
    return all(isinstance(c, int) and c > 0 for c in op)


def from_edits(edits: Sequence[Edit], length: int) -> Operation:
    b = _Builder()
    cur = 0
    for e in edits:
        assert e.pos >= cur, "edits must be sorted and must not overlap"
        b.retain(e.pos - cur)
        b.insert(e.insert)
        b.delete(len(e.delete))
        cur = e.end
    assert cur <= length, "edits reach past the end of the text"
    b.retain(length - cur)
    return b.ops


def to_edits(op: Sequence[Op], text: str) -> list[Edit]:
    """The operation as edits on `text` (which supplies the deleted strings)."""
    edits: list[Edit] = []
    pos = 0
    for c in op:
        if isinstance(c, str):
            if edits and edits[-1].end == pos and not edits[-1].delete:
                edits[-1] = Edit(edits[-1].pos, "", edits[-1].insert + c)
            else:
                edits.append(Edit(pos, "", c))
        elif c > 0:
            pos += c
        else:
            if edits and edits[-1].end == pos and (edits[-1].pos == pos or edits[-1].delete):
                last = edits[-1]
                edits[-1] = Edit(last.pos, last.delete + text[pos : pos - c], last.insert)
            else:
                edits.append(Edit(pos, text[pos : pos - c], ""))
            pos -= c
    return edits


def apply(text: str, op: Sequence[Op]) -> str:
    if base_length(op) != len(text):
        raise ValueError(f"operation covers {base_length(op)} code points, the text has {len(text)}")
    out = []
    pos = 0
    for c in op:
        if isinstance(c, str):
            out.append(c)
        elif c > 0:
            out.append(text[pos : pos + c])
            pos += c
        else:
            pos -= c
    return "".join(out)


def single(length: int, pos: int, delete: int, insert: str) -> Operation:
    """The operation of one edit on a text of `length`."""
    b = _Builder()
    b.retain(pos)
    b.insert(insert)
    b.delete(delete)
    b.retain(length - pos - delete)
    return b.ops


def _split(c: Op, n: int) -> tuple[Op, Op | None]:
    """The first n code points of a component, and the rest (None when nothing is left)."""
    if isinstance(c, str):
        return c[:n], (c[n:] or None)
    if c > 0:
        return n, (c - n or None)
    return -n, (c + n or None)


def _size(c: Op) -> int:
    return len(c) if isinstance(c, str) else abs(c)


def compose(a: Sequence[Op], b: Sequence[Op]) -> Operation:
    """One operation with the effect of `a` then `b`."""
    if target_length(a) != base_length(b):
        raise ValueError("compose: the second operation does not start where the first ends")
    out = _Builder()
    ita, itb = iter(a), iter(b)
    ca: Op | None = next(ita, None)
    cb: Op | None = next(itb, None)
    while ca is not None or cb is not None:
        if isinstance(ca, int) and ca < 0:
            out.delete(-ca)
            ca = next(ita, None)
            continue
        if isinstance(cb, str):
            out.insert(cb)
            cb = next(itb, None)
            continue
        assert ca is not None and cb is not None
        n = min(_size(ca), _size(cb))
        pa, ra = _split(ca, n)
        pb, rb = _split(cb, n)
        if isinstance(pa, str):
            if isinstance(pb, int) and pb > 0:
                out.insert(pa)
            # an insert then deleted again: nothing
        elif isinstance(pb, int) and pb > 0:
            out.retain(n)
        else:
            out.delete(n)
        ca, cb = ra, rb
        ca = next(ita, None) if ca is None else ca
        cb = next(itb, None) if cb is None else cb
    return out.ops


def transform(a: Sequence[Op], b: Sequence[Op]) -> tuple[Operation, Operation]:
    """(a', b') with apply(apply(t, a), b') == apply(apply(t, b), a'); a's inserts go first."""
    if base_length(a) != base_length(b):
        raise ValueError("transform: the operations are not on the same text")
    pa, pb = _Builder(), _Builder()
    ita, itb = iter(a), iter(b)
    ca: Op | None = next(ita, None)
    cb: Op | None = next(itb, None)
    while ca is not None or cb is not None:
        if isinstance(ca, str):
            pa.insert(ca)
            pb.retain(len(ca))
            ca = next(ita, None)
            continue
        if isinstance(cb, str):
            pa.retain(len(cb))
            pb.insert(cb)
            cb = next(itb, None)
            continue
        assert isinstance(ca, int) and isinstance(cb, int)
        n = min(abs(ca), abs(cb))
        if ca > 0 and cb > 0:
            pa.retain(n)
            pb.retain(n)
        elif ca < 0 < cb:
            pa.delete(n)
        elif cb < 0 < ca:
            pb.delete(n)
        # both deleted the same code points: nothing on either side
        ca = _split(ca, n)[1]
        cb = _split(cb, n)[1]
        ca = next(ita, None) if ca is None else ca
        cb = next(itb, None) if cb is None else cb
    return pa.ops, pb.ops
