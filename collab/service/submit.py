"""One write, as one object: `SubmitRequest` (after sharedb's lib/submit-request.js).

submit -> dedupe -> apply -> commit -> retry, read top to bottom in `SubmitRequest.submit`:
the op id is looked up first (memory, then the store), so a resend is always safe; the
patch is parsed, moved (or merged) over the revisions since its base when stale, applied
under the document's lock and queued for the group commit (commits.py); the request waits
for the commit and, when another process stored the version first (the store's
compare-and-set on `(doc, version)`), catches up and applies again, at most CAS_ATTEMPTS
times. The request owns its retries and its outcome (`Applied`); nothing here is global.

Imports the core, the storage records and this package's runtime; never the edges.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

from ..core.errors import CollabError, PatchConflict
from ..core.ids import random_base62
from ..core.merge import MERGE_WINDOW, merge_span, merge_stale
from ..core.patches import (Edit, Hunk, move_hunks, parse_patch, patch_edits, patch_from_edits, patch_lines,
                            patch_span)
from ..core.replay import Replayer, ReplayError
from ..core.rope import CHUNK, Rope
from ..storage import Revision
from .runtime import Event

if TYPE_CHECKING:
    from .documents import DocumentService
    from .state import DocState

CAS_ATTEMPTS = 10  # tries to append when other processes keep winning the race
OFFLOAD_OVER = 200_000  # cost (code points copied; STEP per Python step) above which work runs off the loop
PARSE_WEIGHT = 12  # parsing a patch costs about as much as applying 12 times its length
REPLAY_WEIGHT = 4  # replaying a revision copies the text about twice and hashes it (UTF-8, CRC-32)
STEP = 200  # one step of pure Python (a hunk, an edit, a revision), in code points copied
# an operation of a hunk, through apply, the rope and the canonical patch: about 4 steps (a hunk of
# 10,000 alternating context and insert lines: 66 ms, where OFFLOAD_OVER is ~1.5 ms of copying)
OP_WEIGHT = 4 * STEP


@dataclass(frozen=True)
class PatchResult:
    version: int
    hash: str
    patch: str  # the canonical revision patch
    rebased: bool  # the patch was moved over revisions committed since its base
    duplicate: bool = False


@dataclass
class Applied:
    """A revision applied in memory, and what became of its commit: once `done` is set,
    committed (`error` None), or failed with `error` (and then `stored` when the store
    already held its op id, at that version: a duplicate; `lost_race` when another process
    stored its version first: retry after catching up). Its text is not kept here: the
    commit queue holds it until durable, then the document's state."""

    revision: Revision
    edits: list[Edit]
    origin: object = None  # who sent it (the edge's connection id), passed to on_commit
    done: Event = field(default_factory=Event)
    error: CollabError | None = None
    stored: int | None = None
    lost_race: bool = False

    @cached_property
    def size(self) -> int:
        """What it holds in memory once committed, in code points (+ a fixed overhead):
        counted once, when it joins the recent revisions, and subtracted as it leaves."""
        return 200 + len(self.revision.patch) + sum(64 + len(e.delete) + len(e.insert) for e in self.edits)


