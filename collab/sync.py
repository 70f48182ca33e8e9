"""The client side of the protocol as a pure state machine (no transport, no threads).

State: `shadow` is the server's text at the confirmed `version`; `text` is what the user
sees (shadow plus local edits not yet confirmed); at most one patch is in flight. The
transport (collab/client.py, frontend/src/sync.js's wrapper) feeds in acks and revisions
and sends what `take_patch()` and `sync_request()` return. frontend/src/sync.js is the
same algorithm; tests/vectors/ keeps the two from drifting apart.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .errors import CollabError
from .ids import random_base62
from . import operations as ops
from .patches import apply_patch, diff_edits, parse_patch, patch_from_edits, text_hash

log = logging.getLogger("collab.sync")

AS_SENT = "<applied as sent>"  # an ack without a patch: the revision is our in-flight patch
GAP_PATIENCE = 1.0  # seconds to wait for a missing version before asking for it with sync


@dataclass
class Inflight:
    id: str
    base: int
    patch: str
    op: ops.Operation  # the patch as an operation on the shadow, carried over new revisions

    def message(self, doc: str) -> dict:
        return {"doc": doc, "base": self.base, "patch": self.patch, "id": self.id}


class SyncState:
    """Local changes are kept as the user made them (operations), not re-derived by
    diffing: `inflight.op` takes the shadow to what was sent, `pending` takes that to
    `text`. An incoming revision is transformed over both, so concurrent edits of the
    same words merge without interleaving their letters."""

    def __init__(self, doc: str, version: int, text: str, new_id: Callable[[], str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.doc = doc
        self.version = version
        self.shadow = text
        self.text = text
        self.inflight: Inflight | None = None
        self.pending: ops.Operation = ops.single(len(text), 0, 0, "")  # on shadow + inflight
        self.held: dict[int, dict] = {}  # revisions that arrived before their predecessors
        self.held_ack: tuple[int, str | None, str | None] | None = None  # (version, patch, hash) of ours
        self.gap_since: float | None = None
        self.want_sync = False
        self.diverged = False  # a hash mismatch: the caller must re-join and call reset()
        self.retry_at: float | None = None  # rate limited: resend the in-flight patch then
        self.error: dict | None = None  # a refusal that stops sending until reset()
        self.behind = 0  # after a conflict: the head it named, which we must reach first
        self._new_id = new_id or (lambda: random_base62(20))
        self._clock = clock

    # -- local edits ----------------------------------------------------------------

    def edit(self, pos: int, delete: int, insert: str) -> None:
        """Replace `delete` code points at `pos` of `text` by `insert`."""
        if not (0 <= pos <= len(self.text) and 0 <= delete <= len(self.text) - pos):
            raise ValueError(f"edit at {pos}+{delete} is outside the text (length {len(self.text)})")
        self._local(ops.single(len(self.text), pos, delete, insert))

    def set_text(self, text: str) -> None:
        """The user's text is now `text` (the change is found by diffing)."""
        if text != self.text:
            self._local(ops.from_edits(diff_edits(self.text, text), len(self.text)))

    def _local(self, op: ops.Operation) -> None:
        self.pending = ops.compose(self.pending, op)
        self.text = ops.apply(self.text, op)

    # -- what to send ------------------------------------------------------------------

    def take_patch(self) -> dict | None:
        """The next patch message, when nothing is in flight and there is something to send."""
        if self.inflight is not None or self.error is not None or self.diverged:
            return None
        if ops.is_noop(self.pending) or self.held_ack is not None or self.version < self.behind:
            return None
        edits = ops.to_edits(self.pending, self.shadow)
        self.inflight = Inflight(self._new_id(), self.version, patch_from_edits(self.shadow, edits), self.pending)
        self.pending = ops.single(len(self.text), 0, 0, "")
        return self.inflight.message(self.doc)
    def resend(self) -> dict | None:
        """The in-flight patch again, same op id and base (after a reconnect or a rate limit)."""
        self.retry_at = None
        return self.inflight.message(self.doc) if self.inflight else None

    def sync_request(self) -> dict | None:
        if self.gap_since is not None and self._clock() - self.gap_since >= GAP_PATIENCE:
            self.want_sync = True
        if not self.want_sync:
            return None
        self.want_sync = False
        return {"doc": self.doc, "since": self.version}

    @property
    def synced(self) -> bool:
        return (self.inflight is None and ops.is_noop(self.pending) and not self.held
                and self.held_ack is None and not self.want_sync and not self.diverged)

    # -- what arrives ---------------------------------------------------------------------

    def receive_ack(self, op_id: str, ack: Any) -> None:
        if self.inflight is None or self.inflight.id != op_id:
            return  # an answer to something already settled
        if not isinstance(ack, dict):
            return
        if not ack.get("ok"):
            self._refused(ack.get("error") or {})
            return
        version = ack.get("version")
        if not isinstance(version, int):
            return
        if version <= self.version:
            self.inflight = None  # already applied: we saw it through sync by its op id
            return
        patch = ack.get("patch")
        if patch is None and not ack.get("duplicate") and version == self.version + 1 \
                and self.inflight.base == self.version:
            patch = AS_SENT  # applied as sent: the canonical result is ours
        self.held_ack = (version, patch, ack.get("hash"))
        if patch is None or version > self.version + 1:
            self._gap(immediate=True)
        self._drain()

    def _refused(self, error: dict) -> None:
        code = error.get("code")
        assert self.inflight is not None
        if code in ("conflict", "future_base"):
            # nothing was applied; the text keeps the edits, which go again on a new op id
            base = self.inflight.base
            self.pending = ops.compose(self.inflight.op, self.pending)
            self.inflight = None
            head = error.get("version")
            if code == "conflict" and (not isinstance(head, int) or head != self.version):
                self.want_sync = True
                if isinstance(head, int):
                    self.behind = max(self.behind, head)  # send again only once caught up
            elif base == self.version or code == "future_base":
                self.diverged = True  # refused against the very text we hold: start again
        elif code == "rate_limited":
            self.retry_at = self._clock() + float(error.get("retry_after") or 0.5)
        else:
            log.warning("doc=%s patch %s refused: %s", self.doc, self.inflight.id, error)
            self.pending = ops.compose(self.inflight.op, self.pending)  # keep the text
            self.inflight = None
            self.error = error

    def receive_revisions(self, revisions: Iterable[dict]) -> None:
        for rev in revisions:
            if not isinstance(rev, dict) or not isinstance(rev.get("version"), int):
                continue
            version = rev["version"]
            if version <= self.version:
                continue
            self.held[version] = rev
        self._drain()

    def receive_sync(self, answer: Any) -> None:
        if not isinstance(answer, dict) or not answer.get("ok"):
            self.want_sync = True
            return
        self.receive_revisions(answer.get("revisions") or [])
        if answer.get("more") or (isinstance(answer.get("version"), int) and answer["version"] > self.version):
            self.want_sync = True

    def reset(self, version: int, text: str) -> None:
        """Start again from the server's text after a divergence, keeping what was typed:
        the unconfirmed changes are carried over the difference between our shadow and the
        server's text."""
        local = self.pending if self.inflight is None else ops.compose(self.inflight.op, self.pending)
        remote = ops.from_edits(diff_edits(self.shadow, text), len(self.shadow))
        _, self.pending = ops.transform(remote, local)  # no fuzz: carried over like a revision
        self.version, self.shadow = version, text
        self.text = ops.apply(text, self.pending)
        self.behind = 0
        self.inflight = None
        self.held.clear()
        self.held_ack = None
        self.gap_since = None
        self.diverged = False
        self.error = None

    # -- internals ------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            nxt = self.version + 1
            if nxt in self.held:
                self._apply(self.held.pop(nxt))
            elif self.held_ack is not None and self.held_ack[0] == nxt and self.held_ack[1] is not None:
                _, patch, hash_ = self.held_ack
                self._apply_own(patch, hash_)  # type: ignore[arg-type]
            else:
                break
        if self.held_ack is not None and self.held_ack[0] <= self.version:
            self.held_ack = None
        for v in [v for v in self.held if v <= self.version]:
            del self.held[v]
        if self.held or self.held_ack is not None:
            # a missing version that may be our own in-flight patch: give its ack a moment
            ours = self.inflight is not None and min(self.held, default=0) == self.version + 2
            self._gap(immediate=not ours)
        else:
            self.gap_since = None

    def _gap(self, immediate: bool) -> None:
        if immediate:
            self.want_sync = True
        elif self.gap_since is None:
            self.gap_since = self._clock()

    def _apply(self, rev: dict) -> None:
        if self.inflight is not None and rev.get("id") == self.inflight.id:
            self._apply_own(rev.get("patch"), rev.get("hash"))
            return
        try:
            shadow, edits = apply_patch(self.shadow, parse_patch(rev.get("patch")))
        except CollabError:
            self.diverged = True
            return
        remote = ops.from_edits(edits, len(self.shadow))
        if self.inflight is not None:
            # the committed revision's inserts go first, as the server orders them
            remote, self.inflight.op = ops.transform(remote, self.inflight.op)
        remote, self.pending = ops.transform(remote, self.pending)
        self.text = ops.apply(self.text, remote)
        self.shadow = shadow
        self.version = rev["version"]
        self._check(rev.get("hash"))

    def _apply_own(self, patch: str | None, hash_: str | None) -> None:
        assert self.inflight is not None
        expected = ops.apply(self.shadow, self.inflight.op)
        try:
            shadow = expected if patch is AS_SENT else apply_patch(self.shadow, parse_patch(patch))[0]
        except CollabError:
            self.diverged = True
            return
        if shadow != expected:
            # the server placed our change otherwise than we did: what is left to send is
            # whatever separates its text from ours
            self.pending = ops.from_edits(diff_edits(shadow, self.text), len(shadow))
        self.shadow = shadow
        self.version += 1
        self.inflight = None
        self.held_ack = None
        self._check(hash_)

    def _check(self, expected: str | None) -> None:
        if expected is not None and text_hash(self.shadow) != expected:
            log.warning("doc=%s version %d: text hash differs from the server's; resynchronising",
                        self.doc, self.version)
            self.diverged = True
