"""The document service: the single authority over every document's history (the facade).

`DocumentService` is what the edges call; `DocState` (state.py) is one open document.
Held here: the open-document cache (one state per document, pinned while joined, idle
ones evicted by bytes), the reads of committed data (versions, revisions), named
versions, and the entry points of the rest: each write is a `SubmitRequest` (submit.py),
commits are grouped by `Commits` (commits.py), revisions another process stored are
loaded by catchup.py, blame, diffs, reverts and restores are computed by versions.py.
Broadcasting is the caller's: `on_commit(state, [(revision, origin), ...])`, given to
the constructor, is called once per document per group commit with that document's
revisions in version order, after they are durable and before their authors' waits
return, so the caller can send them to each client as one message.

Imports the pure core and the storage interface; never flask or socketio.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from functools import partial
from typing import Callable, Iterable, Iterator, TypeVar

from ..core.blame import Span
from ..core.config import Settings
from ..core.errors import CollabError, gone_error
from ..core.exports import Export, export
from ..core.ids import check_doc_id, check_name, check_version, log_id, new_view_token, redact
from ..core.replay import ReplayError, text_at
from ..core.rope import CHUNK, Rope
from ..core.revert import Reverted
from ..storage import Access, DocumentRow, Image, Label, Revision, Store, StoreConflict, StoreError, Tombstone
from . import reads, versions
from .catchup import catch_up, stored_revisions
from .colors import AuthorColors
from .commits import Commits, OnCommit
from .faults import Faults
from .observer import Observer
from .runtime import Lock, Runtime
from .state import DocState
from .submit import OFFLOAD_OVER, PARSE_WEIGHT, STEP, PatchResult, SubmitRequest, find_op
from .versions import Rewrite
from .visits import Visits

log = logging.getLogger("collab.service")
T = TypeVar("T")

EXPORT_WEIGHT = 12  # escaping a text as HTML costs about as much as copying it 12 times (5 str.replace)
IDLE = 60.0  # seconds without use after which an unpinned document may be dropped from memory
KEEP_DELETED = 10_000  # ids deleted or renamed while this process runs that it refuses without asking the store
WRITE_PROBE_EVERY = 5.0  # seconds between write probes while writes fail (health checks)

__all__ = ["DocState", "DocumentService", "PatchResult", "Rewrite"]


def _check_label(name: object) -> str:
    """A version's name: like a display name (1-64 characters, spaces folded), never blank."""
    if not isinstance(name, str) or not name.strip():
        raise CollabError("bad_request", "name must be a non-empty string of at most 64 characters")
    return check_name(name)




def _catch_up_cost(revisions: list[Revision]) -> int:
    """What catchup.replay_stored costs: per revision a step, a chunk copied and its patch
    parsed; the hash check is the rope's (nothing joined)."""
    return sum(STEP + CHUNK + PARSE_WEIGHT * len(r.patch) for r in revisions)


def _replay_cost(text: str, revisions: list[Revision]) -> int:
    """What core.replay.text_at costs, in code points copied: parsing each patch, a step
    and one text piece spliced per revision, and joining and hashing the text once."""
    return 2 * len(text) + sum(STEP + CHUNK + PARSE_WEIGHT * len(r.patch) for r in revisions)


