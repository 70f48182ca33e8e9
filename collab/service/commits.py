"""The group commit: revisions applied in memory, made durable together, then announced.

`Commits` holds the queue of applied revisions (`Pending`) and the one greenlet that
stores them, a batch at a time, in one transaction; where that transaction runs (the
event loop or the writer thread, `_append`); what a failed append does to the documents
(roll back to what is durable, `_fail`; blame the documents that conflict and commit the
others, `_drop_conflicts`); and every other store write of the service (`store_write`),
so that health can say why writes fail. After a commit, `on_commit(state, [(revision,
origin), ...])` is called once per document, before the authors' waits return.

Imports the core, storage and this package's runtime; never the edges.
"""
from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Callable, TypeVar

from ..core.config import Settings
from ..core.errors import CollabError
from ..core.ids import log_id, redact
from ..core.rope import Rope
from ..core.snapshots import revision_cost, snapshot_due
from ..storage import NewRevision, Revision, Store, StoreBusy, StoreConflict, StoreError
from .faults import Faults
from .observer import Observer
from .runtime import Event, Lock, Runtime
from .state import DocState
from .submit import Applied

log = logging.getLogger("collab.service")
T = TypeVar("T")

COMMIT_TIMES = 16  # recent inline commits whose median decides whether commits stay inline
PROBE_EVERY = 10.0  # seconds between tries of an inline commit while commits run on a thread

OnCommit = Callable[[DocState, list[tuple[Revision, object]]], None]


@dataclass(slots=True)
class Pending:
    """An applied revision waiting for the committer, with the text it makes (held here
    until durable, then by the document's state)."""

    state: DocState
    applied: Applied
    text: Rope


