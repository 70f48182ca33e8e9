"""Replaying a document's stored revisions: "the text at version v", computed one way.

The one replay of collab: a text (a snapshot, or "" at version 0) and the revisions after
it, each applied exactly in version order to a text kept in chunks (each revision touches
only the chunks its hunks cover, so a replay is linear in what it reads, not a copy of the
whole text per revision), and the text's hash checked against the stored one. The service
(loading a document, reading a version, catching up with another process), the history
routes and the CLI (`export`, `replay`, `check`) all replay through `Replayer`.

Pure: works on any revision-like objects (`RevisionLike`); no I/O.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Iterable, Iterator, Protocol, Sequence

from .errors import CollabError
from .patches import REACH_BACK, Edit, Hunk, apply_patch, parse_patch, text_hash
from .snapshots import revision_cost

CHUNK = 16_384  # code points per piece of a text being replayed


class RevisionLike(Protocol):
    """What replay, blame and revert read of a stored revision (collab.storage.Revision fits)."""

    @property
    def version(self) -> int: ...

    @property
    def patch(self) -> str: ...

    @property
    def hash(self) -> str: ...

    @property
    def author(self) -> str: ...

    @property
    def attribution(self) -> str | None: ...


class ReplayError(Exception):
    """A stored history that does not replay: `version` is the first bad revision."""

    def __init__(self, version: int, reason: str) -> None:
        super().__init__(f"revision {version}: {reason}")
        self.version = version
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (ReplayError, (self.version, self.reason))


class ChunkedText:
    """A text as pieces of about CHUNK code points, patched in place."""

    def __init__(self, text: str) -> None:
        self.chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        self.starts = [i * CHUNK for i in range(len(self.chunks))]  # starts[i] = offset of chunks[i]

    def text(self) -> str:
        return "".join(self.chunks)

    def apply(self, hunks: Sequence[Hunk]) -> list[Edit]:
        """Apply a patch exactly (as patches.apply_patch would to the whole text); return
        its edits on the text before it, as apply_patch does."""
        if not hunks:
            return []
        # the old-text span the hunks read: their starts are in the text as patched by the
        # hunks before them, so shift each back by what those changed; contexts may reach
        # back into earlier hunks (REACH_BACK), hence the margin
        drift, end = 0, 0
        for h in hunks:
            end = max(end, h.start + drift + len(h.text1))
            drift += len(h.text1) - len(h.text2)
        first = bisect_right(self.starts, max(0, hunks[0].start - REACH_BACK)) - 1
        last = bisect_right(self.starts, end + REACH_BACK) - 1
        offset = self.starts[first]
        window = "".join(self.chunks[first:last + 1])
        try:
            new, edits = apply_patch(window, [h.moved(h.start - offset) for h in hunks])
        except CollabError:
            if first == 0 and last == len(self.chunks) - 1:
                raise
            # the span estimate missed: apply to the whole text (raises the real error)
            first, last, offset, window = 0, len(self.chunks) - 1, 0, self.text()
            new, edits = apply_patch(window, list(hunks))
        # into pieces of equal size near CHUNK (cutting at CHUNK would leave a sliver each time)
        count = max(1, round(len(new) / CHUNK))
        step = -(-len(new) // count) or 1
        pieces = [new[i:i + step] for i in range(0, len(new), step)]
        if not pieces and len(self.chunks) == last - first + 1:
            pieces = [""]
        self.chunks[first:last + 1] = pieces
        starts = self.starts[:first]
        at = offset
        for chunk in self.chunks[first:]:
            starts.append(at)
            at += len(chunk)
        self.starts = starts
        return edits if not offset else [Edit(e.pos + offset, e.delete, e.insert) for e in edits]


class Replayer:
    """A text at `version`, moved forward one stored revision at a time.

    `apply` checks that the revision is the next version and applies it exactly;
    `text()` checks the result against the last applied revision's hash (the text is
    joined only then: a replay to one version checks once, `collab check` every time).
    `written` sums the revisions' snapshots.revision_cost (when the next snapshot is due).
    """

    def __init__(self, text: str, version: int) -> None:
        self.version = version
        self.written = 0
        self._buf = ChunkedText(text)
        self._text: str | None = text  # the joined text, while no revision changed it
        self._last: RevisionLike | None = None  # the revision whose hash the text must have

    def apply(self, rev: RevisionLike) -> list[Edit]:
        if rev.version != self.version + 1:
            raise ReplayError(self.version + 1, f"missing (found {rev.version} next)")
        try:
            edits = self._buf.apply(parse_patch(rev.patch))
        except CollabError as exc:
            raise ReplayError(rev.version, f"does not apply: {exc.message}") from None
        self.version, self._last, self._text = rev.version, rev, None
        self.written += revision_cost(rev.patch)
        return edits

    def text(self) -> str:
        """The text at `self.version`, checked against its revision's hash."""
        if self._text is None:
            self._text = self._buf.text()
            assert self._last is not None
            if text_hash(self._text) != self._last.hash:
                raise ReplayError(self.version, "text hash does not match")
        return self._text


def text_at(text: str, version: int, revisions: Iterable[RevisionLike]) -> tuple[int, str, int]:
    """THE replay: apply revisions version+1, ... to `text` (a snapshot); return the last
    version, its text (hash checked) and the revisions' summed revision_cost."""
    replayer = Replayer(text, version)
    for rev in revisions:
        replayer.apply(rev)
    return replayer.version, replayer.text(), replayer.written


def replay(text: str, version: int, revisions: Iterable[RevisionLike]) -> Iterator[tuple[RevisionLike, str]]:
    """`text_at` one version at a time: yield each revision with the text after it, every
    text checked against its revision's hash (the CLI's `replay` and `check`)."""
    replayer = Replayer(text, version)
    for rev in revisions:
        replayer.apply(rev)
        yield rev, replayer.text()
