"""The client side of the protocol as a pure state machine (no transport, no threads, no clock).

The transport (collab/client/document.py) feeds in what arrives (`receive_join`, `receive_ack`,
`receive_revisions`, `receive_sync`, `receive_gone`), sends what `take_patch`, `take_sync` and `take_seen`
return, and calls again at `wake_at()`. frontend/src/sync.js is the same algorithm with the
same names (camelCase there), the same arguments in the same order and the same handling of
every error code; the shared vectors in tests/vectors/ run against both. Change one, change
the other.

State (shadow + one patch in flight, as in Differential Synchronization): `shadow` is the server's
text at the confirmed `version`; `text` is what the user sees; `inflight` is at most one sent
patch; `pending` the local edits not yet sent, as an operation on shadow + inflight. Local
edits are kept as the user made them (operations), never re-derived by diffing: an incoming
revision is transformed over both, so concurrent edits of the same words both survive whole.

Time: every method that depends on it takes `now`, in seconds, as its last argument.
Must not import: socketio, threading, anything that does I/O.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable

from ..core import operations as ops
from ..core import wire
from ..core.errors import CollabError
from ..core.ids import random_base62
from ..core.patches import apply_patch, diff_edits, parse_patch, patch_from_edits, text_hash

log = logging.getLogger("collab.sync")

GAP_PATIENCE = 1.0  # seconds a gap that our own ack may fill stays open before we `sync`
SEEN_EVERY = 0.25  # seconds between cumulative `seen` confirmations
RETRY_FIRST = 1.0  # seconds before the first resend after `internal` (or no answer) ...
RETRY_MAX = 30.0  # ... doubling up to this
DEFAULT_LIMITS = {"patch": 4_194_304, "hunks": 5_000, "doc": 4_194_304, "lines": 10_000}  # docs/protocol.md
CHANGE_COST = 100  # what one change costs in a patch's text beyond its escaped characters
LINES_PER_CHANGE = 4  # the most lines one change takes in a patch: alone in its hunk, header, context, itself, context

# What each refusal of a patch means for the client (docs/protocol.md, "Error codes"). Nothing
# was applied in every case, so no refusal loses text; only `gone` stops the client for good.
#   rebase - catch up with the head the error names, then send what is left on a new op id
#   retry  - the same op (same id: the server dedupes) again after `retry_after` or a backoff
#   rejoin - join again and start from the server's text, keeping what was typed
#   hold   - the content was refused: keep it in the text, send again once the text changes
#   viewer - this client may not write: keep the text, send nothing until joined as an editor
#   gone   - the document was deleted, or its access no longer admits this person: stop for good
#            (receive_gone), the text kept to be copied
# A code the client does not know is retried, as `internal` is.
ON_REFUSAL = {
    "conflict": "rebase",
    "rate_limited": "retry",
    "internal": "retry",
    "doc_corrupt": "retry",
    "future_base": "rejoin",
    "not_joined": "rejoin",
    "bad_doc": "rejoin",
    "too_large": "hold",
    "bad_patch": "hold",
    "bad_request": "hold",
    "read_only": "viewer",
    "deleted": "gone",
    "forbidden": "gone",
    "sign_in_required": "gone",
}

# what diff-match-patch's patch_toText leaves unescaped (as encodeURI, spaces included)
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'();/?:@&=+$,# ")


def escaped_length(s: str) -> int:
    """Characters `s` takes in a patch's text, once %-escaped as UTF-8."""
    if s.isascii() and s.isalnum():
        return len(s)
    return sum(1 if c in _SAFE else 3 * len(c.encode("utf-8")) for c in s)


