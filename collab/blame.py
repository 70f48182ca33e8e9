"""Attribution: which revision wrote each code point of a document at some version.

Computed from the stored history only (never from what clients claim): every revision's
canonical patch is walked hunk by hunk, inserted code points are tagged with the
revision's version, deleted ones dropped. The text itself is not needed, so blame costs
one pass over the patches.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

from array import array
from typing import Iterable, Protocol, TypedDict

from .errors import CollabError
from .history import HistoryError
from .patches import DIFF_DELETE, DIFF_INSERT, parse_patch

CHUNK = 4096  # code points per chunk of the version map: an edit moves at most ~2 chunks' worth


class Span(TypedDict):
    start: int  # code points, end exclusive
    end: int
    version: int
    author: str


class AuthoredRevision(Protocol):
    """What blame and revert read of a stored revision (collab.storage.Revision fits)."""

    @property
    def version(self) -> int: ...

    @property
    def patch(self) -> str: ...

    @property
    def author(self) -> str: ...


class VersionMap:
    """The version that inserted each code point, kept in chunks so that an edit in a
    long text moves only a few thousand entries, not all of them."""

    def __init__(self) -> None:
        self.chunks: list[array] = [array("q")]
        self.length = 0

    def _find(self, pos: int) -> tuple[int, int]:
        """(chunk index, offset in it) of code point `pos`; pos == length is the end."""
        for i, chunk in enumerate(self.chunks):
            if pos <= len(chunk) and (pos < len(chunk) or i == len(self.chunks) - 1):
                return i, pos
            pos -= len(chunk)
        raise AssertionError("position past the end")  # callers check the bounds

    def insert(self, pos: int, count: int, version: int) -> None:
        if not 0 <= pos <= self.length:
            raise ValueError(f"insert at {pos}, past the end of the text ({self.length})")
        i, off = self._find(pos)
        chunk = self.chunks[i]
        chunk[off:off] = array("q", [version]) * count
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

    def runs(self) -> list[tuple[int, int, int]]:
        """Maximal runs (start, end, version), covering the text exactly."""
        out: list[tuple[int, int, int]] = []
        pos = 0
        for chunk in self.chunks:
            for v in chunk:
                if out and out[-1][2] == v and out[-1][1] == pos:
                    out[-1] = (out[-1][0], pos + 1, v)
                else:
                    out.append((pos, pos + 1, v))
                pos += 1
        return out


def apply_revision(versions: VersionMap, rev: AuthoredRevision) -> None:
    """Tag what one canonical patch inserts with its version; drop what it deletes.

    Hunks apply in order, each at its start in the text as patched by the ones before.
    """
    try:
        for hunk in parse_patch(rev.patch):
            pos = hunk.start
            for op, data in hunk.ops:
                if op == DIFF_DELETE:
                    versions.delete(pos, len(data))
                elif op == DIFF_INSERT:
                    versions.insert(pos, len(data), rev.version)
                    pos += len(data)
                else:
                    if pos + len(data) > versions.length:
                        raise ValueError("context past the end of the text")
                    pos += len(data)
    except (CollabError, ValueError) as exc:
        raise HistoryError(rev.version, f"does not apply: {exc}") from None


def blame(revisions: Iterable[AuthoredRevision]) -> list[Span]:
    """Spans of the text after `revisions` (versions 1, 2, ... in order, from ""), each
    with the version and author of the revision that inserted it. Adjacent code points
    from the same revision form one span; the spans cover the text exactly."""
    versions = VersionMap()
    authors: dict[int, str] = {}
    expected = 1
    for rev in revisions:
        if rev.version != expected:
            raise HistoryError(expected, f"missing (found {rev.version} next)")
        apply_revision(versions, rev)
        authors[rev.version] = rev.author
        expected += 1
    return [Span(start=s, end=e, version=v, author=authors[v]) for s, e, v in versions.runs()]