class SubmitRequest:
    """One patch becoming the next revision of one document, or an error with nothing applied.

    `attribution` (a restore, a revert: who first wrote each code point of the text made
    at `base`) holds for exactly that text, so such a request is never moved or merged.
    """

    def __init__(self, service: DocumentService, state: DocState, base: int, op_id: str, author: str,
                 origin: object = None, attribution: str | None = None, account: str | None = None) -> None:
        self.service = service
        self.state = state
        self.base = base
        self.op_id = op_id
        self.author = author
        self.account = account  # the signed-in author's account id (None: a guest)
        self.origin = origin
        self.attribution = attribution
        self.attempts = 0  # applies tried (another process won the race for the others)
        self.rebased = False  # the last apply moved the patch over newer revisions

    def submit(self, patch_text: object) -> PatchResult:
        """A client's patch: dedupe, parse, then `run`. Raises CollabError with the
        contract's codes; on any error nothing was applied."""
        service, state = self.service, self.state
        # the op id check comes before every other one: a resend is always safe
        known = find_op(service, state, self.op_id, self.base)
        if known is not None:
            return known
        try:
            return self.run(self._parse(patch_text))
        except CollabError as exc:
            # a resend memory no longer knows may not apply to today's text (or be too big
            # for today's limits): the store decides, whatever the base. Only refusals pay
            # this read; a resend that applies is caught by the append (commits.py)
            if exc.code == "internal" or (isinstance(self.base, int) and self.base < state.ops_floor):
                raise
            stored = service.store.find_op(state.id, self.op_id) if isinstance(self.op_id, str) else None
            if stored is None:
                raise
            return stored_result(service, state, stored)

    def _parse(self, patch_text: object) -> list[Hunk]:
        service = self.service
        limit = service.settings.max_patch_chars
        if isinstance(patch_text, str) and len(patch_text) > limit:
            # the limit bounds one message on the wire, where a patch's text is %-escaped
            # (a CJK character takes 9): say so in the user's units, and what to do
            raise CollabError(
                "too_large",
                f"this patch spans {_changed_chars(patch_text):,} characters, which take "
                f"{len(patch_text):,} once escaped; one message carries at most {limit:,}: split it into "
                f"several patches (the join answer's `limits` gives the sizes)",
            )
        max_lines = service.settings.max_patch_lines
        lines = patch_lines(patch_text) if isinstance(patch_text, str) else 0
        if lines > max_lines:
            # parsing and applying cost per line (~5 us each, on a write-lane thread: 650,000
            # alternating context and insert lines held one for seconds); counted at C speed
            # before anything is parsed, so that no message holds a write lane for long. (Not
            # its changes for the message: counting "\n+" took 12 ms of the loop for 650,000)
            raise CollabError(
                "too_large",
                f"this patch changes too many places at once: its {lines:,} lines (a line per change, "
                f"context or hunk) are over the {max_lines:,} one message may carry; split it into several "
                f"patches (the join answer's `limits` gives the sizes)",
            )
        # parsing costs per line in pure Python: a long patch is parsed off the event loop
        hunks = service.offload(len(patch_text) * PARSE_WEIGHT + lines * STEP if isinstance(patch_text, str) else 0,
                                parse_patch, patch_text, service.settings.max_hunks)
        if service.observer is not None:
            service.observer.parsed(self.op_id)
        return hunks

    def run(self, hunks: list[Hunk]) -> PatchResult:
        """Apply parsed hunks and wait until durable, retrying lost races: the server's own
        patches (rewrite) start here, limited by the document they make, not by the size
        of one client message."""
        if not hunks:
            raise CollabError("bad_patch", "patch is empty: it must contain at least one hunk")
        service, state = self.service, self.state
        while self.attempts < CAS_ATTEMPTS:
            self.attempts += 1
            service.adopt(state)
            applied = self._apply(hunks)
            if isinstance(applied, PatchResult):
                return applied
            applied.done.wait()
            if applied.error is None:
                rev = applied.revision
                return PatchResult(rev.version, rev.hash, rev.patch, self.rebased)
            if applied.stored is not None:  # a resend the store knew but memory did not
                return stored_result(service, state, applied.stored)
            if not applied.lost_race:
                raise applied.error
            # another process stored this version first: catch up and move the patch again
        raise CollabError("conflict", "the document is too busy to write to; sync and resend",
                          version=state.committed)

    def _apply(self, hunks: list[Hunk]) -> Applied | PatchResult:
        """Apply under the document's lock and queue for commit (no waiting here)."""
        service, state, base = self.service, self.state, self.base
        with state.lock:
            # a delete or rename may have held the lock while we waited for it (or the queue
            # told us of one elsewhere): nothing may land on a dead name (adopt checked before)
            service.check_gone(state.id)
            # revisions another process stored: the append's compare-and-set finds them
            # anyway (a lost race marks the state stale); looking first costs a query per
            # patch, worth it only when we know we are behind
            if state.stale or base > state.head:
                service.catch_up(state)
            if self.op_id in state.ops:  # a twin won the lock first, or another process stored it
                known = find_op(service, state, self.op_id)
                assert known is not None, "an op id in memory has a result"
                return known
            head = state.head
            if base > head:
                raise CollabError("future_base", f"base {base} is ahead of the head version {head}", version=head)
            self.rebased = base < head
            if self.rebased and self.attribution is not None:
                # the attribution is of the text made at `base`: never merge it (see rewrite)
                raise CollabError("conflict", "the document changed meanwhile; try again", version=state.committed)
            try:
                moves = self._moves(head) if self.rebased else None
                rope, limit = state.head_rope, service.settings.max_doc_chars
                try:
                    new_text, edits, canonical, digest = service.offload(
                        _revise_cost(rope, hunks, moves), _revise, rope, hunks, moves, limit, False)
                except PatchConflict:
                    # a revision since the base touched a hunk: merge exactly when the base
                    # is near (costed apart: it reads all the revisions since cover)
                    if moves is None or len(moves) > MERGE_WINDOW:
                        raise
                    new_text, edits, canonical, digest = service.offload(
                        _merge_cost(rope, hunks, moves), _revise, rope, hunks, moves, limit, True)
            except CollabError as exc:
                if exc.code == "conflict":
                    exc.extra["version"] = state.committed
                raise
            if service.observer is not None:
                service.observer.revised(self.op_id)
            # the invariants, checked before anything changes: a failure here leaves the
            # document as it was and the op id free to resend
            assert service.is_current(state), "one state per open document"
            if service.closed:
                raise CollabError("unavailable", "the server is shutting down")
            state.last_used = time.monotonic()
            revision = Revision(
                doc=state.id, version=head + 1, patch=canonical, author=self.author, op_id=self.op_id,
                ts=time.time(), hash=digest, attribution=self.attribution, account=self.account,
            )
            applied = Applied(revision, edits, self.origin)
            state.head, state.head_rope = revision.version, new_text
            state.keep_recent(applied)
            state.remember_op(self.op_id, applied)
            service.commits.enqueue(state, applied, new_text)
        service.faults.reached("applied")
        return applied

    def _moves(self, head: int) -> list[Sequence[Edit]]:
        """The edits of revisions base+1..head, in order (what a stale patch is moved over)."""
        service, state, base = self.service, self.state, self.base
        if head - base > service.settings.max_rebase:
            raise CollabError("conflict", f"base {base} is {head - base} revisions behind head; sync and resend",
                              version=state.committed)
        recent = state.recent
        if recent and recent[0].revision.version <= base + 1:
            first = recent[0].revision.version
            return [recent[i].edits for i in range(base + 1 - first, len(recent))]
        # older than memory: the stored canonical patches hold their edits; read them (off
        # the loop where the store allows: DocumentService.on_stored) and take the edits out
        # of them (off the loop when many) without rebuilding any text
        size = len(state.head_rope)

        def parse_cost(stored: list[Revision]) -> int:
            return sum(STEP + len(r.patch) * PARSE_WEIGHT for r in stored)

        def replay_cost(stored: list[Revision]) -> int:
            return parse_cost(stored) + len(stored) * REPLAY_WEIGHT * size

        try:
            out = service.on_stored(state, base, state.committed, parse_cost, _canonical_edits)
            if out is None:  # an old history: replay the texts as well
                out = service.on_stored(state, base, state.committed, replay_cost, _replayed_edits,
                                        service.text_at(state, base), base)
        except ReplayError as exc:
            raise service.corrupt(state.id, str(exc)) from None
        out.extend(a.edits for a in recent if a.revision.version > state.committed)
        return out