def rough_count(n: int) -> str:
    """"5.1 M", "521 k", "2,000": a count of characters as a person reads it."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 10_000:
        return f"{round(n / 1e3)} k"
    return f"{n:,}"


def max_changes(limits: dict[str, int]) -> int:
    """The changes (inserts and deletes, each at one place) one patch may carry within the
    limits: each makes at most one hunk and LINES_PER_CHANGE lines of the patch's text (half
    the hunk limit, as the patch's characters are kept to half theirs)."""
    return max(1, min(limits["hunks"] // 2, limits["lines"] // LINES_PER_CHANGE))


def split_op(op: ops.Operation, text: str, budget: int, max_changes: int) -> tuple[ops.Operation, ops.Operation]:
    """Split `op` (on `text`) into (first, rest) with compose(first, rest) == op, `first`
    costing at most `budget` escaped patch characters in at most `max_changes` changes: a
    paste too big for one message goes as several patches."""
    first, rest = ops._Builder(), ops._Builder()  # the algebra's own normalising builder
    used = changes = 0
    cut = False
    i = 0  # position in `text`

    def prefix(s: str, room: int) -> int:
        """The longest prefix of s whose escaped length fits in `room`."""
        k = cost = 0
        while k < len(s):
            c = escaped_length(s[k])
            if cost + c > room:
                break
            cost += c
            k += 1
        return k

    for o in op:
        if isinstance(o, int) and o > 0:
            first.retain(o)
            rest.retain(o)
            i += o
            continue
        is_insert = isinstance(o, str)
        body = o if isinstance(o, str) else text[i : i - o]
        if not is_insert:
            i += len(body)
        k = 0  # code points of this change that go in `first`
        if not cut and changes < max_changes:
            cost = escaped_length(body) + CHANGE_COST
            k = len(body) if used + cost <= budget else prefix(body, budget - used - CHANGE_COST)
            if k > 0:
                used += cost
                changes += 1
            if k < len(body):
                cut = True
        if is_insert:
            first.insert(body[:k])
            rest.retain(k)
            rest.insert(body[k:])
        else:
            first.delete(k)
            first.retain(len(body) - k)
            rest.delete(len(body) - k)
        # after the cut, `first` keeps the text as it is and `rest` does the remaining changes
    return first.ops, rest.ops


class ReadOnly(PermissionError):
    """A local edit on a document joined read-only (a view link)."""

    code = "read_only"


@dataclass
class Inflight:
    id: str
    base: int
    patch: str
    op: ops.Operation  # the patch as an operation on the shadow, carried over new revisions
    edits: int = 1  # local edits it carries (for `unsaved`)

    def message(self) -> wire.PatchFields:
        return {"base": self.base, "patch": self.patch, "id": self.id}


@dataclass
class HeldAck:
    version: int
    patch: object  # the canonical revision, as received (parsed when applied); None: moved, and a sync must bring it
    hash: object
    id: str


class SyncClient:
    def __init__(self, version: int = 0, text: str = "", shadow: str | None = None,
                 inflight: wire.Received | None = None, new_id: Callable[[], str] | None = None,
                 on_change: Callable[[str, str], None] | None = None) -> None:
        self.text = text
        self.shadow = text if shadow is None else shadow
        self.version = version
        self._new_id = new_id or (lambda: random_base62(22))
        self.on_change = on_change  # (old_text, origin): `text` changed not by a local edit
        self.inflight: Inflight | None = self._restore_inflight(inflight) if inflight else None
        # the local edits not yet sent: an operation on shadow + inflight that gives `text`
        self.pending = ops.from_edits(diff_edits(self._shadow_after_inflight(), self.text),
                                      len(self._shadow_after_inflight()))
        self._resend = inflight is not None  # the in-flight op goes out again (same id) at _retry_at
        self._retry_at = 0.0
        self._failures = 0  # answers of `internal` (or none) in a row, for the backoff
        self.held: dict[int, wire.Received] = {}  # version -> revision that arrived before version-1
        self._held_ack: HeldAck | None = None  # our ack, waiting for the versions before it
        self._gap_since: float | None = None  # when versions went missing, or None
        self._gap_own = False  # ... and only our own in-flight op can be the missing one
        self._sync_wanted = False  # a sync from `version` is needed
        self._join_from: int | None = None  # the version we had when the outstanding join was sent
        self._sync_target = 0  # sync at least up to here (the head a conflict named)
        self._syncing = False  # a sync request is outstanding
        self._sync_at = 0.0  # a failed sync is asked again from then on
        self._rejoin: str | None = None  # why a full resync (re-join) is needed
        self.error: wire.Received | None = None  # the last refusal {code, message} (code as received), until something is saved
        self.gone: wire.Received | None = None  # the document was deleted: the error as received; for good
        self._hold_text: str | None = None  # the text whose patch was refused as content
        self._viewer = False  # joined read-only: local edits are refused, nothing is sent
        self.limits = dict(DEFAULT_LIMITS)  # as the server's join answer announced them
        self._unsaved = 1 if self.text != self.shadow else 0
        self._seen_sent = version
        self._seen_at = -math.inf

    # -- state ----------------------------------------------------------------------------

    @property
    def unsaved(self) -> int:
        """Number of local changes not yet confirmed by the server."""
        if self.inflight is None and self.text == self.shadow:
            return 0
        return max(self._unsaved, 1)

    @property
    def held_versions(self) -> list[int]:
        return sorted(self.held)

    @property
    def stuck(self) -> wire.Received | None:
        """A refusal that only the user can end (undo the paste, join as an editor), or None."""
        if self._hold_text is not None or (self._viewer and not ops.is_noop(self._local_ops())):
            return self.error
        return None

    @property
    def synced(self) -> bool:
        """Everything typed is confirmed and no known revision is missing."""
        return (self.gone is None and self.inflight is None and ops.is_noop(self.pending) and not self.held
                and self._held_ack is None and not self._sync_wanted and not self._syncing
                and self._rejoin is None)

    # -- local edits (positions count code points) ------------------------------------------

    def local_edit(self, pos: int, delete: int, insert: str) -> None:
        """Replace `delete` code points at `pos` of `text` by `insert`."""
        if not (0 <= pos <= len(self.text) and 0 <= delete <= len(self.text) - pos):
            raise ValueError(f"edit at {pos}+{delete} is outside the text (length {len(self.text)})")
        if not delete and not insert:
            return
        self._writable()
        op = ops.single(len(self.text), pos, delete, insert)
        self._local(op, self.text[:pos] + insert + self.text[pos + delete:])

    def set_text(self, text: str) -> None:
        """The user's text is now `text` (the change is found by diffing)."""
        if text == self.text:
            return
        self._writable()
        self._local(ops.from_edits(diff_edits(self.text, text), len(self.text)), text)

    # -- outgoing -----------------------------------------------------------------------------

    def take_patch(self, now: float = 0.0) -> wire.PatchFields | None:
        """The patch message {base, patch, id} to send now, or None. The in-flight op goes
        again (same id and base) after a reconnect or when a retry is due; otherwise a new
        patch carries what was typed since, split when one message would be over the limits."""
        if self._rejoin is not None or self._viewer or self.gone is not None:
            return None
        f = self.inflight
        if f is not None:
            if not self._resend or now < self._retry_at:
                return None
            self._resend = False
            return f.message()
        if ops.is_noop(self.pending):
            if self._hold_text is not None:
                self.clear_error()  # the refused edit was undone
            return None
        if self._held_ack is not None:
            return None
        # after a conflict, first catch up with the head the server reported
        if (self._sync_target > self.version or self._sync_wanted or self._syncing
                or self._gap_since is not None):
            return None
        if self._hold_text is not None:
            if self.text == self._hold_text:
                return None  # refused as it is: wait for a change
            self._hold_text = None
        if self._over_doc_limit():
            return None
        lim = self.limits
        op, rest = self.pending, None
        if self._pending_cost(lim) > lim["patch"] // 2:
            op, rest = split_op(op, self.shadow, lim["patch"] // 2, max_changes(lim))
        patch = patch_from_edits(self.shadow, ops.to_edits(op, self.shadow))
        if not patch:
            return None
        self.inflight = Inflight(self._new_id(), self.version, patch, op, self._unsaved)
        self.pending = rest if rest is not None else ops.single(len(self.text), 0, 0, "")
        return self.inflight.message()

    def take_sync(self, now: float = 0.0) -> wire.SyncFields | None:
        """The sync request {since} to send now (it is then outstanding), or None."""
        since = self.needs_sync(now)
        if since is None:
            return None
        self._syncing = True
        self._sync_wanted = False
        return {"since": since}

    def needs_sync(self, now: float = 0.0) -> int | None:
        """`since` a sync should start from now, or None (none needed, or one is outstanding)."""
        if self._syncing or now < self._sync_at or self.gone is not None:
            return None
        # a pending re-join makes syncing pointless, unless an op in flight must settle first
        if self._rejoin is not None and not (self.inflight is not None and not self._resend):
            return None
        if self._sync_wanted or self._sync_target > self.version:
            return self.version
        if self._gap_since is not None and (not self._gap_own or now - self._gap_since >= GAP_PATIENCE):
            return self.version
        return None

    def request_sync(self) -> None:
        """Ask for a sync from the current version (e.g. nothing was heard for a while)."""
        self._sync_wanted = True

    def take_seen(self, now: float = 0.0) -> wire.SeenFields | None:
        """The version to confirm with `seen` {version} now, or None (nothing new, too soon)."""
        if self.version <= self._seen_sent or now - self._seen_at < SEEN_EVERY or self.gone is not None:
            return None
        self._seen_sent, self._seen_at = self.version, now
        return {"version": self.version}

    def needs_rejoin(self) -> str | None:
        """Why a full resync (re-join + reset_from_join) is needed, or None."""
        # Wait for an in-flight op to be settled first: resetting while it is unknown whether
        # the server applied it could double its text.
        if self._rejoin is not None and self.inflight is not None and not self._resend:
            return None
        return self._rejoin if self.gone is None else None

    def wake_at(self) -> float | None:
        """The earliest time (seconds) at which take_patch/take_sync/take_seen may have
        something new."""
        if self.gone is not None:
            return None
        times = []
        if self.inflight is not None and self._resend and self._rejoin is None:
            times.append(self._retry_at)
        if not self._syncing and self._gap_since is not None:
            times.append(self._gap_since + (GAP_PATIENCE if self._gap_own else 0.0))
        if not self._syncing and self._sync_wanted and self._sync_at > 0:
            times.append(self._sync_at)
        if self.version > self._seen_sent:
            times.append(self._seen_at + SEEN_EVERY)
        return min(times) if times else None

    # -- incoming -------------------------------------------------------------------------------

    def receive_join(self, answer: wire.Received, fresh: bool = False) -> None:
        """The answer to `join`. The first join of a fresh client takes the server's text. A
        re-join keeps local state, resends the op in flight and syncs from `version`; if the
        server is behind us or disagrees at our version, the local edits are rebased onto its
        text (reset_from_join). Ignored once the document is gone."""
        if self.gone is not None:
            return
        self._viewer = answer.get("role") == "viewer"
        announced = answer.get("limits")
        limits: wire.Received = announced if isinstance(announced, dict) else {}
        for key in DEFAULT_LIMITS:
            value = limits.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                self.limits[key] = value
        # a refusal that the user must act on (a held text, a read-only document) stays shown
        if self._hold_text is None and not self._viewer:
            self.error = None
        # The server is behind us only if it is behind what we had when we asked: revisions it
        # sent after its answer's snapshot may arrive before the answer (docs/protocol.md, join)
        behind = answer["version"] < (self.version if self._join_from is None else self._join_from)
        self._join_from = None
        if fresh:
            old = self.text
            self._set_confirmed(answer["version"], answer["text"])
            self.text = answer["text"]
            self.inflight = None
            self.pending = ops.single(len(self.text), 0, 0, "")
            self._unsaved = 0
            self._notify(old, "reset")
            return
        settling = self._rejoin is not None and self.inflight is not None  # see needs_rejoin
        if not settling and (self._rejoin is not None or behind
                             or (answer["version"] == self.version and answer["text"] != self.shadow)):
            self.reset_from_join(answer)
            return
        self._syncing = False
        self._sync_at = 0.0
        self._retry_at = 0.0
        if self.inflight is not None:
            self._resend = True
        if answer["version"] > self.version:
            self._sync_wanted = True

    def joining(self) -> None:
        """A join is being sent (on every connect, and for a re-join): its answer is weighed
        against the version we have now, whatever revisions arrive before it."""
        self._join_from = self.version

    def disconnected(self) -> None:
        """Connection lost: the op in flight must go out again (same id) after the next join."""
        if self.inflight is not None:
            self._resend = True
        self._syncing = False

    def reset_from_join(self, answer: wire.Received) -> None:
        """Full resync: take the server's text and version, and rebase every local edit
        (shadow -> text) onto it with a three-way merge. Typed text is kept, never dropped."""
        local = self._local_ops()
        remote = ops.from_edits(diff_edits(self.shadow, answer["text"]), len(self.shadow))
        _, local1 = ops.transform(remote, local)  # no fuzz: carried over like a revision
        old = self.text
        self.text = ops.apply(answer["text"], local1)
        self.pending = local1
        self._set_confirmed(answer["version"], answer["text"])
        self.inflight = None
        self._resend = False
        self.held.clear()
        self._held_ack = None
        self._gap_since = None
        self._gap_own = False
        self._sync_wanted = False
        self._sync_target = 0
        self._syncing = False
        self._rejoin = None
        self._hold_text = None
        if self.text == self.shadow:
            self._unsaved = 0
        self._notify(old, "reset")

    def receive_ack(self, ack: object, op_id: str, now: float = 0.0) -> None:
        """The answer to the patch with op id `op_id` (answers to an op no longer in flight are
        ignored). `ack` None (no answer in time) is retried like `internal`."""
        f = self.inflight
        if f is None or op_id != f.id:
            return
        if not isinstance(ack, dict):
            ack = {"ok": False, "error": {"code": "timeout", "message": "the server did not answer"}}
        if not ack.get("ok"):
            error = ack.get("error")
            self._refused(error if isinstance(error, dict) else {"code": "internal", "message": "malformed answer"}, now)
            return
        version = ack.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return
        self._failures = 0
        self.error = None
        if version <= self.version:
            self.inflight = None  # already applied: a sync brought it, recognised by its op id
            self._resend = False
            return
        patch = ack.get("patch")
        if patch is None and not ack.get("duplicate") and version == self.version + 1 and f.base == self.version:
            patch = f.patch  # applied as sent: the canonical result is ours
        self._held_ack = HeldAck(version, patch, ack.get("hash"), f.id)
        if patch is None:
            self._sync_wanted = True  # moved without its patch: a sync brings it (ours by op id)
        self._drain(now)

    def receive_revisions(self, revisions: Iterable[object], now: float = 0.0) -> None:
        """Revisions (`revision` / `revisions` messages) in any order; early ones are held."""
        if self.gone is not None:
            return
        for rev in revisions or []:
            if not isinstance(rev, dict) or not isinstance(rev.get("version"), int):
                continue
            if rev["version"] > self.version:
                self.held[rev["version"]] = rev
        self._drain(now)

    def receive_sync(self, answer: object, now: float = 0.0) -> None:
        """The answer to `sync {since}`."""
        self._syncing = False
        if self.gone is not None:
            return
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            if isinstance(code, str) and ON_REFUSAL.get(code) == "gone":
                assert isinstance(error, dict)
                self.receive_gone(error)
                return
            if isinstance(code, str) and ON_REFUSAL.get(code) == "rejoin":
                self._rejoin = code
            self._sync_wanted = True
            self._sync_at = now + RETRY_FIRST  # not in a tight loop
            return
        self._sync_at = 0.0
        before = self.version
        self.receive_revisions(answer.get("revisions") or [], now)
        if answer.get("more"):
            self._sync_wanted = True
        else:
            # caught up as far as the server said; ask again only if this answer made progress
            # (so a server answering short cannot make us loop)
            self._sync_target = 0
            head = answer.get("version")
            if isinstance(head, int) and head > self.version and self.version > before:
                self._sync_wanted = True

    def receive_gone(self, error: wire.Received) -> None:
        """The document was deleted (a `gone` message, or `deleted` answering a join, a patch or
        a sync): stop for good. Nothing is sent, synced, confirmed or joined again, and nothing
        that arrives later changes the text; the op in flight (not applied, or gone with the
        document) goes back to the local edits, so `text` and `unsaved` still say what the
        user typed, to be copied. `gone` is `error` as received (code, message and any extra
        field, such as `reason`), for the transport to show."""
        if self.gone is not None:
            return
        self.gone = error
        if self.inflight is not None:
            self._drop_inflight()
        self.held.clear()
        self._held_ack = None
        self._gap_since = None
        self._sync_wanted = False
        self._sync_target = 0
        self._syncing = False
        self._rejoin = None

    def receive_role(self, role: object) -> None:
        """A `role` message: the document's owner changed what this client may do, without
        a join. `viewer`: read-only from now on (local edits refused at once, nothing sent;
        a patch in flight may still be acknowledged, or is refused `read_only`); `editor`:
        it may write again, and what was typed meanwhile goes. Ignored once the document is gone."""
        if self.gone is not None or role not in ("editor", "viewer"):
            return
        self._viewer = role == "viewer"
        if not self._viewer and self.error is not None and self.error.get("code") == "read_only":
            self.error = None

    def sync_failed(self, now: float = 0.0) -> None:
        """A sync request got no answer: allow another."""
        self.receive_sync(None, now)

    def clear_error(self) -> None:
        """The user asked to try again now: a waiting retry goes at once, a held text again."""
        self.error = None
        self._hold_text = None
        self._retry_at = 0.0

    # -- internals ------------------------------------------------------------------------

    def _writable(self) -> None:
        if self._viewer:
            raise ReadOnly("read_only: this document is open read-only (a view link); it cannot be edited")

    def _local(self, op: ops.Operation, text: str) -> None:
        self.pending = ops.compose(self.pending, op)
        self.text = text
        self._unsaved += 1

    def _refused(self, error: wire.Received, now: float) -> None:
        code = error.get("code")
        what = ON_REFUSAL.get(code, "retry") if isinstance(code, str) else "retry"
        f = self.inflight
        assert f is not None
        if what == "gone":
            self.receive_gone(error)
            return
        if what == "retry":
            # nothing was applied; the same op goes again (same id: the server dedupes)
            wait = error.get("retry_after")
            if code != "rate_limited" or not isinstance(wait, (int, float)) or wait < 0:
                wait = RETRY_FIRST if code == "rate_limited" else min(RETRY_FIRST * 2 ** self._failures, RETRY_MAX)
                self._failures += 1
            if code != "rate_limited":
                log.warning("patch %s refused (%s), sending it again in %.1f s", f.id, error, wait)
                self.error = {"code": code, "message": error.get("message") or code}
            self._resend = True
            self._retry_at = now + float(wait)
            return
        # nothing was applied: the op's edits go back to the pending ones, still in `text`
        self._drop_inflight()
        if what == "rebase":
            head = error.get("version")
            if isinstance(head, int) and head > self.version:
                self._sync_target = max(self._sync_target, head)
                self._sync_wanted = True
            elif not isinstance(head, int):
                self._sync_wanted = True
            elif f.base == self.version:
                self._rejoin = code  # refused against the very text we hold
            # else: the revisions that conflicted are here already; send again against them
            return
        log.warning("patch %s refused: %s", f.id, error)
        self.error = {"code": code, "message": error.get("message") or code}
        if what == "rejoin":
            self._rejoin = code
        elif what == "hold":
            self._hold_text = self.text
        else:
            self._viewer = True

    def _over_doc_limit(self) -> bool:
        """The document would be over the limit: refuse locally, keeping the text, say why."""
        limit = self.limits["doc"]
        size = len(self.text)
        if size <= limit:
            return False
        inserted = sum(len(o) for o in self.pending if isinstance(o, str))
        what = (f"this paste of {rough_count(inserted)} characters makes" if inserted > limit / 10
                else "these changes make")
        self.error = {"code": "too_large", "message": f"{what} the document {rough_count(size)} characters "
                                                      f"long, over its {rough_count(limit)} limit: undo to go on saving"}
        self._hold_text = self.text
        return True

    def _pending_cost(self, lim: dict[str, int]) -> float:
        """Escaped patch characters the pending edits would take (an upper bound); infinite
        when they are more changes than one patch may carry (max_changes)."""
        base = self._shadow_after_inflight()
        cost = changes = 0
        i = 0
        for o in self.pending:
            if isinstance(o, int) and o > 0:
                i += o
                continue
            changes += 1
            if isinstance(o, str):
                cost += escaped_length(o) + CHANGE_COST
            else:
                cost += escaped_length(base[i : i - o]) + CHANGE_COST
                i -= o
        return math.inf if changes > max_changes(lim) else cost

    def _shadow_after_inflight(self) -> str:
        return ops.apply(self.shadow, self.inflight.op) if self.inflight is not None else self.shadow

    def _local_ops(self) -> ops.Operation:
        """The local edits not yet confirmed, in flight and pending: shadow -> text."""
        return ops.compose(self.inflight.op, self.pending) if self.inflight is not None else self.pending

    def _drop_inflight(self) -> None:
        """The in-flight op was not applied: its edits become pending again."""
        self.pending = self._local_ops()
        self.inflight = None
        self._resend = False

    def _restore_inflight(self, f: wire.Received) -> Inflight:
        op = f.get("op")
        if not isinstance(op, list) or ops.base_length(op) != len(self.shadow):
            # stored without its op (or made against another shadow): the patch itself, if it
            # applies to the shadow, else everything local counts as in flight
            try:
                edits = apply_patch(self.shadow, parse_patch(f["patch"]))[1] if f["base"] == self.version else None
            except CollabError:
                edits = None
            op = ops.from_edits(edits if edits is not None else diff_edits(self.shadow, self.text), len(self.shadow))
        return Inflight(f["id"], f["base"], f["patch"], op, 1)

    def _drain(self, now: float) -> None:
        """Apply every held revision (and our held ack) that is next, check the text they lead
        to, then see whether a gap is open."""
        hash_ = None  # the server's hash of the text at the last version applied here
        while True:
            nxt = self.version + 1
            if nxt in self.held:
                rev = self.held.pop(nxt)
                self._apply_revision(rev)
                hash_ = rev.get("hash")
                continue
            a = self._held_ack
            if (a is not None and a.version == nxt and a.patch is not None
                    and self.inflight is not None and self.inflight.id == a.id):
                self._held_ack = None
                self._apply_own(a.patch, a.version)
                hash_ = a.hash
                continue
            break
        # One check for all the versions applied together (a `revisions` message, an ack that
        # releases held revisions): a hash costs the whole document, and what later edits build
        # on is the shadow at the last version.
        self._check(hash_)
        for v in [v for v in self.held if v <= self.version]:
            del self.held[v]
        a = self._held_ack
        if a is not None and (a.version <= self.version or self.inflight is None or self.inflight.id != a.id):
            self._held_ack = None
        if not self.held and self._held_ack is None:
            self._gap_since = None
            return
        # Versions are missing. When the only missing one can be our own in-flight op, its
        # ack will fill the gap: give it GAP_PATIENCE. Anything else needs a sync now.
        self._gap_own = (self.inflight is not None and not self._resend and self._held_ack is None
                         and min(self.held, default=0) == self.version + 2)
        if self._gap_since is None:
            self._gap_since = now

    def _apply_own(self, patch: object, version: int) -> None:
        """Our own op became `version` on the server, as `patch` (the canonical revision; as
        received, parsed here)."""
        f = self.inflight
        assert f is not None
        try:
            shadow = apply_patch(self.shadow, parse_patch(patch))[0]
        except CollabError:
            self._rejoin = "apply_failed"  # cannot happen with a correct server; text is kept
            return
        if shadow != ops.apply(self.shadow, f.op):
            # the server placed our change otherwise than we did: what is left to send is
            # whatever separates its text from ours
            self.pending = ops.from_edits(diff_edits(shadow, self.text), len(shadow))
        self.shadow = shadow
        self.version = version
        self.inflight = None
        self._resend = False
        self._unsaved = max(0, self._unsaved - f.edits)
        if self.text == self.shadow:
            self._unsaved = 0

    def _apply_revision(self, rev: wire.Received) -> None:
        f = self.inflight
        if f is not None and rev.get("id") and rev.get("id") == f.id:
            self._apply_own(rev.get("patch"), rev["version"])
            return
        try:
            shadow, edits = apply_patch(self.shadow, parse_patch(rev.get("patch")))
        except CollabError:
            self._rejoin = "apply_failed"
            return
        # Carry the local edits (in flight, then pending) over the revision; the committed
        # revision's inserts go first when both insert at the same place.
        remote = ops.from_edits(edits, len(self.shadow))
        if f is not None:
            remote, f.op = ops.transform(remote, f.op)
        remote, self.pending = ops.transform(remote, self.pending)
        old = self.text
        self.text = ops.apply(old, remote)
        self.shadow = shadow
        self.version = rev["version"]
        if self.text == self.shadow and self.inflight is None:
            self._unsaved = 0
        if self.text != old:
            self._notify(old, "remote")

    def _check(self, expected: object) -> None:
        """The server's hash of the text at `version` must match our shadow; else we diverged."""
        if expected and self._rejoin is None and text_hash(self.shadow) != str(expected).lower():
            log.warning("version %d: text hash differs from the server's; resynchronising", self.version)
            self._rejoin = "hash_mismatch"

    def _set_confirmed(self, version: int, text: str) -> None:
        self.version = version
        self.shadow = text
        self._seen_sent = min(self._seen_sent, version)

    def _notify(self, old: str, origin: str) -> None:
        if self.on_change is not None and self.text != old:
            self.on_change(old, origin)
