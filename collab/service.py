"""The document service: the single authority over every document's history.

Per document, writes are serialised under a lock and versions are assigned without gaps;
op ids make every write idempotent; acknowledgements wait for a durable commit, and
commits of concurrent patches are grouped (group commit). Broadcasting is the caller's:
`on_commit(state, [(revision, origin), ...])` is called once per document per group commit
with that document's revisions in version order, after they are durable and before their
authors' waits return, so the caller can send them to each client as one message.

Imports the pure core and the storage interface; never flask or socketio.
"""
from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from .config import Settings
from .errors import CollabError, PatchConflict
from .faults import Faults
from .history import HistoryError, replay
from .merge import MERGE_WINDOW, merge_stale
from .ids import check_doc_id, check_name, new_view_token, random_base62
from .patches import Edit, apply_patch, make_patch, move_hunks, parse_patch, patch_from_edits, text_hash
from .runtime import Event, Lock, Runtime
from .storage import DocumentRow, Label, NewRevision, Revision, Store, StoreBusy, StoreConflict, StoreError

log = logging.getLogger("collab.service")
T = TypeVar("T")

RECENT = 1_000  # revisions kept in memory per open document (sync, moving stale patches)
RECENT_OPS = 10_000  # op ids per document answered from memory before asking the store
CAS_ATTEMPTS = 10  # tries to append when other processes keep winning the race
COMMIT_TIMES = 16  # recent inline commits whose median decides whether commits stay inline
PROBE_EVERY = 10.0  # seconds between tries of an inline commit while commits run on a thread


def _check_label(name: object) -> str:
    """A version's name: like a display name (1-64 characters, spaces folded), never blank."""
    if not isinstance(name, str) or not name.strip():
        raise CollabError("bad_request", "name must be a non-empty string of at most 64 characters")
    return check_name(name)


OFFLOAD_OVER = 200_000  # code points of text + patch above which applying runs off the event loop
PARSE_WEIGHT = 12  # parsing a patch costs about as much as applying 12 times its length


def _revise(text: str, hunks: list, moves: Sequence[Sequence[Edit]] | None,
            max_chars: int) -> tuple[str, list[Edit], str, str]:
    """Pure: apply hunks (moved over `moves` first) to text; the new text, its edits, the
    canonical patch and the hash."""
    try:
        moved = hunks if moves is None else move_hunks(hunks, moves)
        new_text, edits = apply_patch(text, moved)
    except PatchConflict:
        # a revision since the base touched a hunk: merge exactly when the base is near
        if moves is None or len(moves) > MERGE_WINDOW:
            raise
        new_text, edits = merge_stale(text, moves, hunks)
    if len(new_text) > max_chars:
        raise CollabError("too_large", f"this change makes the document {len(new_text):,} characters long, "
                                       f"over its {max_chars:,} limit")
    return new_text, edits, patch_from_edits(text, edits), text_hash(new_text)


_HUNK_HEADER = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def _changed_chars(patch_text: str) -> int:
    """Code points a patch text spans (its hunks' longer sides), read from the hunk headers
    only: a message about a huge patch must not cost more than refusing it."""
    spans = (_HUNK_HEADER.fullmatch(line) for line in patch_text.split("\n") if line.startswith("@@"))
    return sum(max(int(m[1] or 1), int(m[2] or 1)) for m in spans if m)


# the error of a revision whose commit lost a race with another process: submit() retries it
_LOST_RACE = CollabError("internal", "another process stored this version first")


@dataclass
class Applied:
    """A revision applied in memory, not yet (or just) durable."""

    revision: Revision
    edits: list[Edit]
    text: str  # the full text after it, until committed (then "": the state holds it)
    origin: object = None  # who sent it (the edge's connection id), passed to on_commit
    done: Event = field(default_factory=Event)
    error: CollabError | None = None


