"""Several processes, one store: catching up with revisions another process committed.

With a message queue (COLLAB_MESSAGE_QUEUE) several processes write one database, whose
UNIQUE (doc, version) append is the compare-and-set that orders them (commits.py fails a
commit that lost the race; the submit request catches up and retries). `catch_up` loads
the revisions stored after ours into an open document's state, read and replayed with the
one replay (core.replay: exact patches, the hash checked) off the loop where the store
allows (its `read`: DocumentService.on_stored), and `stored_revisions` reads stored
revisions in pages, as every reader of the store here does. The process that committed a
revision is the only one that stores it: nothing loaded here is written again.

Imports the core, storage and this package; never the edges.
"""
from __future__ import annotations

from typing import Callable, Iterator

from ..core.errors import gone_error
from ..core.patches import Edit
from ..core.replay import Replayer, ReplayError
from ..core.rope import Rope
from ..core.snapshots import revision_cost
from ..storage import Reads, Revision, Store
from .state import DocState
from .submit import Applied


def stored_revisions(store: Store | Reads, doc: str, since: int, until: int, page: int) -> Iterator[Revision]:
    """Stored revisions since+1..until, in order, read `page` at a time; ReplayError if one
    is missing."""
    while since < until:
        batch = store.revisions(doc, since, min(page, until - since))
        if not batch:
            raise ReplayError(since + 1, "is missing")
        yield from batch
        since = batch[-1].version


def replay_stored(revisions: list[Revision], rope: Rope, version: int) -> tuple[list[tuple[Revision, list[Edit]]], Rope]:
    """Pure: stored revisions applied to `rope` (the text at `version`), each with its
    edits, and the text after the last (its hash checked). Raises ReplayError."""
    replayer = Replayer(rope, version)
    applied = [(rev, replayer.apply(rev)) for rev in revisions]
    return applied, replayer.rope()


# read and replay the revisions since+1..until: `read(since, until, replay_stored, rope,
# since)` (DocumentService.on_stored: off the loop where the store allows)
ReadStored = Callable[..., tuple[list[tuple[Revision, list[Edit]]], Rope]]


def catch_up(state: DocState, store: Store, read: ReadStored) -> None:
    """Load the revisions stored by others after the state's committed version (the caller
    holds the document's lock), read and replayed by `read`. Only when nothing of ours is
    waiting to commit: those versions would clash, and their commit will fail and retry
    anyway. Raises ReplayError, changing nothing, when what is stored does not replay."""
    if state.head != state.committed:
        return
    row = store.get_document(state.id)
    if row is None:  # an open document that is no more: another process deleted or renamed it
        tomb = store.tombstone(state.id)
        raise gone_error(tomb.reason if tomb is not None else "deleted")
    state.view_token = row.view_token  # (another process may have rotated it)
    state.stale = False
    if row.head <= state.committed:
        return
    replayed, text = read(state.committed, row.head, replay_stored, state.committed_rope, state.committed)
    # the caller holds the lock: nothing of ours applied while the revisions were read
    assert state.head == state.committed and (not replayed or replayed[0][0].version == state.committed + 1)
    for rev, edits in replayed:
        applied = Applied(rev, edits)
        applied.done.set()  # committed (by another process): the state holds its text
        state.committed = state.head = rev.version
        state.snap_written += revision_cost(rev.patch)  # (another process may have snapshotted)
        state.keep_recent(applied)
        state.remember_op(rev.op_id, rev.version)
        state.updated = rev.ts
    state.committed_rope = state.head_rope = text
