"""Attribution: who wrote each code point of a document at some version.

Computed from the stored history only (never from what clients claim). Every code point
ever inserted has an identity, `version << SHIFT | n`: the n-th code point that revision
`version`'s canonical patch inserted. An ordinary revision's inserts get new identities;
a restore or a revert brings text back, so its revision stores `attribution`: the
identities of its whole resulting text (see `encode`), and the code points it brought
back keep the identity, and so the author, of whoever first wrote them. Blame walks the
patches once, hunk by hunk, keeping the identity of each code point in a chunked array
(no text needed), so it costs one pass over what it reads.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import json
from array import array
from typing import Iterable, Iterator, NotRequired, Sequence, TypedDict

from .errors import CollabError
from .replay import ReplayError, RevisionLike
from .patches import DIFF_DELETE, DIFF_INSERT, parse_patch, walk_hunks

CHUNK = 4096  # code points per chunk of the identity map: an edit moves at most ~2 chunks' worth
SHIFT = 32  # identity = version << SHIFT | index: a revision inserts fewer than 2**32 code points
INDEX = (1 << SHIFT) - 1

IdRun = tuple[int, int]  # (first identity, length): identities first, first + 1, ...


class Span(TypedDict):
    start: int  # code points, end exclusive
    end: int
    version: int  # the revision that first wrote this text
    author: str
    account: NotRequired[str]  # the author's account id, when they were signed in (COLLAB_SIGN_IN)


def encode(runs: Iterable[IdRun]) -> str:
    """Identity runs as stored text: a flat JSON list `[dv, index, length, ...]`, where dv is
    the run's version minus the previous run's (a typed text is mostly runs of +1)."""
    flat: list[int] = []
    last = 0
    for first, n in runs:
        version = first >> SHIFT
        flat += (version - last, first & INDEX, n)
        last = version
    return json.dumps(flat, separators=(",", ":"))


def decode(text: str, before: int) -> list[IdRun]:
    """The runs of `encode`; every identity must be of a version below `before`."""
    try:
        flat = json.loads(text)
    except ValueError:
        raise ValueError("attribution is not JSON") from None
    if not isinstance(flat, list) or len(flat) % 3:
        raise ValueError("attribution is not a list of (version, index, length) triples")
    runs: list[IdRun] = []
    version = 0
    for i in range(0, len(flat), 3):
        dv, index, n = flat[i : i + 3]
        if not all(type(x) is int for x in (dv, index, n)):
            raise ValueError("attribution holds something other than whole numbers")
        version += dv
        if not (1 <= version < before and 0 <= index and n >= 1 and index + n - 1 <= INDEX):
            raise ValueError(f"attribution names code points {index}..{index + n - 1} of version {version}")
        runs.append((version << SHIFT | index, n))
    return runs


def id_runs(ids: Iterable[int]) -> list[IdRun]:
    """Consecutive identities as runs."""
    runs: list[list[int]] = []
    for x in ids:
        if runs and runs[-1][0] + runs[-1][1] == x:
            runs[-1][1] += 1
        else:
            runs.append([x, 1])
    return [(a, n) for a, n in runs]


class IdentityMap:
    """The identity of each code point of a text, kept in chunks so that an edit in a
    long text moves only a few thousand entries, not all of them."""

    def __init__(self) -> None:
        self.chunks: list[array[int]] = [array("q")]
        self.length = 0

    def _find(self, pos: int) -> tuple[int, int]:
        """(chunk index, offset in it) of code point `pos`; pos == length is the end."""
        for i, chunk in enumerate(self.chunks):
            if pos <= len(chunk) and (pos < len(chunk) or i == len(self.chunks) - 1):
                return i, pos
            pos -= len(chunk)
        raise AssertionError("position past the end")  # callers check the bounds

    def insert(self, pos: int, count: int, value: int, step: int = 0) -> None:
        """Insert `count` entries value, value + step, value + 2 * step, ... at `pos`."""
        if not 0 <= pos <= self.length:
            raise ValueError(f"insert at {pos}, past the end of the text ({self.length})")
        i, off = self._find(pos)
        chunk = self.chunks[i]
        values = array("q", range(value, value + count * step, step)) if step else array("q", [value]) * count
        chunk[off:off] = values
        self.length += count
        if len(chunk) > 2 * CHUNK:
            self.chunks[i : i + 1] = [chunk[k : k + CHUNK] for k in range(0, len(chunk), CHUNK)]

    def delete(self, pos: int, count: int) -> None:
        if pos < 0 or pos + count > self.length:
            raise ValueError(f"delete of {count} at {pos}, past the end of the text ({self.length})")
        self.length -= count
        while count:
            i, off = self._find(pos)
            chunk = self.chunks[i]
            n = min(count, len(chunk) - off)
            del chunk[off : off + n]
            count -= n
            if not chunk and len(self.chunks) > 1:
                del self.chunks[i]

    def replace(self, runs: Sequence[IdRun]) -> None:
        """Make the whole map these identity runs."""
        flat = array("q")
        for first, n in runs:
            flat.extend(range(first, first + n))
        self.chunks = [flat[k : k + CHUNK] for k in range(0, len(flat), CHUNK)] or [array("q")]
        self.length = len(flat)

    def values(self) -> Iterator[int]:
        for chunk in self.chunks:
            yield from chunk

    def runs(self) -> list[tuple[int, int, int]]:
        """Maximal runs (start, end, value) of equal values, covering the text exactly."""
        return _runs(self.values())


def _runs(values: Iterable[int]) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    pos = 0
    for v in values:
        if out and out[-1][2] == v:
            out[-1] = (out[-1][0], pos + 1, v)
        else:
            out.append((pos, pos + 1, v))
        pos += 1
    return out


def apply_revision(ids: IdentityMap, rev: RevisionLike) -> None:
    """Give what one canonical patch inserts new identities; drop what it deletes. A
    revision with `attribution` (a restore or a revert) then names its text's identities.

    Hunks apply in order, each at its start in the text as patched by the ones before.
    """
    try:
        fresh = rev.version << SHIFT
        for op, pos, data in walk_hunks(parse_patch(rev.patch), lambda: ids.length):
            if op == DIFF_DELETE:
                ids.delete(pos, len(data))
            elif op == DIFF_INSERT:
                ids.insert(pos, len(data), fresh, 1)
                fresh += len(data)
        stored = getattr(rev, "attribution", None)  # revision-like objects from before may lack it
        if stored is not None:
            runs = decode(stored, rev.version)
            if sum(n for _, n in runs) != ids.length:
                raise ValueError(f"attribution covers {sum(n for _, n in runs)} code points, "
                                 f"the text has {ids.length}")
            ids.replace(runs)
    except (CollabError, ValueError) as exc:
        raise ReplayError(rev.version, f"does not apply: {exc}") from None


def identities(revisions: Iterable[RevisionLike]) -> tuple[IdentityMap, dict[int, str]]:
    """The identity of each code point after `revisions` (versions 1, 2, ... in order, from
    ""), and the author of each version."""
    ids = IdentityMap()
    authors: dict[int, str] = {}
    expected = 1
    for rev in revisions:
        if rev.version != expected:
            raise ReplayError(expected, f"missing (found {rev.version} next)")
        apply_revision(ids, rev)
        authors[rev.version] = rev.author
        expected += 1
    return ids, authors


def attribution_at(revisions: Iterable[RevisionLike]) -> str:
    """The stored attribution of the text after `revisions`: what a restore of that
    version stores, so that the text it brings back keeps its authors."""
    return encode(id_runs(identities(revisions)[0].values()))


def blame(revisions: Iterable[RevisionLike]) -> list[Span]:
    """Spans of the text after `revisions` (versions 1, 2, ... in order, from ""), each
    with the version and author of the revision that first wrote it. Adjacent code points
    first written by the same revision form one span; the spans cover the text exactly."""
    accounts: dict[int, str] = {}

    def noted(revisions: Iterable[RevisionLike]) -> Iterator[RevisionLike]:
        for rev in revisions:
            account = getattr(rev, "account", None)  # (storage.Revision has it; not every RevisionLike)
            if account is not None:
                accounts[rev.version] = account
            yield rev

    ids, authors = identities(noted(revisions))
    spans = _runs(x >> SHIFT for x in ids.values())
    out = [Span(start=s, end=e, version=v, author=authors[v]) for s, e, v in spans]
    for span in out:
        if span["version"] in accounts:  # only then: a guest's span is as before accounts
            span["account"] = accounts[span["version"]]
    return out
