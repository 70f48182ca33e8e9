"""Reads of past versions and rewrites to them: blame, diff, revert, restore, `rewrite`.

What the history routes (and the socket's `restore`) ask of the document service, each
computed off the event loop (documents.DocumentService.on_history: the history read and
computed on the read lane; offload_read: by its real cost),
its corrupt history answered as `doc_corrupt`: the edges neither know the costs nor offload.

Imports the core and this package; never the edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, TypeVar

from ..core.blame import Span, attribution_at, blame as blame_spans
from ..core.errors import CollabError
from ..core.patches import diff_cost, make_patch, parse_patch
from ..core.replay import ReplayError
from ..core.revert import Reverted, revert as revert_author
from ..storage import Revision
from .state import DocState
from .submit import PARSE_WEIGHT, STEP, PatchResult, SubmitRequest, server_op_id

if TYPE_CHECKING:
    from .documents import DocumentService

T = TypeVar("T")

# a revert or a restore weaves the history from version 1 at ~50-100 us a revision (mostly
# parsing patches): in offload's units, a revision costs about this much besides its patch
WEAVE_STEP = 1_000
REWRITE_ATTEMPTS = 10  # tries of a restore or revert while other revisions keep coming first


@dataclass(frozen=True)
class Rewrite:
    """The text a restore or a revert makes, and who first wrote each of its code points
    (collab.blame.encode), so that what it brings back keeps its authors."""

    text: str
    attribution: str


def _weave_cost(revisions: list[Revision]) -> int:
    """What weaving `revisions` (revert, attribution_at) costs, in offload's units."""
    return sum(WEAVE_STEP + PARSE_WEIGHT * len(r.patch) for r in revisions)


def blame(service: DocumentService, state: DocState, version: int, render: Callable[[list[Span]], T]) -> T:
    """Who wrote each code point of `version`: `render(spans)` (the edge's encoding,
    which is not free either), computed off the event loop by its cost."""
    length = len(service.text_at(state, version))  # also checks that the version exists

    def cost(revisions: list[Revision]) -> int:
        # per revision: its patch parsed and walked; then a step per code point for the runs
        return sum(STEP + PARSE_WEIGHT * len(r.patch) for r in revisions) + 20 * length

    try:
        rendered: T = service.on_history(state, version, cost, _render_blame, version, length, render)
    except ReplayError as exc:
        raise service.corrupt(state.id, str(exc)) from None
    return rendered


def diff(service: DocumentService, state: DocState, a: int, b: int, render: Callable[[str, str], T]) -> T:
    """`render(text at a, text at b)` (a diff), off the event loop by what differs."""
    old, new = service.text_at(state, a), service.text_at(state, b)
    # the diff's cost is in what differs, found first at C speed (diff_cost)
    return service.offload_read(diff_cost(old, new), render, old, new)


def revert(service: DocumentService, state: DocState, author: str, since: int, head: int,
           account: str | None = None) -> Reverted:
    """The text of `head` with the changes since `since` of `account` (else of the guest
    `author`) taken out (core.revert)."""
    if since > head:
        raise CollabError("not_found", f"version {since} does not exist (head is {head})")
    try:
        # the whole history: a restore after `since` may bring back text deleted before it
        r = service.on_history(state, head, _weave_cost, _revert_with_patch, author, since, account)
    except ReplayError as exc:
        raise service.corrupt(state.id, str(exc)) from None
    if r.head_text != service.text_at(state, head):
        raise service.corrupt(state.id, str(ReplayError(head, "the revert's weave does not make the stored text")))
    return r


def restore(service: DocumentService, state: DocState, version: int, author: str,
            origin: object = None, account: str | None = None) -> PatchResult | None:
    """Make the text of `version` the text again, as a new revision by `author` whose text
    keeps the identity (and so the author) of whoever first wrote it."""
    text = service.text_at(state, version)  # also checks that the version exists
    try:
        attribution = service.on_history(state, version, _weave_cost, attribution_at)
    except ReplayError as exc:
        raise service.corrupt(state.id, str(exc)) from None
    return service.rewrite(state, author, "restore", lambda _v, _t: Rewrite(text, attribution), origin, account)


def _revert_with_patch(revisions: list[Revision], author: str, since: int, account: str | None = None) -> Reverted:
    """Pure: core.revert's result with its patch made (the preview sends it; making it is a
    diff-match-patch patch of the whole text, not for the event loop)."""
    r = revert_author(revisions, author, since, account)
    r.patch  # noqa: B018 (cached on the result)
    return r


def _render_blame(revisions: list[Revision], version: int, length: int, render: Callable[[list[Span]], T]) -> T:
    """Pure: blame's spans, checked to cover the text, rendered."""
    spans = blame_spans(revisions)
    if (spans[-1]["end"] if spans else 0) != length:
        raise ReplayError(version, "attribution does not cover the text")
    return render(spans)


def rewrite(service: DocumentService, state: DocState, author: str, kind: str,
            target: Callable[[int, str], str | Rewrite], origin: object = None,
            account: str | None = None) -> PatchResult | None:
    """Make the text `target(version, text)` (computed from the latest committed version)
    as one ordinary new revision by `author`, with a server-made op id "<kind>-<random>":
    restore, revert and import never rewrite history. None when nothing would change.

    A target that is a `Rewrite` with `attribution` (a restore, a revert) names who first
    wrote each code point of its text. That holds only for exactly that text, so such a
    revision is never merged with concurrent ones: it waits for the revisions still
    committing, applies at the head, and is retried on the newer text if one came first.
    """
    for attempt in range(REWRITE_ATTEMPTS):
        _settle(state)
        base, text = service.snapshot(state)
        wanted = target(base, text)
        new_text, attribution = (wanted, None) if isinstance(wanted, str) else (wanted.text, wanted.attribution)
        if new_text == text:
            return None
        if len(new_text) > service.settings.max_doc_chars:
            raise CollabError("too_large", f"this {kind} makes the document {len(new_text):,} characters "
                                           f"long, over its {service.settings.max_doc_chars:,} limit")
        # made and parsed off the event loop when large; never refused by the patch limit,
        # which bounds a client's message, not the server's own revision
        patch = service.offload(diff_cost(text, new_text), make_patch, text, new_text)
        hunks = service.offload(len(patch) * PARSE_WEIGHT, parse_patch, patch)
        request = SubmitRequest(service, state, base, server_op_id(kind), author, origin, attribution, account)
        try:
            return request.run(hunks)
        except CollabError as exc:
            if exc.code != "conflict" or attempt == REWRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _settle(state: DocState) -> None:
    """Wait until nothing applied to the document is still waiting for its commit (a
    few commits at most: under steady typing the rewrite then retries on a conflict)."""
    for _ in range(REWRITE_ATTEMPTS):
        if state.head == state.committed or not state.recent:
            return
        pending = state.recent[-1]
        pending.done.wait()
        if pending.error is not None:
            return  # rolled back: the state is at its committed version again