class DocumentService:
    def __init__(self, store: Store, settings: Settings, runtime: Runtime | None = None,
                 on_commit: OnCommit | None = None, observer: Observer | None = None) -> None:
        self.store = store
        self._settings = settings
        self.runtime = runtime or Runtime()
        self.observer = observer  # instruments' hooks (observer.py); None: no cost
        self.faults = Faults()  # test-only crash points (COLLAB_TEST_FAULT)
        self.commits = Commits(store, settings, self.runtime, self.faults, on_commit, observer)
        self._docs: dict[str, DocState] = {}  # docs[doc_id] = state of an open document
        # gone[doc_id] = reason ("deleted", "renamed"): edit ids that died while this process
        # ran (the last KEEP_DELETED), refused at once, also to callers that still hold their
        # state (adopt, and a write that waited for the lock: submit.py)
        self._gone: OrderedDict[str, str] = OrderedDict()
        # several processes write to the store: reads catch up with it first
        self.shared = bool(settings.message_queue)
        self._loads_since_sum = 0  # documents loaded since _evict_idle last summed their sizes
        self._loading: dict[str, Lock] = {}  # loading[doc_id]: held while the document loads
        self.visits = Visits(self)  # "my documents" (COLLAB_SIGN_IN)
        self.colors = AuthorColors(self)  # the colour each author last wrote in (the history page's)

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """New settings (tests: a disk that became fast) hold for the commits too."""
        self._settings = self.commits.settings = settings

    @property
    def closed(self) -> bool:
        return self.commits.closed

    # -- documents ---------------------------------------------------------------

    def open(self, doc: str, create: bool = False, owner: str | None = None) -> DocState:
        """The state of a document, loaded from the store; created first if asked, owned by
        the account `owner` when this call made it (a signed-in creator; None: a guest)."""
        check_doc_id(doc)
        state = self._docs.get(doc)
        if state is None:
            self.check_gone(doc)
            row = self.store.get_document(doc)
            if row is None:
                self._check_tombstone(doc)  # an old link never makes a deleted document again
                if not create:
                    raise CollabError("not_found", f"document {doc!r} does not exist")
                if self.store.get_document_by_view(doc) is not None:
                    raise CollabError("bad_doc", f"document id {doc!r} is taken: choose another")
                row = self.commits.store_write(self.store.create_document, doc, self._free_token(), time.time())
                if owner is not None:  # (two creators at once: the first signed-in one's claim wins)
                    self.store.access.claim(doc, owner)
            loaded = self._load_once(row)
            # loading yields (a worker thread, PostgreSQL I/O): another greenlet may have loaded
            # the document meanwhile. Keep exactly one state per document: two would each apply
            # and commit on their own text, interleaving versions that do not chain.
            state = self._docs.setdefault(doc, loaded)
            self._evict_idle(keep=state)
        state.last_used = time.monotonic()
        return state

    # -- access (service/access.py decides; these read and write what it decides on) -----

    def access(self, state: DocState) -> Access:
        """Who may do what with the document, as stored now. Read from the store each time
        when processes share it (a message queue: another process may have changed it, and
        an outage of the queue must not leave a revoked person in); a server alone keeps it
        with the open document, since every change goes through it (`access_changed`)."""
        if state.access is not None and not self.shared:
            return state.access
        access = self.store.access.get(state.id)
        if not self.shared and self._docs.get(state.id) is state:
            state.access = access
        return access

    def access_changed(self, doc: str) -> None:
        """The document's access was changed (here, or by another process): read it again."""
        state = self._docs.get(doc)
        if state is not None:
            state.access = None

    def set_policies(self, state: DocState, edit: str, view: str) -> Access:
        self.store.access.set_policies(state.id, edit, view)
        self.access_changed(state.id)
        return self.access(state)

    def set_member(self, state: DocState, user: str, role: str) -> Access:
        self.store.access.set_member(state.id, user, role, time.time())
        self.access_changed(state.id)
        return self.access(state)

    def remove_member(self, state: DocState, user: str) -> Access | None:
        """The access after `user` is no longer invited; None when they were not."""
        removed = self.store.access.remove_member(state.id, user)
        self.access_changed(state.id)
        return self.access(state) if removed else None

    def _free_token(self) -> str:
        """A new view token that names nothing, not even a tombstone."""
        token = new_view_token()
        while self.store.get_document(token) or self.store.get_document_by_view(token) or self.store.tombstone(token):
            token = new_view_token()
        return token

    def open_view(self, token: str) -> DocState:
        check_doc_id(token, "view token")
        row = self.store.get_document_by_view(token)
        if row is None:
            self._check_tombstone(token)
            raise CollabError("bad_doc", "no document has this view token")
        state = self.open(row.id)
        if state.view_token != token:
            # a state loaded before its token was rotated, by a process whose message did not
            # reach us (or one that came in between): the store says which token is current
            self.reload_view_token(state)
            if state.view_token != token:
                self._check_tombstone(token)
                raise CollabError("bad_doc", "no document has this view token")
        return state

    def view_token_rotated(self, doc: str) -> None:
        """Another process (or the CLI) gave the document a new view token: an open state
        takes it from the store, so that its viewers' messages name the new one."""
        state = self._docs.get(doc)
        if state is not None:
            self.reload_view_token(state)

    def reload_view_token(self, state: DocState) -> None:
        """Take the document's view token from the store again (it was rotated elsewhere)."""
        row = self.store.get_document(state.id)
        if row is not None:
            state.view_token = row.view_token

    def _check_tombstone(self, name: str) -> None:
        """Raise `deleted` if the name (edit id or view token) is a tombstone."""
        tomb: Tombstone | None = self.store.tombstone(name)
        if tomb is not None:
            raise gone_error(tomb.reason)

    def pin(self, state: DocState) -> None:
        """The document is in use (the edge calls this when a connection joins it): it stays
        in memory until as many unpin() calls."""
        self.adopt(state)
        state.pins += 1
        state.last_used = time.monotonic()

    def unpin(self, state: DocState) -> None:
        state.pins = max(0, state.pins - 1)
        state.last_used = time.monotonic()

    def adopt(self, state: DocState) -> DocState:
        """The one state of its document: a state dropped from memory while a caller held it
        is taken back, so that one document never has two (they would commit versions that
        do not chain). Raises, changing nothing, if another state was loaded meanwhile, or
        `deleted` if the document was deleted meanwhile."""
        self.check_gone(state.id)
        current = self._docs.setdefault(state.id, state)
        if current is not state:
            raise CollabError("unavailable", "the document was reloaded meanwhile: resend", version=state.committed)
        return state

    def loaded(self, doc: str) -> DocState | None:
        """The document's open state, if it is in memory (nothing is read)."""
        return self._docs.get(doc)

    def loaded_by_view(self, token: str) -> DocState | None:
        """The open state whose view token is `token`, if one is in memory (nothing is read;
        one look at each open document: for the rare rotation found by the tombstone watch)."""
        return next((s for s in self._docs.values() if s.view_token == token), None)

    def is_current(self, state: DocState) -> bool:
        """Whether `state` is its document's one open state."""
        return self._docs.get(state.id) is state

    def open_bytes(self) -> int:
        """Memory held by the open documents, as DocState.size counts it."""
        return sum(s.size for s in self._docs.values())

    def _load_once(self, row: DocumentRow) -> DocState:
        """`_load`, once at a time per document: the greenlets that ask for a cold document
        while it loads wait for that load instead of each reading it again (four viewers
        of a large document just restarted made four loads)."""
        lock: Lock = self._loading.setdefault(row.id, Lock())
        try:
            with lock:
                return self._docs.get(row.id) or self._load(row)
        finally:
            if not lock.locked() and self._loading.get(row.id) is lock:
                del self._loading[row.id]

    def _load(self, row: DocumentRow) -> DocState:
        url = self.store.reader_url()
        if url is None:
            version, text, snap, written = self._replay(row.id, row.head, self.offload)
        else:
            # read and replayed on a worker thread with its own connection (service/reads.py):
            # a snapshot and up to 999 revisions, each up to a whole text (61 revisions of 2 MB
            # read here held the loop 0.4 s, once per greenlet asking for the cold document)
            try:
                version, text, snap, written = self.runtime.run_cpu(reads.replay, url, row.id, row.head)
            except ReplayError as exc:
                raise self.corrupt(row.id, str(exc)) from None
        rope = Rope(text)
        return DocState(
            id=row.id, view_token=row.view_token, created=row.created, updated=row.updated,
            committed=version, committed_rope=rope, head=version, head_rope=rope, ops_floor=version,
            snap_version=snap, snap_written=written, chosen_title=self.store.visits.chosen_title(row.id),
        )

    def _replay(self, doc: str, version: int,
                offload: Callable[..., tuple[int, str, int]]) -> tuple[int, str, int, int]:
        """The text at `version`: (version, text, the snapshot's version, revision_cost of the
        revisions since), for a store that cannot be read from another connection (else
        reads.replay does all of it off the loop). The nearest snapshot, then the stored
        revisions after it, read here yielding between pages,
        and replayed by core.replay.text_at through `offload` (`self.offload` for writers,
        `self.offload_read` for readers): off the loop when long, linear in what it reads, at
        most one snapshot plus MAX_GAP_FACTOR x COLLAB_SNAPSHOT_EVERY revisions."""
        base, text = self.store.latest_snapshot(doc, version)
        revisions = self.read_all(self.stored_revisions(doc, base, version))
        try:
            at, text, written = offload(_replay_cost(text, revisions), text_at, text, base, revisions)
        except ReplayError as exc:
            raise self.corrupt(doc, str(exc)) from None
        return at, text, base, written

    def corrupt(self, doc: str, why: str) -> CollabError:
        """The error of a stored history that does not replay (logged for the operator)."""
        # the message goes to whoever asked, maybe a viewer: it must not name the edit id
        # (the log names it by its hash, for the operator: core/ids.log_id)
        log.error("doc=%s corrupt: %s", log_id(doc), redact(why, [doc]))
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

    # -- deletion ----------------------------------------------------------------------

    def delete(self, state: DocState) -> float:
        """Delete the document for good: its history, snapshots and labels go, its edit id
        and view token become tombstones (every later use of either is `deleted`, HTTP
        410). Returns when, in Unix seconds. The edge tells the document's clients (and
        the other processes, which `forget` it); a patch still committing meanwhile fails
        its append (no document) and its retry finds it deleted (adopt, catch_up)."""
        with state.lock:  # no patch applies while the rows go
            self.adopt(state)
            now = time.time()
            row = self.commits.store_write(self.store.delete_document, state.id, now)
            if row is not None:
                self.forget(state.id)
        if row is None:  # deleted (or renamed) meanwhile, by another process or the CLI
            raise self._gone_meanwhile(state.id)
        log.info("doc=%s deleted (%d revisions)", log_id(state.id), row.head)
        return now

    def forget(self, doc: str, reason: str = "deleted") -> None:
        """The edit id is dead (deleted or renamed: here, elsewhere or by the CLI): drop its
        document from memory and refuse it from now on, also to callers that still hold its
        state, with `gone_error(reason)`."""
        self._gone[doc] = reason
        self._gone.move_to_end(doc)
        while len(self._gone) > KEEP_DELETED:
            self._gone.popitem(last=False)
        self._docs.pop(doc, None)

    def check_gone(self, doc: str) -> None:
        """Raise `deleted` (with its reason) if this process saw the edit id die."""
        reason = self._gone.get(doc)
        if reason is not None:
            raise gone_error(reason)

    def _gone_meanwhile(self, doc: str) -> CollabError:
        """The error of a document another process (or the CLI) deleted or renamed before
        our change reached the store; forgotten here too."""
        tomb = self.store.tombstone(doc)
        reason = tomb.reason if tomb is not None else "deleted"
        self.forget(doc, reason)
        return gone_error(reason)

    # -- new names (revocable links) ------------------------------------------------

    def rename(self, state: DocState, new: str) -> tuple[DocumentRow, float]:
        """Give the document a new edit id: its whole history, labels and view token move
        to `new` in one transaction, and the old id becomes a tombstone ("renamed"): every
        later use of it is `deleted`, as for a deleted document. Returns the moved row and
        when, in Unix seconds. `conflict` (changing nothing) when `new` is taken: a
        document, a view token or a tombstone. As for delete, the edge tells the old id's
        clients and the other processes, and a patch still committing meanwhile fails its
        append (no document of that id) and its retry finds the id gone."""
        check_doc_id(new)
        with state.lock:  # no patch applies while the rows move
            self.adopt(state)
            now = time.time()
            try:
                row = self.commits.store_write(self.store.rename_document, state.id, new, now)
            except StoreConflict:
                raise CollabError("conflict", f"document id {new!r} is taken: choose another") from None
            if row is not None:
                self.forget(state.id, "renamed")
        if row is None:
            raise self._gone_meanwhile(state.id)
        log.info("doc=%s renamed to doc=%s (%d revisions)", log_id(state.id), log_id(new), row.head)
        return row, now

    def rotate_view(self, state: DocState) -> tuple[str, float]:
        """Give the document a new view token; the old one becomes a tombstone ("rotated").
        Its editors are not affected. Returns the old token (the edge tells its viewers)
        and when, in Unix seconds."""
        with state.lock:
            self.adopt(state)
            old, now = state.view_token, time.time()
            for _ in range(3):  # a new token taken meanwhile by another document: draw again
                try:
                    row = self.commits.store_write(self.store.rotate_view_token, state.id, self._free_token(), now)
                    break
                except StoreConflict:
                    continue
            else:
                raise CollabError("unavailable", "could not draw a free view token; try again", retry_after=1.0)
            if row is not None:
                old, state.view_token = state.view_token, row.view_token
        if row is None:
            raise self._gone_meanwhile(state.id)
        log.info("doc=%s view token rotated", log_id(state.id))
        return old, now

    # -- reads (committed data only) --------------------------------------------

    def snapshot(self, state: DocState) -> tuple[int, str]:
        """The latest durable (version, text), taken together."""
        self.refresh(state)
        return state.committed, state.committed_text

    def revisions(self, state: DocState, since: int, limit: int | None = None) -> list[Revision]:
        limit = min(limit or self.settings.sync_limit, self.settings.sync_limit)
        since = check_version(since, "since")  # the edges check it; this keeps the service safe alone
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
        self.check_version(state, version)
        if version == state.committed:
            return state.committed_text
        url = self.store.reader_url()
        if url is None:
            return self._replay(state.id, version, self.offload_read)[1]
        # its snapshot and revisions (up to 999, each up to a whole text) read and replayed
        # on the read lane (service/reads.py): their size is known only once read
        try:
            return self.runtime.run_read(reads.replay, url, state.id, version)[1]
        except ReplayError as exc:
            raise self.corrupt(state.id, str(exc)) from None

    def on_history(self, state: DocState, version: int, cost: Callable[[list[Revision]], int],
                   fn: Callable[..., T], *args: object) -> T:
        """`fn(revisions 1..version, *args)` for a reader (blame, revert, restore). Where
        another connection can read the store, the revisions are read and `fn` computed on
        the read lane (reads.on_revisions), whatever their number: a history's size is known
        only once read, and reading and pickling 100,000 revisions here held the loop for
        0.4 s at a time. Else they are read here a page at a time and `fn` is offloaded by
        `cost(revisions)`. Raises ReplayError for a stored history that does not replay."""
        self.check_version(state, version)
        url = self.store.reader_url()
        if url is not None:
            computed: T = self.runtime.run_read(reads.on_revisions, url, state.id, 0, version, fn, *args)
            return computed
        revisions = self.read_all(self.stored_revisions(state.id, 0, version))
        return self.offload_read(cost(revisions), fn, revisions, *args)

    def on_stored(self, state: DocState, since: int, until: int, cost: Callable[[list[Revision]], int],
                  fn: Callable[..., T], *args: object) -> T:
        """`fn(revisions since+1..until, *args)` for a writer (a stale patch moved over
        revisions older than memory; catch_up's revisions of other processes): read and
        computed on a write-lane thread with its own connection where the store allows
        (reads.on_revisions); else read here a page at a time and `fn` offloaded by
        `cost(revisions)`. ReplayError if one is missing."""
        url = self.store.reader_url()
        if url is not None:
            computed: T = self.runtime.run_cpu(reads.on_revisions, url, state.id, since, until, fn, *args)
            return computed
        revisions = self.read_all(self.stored_revisions(state.id, since, until))
        return self.offload(cost(revisions), fn, revisions, *args)

    def _read_stored(self, state: DocState, since: int, until: int, fn: Callable[..., T], *args: object) -> T:
        """catchup's `read`: `on_stored`, costed as a replay of those revisions."""
        return self.on_stored(state, since, until, _catch_up_cost, fn, *args)

    def export(self, state: DocState, version: int, key: str, fmt: str) -> Export:
        """`version` as a file (core.exports), named by `key` (how the client named the
        document); its HTML escaped off the loop when long (4 M CJK code points: 171 ms)."""
        export("", key, version, fmt)  # a format there is none of: refused before any work
        text = self.text_at(state, version)
        return self.offload_read(len(text) * EXPORT_WEIGHT if fmt == "html" else 0, export, text, key, version, fmt)

    def image(self, image_id: str) -> Image | None:
        """An uploaded image with its bytes, read on a store-read thread (megabytes in one
        row: 5 MiB read on the loop held it for tens of ms, 16 at once for more)."""
        url = self.store.reader_url()
        if url is None:
            return self.store.image(image_id)
        return self.runtime.run_store_read(reads.image, url, image_id)

    def check_version(self, state: DocState, version: int) -> None:
        if not 0 <= version <= state.committed:
            raise CollabError("not_found", f"version {version} does not exist (head is {state.committed})")

    def read_all(self, revisions: Iterable[Revision]) -> list[Revision]:
        """Read revisions page by page, letting other clients run between the pages."""
        out: list[Revision] = []
        for rev in revisions:
            out.append(rev)
            if len(out) % self.settings.sync_limit == 0:
                self.runtime.yield_now()
        return out

    def stored_revisions(self, doc: str, since: int, until: int) -> Iterator[Revision]:
        """Stored revisions since+1..until, in order, read in pages (never all at once)."""
        try:
            yield from stored_revisions(self.store, doc, since, until, self.settings.sync_limit)
        except ReplayError as exc:
            raise self.corrupt(doc, str(exc)) from None

    def blame(self, state: DocState, version: int, render: Callable[[list[Span]], T]) -> T:
        """Who wrote each code point of `version`: `render(spans)` (versions.blame)."""
        return versions.blame(self, state, version, render)

    def diff(self, state: DocState, a: int, b: int, render: Callable[[str, str], T]) -> T:
        """`render(text at a, text at b)`, off the event loop by what differs (versions.diff)."""
        return versions.diff(self, state, a, b, render)

    def revert(self, state: DocState, author: str, since: int, head: int, account: str | None = None) -> Reverted:
        """`head`'s text with the changes since `since` of `account`, or of the guest `author`,
        taken out (versions.revert)."""
        return versions.revert(self, state, author, since, head, account)

    def restore(self, state: DocState, version: int, author: str, origin: object = None,
                account: str | None = None) -> PatchResult | None:
        """Make `version`'s text the text again, keeping its authors (versions.restore)."""
        return versions.restore(self, state, version, author, origin, account)

    # -- named versions ---------------------------------------------------------

    def labels(self, state: DocState) -> list[Label]:
        return self.store.labels(state.id)

    def set_label(self, state: DocState, version: int, name: str) -> Label:
        """Name a committed version; a name used before moves to it."""
        self.check_version(state, version)
        label = Label(version, _check_label(name), time.time())
        self.commits.store_write(self.store.set_label, state.id, label.version, label.name, label.ts)
        return label

    def delete_label(self, state: DocState, name: str) -> None:
        if not self.commits.store_write(self.store.delete_label, state.id, name):
            raise CollabError("not_found", f"the document has no version named {name[:80]!r}")

    # -- writes ----------------------------------------------------------------

    def submit(self, state: DocState, base: int, patch_text: object, op_id: str, author: str,
               origin: object = None, account: str | None = None) -> PatchResult:
        """Apply a client's patch as the next revision; return once it is durable. `author`
        is a display name, `account` the signed-in author's account id (None: a guest).

        Raises CollabError with the contract's codes; on any error nothing was applied.
        """
        return SubmitRequest(self, state, base, op_id, author, origin, account=account).submit(patch_text)

    def find_op(self, state: DocState, op_id: str, base: int | None = None) -> PatchResult | None:
        """The result of an op id applied before (waiting for it to be durable), or None."""
        return find_op(self, state, op_id, base)

    def rewrite(self, state: DocState, author: str, kind: str, target: Callable[[int, str], str | Rewrite],
                origin: object = None, account: str | None = None) -> PatchResult | None:
        """Make `target(version, text)` the text, as one new revision (versions.rewrite)."""
        return versions.rewrite(self, state, author, kind, target, origin, account)

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

    # -- several processes (catchup.py) --------------------------------------------

    def refresh(self, state: DocState, force: bool = False) -> None:
        """Catch up with revisions stored by another process: when several share the store,
        after a commit of ours lost a race, or when asked (a client knows a newer version)."""
        if self.shared or state.stale or force:
            with state.lock:
                self.catch_up(state)

    def catch_up(self, state: DocState) -> None:
        """catchup.catch_up, its errors as `doc_corrupt` (the caller holds the lock)."""
        try:
            catch_up(state, self.store, partial(self._read_stored, state))
        except (ReplayError, CollabError) as exc:
            if isinstance(exc, CollabError) and exc.code == "deleted":  # by another process
                self.forget(state.id, exc.extra.get("reason", "deleted"))
                raise
            raise self.corrupt(state.id, str(exc)) from None

    # -- health and shutdown -------------------------------------------------------

    def close(self) -> None:
        self.commits.close()
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
        commits = self.commits
        if commits.write_error is not None and time.monotonic() >= commits.write_probe_at:
            commits.write_probe_at = time.monotonic() + WRITE_PROBE_EVERY
            try:
                commits.store_write(self.store.probe_write)
            except StoreError:
                pass  # store_write kept the error
        if commits.write_error is not None:
            raise CollabError("unavailable", f"writes fail: {commits.write_error}")

    def probe_write(self) -> None:
        """Raise CollabError("unavailable") unless one durable write works now."""
        try:
            self.commits.store_write(self.store.probe_write)
        except StoreError as exc:
            raise CollabError("unavailable", f"writes fail: {exc}") from None

