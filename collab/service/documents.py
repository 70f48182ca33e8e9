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
from functools import cached_property
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from ..core.config import Settings
from ..core.errors import CollabError, PatchConflict
from .faults import Faults
from ..core.replay import HistoryError
from ..core.merge import MERGE_WINDOW, merge_stale
from ..core.ids import check_doc_id, check_name, new_view_token, random_base62
from ..core.patches import (Edit, Hunk, apply_patch, diff_cost, make_patch, move_hunks, parse_patch, patch_edits,
                      patch_from_edits, text_hash)
from .runtime import Event, Lock, Runtime
from ..core.snapshots import CHUNK, replay_text, revision_cost, snapshot_due
from ..storage import DocumentRow, Label, NewRevision, Revision, Store, StoreBusy, StoreConflict, StoreError

log = logging.getLogger("collab.service")
T = TypeVar("T")

RECENT = 1_000  # revisions kept in memory per open document (sync, moving stale patches)
RECENT_BYTES = 8_000_000  # ... and at most this many code points of their patches and edits
RECENT_OPS = 10_000  # op ids per document answered from memory before asking the store
CAS_ATTEMPTS = 10  # tries to append when other processes keep winning the race
COMMIT_TIMES = 16  # recent inline commits whose median decides whether commits stay inline
PROBE_EVERY = 10.0  # seconds between tries of an inline commit while commits run on a thread
WRITE_PROBE_EVERY = 5.0  # seconds between write probes while writes fail (health checks)
IDLE = 60.0  # seconds without use after which an unpinned document may be dropped from memory
DOC_OVERHEAD = 2_000  # bytes counted per open document besides its texts and caches
OP_BYTES = 120  # bytes counted per remembered op id


def _check_label(name: object) -> str:
    """A version's name: like a display name (1-64 characters, spaces folded), never blank."""
    if not isinstance(name, str) or not name.strip():
        raise CollabError("bad_request", "name must be a non-empty string of at most 64 characters")
    return check_name(name)


OFFLOAD_OVER = 200_000  # cost (code points copied; STEP per Python step) above which work runs off the loop
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


REPLAY_WEIGHT = 4  # replaying a revision copies the text about twice and hashes it (UTF-8, CRC-32)
STEP = 200  # one step of pure Python (a hunk, an edit, a revision), in code points copied


def _revise_cost(text: str, hunks: Sequence[Hunk], moves: Sequence[Sequence[Edit]] | None) -> int:
    """What _revise costs, in code points copied: the text and the patch once each, a step
    per hunk; when moved, a step per hunk per revision and per edit moved over, and (in case
    a hunk conflicts and the patch is merged) undoing each revision within MERGE_WINDOW."""
    cost = len(text) + sum(STEP + len(h.text1) + len(h.text2) for h in hunks)
    if moves:
        cost += STEP * (len(hunks) * len(moves) + sum(len(m) for m in moves))
        if len(moves) <= MERGE_WINDOW:
            cost += len(moves) * (2 * len(text) + STEP)
    return cost


def _replay_cost(text: str, revisions: Sequence[Revision]) -> int:
    """What snapshots.replay_text costs, in code points copied: parsing each patch, a step
    and one text piece spliced per revision, and joining and hashing the text once."""
    return 2 * len(text) + sum(STEP + CHUNK + PARSE_WEIGHT * len(r.patch) for r in revisions)


class _NeedsText(Exception):
    """A stored patch's hunks overlap (made before patches were canonical): its edits need
    the text it applied to."""


def _stored_edits(text: str | None, revisions: Sequence[Revision]) -> list[Sequence[Edit]]:
    """Pure: the edits of stored revisions, in order, read from the canonical patches alone
    when `text` is None (raises _NeedsText for a patch whose hunks overlap); else each patch
    is applied to the text (at the version before the first revision)."""
    out: list[Sequence[Edit]] = []
    for rev in revisions:
        try:
            hunks = parse_patch(rev.patch)
        except CollabError as exc:
            raise HistoryError(rev.version, f"does not parse: {exc.message}") from None
        if text is None:
            edits = patch_edits(hunks)
            if edits is None:
                raise _NeedsText()
        else:
            try:
                text, edits = apply_patch(text, hunks)
            except CollabError as exc:
                raise HistoryError(rev.version, f"does not apply: {exc.message}") from None
        out.append(edits)
    return out