@dataclass
class DocState:
    id: str
    view_token: str
    created: float
    updated: float
    committed: int  # last durable version; joins and reads see this
    committed_text: str
    head: int  # last applied version (>= committed); patches apply to this
    text: str
    lock: Lock = field(default_factory=Lock)
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))  # Applied, in version order
    ops: OrderedDict = field(default_factory=OrderedDict)  # op_id -> Applied (recent only)
    stale: bool = False  # the store may hold versions we have not loaded (see _fail)
    ops_floor: int = 0  # `ops` holds the op id of every revision after this version
    last_used: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class PatchResult:
    version: int
    hash: str
    patch: str  # the canonical revision patch
    rebased: bool  # the patch was moved over revisions committed since its base
    duplicate: bool = False


class DocumentService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        runtime: Runtime | None = None,
        on_commit: Callable[[DocState, list[tuple[Revision, object]]], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.runtime = runtime or Runtime()
        self.on_commit = on_commit
        self._docs: dict[str, DocState] = {}  # docs[doc_id] = state of an open document
        self._queue: list[tuple[DocState, Applied]] = []  # applied, waiting for the committer
        self._wake = Event()
        self._committer = None
        self._closed = False
        # several processes write to the store: reads catch up with it first
        self.shared = bool(settings.message_queue)
        self.faults = Faults()  # test-only crash points (COLLAB_TEST_FAULT)
        # a blocking store (SQLite) has one writer connection: one write at a time, on the
        # event loop (inline) or the writer thread
        self._write_gate = Lock()
        self._inline = settings.inline_commit_ms > 0  # group commits run on the event loop, for now
        self._commit_times: deque[float] = deque(maxlen=COMMIT_TIMES)  # seconds, of recent inline commits
        self._probe_at = 0.0  # when a commit on the writer thread tries the event loop again

    def _store_write(self, fn: Callable[..., T], *args: object) -> T:
        """Run a store write: on the writer thread for a blocking driver (SQLite), else here."""
        if not self.store.blocking:
            return fn(*args)
        with self._write_gate:
            return self.runtime.run_blocking(fn, *args)

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

    # -- documents ---------------------------------------------------------------

    def open(self, doc: str, create: bool = False) -> DocState:
        """The state of a document, loaded from the store; created first if asked."""
        check_doc_id(doc)
        state = self._docs.get(doc)
        if state is None:
            row = self.store.get_document(doc)
            if row is None:
                if not create:
                    raise CollabError("not_found", f"document {doc!r} does not exist")
                if self.store.get_document_by_view(doc) is not None:
                    raise CollabError("bad_doc", f"document id {doc!r} is taken: choose another")
                token = new_view_token()
                while self.store.get_document(token) or self.store.get_document_by_view(token):
                    token = new_view_token()
                row = self._store_write(self.store.create_document, doc, token, time.time())
            loaded = self._load(row)
            # loading yields (PostgreSQL I/O): another greenlet may have loaded the document
            # meanwhile. Keep exactly one state per document: two would each apply and commit
            # on their own text, interleaving versions that do not chain.
            state = self._docs.setdefault(doc, loaded)
            self._evict_idle()
        state.last_used = time.monotonic()
        return state

    def open_view(self, token: str) -> DocState:
        check_doc_id(token, "view token")
        row = self.store.get_document_by_view(token)
        if row is None:
            raise CollabError("bad_doc", "no document has this view token")
        return self.open(row.id)

    def _load(self, row: DocumentRow) -> DocState:
        version, text = self._replay_to(row.id, row.head)
        return DocState(
            id=row.id, view_token=row.view_token, created=row.created, updated=row.updated,
            committed=version, committed_text=text, head=version, text=text, ops_floor=version,
        )

    def _replay_to(self, doc: str, version: int) -> tuple[int, str]:
        """The text at `version`: the nearest snapshot, then the stored revisions after it."""
        base, text = self.store.latest_snapshot(doc, version)
        try:
            for rev, text in replay(text, base, self._stored_revisions(doc, base, version)):
                base = rev.version
        except HistoryError as exc:
            raise self._corrupt(doc, str(exc)) from None
        return base, text

    def _corrupt(self, doc: str, why: str) -> CollabError:
        log.error("doc=%s corrupt: %s", doc, why)
        return CollabError("doc_corrupt", f"document {doc!r} is corrupt: {why}; run `collab check`")

    def _evict_idle(self) -> None:
        """Forget open documents nobody wrote to for a while (they reload on demand)."""
        if len(self._docs) <= 1_000:
            return
        now = time.monotonic()
        for doc, state in list(self._docs.items()):
            idle = now - state.last_used > 60
            if idle and not state.lock.locked() and state.head == state.committed:
                del self._docs[doc]

    # -- reads (committed data only) --------------------------------------------

    def snapshot(self, state: DocState) -> tuple[int, str]:
        """The latest durable (version, text), taken together."""
        self.refresh(state)
        return state.committed, state.committed_text

    def revisions(self, state: DocState, since: int, limit: int | None = None) -> list[Revision]:
        limit = min(limit or self.settings.sync_limit, self.settings.sync_limit)
        if since < 0:
            raise CollabError("bad_request", "since must be a version >= 0")
        top = state.committed  # callers refresh() first when the head matters
        if since >= top:
            return []
        recent = state.recent
        if recent and recent[0].revision.version <= since + 1:
            first = recent[0].revision.version
            out: list[Revision] = []
            for i in range(since + 1 - first, len(recent)):
                rev = recent[i].revision
                if rev.version > top or len(out) >= limit:
                    break
                out.append(rev)
            return out
        return self.store.revisions(state.id, since, min(limit, top - since))

    def text_at(self, state: DocState, version: int) -> str:
        if version > state.committed:
            self.refresh(state)
        if not 0 <= version <= state.committed:
            raise CollabError("not_found", f"version {version} does not exist (head is {state.committed})")
        if version == state.committed:
            return state.committed_text
        return self._replay_to(state.id, version)[1]

    def history(self, state: DocState, since: int, until: int) -> Iterator[Revision]:
        """Committed revisions since+1..until, in order, read in pages (never all at once)."""
        if not 0 <= since <= until <= state.committed:
            raise CollabError(
                "not_found", f"versions {since}..{until} are not in the history (head is {state.committed})"
            )
        return self._stored_revisions(state.id, since, until)

    # -- named versions ---------------------------------------------------------

    def labels(self, state: DocState) -> list[Label]:
        return self.store.labels(state.id)

    def set_label(self, state: DocState, version: int, name: str) -> Label:
        """Name a committed version; a name used before moves to it."""
        if not 0 <= version <= state.committed:
            raise CollabError("not_found", f"version {version} does not exist (head is {state.committed})")
        label = Label(version, _check_label(name), time.time())
        self._store_write(self.store.set_label, state.id, label.version, label.name, label.ts)
        return label

    def delete_label(self, state: DocState, name: str) -> None:
        if not self._store_write(self.store.delete_label, state.id, name):
            raise CollabError("not_found", f"the document has no version named {name[:80]!r}")

    # -- writes ----------------------------------------------------------------

    def submit(
        self, state: DocState, base: int, patch_text: object, op_id: str, author: str, origin: object = None
    ) -> PatchResult:
        """Apply a client's patch as the next revision; return once it is durable.

        Raises CollabError with the contract's codes; on any error nothing was applied.
        """
        # The op id check comes before every other one: a resend is always safe.
        known = self.find_op(state, op_id, base)
        if known is not None:
            return known
        limit = self.settings.max_patch_chars
        if isinstance(patch_text, str) and len(patch_text) > limit:
            # the limit bounds one message on the wire, where a patch's text is %-escaped
            # (a CJK character takes 9): say so in the user's units, and what to do
            raise CollabError(
                "too_large",
                f"this patch spans {_changed_chars(patch_text):,} characters, which take "
                f"{len(patch_text):,} once escaped; one message carries at most {limit:,}: split it into "
                f"several patches (the join answer's `limits` gives the sizes)",
            )
        # parsing costs per line in pure Python: a long patch is parsed off the event loop
        hunks = self.offload(len(patch_text) * PARSE_WEIGHT if isinstance(patch_text, str) else 0,
                             parse_patch, patch_text, self.settings.max_hunks)
        return self._submit_hunks(state, base, hunks, op_id, author, origin)

    def _submit_hunks(self, state: DocState, base: int, hunks: list, op_id: str, author: str,
                      origin: object) -> PatchResult:
        """submit() once the patch is parsed: the server's own patches (rewrite) start here,
        limited by the document they make, not by the size of one client message."""
        if not hunks:
            raise CollabError("bad_patch", "patch is empty: it must contain at least one hunk")
        for _ in range(CAS_ATTEMPTS):
            applied, rebased = self._apply(state, base, hunks, op_id, author, origin)
            if isinstance(applied, PatchResult):
                return applied
            applied.done.wait()
            if applied.error is None:
                rev = applied.revision
                return PatchResult(rev.version, rev.hash, rev.patch, rebased)
            if applied.error is not _LOST_RACE:
                raise applied.error
            # another process stored these versions first: catch up and move the patch again
        raise CollabError("conflict", "the document is too busy to write to; sync and resend",
                          version=state.committed)

    def _apply(self, state: DocState, base: int, hunks: list, op_id: str, author: str,
               origin: object) -> tuple[Applied | PatchResult, bool]:
        """Apply under the document's lock and queue for commit (no waiting here)."""
        with state.lock:
            # revisions another process stored: the append's compare-and-set finds them
            # anyway (a lost race marks the state stale); looking first costs a query per
            # patch, worth it only when we know we are behind
            if state.stale or base > state.head:
                self._catch_up(state)
            if op_id in state.ops:  # a twin won the lock first, or another process stored it
                return self.find_op(state, op_id), False  # type: ignore[return-value]
            head = state.head
            if base > head:
                raise CollabError("future_base", f"base {base} is ahead of the head version {head}", version=head)
            rebased = base < head
            try:
                moves = self._edits_between(state, base, head) if rebased else None
                size = len(state.text) + sum(len(h.text1) + len(h.text2) for h in hunks)
                new_text, edits, canonical, digest = self.offload(size, _revise, state.text, hunks, moves,
                                                                  self.settings.max_doc_chars)
            except CollabError as exc:
                if exc.code == "conflict":
                    exc.extra["version"] = state.committed
                raise
            revision = Revision(
                doc=state.id, version=head + 1, patch=canonical,
                author=author, op_id=op_id, ts=time.time(), hash=digest,
            )
            applied = Applied(revision, edits, new_text, origin)
            state.head, state.text = revision.version, new_text
            state.recent.append(applied)
            self._remember_op(state, op_id, applied)
            self._enqueue(state, applied)
        self.faults.reached("applied")
        return applied, rebased

    def offload(self, size: int, fn: Callable[..., T], *args: object) -> T:
        """Run pure work on a worker thread when it is big enough to stall other clients."""
        if size > OFFLOAD_OVER:
            return self.runtime.run_cpu(fn, *args)
        return fn(*args)

    def refresh(self, state: DocState, force: bool = False) -> None:
        """Catch up with revisions stored by another process: when several share the store,
        after a commit of ours lost a race, or when asked (a client knows a newer version)."""
        if self.shared or state.stale or force:
            with state.lock:
                self._catch_up(state)

    def _catch_up(self, state: DocState) -> None:
        """Load revisions stored by others after ours (the caller holds the lock). Only when
        nothing of ours is waiting to commit: those versions would clash, and their commit
        will fail and retry anyway."""
        if state.head != state.committed:
            return
        row = self.store.get_document(state.id)
        state.stale = False
        if row is None or row.head <= state.committed:
            return
        text = state.committed_text
        try:
            for rev in self._stored_revisions(state.id, state.committed, row.head):
                if rev.version != state.committed + 1:
                    raise HistoryError(state.committed + 1, "missing")
                text, edits = apply_patch(text, parse_patch(rev.patch))
                applied = Applied(rev, edits, "")  # committed: the state holds the text
                applied.done.set()
                state.recent.append(applied)
                self._remember_op(state, rev.op_id, applied)
                state.committed = state.head = rev.version
                state.committed_text = state.text = text
                state.updated = rev.ts
        except (HistoryError, CollabError) as exc:
            raise self._corrupt(state.id, str(exc)) from None

    def rewrite(
        self, state: DocState, author: str, kind: str, target: Callable[[int, str], str], origin: object = None
    ) -> PatchResult | None:
        """Make the text `target(version, text)` (computed from the latest committed version)
        as one ordinary new revision by `author`, with a server-made op id "<kind>-<random>":
        restore, revert and import never rewrite history. None when nothing would change.
        A conflict with a revision still committing is retried on the newer text."""
        for attempt in range(3):
            base, text = self.snapshot(state)
            new_text = target(base, text)
            if new_text == text:
                return None
            if len(new_text) > self.settings.max_doc_chars:
                raise CollabError("too_large", f"this {kind} makes the document {len(new_text):,} characters "
                                               f"long, over its {self.settings.max_doc_chars:,} limit")
            # made and parsed off the event loop when large; never refused by the patch limit,
            # which bounds a client's message, not the server's own revision
            patch = self.offload(len(text) + len(new_text), make_patch, text, new_text)
            hunks = self.offload(len(patch) * PARSE_WEIGHT, parse_patch, patch)
            try:
                return self._submit_hunks(state, base, hunks, f"{kind}-{random_base62(16)}", author, origin)
            except CollabError as exc:
                if exc.code != "conflict" or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def find_op(self, state: DocState, op_id: str, base: int | None = None) -> PatchResult | None:
        """The result of an op id applied before (waiting for it to be durable), or None.

        Memory knows the op id of every revision after `state.ops_floor`. An op made against
        `base` can only have been applied after it, so with base >= ops_floor memory answers
        alone; only older bases (a resend after a restart, a long-offline client) ask the store.
        """
        applied = state.ops.get(op_id)
        if applied is not None:
            applied.done.wait()  # a twin still committing: answer once it is durable
            if applied.error is not None:
                raise applied.error
            rev = applied.revision
            return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)
        if base is not None and base >= state.ops_floor:
            # (with several processes another one may have applied it since we loaded: then
            # the append breaks UNIQUE (doc, op_id), the retry catches up and answers it)
            return None
        version = self.store.find_op(state.id, op_id)
        if version is None:
            return None
        rev = self.store.revisions(state.id, version - 1, 1)[0]
        return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)

    def _remember_op(self, state: DocState, op_id: str, applied: Applied) -> None:
        state.ops[op_id] = applied
        if len(state.ops) > RECENT_OPS:
            _, oldest = state.ops.popitem(last=False)
            state.ops_floor = max(state.ops_floor, oldest.revision.version)

    def _edits_between(self, state: DocState, base: int, head: int) -> list[Sequence[Edit]]:
        """The edits of revisions base+1..head, in order."""
        if head - base > self.settings.max_rebase:
            raise CollabError(
                "conflict",
                f"base {base} is {head - base} revisions behind head; sync and resend",
                version=state.committed,
            )
        recent = state.recent
        if recent and recent[0].revision.version <= base + 1:
            first = recent[0].revision.version
            return [recent[i].edits for i in range(base + 1 - first, len(recent))]
        # older than memory: replay from the store up to what is committed, then memory
        text = self.text_at(state, base)
        out: list[Sequence[Edit]] = []
        for rev in self._stored_revisions(state.id, base, state.committed):
            text, edits = apply_patch(text, parse_patch(rev.patch))
            out.append(edits)
        out.extend(a.edits for a in recent if a.revision.version > state.committed)
        return out

    def _stored_revisions(self, doc: str, since: int, until: int) -> Iterator[Revision]:
        while since < until:
            batch = self.store.revisions(doc, since, min(self.settings.sync_limit, until - since))
            if not batch:
                raise self._corrupt(doc, f"revision {since + 1} is missing")
            yield from batch
            since = batch[-1].version

    # -- group commit -------------------------------------------------------------

    def _enqueue(self, state: DocState, applied: Applied) -> None:
        assert self._docs.get(state.id, state) is state, "one state per open document"
        if self._closed:
            raise CollabError("unavailable", "the server is shutting down")
        self._queue.append((state, applied))
        if self._committer is None:
            self._committer = self.runtime.spawn(self._commit_loop)
        self._wake.set()

    def _commit_loop(self) -> None:
        while not self._closed:
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

    def _commit(self, batch: list[tuple[DocState, Applied]]) -> None:
        rows = []
        for state, applied in batch:
            rev = applied.revision
            due = rev.version % self.settings.snapshot_every == 0
            rows.append(NewRevision(rev, applied.text if due else None))
        try:
            self._append(rows)
        except Exception as exc:  # StoreError, or anything the driver raised
            self._fail(batch, exc)
            return
        self.faults.reached("committed")
        by_doc: dict[str, tuple[DocState, list[tuple[Revision, object]]]] = {}
        for state, applied in batch:
            rev = applied.revision
            assert rev.version == state.committed + 1, "revisions commit in version order"
            state.committed, state.committed_text, state.updated = rev.version, applied.text, rev.ts
            # the state keeps the committed text; the 1,000 recent revisions keep only their
            # edits (a full text each would be 1,000 copies of the document)
            applied.text = ""
            by_doc.setdefault(state.id, (state, []))[1].append((rev, applied.origin))
        if self.on_commit is not None:
            for state, committed in by_doc.values():
                try:
                    self.on_commit(state, committed)
                except Exception:
                    log.exception("doc=%s versions=%d-%d broadcast failed", state.id,
                                  committed[0][0].version, committed[-1][0].version)
        for _, applied in batch:
            applied.done.set()

    def _fail(self, batch: list[tuple[DocState, Applied]], exc: Exception) -> None:
        """A write failed: nothing in the batch is durable. Roll the documents back to what
        is, and fail every revision built on the lost ones (queued after them)."""
        docs = {state.id: state for state, _ in batch}
        later = [(s, a) for s, a in self._queue if s.id in docs]
        self._queue = [(s, a) for s, a in self._queue if s.id not in docs]
        if isinstance(exc, StoreConflict):
            log.info("commit of %d revisions lost a race with another process; retrying", len(batch))
            error = _LOST_RACE
        else:
            log.error("commit of %d revisions failed: %s", len(batch), exc)
            error = CollabError("internal", "the revision could not be stored; nothing was applied, resend it")
        for state, applied in batch + later:
            applied.error = error
            state.ops.pop(applied.revision.op_id, None)
        for state in docs.values():
            state.head, state.text = state.committed, state.committed_text
            # another writer stored versions we have not seen (another process, or the last
            # commit of a process killed mid-commit landing late): catch up before retrying
            state.stale = state.stale or error is _LOST_RACE
            while state.recent and state.recent[-1].revision.version > state.committed:
                state.recent.pop()
        for _, applied in batch + later:
            applied.done.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.runtime.close()

    def ping(self) -> None:
        try:
            self.store.ping()
        except StoreError as exc:
            raise CollabError("unavailable", str(exc)) from None
