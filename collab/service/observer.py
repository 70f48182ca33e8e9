"""Optional hooks into the write path, for instruments (bench/timeline.py): `Observer`.

A service made with `observer=None` (the default, and always in production) pays one
attribute check per step. An observer's callbacks run on the event loop, inside the write
path: they must be quick and must not raise.

Imports only the storage records; never the edges.
"""
from __future__ import annotations

from typing import Sequence

from ..storage import Revision


class Observer:
    """The steps of a patch through the service, in order; subclass and override any."""

    def parsed(self, op_id: str) -> None:
        """A client's patch is parsed (before its document's lock is taken)."""

    def revised(self, op_id: str) -> None:
        """It is applied: its new text, canonical patch and hash are made (not yet queued)."""

    def committing(self, revisions: Sequence[Revision]) -> None:
        """The committer takes these revisions for one group commit."""

    def stored(self, revisions: Sequence[Revision]) -> None:
        """They are durable (the store's transaction, fsync included, returned)."""

    def announced(self, revisions: Sequence[Revision]) -> None:
        """on_commit returned for each of their documents (their broadcast is queued)."""