REWRITE_ATTEMPTS = 10  # tries of a restore or revert while other revisions keep coming first


@dataclass(frozen=True)
class Rewrite:
    """The text a restore or a revert makes, and who first wrote each of its code points
    (collab.blame.encode), so that what it brings back keeps its authors."""

    text: str
    attribution: str


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
    stored: int | None = None  # the store already held its op id, at this version: a duplicate

    @cached_property
    def size(self) -> int:
        """What it holds in memory once committed, in code points (+ a fixed overhead):
        counted once, when it joins the recent revisions, and subtracted as it leaves."""
        return 200 + len(self.revision.patch) + sum(64 + len(e.delete) + len(e.insert) for e in self.edits)


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
    recent: deque = field(default_factory=deque)  # Applied, in version order (see _keep_recent)
    recent_bytes: int = 0  # sum of their sizes
    # ops[op_id] = Applied while it commits, then its version (recent op ids only)
    ops: OrderedDict = field(default_factory=OrderedDict)
    stale: bool = False  # the store may hold versions we have not loaded (see _fail)
    ops_floor: int = 0  # `ops` holds the op id of every revision after this version
    last_used: float = field(default_factory=time.monotonic)
    pins: int = 0  # users of the document now (the edge's joined connections): never dropped
    snap_version: int = 0  # the last committed version stored with a full snapshot (0: none)
    snap_written: int = 0  # revision_cost of the committed revisions since it

    @property
    def size(self) -> int:
        """Memory it holds, counted in code points (texts, recent revisions, op ids)."""
        extra = len(self.committed_text) if self.committed_text is not self.text else 0
        return DOC_OVERHEAD + len(self.text) + extra + self.recent_bytes + OP_BYTES * len(self.ops)


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
        # why the last write failed, while no write has worked since (health says so)
        self._write_error: str | None = None
        self._write_probe_at = 0.0  # when a health check may probe the store with a write
        self._loads_since_sum = 0  # documents loaded since _evict_idle last summed their sizes

    def _store_write(self, fn: Callable[..., T], *args: object) -> T:
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
        self._write_error = None
        return result

    def _write_failed(self, exc: Exception) -> None:
        if not isinstance(exc, (StoreConflict, StoreBusy)):
            if self._write_error is None:
                self._write_probe_at = 0.0  # a new failure: the next health check looks at once
            self._write_error = str(exc)[:300]

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
            self._evict_idle(keep=state)
        state.last_used = time.monotonic()
        return state

    def pin(self, state: DocState) -> None:
        """The document is in use (the edge calls this when a connection joins it): it stays
        in memory until as many unpin() calls."""
        self._adopt(state)
        state.pins += 1
        state.last_used = time.monotonic()

    def unpin(self, state: DocState) -> None:
        state.pins = max(0, state.pins - 1)
        state.last_used = time.monotonic()

    def _adopt(self, state: DocState) -> DocState:
        """The one state of its document: a state dropped from memory while a caller held it
        is taken back, so that one document never has two (they would commit versions that
        do not chain). Raises, changing nothing, if another state was loaded meanwhile."""
        current = self._docs.setdefault(state.id, state)
        if current is not state:
            raise CollabError("unavailable", "the document was reloaded meanwhile: resend", version=state.committed)
        return state

    def open_bytes(self) -> int:
        """Memory held by the open documents, as DocState.size counts it."""
        return sum(s.size for s in self._docs.values())

    def open_view(self, token: str) -> DocState:
        check_doc_id(token, "view token")
        row = self.store.get_document_by_view(token)
        if row is None:
            raise CollabError("bad_doc", "no document has this view token")
        return self.open(row.id)

    def _load(self, row: DocumentRow) -> DocState:
        version, text, snap, written = self._replay(row.id, row.head, self.offload)
        return DocState(
            id=row.id, view_token=row.view_token, created=row.created, updated=row.updated,
            committed=version, committed_text=text, head=version, text=text, ops_floor=version,
            snap_version=snap, snap_written=written,
        )

    def _replay(self, doc: str, version: int,
                offload: Callable[..., tuple[int, str, int]]) -> tuple[int, str, int, int]:
        """The text at `version`: (version, text, the snapshot's version, revision_cost of the
        revisions since). The one replay of the service: the nearest snapshot, then the stored
        revisions after it, read here (the store's connection belongs to the event loop's
        thread) yielding between pages, and applied by `offload` (`self.offload` for writers,
        `self.offload_read` for readers) off the loop when long: linear in what it reads
        (snapshots.replay_text), at most one snapshot plus MAX_GAP_FACTOR x
        COLLAB_SNAPSHOT_EVERY revisions."""
        base, text = self.store.latest_snapshot(doc, version)
        revisions = self.read_all(self._stored_revisions(doc, base, version))
        try:
            at, text, written = offload(_replay_cost(text, revisions), replay_text, text, base, revisions)
        except HistoryError as exc:
            raise self._corrupt(doc, str(exc)) from None
        return at, text, base, written

    def _corrupt(self, doc: str, why: str) -> CollabError:
        # the message goes to whoever asked, maybe a viewer: it must not name the edit id
        # (the log does, for the operator)
        log.error("doc=%s corrupt: %s", doc, why)
        return CollabError("doc_corrupt", f"this document is corrupt: {why}; run `collab check` on the server")

    def _evict_idle(self, keep: DocState | None = None) -> None:
        """Past COLLAB_MAX_OPEN_BYTES, drop documents from memory, least recently used first
        (they reload from the store on demand). Never one in use: pinned (joined), used in
        the last IDLE seconds, locked, or with revisions still committing. When only such
        documents are left, memory goes over the bound rather than lose one."""
        # summing every open document's size is O(open documents): do it once per
        # 1/64th of them newly loaded, so that opening stays O(1) amortised
        self._loads_since_sum += 1
        if self._loads_since_sum < len(self._docs) / 64:
            return
        self._loads_since_sum = 0
        limit = self.settings.max_open_bytes
        total = self.open_bytes()
        if total <= limit:
            return
        now = time.monotonic()
        idle = [s for s in self._docs.values()
                if s is not keep and not s.pins and now - s.last_used > IDLE
                and not s.lock.locked() and s.head == s.committed]
        for state in sorted(idle, key=lambda s: s.last_used):
            if total <= limit:
                break
            del self._docs[state.id]
            total -= state.size
        if total > limit:
            log.warning("open documents hold %d code points, over COLLAB_MAX_OPEN_BYTES=%d: all in use",
                        total, limit)

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
        return self._replay(state.id, version, self.offload_read)[1]

    def read_all(self, revisions: Iterable[Revision]) -> list[Revision]:
        """Read revisions page by page, letting other clients run between the pages."""
        out: list[Revision] = []
        for rev in revisions:
            out.append(rev)
            if len(out) % self.settings.sync_limit == 0:
                self.runtime.yield_now()
        return out

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
        try:
            return self._submit(state, base, patch_text, op_id, author, origin)
        except CollabError as exc:
            # a resend memory no longer knows may not apply to today's text (or be too big
            # for today's limits): the store decides, whatever the base. Only refusals pay
            # this read; a resend that applies is caught by the append (_drop_conflicts).
            if exc.code == "internal" or (isinstance(base, int) and base < state.ops_floor):
                raise
            stored = self.store.find_op(state.id, op_id) if isinstance(op_id, str) else None
            if stored is None:
                raise
            return self._stored_result(state, stored)

    def _submit(self, state: DocState, base: int, patch_text: object, op_id: str, author: str,
                origin: object) -> PatchResult:
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
                      origin: object, attribution: str | None = None) -> PatchResult:
        """submit() once the patch is parsed: the server's own patches (rewrite) start here,
        limited by the document they make, not by the size of one client message; with the
        `attribution` of a restore or a revert (see rewrite)."""
        if not hunks:
            raise CollabError("bad_patch", "patch is empty: it must contain at least one hunk")
        for _ in range(CAS_ATTEMPTS):
            self._adopt(state)
            applied, rebased = self._apply(state, base, hunks, op_id, author, origin, attribution)
            if isinstance(applied, PatchResult):
                return applied
            applied.done.wait()
            if applied.error is None:
                rev = applied.revision
                return PatchResult(rev.version, rev.hash, rev.patch, rebased)
            if applied.stored is not None:  # a resend the store knew but memory did not
                return self._stored_result(state, applied.stored)
            if applied.error is not _LOST_RACE:
                raise applied.error
            # another process stored these versions first: catch up and move the patch again
        raise CollabError("conflict", "the document is too busy to write to; sync and resend",
                          version=state.committed)

    def _apply(self, state: DocState, base: int, hunks: list, op_id: str, author: str,
               origin: object, attribution: str | None = None) -> tuple[Applied | PatchResult, bool]:
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
            if rebased and attribution is not None:
                # the attribution is of the text made at `base`: never merge it (see rewrite)
                raise CollabError("conflict", "the document changed meanwhile; try again", version=state.committed)
            try:
                moves = self._edits_between(state, base, head) if rebased else None
                new_text, edits, canonical, digest = self.offload(_revise_cost(state.text, hunks, moves), _revise,
                                                                  state.text, hunks, moves, self.settings.max_doc_chars)
            except CollabError as exc:
                if exc.code == "conflict":
                    exc.extra["version"] = state.committed
                raise
            # the invariants, checked before anything changes: a failure here leaves the
            # document as it was and the op id free to resend
            assert self._docs.get(state.id) is state, "one state per open document"
            if self._closed:
                raise CollabError("unavailable", "the server is shutting down")
            state.last_used = time.monotonic()
            revision = Revision(
                doc=state.id, version=head + 1, patch=canonical,
                author=author, op_id=op_id, ts=time.time(), hash=digest, attribution=attribution,
            )
            applied = Applied(revision, edits, new_text, origin)
            state.head, state.text = revision.version, new_text
            self._keep_recent(state, applied)
            self._remember_op(state, op_id, applied)
            self._enqueue(state, applied)
        self.faults.reached("applied")
        return applied, rebased

    def offload(self, cost: int, fn: Callable[..., T], *args: object) -> T:
        """Run pure work on a worker thread when it would stall other clients: `cost` is its
        real cost in code points copied (STEP per pure-Python step), not the size of a text."""
        if cost > OFFLOAD_OVER:
            return self.runtime.run_cpu(fn, *args)
        return fn(*args)

    def offload_read(self, cost: int, fn: Callable[..., T], *args: object) -> T:
        """`offload` for work a reader asked for (history routes): on the read lane, which
        runs one computation at a time and refuses a long queue (runtime.run_read)."""
        if cost > OFFLOAD_OVER:
            return self.runtime.run_read(fn, *args)
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
                state.committed = state.head = rev.version
                state.snap_written += revision_cost(rev.patch)  # (another process may have snapshotted)
                self._keep_recent(state, applied)
                self._remember_op(state, rev.op_id, rev.version)
                state.committed_text = state.text = text
                state.updated = rev.ts
        except (HistoryError, CollabError) as exc:
            raise self._corrupt(state.id, str(exc)) from None

    def rewrite(
        self, state: DocState, author: str, kind: str, target: Callable[[int, str], str | Rewrite],
        origin: object = None,
    ) -> PatchResult | None:
        """Make the text `target(version, text)` (computed from the latest committed version)
        as one ordinary new revision by `author`, with a server-made op id "<kind>-<random>":
        restore, revert and import never rewrite history. None when nothing would change.

        A target that is a `Rewrite` with `attribution` (a restore, a revert) names who first
        wrote each code point of its text. That holds only for exactly that text, so such a
        revision is never merged with concurrent ones: it waits for the revisions still
        committing, applies at the head, and is retried on the newer text if one came first.
        """
        attempts = REWRITE_ATTEMPTS
        for attempt in range(attempts):
            self._settle(state)
            base, text = self.snapshot(state)
            wanted = target(base, text)
            new_text, attribution = (wanted, None) if isinstance(wanted, str) else (wanted.text, wanted.attribution)
            if new_text == text:
                return None
            if len(new_text) > self.settings.max_doc_chars:
                raise CollabError("too_large", f"this {kind} makes the document {len(new_text):,} characters "
                                               f"long, over its {self.settings.max_doc_chars:,} limit")
            # made and parsed off the event loop when large; never refused by the patch limit,
            # which bounds a client's message, not the server's own revision
            patch = self.offload(diff_cost(text, new_text), make_patch, text, new_text)
            hunks = self.offload(len(patch) * PARSE_WEIGHT, parse_patch, patch)
            try:
                return self._submit_hunks(state, base, hunks, f"{kind}-{random_base62(16)}", author, origin,
                                          attribution)
            except CollabError as exc:
                if exc.code != "conflict" or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _settle(self, state: DocState) -> None:
        """Wait until nothing applied to the document is still waiting for its commit (a
        few commits at most: under steady typing the rewrite then retries on a conflict)."""
        for _ in range(REWRITE_ATTEMPTS):
            if state.head == state.committed or not state.recent:
                return
            pending = state.recent[-1]
            pending.done.wait()
            if pending.error is not None:
                return  # rolled back: the state is at its committed version again

    def find_op(self, state: DocState, op_id: str, base: int | None = None) -> PatchResult | None:
        """The result of an op id applied before (waiting for it to be durable), or None.

        Memory knows the op id of every revision after `state.ops_floor`. An op made against
        `base` can only have been applied after it, so with base >= ops_floor memory answers
        alone; only older bases (a resend after a restart, a long-offline client) ask the store.
        """
        known = state.ops.get(op_id)
        if isinstance(known, int):  # committed: the version alone (a revision may be 1 MB)
            return self._stored_result(state, known)
        if known is not None:
            known.done.wait()  # a twin still committing: answer once it is durable
            if known.stored is not None:
                return self._stored_result(state, known.stored)
            if known.error is not None:
                raise known.error
            rev = known.revision
            return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)
        if base is not None and base >= state.ops_floor:
            # (with several processes another one may have applied it since we loaded: then
            # the append breaks UNIQUE (doc, op_id), the retry catches up and answers it)
            return None
        version = self.store.find_op(state.id, op_id)
        return None if version is None else self._stored_result(state, version)

    def _stored_result(self, state: DocState, version: int) -> PatchResult:
        """The duplicate answer for the committed revision at `version`."""
        recent = state.recent
        if recent and recent[0].revision.version <= version <= recent[-1].revision.version:
            rev = recent[version - recent[0].revision.version].revision
        else:
            rev = self.store.revisions(state.id, version - 1, 1)[0]
        return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)

    def _keep_recent(self, state: DocState, applied: Applied | None = None) -> None:
        """Add a revision to the recent ones, then forget the oldest committed ones past
        RECENT revisions or RECENT_BYTES (those are read from the store when needed).
        Revisions not yet committed always stay: a rollback and stale patches need them."""
        recent = state.recent
        if applied is not None:
            recent.append(applied)
            state.recent_bytes += applied.size
        while recent and (len(recent) > RECENT or state.recent_bytes > RECENT_BYTES) \
                and recent[0].revision.version <= state.committed:
            state.recent_bytes -= recent.popleft().size

    def _remember_op(self, state: DocState, op_id: str, applied: Applied | int) -> None:
        state.ops[op_id] = applied
        state.ops.move_to_end(op_id)
        if len(state.ops) > RECENT_OPS:
            _, oldest = state.ops.popitem(last=False)
            version = oldest if isinstance(oldest, int) else oldest.revision.version
            state.ops_floor = max(state.ops_floor, version)

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
        # older than memory: the stored canonical patches hold their edits; read them here,
        # take the edits out of them (off the loop when many) without rebuilding any text
        stored = self.read_all(self._stored_revisions(state.id, base, state.committed))
        cost = sum(STEP + len(r.patch) * PARSE_WEIGHT for r in stored)
        try:
            try:
                out: list[Sequence[Edit]] = self.offload(cost, _stored_edits, None, stored)
            except _NeedsText:  # an old history: rebuild the texts as well
                cost += len(stored) * REPLAY_WEIGHT * len(state.text)
                out = self.offload(cost, _stored_edits, self.text_at(state, base), stored)
        except HistoryError as exc:
            raise self._corrupt(state.id, str(exc)) from None
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
        # (_apply checked that the state is the document's one and the service is open)
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

    def _rows(self, batch: list[tuple[DocState, Applied]]) -> list[NewRevision]:
        """The rows of a group commit, with a snapshot where snapshots.snapshot_due says
        (by revisions and bytes written since the document's last one)."""
        rows = []
        since: dict[str, tuple[int, int]] = {}  # doc -> (revisions, cost) since its last snapshot
        for state, applied in batch:
            rev = applied.revision
            count, written = since.get(state.id, (rev.version - 1 - state.snap_version, state.snap_written))
            count, written = count + 1, written + revision_cost(rev.patch)
            due = snapshot_due(count, written, len(applied.text), self.settings.snapshot_every)
            since[state.id] = (0, 0) if due else (count, written)
            rows.append(NewRevision(rev, applied.text if due else None))
        return rows

    def _commit(self, batch: list[tuple[DocState, Applied]]) -> None:
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
        self._write_error = None
        self.faults.reached("committed")
        by_doc: dict[str, tuple[DocState, list[tuple[Revision, object]]]] = {}
        for (state, applied), row in zip(batch, rows):
            rev = applied.revision
            assert rev.version == state.committed + 1, "revisions commit in version order"
            state.committed, state.committed_text, state.updated = rev.version, applied.text, rev.ts
            if row.snapshot is not None:
                state.snap_version, state.snap_written = rev.version, 0
            else:
                state.snap_written += revision_cost(rev.patch)
            # the state keeps the committed text; the recent revisions keep only their
            # edits (a full text each would be 1,000 copies of the document)
            applied.text = ""
            if state.ops.get(rev.op_id) is applied:
                state.ops[rev.op_id] = rev.version  # durable: the version is all a resend needs
            by_doc.setdefault(state.id, (state, []))[1].append((rev, applied.origin))
        for state, _ in by_doc.values():
            self._keep_recent(state)  # these may leave memory now
        if self.on_commit is not None:
            for state, committed in by_doc.values():
                try:
                    self.on_commit(state, committed)
                except Exception:
                    log.exception("doc=%s versions=%d-%d broadcast failed", state.id,
                                  committed[0][0].version, committed[-1][0].version)
        for _, applied in batch:
            applied.done.set()

    def _drop_conflicts(self, batch: list[tuple[DocState, Applied]],
                        exc: StoreConflict) -> list[tuple[DocState, Applied]]:
        """After an append broke a uniqueness rule: fail the revisions of every document
        that is the cause, and return the rest (to commit again).

        A document conflicts when the store's head moved (another process stored versions
        first: a lost race, retried by submit after catching up) or when the store already
        holds one of its op ids (a resend that memory no longer knew: after a restart, or
        more than RECENT_OPS ops later; answered as a duplicate of the stored version).
        When no document can be blamed (a deadlock, a serialisation failure), all retry.
        """
        by_doc: dict[str, list[tuple[DocState, Applied]]] = {}
        for item in batch:
            by_doc.setdefault(item[0].id, []).append(item)
        bad: list[tuple[DocState, Applied]] = []
        for doc, items in by_doc.items():
            row = self.store.get_document(doc)
            lost = row is None or row.head != items[0][0].committed
            for _, applied in items:
                if not lost:
                    applied.stored = self.store.find_op(doc, applied.revision.op_id)
            if lost or any(a.stored is not None for _, a in items):
                bad.extend(items)
        if not bad:
            self._fail(batch, exc)
            return []
        self._fail(bad, exc)
        for state, applied in bad:
            if applied.stored is not None:
                log.info("doc=%s op=%s is stored as version %d: answered as a duplicate",
                         state.id, applied.revision.op_id, applied.stored)
                self._remember_op(state, applied.revision.op_id, applied.stored)
        failed = {id(a) for _, a in bad}
        return [(s, a) for s, a in batch if id(a) not in failed]

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
            self._write_failed(exc)
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
                state.recent_bytes -= state.recent.pop().size
        for _, applied in batch + later:
            applied.done.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self.runtime.close()

    def ping(self) -> None:
        """Raise CollabError("unavailable") unless the store answers and takes writes.

        Cheap while writes work (the store's own ping). After a write failed, and until one
        works again, it says why; every WRITE_PROBE_EVERY seconds it tries one small write
        (so that health recovers once the disk has room again, without client traffic)."""
        try:
            self.store.ping()
        except StoreError as exc:
            raise CollabError("unavailable", str(exc)) from None
        if self._write_error is not None and time.monotonic() >= self._write_probe_at:
            self._write_probe_at = time.monotonic() + WRITE_PROBE_EVERY
            try:
                self._store_write(self.store.probe_write)
            except StoreError:
                pass  # _store_write kept the error
        if self._write_error is not None:
            raise CollabError("unavailable", f"writes fail: {self._write_error}")

    def probe_write(self) -> None:
        """Raise CollabError("unavailable") unless one durable write works now."""
        try:
            self._store_write(self.store.probe_write)
        except StoreError as exc:
            raise CollabError("unavailable", f"writes fail: {exc}") from None