class Commits:
    def __init__(self, store: Store, settings: Settings, runtime: Runtime, faults: Faults,
                 on_commit: OnCommit | None, observer: Observer | None) -> None:
        self.store = store
        self.settings = settings
        self.runtime = runtime
        self.faults = faults
        self.on_commit = on_commit
        self.observer = observer
        self.closed = False
        self._queue: list[Pending] = []  # applied, in the order applied, waiting for the committer
        self._wake = Event()
        self._committer: object = None
        # a blocking store (SQLite) has one writer connection: one write at a time, on the
        # event loop (inline) or the writer thread
        self._write_gate = Lock()
        self._inline = settings.inline_commit_ms > 0  # group commits run on the event loop, for now
        self._commit_times: deque[float] = deque(maxlen=COMMIT_TIMES)  # seconds, of recent inline commits
        self._probe_at = 0.0  # when a commit on the writer thread tries the event loop again
        # why the last write failed, while no write has worked since (health says so)
        self.write_error: str | None = None
        self.write_probe_at = 0.0  # when a health check may probe the store with a write

    def enqueue(self, state: DocState, applied: Applied, text: Rope) -> None:
        # (the submit request checked that the state is the document's one and we are open)
        self._queue.append(Pending(state, applied, text))
        if self._committer is None:
            self._committer = self.runtime.spawn(self._commit_loop)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def store_write(self, fn: Callable[..., T], *args: object) -> T:
        """Run a store write: on the writer thread for a blocking driver (SQLite), else here."""
        try:
            if not self.store.blocking:
                result = fn(*args)
            else:
                with self._write_gate:
                    result = self.runtime.run_blocking(fn, *args)
        except StoreError as exc:
            self._write_failed(exc)
            raise
        self.write_error = None
        return result

    def _write_failed(self, exc: Exception) -> None:
        if not isinstance(exc, (StoreConflict, StoreBusy)):
            if self.write_error is None:
                self.write_probe_at = 0.0  # a new failure: the next health check looks at once
            self.write_error = str(exc)[:300]

    def _commit_loop(self) -> None:
        while not self.closed:
            self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self.settings.commit_batch]
                del self._queue[: len(batch)]
                self._commit(batch)
                if self._queue:
                    # let the connections send this commit's messages before the next
                    # commit holds the event loop (and let more patches join it)
                    self.runtime.yield_now()

    def _rows(self, batch: list[Pending]) -> list[NewRevision]:
        """The rows of a group commit, with a snapshot where snapshots.snapshot_due says
        (by revisions and bytes written since the document's last one)."""
        rows = []
        since: dict[str, tuple[int, int]] = {}  # since[doc] = (revisions, cost) since its last snapshot
        for p in batch:
            state, rev = p.state, p.applied.revision
            count, written = since.get(state.id, (rev.version - 1 - state.snap_version, state.snap_written))
            count, written = count + 1, written + revision_cost(rev.patch)
            due = snapshot_due(count, written, len(p.text), self.settings.snapshot_every)
            since[state.id] = (0, 0) if due else (count, written)
            rows.append(NewRevision(rev, str(p.text) if due else None))  # (the whole text: only then)
        return rows

    def _commit(self, batch: list[Pending]) -> None:
        observer = self.observer
        if observer is not None:
            observer.committing([p.applied.revision for p in batch])
        try:
            try:
                rows = self._rows(batch)
                self._append(rows)
            except StoreConflict as exc:
                # one document's bad row must not fail the others: take out the documents
                # that conflict and commit the rest once more
                batch = self._drop_conflicts(batch, exc)
                if not batch:
                    return
                rows = self._rows(batch)
                self._append(rows)
        except Exception as exc:  # StoreError, or anything the driver raised
            self._fail(batch, exc)
            return
        self.write_error = None
        if observer is not None:
            observer.stored([p.applied.revision for p in batch])
        self.faults.reached("committed")
        by_doc: dict[str, tuple[DocState, list[tuple[Revision, object]]]] = {}
        for p, row in zip(batch, rows):
            state, applied, rev = p.state, p.applied, p.applied.revision
            assert rev.version == state.committed + 1, "revisions commit in version order"
            # the state keeps the committed text; the recent revisions keep only their
            # edits (a full text each would be 1,000 copies of the document)
            state.committed, state.committed_rope, state.updated = rev.version, p.text, rev.ts
            if row.snapshot is not None:
                state.snap_version, state.snap_written = rev.version, 0
            else:
                state.snap_written += revision_cost(rev.patch)
            if state.ops.get(rev.op_id) is applied:
                state.ops[rev.op_id] = rev.version  # durable: the version is all a resend needs
            by_doc.setdefault(state.id, (state, []))[1].append((rev, applied.origin))
        for state, _ in by_doc.values():
            state.keep_recent()  # these may leave memory now
        if self.on_commit is not None:
            for state, committed in by_doc.values():
                try:
                    self.on_commit(state, committed)
                except Exception:
                    log.error("doc=%s versions=%d-%d broadcast failed\n%s", log_id(state.id),
                              committed[0][0].version, committed[-1][0].version,
                              redact(traceback.format_exc(), [state.id, state.view_token]))
            if observer is not None:
                observer.announced([p.applied.revision for p in batch])
        for p in batch:
            p.applied.done.set()

    def _append(self, rows: list[NewRevision]) -> None:
        """Store one group commit durably.

        A blocking store (SQLite) commits right here on the event loop while its commits
        are fast: handing a 0.3 ms fsync to a thread and back costs about as much again,
        and far more under load, when the thread waits for the interpreter lock after
        every SQLite call. When the median of the recent commits is over
        COLLAB_INLINE_COMMIT_MS (a slow disk; one slow commit is not enough), commits move
        to the writer thread so the disk cannot freeze the other clients, and one commit
        every PROBE_EVERY seconds tries the event loop again. A database locked by another
        process is always waited for on the thread.
        """
        store = self.store
        if not store.blocking:
            store.append(rows)
            return
        limit = self.settings.inline_commit_ms / 1000
        with self._write_gate:
            probe = not self._inline and limit > 0 and time.monotonic() >= self._probe_at
            if self._inline or probe:
                start = time.perf_counter()
                try:
                    store.append(rows, wait=False)
                except StoreBusy:
                    pass  # another process holds the lock: wait for it on the thread
                else:
                    self._commit_took(time.perf_counter() - start, limit, probe)
                    return
            self.runtime.run_blocking(store.append, rows)

    def _commit_took(self, seconds: float, limit: float, probe: bool) -> None:
        took = self._commit_times
        if probe:
            if seconds > limit:
                self._probe_at = time.monotonic() + PROBE_EVERY
                return
            took.clear()
            self._inline = True
            log.info("commits are fast again (%.1f ms): committing on the event loop", seconds * 1000)
        took.append(seconds)
        median = sorted(took)[len(took) // 2]
        if len(took) >= COMMIT_TIMES // 2 and median > limit:
            self._inline = False
            self._probe_at = time.monotonic() + PROBE_EVERY
            log.warning("commits take %.1f ms (median): committing on the writer thread, so that the disk "
                        "does not hold up other clients (COLLAB_INLINE_COMMIT_MS=%g)",
                        median * 1000, self.settings.inline_commit_ms)
            took.clear()

    def _drop_conflicts(self, batch: list[Pending], exc: StoreConflict) -> list[Pending]:
        """After an append broke a uniqueness rule: fail the revisions of every document
        that is the cause, and return the rest (to commit again).

        A document conflicts when the store's head moved (another process stored versions
        first: a lost race, retried by the submit request after catching up) or when the
        store already holds one of its op ids (a resend that memory no longer knew: after a
        restart, or more than RECENT_OPS ops later; answered as a duplicate of the stored
        version). When no document can be blamed (a deadlock, a serialisation failure), all retry.
        """
        by_doc: dict[str, list[Pending]] = {}
        for p in batch:
            by_doc.setdefault(p.state.id, []).append(p)
        bad: list[Pending] = []
        for doc, items in by_doc.items():
            row = self.store.get_document(doc)
            lost = row is None or row.head != items[0].state.committed
            for p in items:
                if not lost:
                    p.applied.stored = self.store.find_op(doc, p.applied.revision.op_id)
            if lost or any(p.applied.stored is not None for p in items):
                bad.extend(items)
        if not bad:
            self._fail(batch, exc)
            return []
        self._fail(bad, exc)
        for p in bad:
            stored = p.applied.stored
            if stored is not None:
                log.info("doc=%s op=%s is stored as version %d: answered as a duplicate",
                         log_id(p.state.id), p.applied.revision.op_id, stored)
                p.state.remember_op(p.applied.revision.op_id, stored)
        failed = {id(p) for p in bad}
        return [p for p in batch if id(p) not in failed]

    def _fail(self, batch: list[Pending], exc: Exception) -> None:
        """A write failed: nothing in the batch is durable. Roll the documents back to what
        is, and fail every revision built on the lost ones (queued after them)."""
        docs = {p.state.id: p.state for p in batch}
        later = [p for p in self._queue if p.state.id in docs]
        self._queue = [p for p in self._queue if p.state.id not in docs]
        lost_race = isinstance(exc, StoreConflict)
        if lost_race:
            log.info("commit of %d revisions lost a race with another process; retrying", len(batch))
            error = CollabError("internal", "another process stored this version first")
        else:
            self._write_failed(exc)
            # a driver's message may quote a row (PostgreSQL's DETAIL): its ids go out hashed
            log.error("commit of %d revisions failed: %s", len(batch),
                      redact(str(exc), [k for s in docs.values() for k in (s.id, s.view_token)]))
            error = CollabError("internal", "the revision could not be stored; nothing was applied, resend it")
        for p in batch + later:
            p.applied.error, p.applied.lost_race = error, lost_race
            p.state.ops.pop(p.applied.revision.op_id, None)
        for state in docs.values():
            state.head, state.head_rope = state.committed, state.committed_rope
            # another writer stored versions we have not seen (another process, or the last
            # commit of a process killed mid-commit landing late): catch up before retrying
            state.stale = state.stale or lost_race
            while state.recent and state.recent[-1].revision.version > state.committed:
                state.recent_bytes -= state.recent.pop().size
        for p in batch + later:
            p.applied.done.set()