def find_op(service: DocumentService, state: DocState, op_id: str, base: int | None = None) -> PatchResult | None:
    """The result of an op id applied before (waiting for it to be durable), or None.

    Memory knows the op id of every revision after `state.ops_floor`. An op made against
    `base` can only have been applied after it, so with base >= ops_floor memory answers
    alone; only older bases (a resend after a restart, a long-offline client) ask the store.
    """
    known = state.ops.get(op_id)
    if isinstance(known, int):  # committed: the version alone (a revision may be 1 MB)
        return stored_result(service, state, known)
    if known is not None:
        known.done.wait()  # a twin still committing: answer once it is durable
        if known.stored is not None:
            return stored_result(service, state, known.stored)
        if known.error is not None:
            raise known.error
        rev = known.revision
        return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)
    if base is not None and base >= state.ops_floor:
        # (with several processes another one may have applied it since we loaded: then
        # the append breaks UNIQUE (doc, op_id), the retry catches up and answers it)
        return None
    version = service.store.find_op(state.id, op_id)
    return None if version is None else stored_result(service, state, version)


def stored_result(service: DocumentService, state: DocState, version: int) -> PatchResult:
    """The duplicate answer for the committed revision at `version`."""
    recent = state.recent
    if recent and recent[0].revision.version <= version <= recent[-1].revision.version:
        rev = recent[version - recent[0].revision.version].revision
    else:
        rev = service.store.revisions(state.id, version - 1, 1)[0]
    return PatchResult(rev.version, rev.hash, rev.patch, False, duplicate=True)


