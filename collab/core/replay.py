"""Replaying a document's history: each revision applies exactly and matches its hash.

Pure: works on any revision-like objects (version, patch, hash); no I/O.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from .errors import CollabError
from .patches import apply_patch, parse_patch, text_hash


class RevisionLike(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def patch(self) -> str: ...

    @property
    def hash(self) -> str: ...


class HistoryError(Exception):
    """A stored history that does not replay: `version` is the first bad revision."""

    def __init__(self, version: int, reason: str) -> None:
        super().__init__(f"revision {version}: {reason}")
        self.version = version
        self.reason = reason


def replay(text: str, version: int, revisions: Iterable[RevisionLike],
           check_hash: bool = True) -> Iterator[tuple[RevisionLike, str]]:
    """Apply revisions version+1, version+2, ... to `text`; yield each with the text after it."""
    for rev in revisions:
        if rev.version != version + 1:
            raise HistoryError(version + 1, f"missing (found {rev.version} next)")
        try:
            text = apply_patch(text, parse_patch(rev.patch))[0]
        except CollabError as exc:
            raise HistoryError(rev.version, f"does not apply: {exc.message}") from None
        if check_hash and text_hash(text) != rev.hash:
            raise HistoryError(rev.version, "text hash does not match")
        version = rev.version
        yield rev, text
