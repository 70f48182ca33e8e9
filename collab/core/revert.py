"""Revert one author's changes made since a version, keeping everyone else's work.

Selective undo over the identities of blame.py. A `Weave` holds every code point ever
inserted, deleted ones included, in the one order all versions share (a version's text
is a subsequence of it: an insert goes between its neighbours, a restore or a revert
only shows or hides code points already there). Each code point carries `keep`: whether
it is in the reverted text. The rule, per code point:
- first written by the author after `since`: not kept, whoever brought it back later;
- else as the last change made to it after `since` by anyone but the author left it
  (typed, deleted, or shown again by a restore or a revert);
- else as it was at `since`.
So what the author typed goes (except what others typed inside it), what the author
deleted comes back where it was, and text a restore brought back counts as its first
writer's: "revert Bob" takes out exactly Bob's text after any sequence of restores.

One pass over the history from version 1 (a restore may bring back text deleted before
`since`, so its identity must be known), linear in what it reads: the weave is a list of
runs (pieces) in blocks, so an edit walks the blocks, then one block.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Sequence

from .blame import SHIFT, IdRun, decode, encode
from .errors import CollabError
from .replay import ReplayError, RevisionLike
from .patches import DIFF_DELETE, DIFF_INSERT, Edit, apply_patch, parse_patch, patch_from_edits, walk_hunks

BLOCK = 16  # pieces per block of the weave (split at twice that); the finger finds the block


@dataclass(slots=True)
class Piece:
    """Code points inserted together whose identities are first, first + 1, ...; every change
    so far has treated them alike (pieces split, never merge)."""

    first: int
    text: str
    visible: bool  # in the text now
    keep: bool  # in the reverted text


@dataclass(frozen=True)
class Reverted:
    version: int  # the head the revert was computed on
    head_text: str  # the text at that head
    text: str  # the text with the author's changes taken out
    edits: list[Edit]  # head_text -> text: exactly what the revert takes out and brings back
    attribution: str  # who first wrote each code point of `text` (blame.encode)

    @cached_property
    def patch(self) -> str:
        """A patch head_text -> text made of `edits` ("" when there is nothing to revert);
        kept once made (and pickled with the rest: the read worker process makes it)."""
        return patch_from_edits(self.head_text, self.edits)


class Weave:
    """Every code point ever inserted, in order, with its identity, visibility and `keep`."""

    def __init__(self) -> None:
        self.blocks: list[list[Piece]] = [[]]
        self.shown: list[int] = [0]  # shown[b]: visible code points in block b
        self.length = 0  # visible code points in all
        # the block of the last edit and the visible code points before it: edits are mostly
        # near the one before (people type on), so finding one walks a few blocks, not all
        self.finger, self.before = 0, 0

    def _locate(self, pos: int) -> tuple[int, int, int]:
        """(block, piece, offset) of visible code point `pos`; pos == length gives the end
        of the last block."""
        if not 0 <= pos <= self.length:
            raise ValueError(f"position {pos} is past the end of the text ({self.length})")
        b, before, shown = self.finger, self.before, self.shown
        while b > 0 and pos < before:
            b -= 1
            before -= shown[b]
        while b < len(shown) - 1 and pos >= before + shown[b]:
            before += shown[b]
            b += 1
        self.finger, self.before = b, before
        pos -= before
        if pos < shown[b]:
            for j, p in enumerate(self.blocks[b]):
                if p.visible:
                    if pos < len(p.text):
                        return b, j, pos
                    pos -= len(p.text)
            raise AssertionError("a block shows fewer code points than counted")
        assert b == len(shown) - 1 and pos == shown[b], "only the end lies past every block"
        return b, len(self.blocks[b]), 0

    def _split(self, b: int, j: int, k: int) -> int:
        """Cut piece j of block b before its k-th code point (0 < k < its length); the
        index of the second half."""
        p = self.blocks[b][j]
        self.blocks[b].insert(j + 1, Piece(p.first + k, p.text[k:], p.visible, p.keep))
        p.text = p.text[:k]
        return j + 1

    def _rebalance(self, b: int) -> None:
        block = self.blocks[b]
        if len(block) > 2 * BLOCK:
            parts = [block[k : k + BLOCK] for k in range(0, len(block), BLOCK)]
            self.blocks[b : b + 1] = parts
            self.shown[b : b + 1] = [sum(len(p.text) for p in part if p.visible) for part in parts]

    def insert(self, pos: int, first: int, text: str, keep: bool) -> None:
        """New code points before visible code point `pos` (after any deleted ones there)."""
        b, j, k = self._locate(pos)
        if k:
            j = self._split(b, j, k)
        self.blocks[b].insert(j, Piece(first, text, True, keep))
        self.shown[b] += len(text)
        self.length += len(text)
        self._rebalance(b)

    def delete(self, pos: int, text: str, counts: bool) -> None:
        """Hide the visible code points pos..pos+len(text), which must read `text`."""
        if pos + len(text) > self.length:
            raise ValueError(f"delete of {len(text)} at {pos}, past the end of the text ({self.length})")
        b, j, k = self._locate(pos)
        if k:
            j = self._split(b, j, k)
        done = 0
        while done < len(text):
            block = self.blocks[b]
            if j == len(block):
                b, j = b + 1, 0
                continue
            p = block[j]
            if p.visible:
                n = len(text) - done
                if len(p.text) > n:
                    self._split(b, j, n)
                if p.text != text[done : done + len(p.text)]:
                    raise ValueError(f"deleted text differs from the text at {pos + done}")
                p.visible = False
                if counts:
                    p.keep = False
                done += len(p.text)
                self.shown[b] -= len(p.text)
            j += 1
        self.length -= len(text)

    def show_only(self, runs: Sequence[IdRun], counts: bool, banned: Callable[[int], bool]) -> None:
        """Make exactly the code points of `runs` visible, in this order (a restore or a
        revert: they are all in the weave already, in its order). `banned(version)`: code
        points first written by that version are never kept."""
        out: list[Piece] = []
        r, cur, left = 0, 0, 0  # the next identity wanted, and how many follow it in its run
        if runs:
            cur, left = runs[0]

        def put(piece: Piece, visible: bool) -> None:
            if piece.visible != visible and counts:
                piece.keep = visible and not banned(piece.first >> SHIFT)
            piece.visible = visible
            out.append(piece)

        for p in self.pieces():
            rest: Piece | None = p
            while rest is not None:
                n = len(rest.text)
                if not (left and rest.first <= cur < rest.first + n):
                    put(rest, False)  # not in the text
                    break
                k = cur - rest.first
                if k:  # the start of the piece is not in the text
                    put(_cut(rest, 0, k), False)
                    rest, n = _cut(rest, k, n), n - k
                m = min(n, left)
                put(_cut(rest, 0, m), True)
                cur, left = cur + m, left - m
                if not left and r + 1 < len(runs):
                    r += 1
                    cur, left = runs[r]
                rest = _cut(rest, m, n) if m < n else None
        if left:
            raise ValueError("attribution names code points the history does not have, or out of order")
        self.blocks = [out[k : k + BLOCK] for k in range(0, len(out), BLOCK)] or [[]]
        self.shown = [sum(len(p.text) for p in block if p.visible) for block in self.blocks]
        self.length = sum(self.shown)
        self.finger, self.before = 0, 0

    def mark(self) -> None:
        """Keep exactly what is visible now (the text at `since`)."""
        for block in self.blocks:
            for p in block:
                p.keep = p.visible

    def pieces(self) -> Iterable[Piece]:
        for block in self.blocks:
            yield from block

    def text(self) -> str:
        return "".join(p.text for p in self.pieces() if p.visible)


def _cut(p: Piece, a: int, b: int) -> Piece:
    """Code points a..b of a piece, as a piece."""
    return Piece(p.first + a, p.text[a:b], p.visible, p.keep)


def _apply(weave: Weave, rev: RevisionLike, counts: bool, banned: Callable[[int], bool]) -> None:
    hunks = parse_patch(rev.patch)
    stored = getattr(rev, "attribution", None)  # revision-like objects from before may lack it
    if stored is not None:
        # a restore or a revert: its text is the one its patch makes; who wrote it, the stored runs
        after = apply_patch(weave.text(), hunks)[0]
        weave.show_only(decode(stored, rev.version), counts, banned)
        if weave.text() != after:
            raise ValueError("attribution does not match the text the patch makes")
        return
    fresh = rev.version << SHIFT
    for op, pos, data in walk_hunks(hunks, lambda: weave.length):
        if op == DIFF_DELETE:
            weave.delete(pos, data, counts)
        elif op == DIFF_INSERT:
            weave.insert(pos, fresh, data, counts)
            fresh += len(data)


def revert(revisions: Iterable[RevisionLike], author: str, since: int, account: str | None = None) -> Reverted:
    """Take one author's changes of revisions since+1..head out of the text at the head:
    those of `account` (a signed-in person, whatever names they had), or without it those of
    the guest `author` (revisions by that name and no account: a guest who calls themselves
    Ann never stands for the account named Ann, nor the other way round). `revisions` are
    the whole history, versions 1, 2, ... up to the head, in order."""
    weave = Weave()
    theirs: set[int] = set()  # the versions the author made

    def mine(rev: RevisionLike) -> bool:
        made_by = getattr(rev, "account", None)
        return made_by == account if account is not None else (made_by is None and rev.author == author)

    def banned(version: int) -> bool:
        return version > since and version in theirs

    version = 0
    if since == 0:
        weave.mark()
    for rev in revisions:
        if rev.version != version + 1:
            raise ReplayError(version + 1, f"missing (found {rev.version} next)")
        by_them = mine(rev)
        if by_them:
            theirs.add(rev.version)
        # a change counts for the reverted text unless the author made it after `since`
        counts = rev.version <= since or not by_them
        try:
            _apply(weave, rev, counts, banned)
        except (CollabError, ValueError) as exc:
            raise ReplayError(rev.version, f"does not apply: {exc}") from None
        version = rev.version
        if version == since:
            weave.mark()
    if version < since:
        raise ReplayError(version + 1, f"missing (the history ends before version {since})")
    return _result(weave, version)


def _result(weave: Weave, version: int) -> Reverted:
    """The reverted text, and the edits head -> it, from the weave's `keep` marks."""
    head: list[str] = []
    kept: list[str] = []
    runs: list[list[int]] = []
    edits: list[Edit] = []
    pos = 0  # in the head text
    open_at = -1  # the edit being built: where it starts in the head text, what it takes out and puts in
    deleted: list[str] = []
    inserted: list[str] = []

    def close() -> None:
        nonlocal open_at, deleted, inserted
        if open_at >= 0:
            edits.append(Edit(open_at, "".join(deleted), "".join(inserted)))
        open_at, deleted, inserted = -1, [], []

    for p in weave.pieces():
        first, text, visible, keep = p.first, p.text, p.visible, p.keep
        if visible:
            head.append(text)
        if keep:
            kept.append(text)
            if runs and runs[-1][0] + runs[-1][1] == first:
                runs[-1][1] += len(text)
            else:
                runs.append([first, len(text)])
        if visible and keep:
            close()
        elif visible or keep:
            if open_at < 0:
                open_at = pos
            (deleted if visible else inserted).append(text)
        if visible:
            pos += len(text)
    close()
    return Reverted(version, "".join(head), "".join(kept), edits, encode((a, n) for a, n in runs))