def server_op_id(kind: str) -> str:
    """The op id of a revision the server makes (restore, revert, import)."""
    return f"{kind}-{random_base62(16)}"


def _revise(text: Rope, hunks: list[Hunk], moves: Sequence[Sequence[Edit]] | None, max_chars: int,
            merge: bool) -> tuple[Rope, list[Edit], str, str]:
    """Pure: apply hunks, moved over `moves` first (or, with `merge`, merged over them:
    core/merge.py), to text; the new text, its edits, the canonical patch and the hash.
    Reads only the part of the text the hunks (merged: and the revisions) cover, and copies
    only the chunks the edits touch: a keystroke costs the same in a 4 M code point
    document as in a 1 KB one (the hash is the rope's CRC-32, kept per chunk, core/rope.py)."""
    if merge:
        assert moves is not None
        lo, hi = merge_span(len(text), moves, hunks)
        _, edits = merge_stale(text[lo:hi], moves, hunks, lo)
        new_text = text.edit(edits)
    else:
        new_text, edits = text.apply(hunks if moves is None else move_hunks(hunks, moves))
    if len(new_text) > max_chars:
        raise CollabError("too_large", f"this change makes the document {len(new_text):,} characters long, "
                                       f"over its {max_chars:,} limit")
    return new_text, edits, patch_from_edits(text, edits), new_text.hash()


def _revise_cost(text: Rope, hunks: Sequence[Hunk], moves: Sequence[Sequence[Edit]] | None) -> int:
    """What _revise costs, in code points copied: the part of the text the patch reads, a
    chunk per hunk (each edit copies and re-hashes one), the patch once, a step per hunk and
    OP_WEIGHT per operation (a hunk of thousands of them was costed as one step, and applied
    on the event loop: 66 ms); when moved, a step per hunk per revision and per edit moved over."""
    lo, hi = patch_span(hunks, len(text))
    cost = hi - lo + sum(STEP + CHUNK + len(h.text1) + len(h.text2) + OP_WEIGHT * len(h.ops) for h in hunks)
    if moves:
        cost += STEP * (len(hunks) * len(moves) + sum(len(m) for m in moves))
    return cost


def _merge_cost(text: Rope, hunks: Sequence[Hunk], moves: Sequence[Sequence[Edit]]) -> int:
    """What a merging _revise costs: undoing each revision on the part of the text they
    and the patch cover (merge_span), besides what moving would."""
    lo, hi = merge_span(len(text), moves, hunks)
    return _revise_cost(text, hunks, moves) + len(moves) * (2 * (hi - lo) + STEP)


def _canonical_edits(revisions: Sequence[Revision]) -> list[Sequence[Edit]] | None:
    """Pure: the edits of stored revisions, in order, read from the canonical patches alone;
    None when a patch's hunks overlap (made before patches were canonical: its edits need
    the text it applied to, see _replayed_edits)."""
    out: list[Sequence[Edit]] = []
    for rev in revisions:
        try:
            hunks = parse_patch(rev.patch)
        except CollabError as exc:
            raise ReplayError(rev.version, f"does not parse: {exc.message}") from None
        edits = patch_edits(hunks)
        if edits is None:
            return None
        out.append(edits)
    return out


def _replayed_edits(revisions: Sequence[Revision], text: str, version: int) -> list[Sequence[Edit]]:
    """Pure: the edits of stored revisions, replayed (core.replay) from `text` at `version`."""
    replayer = Replayer(text, version)
    out: list[Sequence[Edit]] = [replayer.apply(rev) for rev in revisions]
    replayer.text()  # the hash check of the last one
    return out


_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@$", re.M)


def _changed_chars(patch_text: str) -> int:
    """Code points a patch text spans (its hunks' longer sides), read from the hunk headers
    only, found by one scan in C: a message about a huge patch must not cost more than
    refusing it (splitting 5 MB into 1.3 M lines held the event loop 255 ms; this: 21 ms)."""
    return sum(max(int(m[1] or 1), int(m[2] or 1)) for m in _HUNK_HEADER.finditer(patch_text))
