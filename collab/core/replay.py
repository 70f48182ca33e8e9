"""Replaying a document's stored revisions: "the text at version v", computed one way.

The one replay of collab: a text (a snapshot, or "" at version 0) and the revisions after
it, each applied exactly in version order to a text kept in chunks (core/rope.py: each
revision reads the part of the text its hunks cover and copies the chunks its edits
touch, so a replay is linear in what it reads, not a copy of the whole text per revision),
and the text's hash (the rope's CRC-32, kept as it changes) checked against the stored one. The service
(loading a document, reading a version, catching up with another process), the history
routes and the CLI (`export`, `replay`, `check`) all replay through `Replayer`.

Pure: works on any revision-like objects (`RevisionLike`); no I/O.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from .errors import CollabError
from .patches import Edit, parse_patch
from .rope import Rope
from .snapshots import revision_cost


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


class Replayer:
    """A text at `version`, moved forward one stored revision at a time.

    `apply` checks that the revision is the next version and applies it exactly;
    `text()` checks the result against the last applied revision's hash (the text is
    joined only then: a replay to one version checks once, `collab check` every time).
    `written` sums the revisions' snapshots.revision_cost (when the next snapshot is due).
    """

    def __init__(self, text: str | Rope, version: int) -> None:
        self.version = version
        self.written = 0
        self._rope = text if isinstance(text, Rope) else Rope(text)
        self._text: str | None = text if isinstance(text, str) else None  # the joined text, while unchanged
        self._last: RevisionLike | None = None  # the revision whose hash the text must have

    def apply(self, rev: RevisionLike) -> list[Edit]:
        if rev.version != self.version + 1:
            raise ReplayError(self.version + 1, f"missing (found {rev.version} next)")
        try:
            self._rope, edits = self._rope.apply(parse_patch(rev.patch))
        except CollabError as exc:
            raise ReplayError(rev.version, f"does not apply: {exc.message}") from None
        self.version, self._last, self._text = rev.version, rev, None
        self.written += revision_cost(rev.patch)
        return edits

    def rope(self) -> Rope:
        """The text at `self.version`, checked against its revision's hash (without joining it)."""
        if self._last is not None and self._rope.hash() != self._last.hash:
            raise ReplayError(self.version, "text hash does not match")
        return self._rope

    def text(self) -> str:
        """The text at `self.version` as one str, checked against its revision's hash."""
        rope = self.rope()
        if self._text is None:
            self._text = str(rope)
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
