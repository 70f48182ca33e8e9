"""Optional hooks into the path of a message, for instruments: `Observer`, and `compose`.

bench/timeline.py times each step with them; collab/server/metrics.py counts with them.
Everything that calls a hook holds `observer: Observer | None`, None by default: without
an instrument each step pays one `is not None` check and nothing else. An observer's
callbacks run on the event loop, inside the path they observe: they must be quick and must
not raise. They see what passes (sizes, op ids, acks, frames), so an observer that reports
anywhere must leave document ids and view tokens out of what it reports.

Imports only the storage records and the wire types; never the edges.
"""
from __future__ import annotations

from typing import Sequence

from ..core import wire
from ..storage import Revision


class Observer:
    """The steps of a message through the server, in order; subclass and override any."""

    # -- the edges: collab/serve.py (the WebSocket) and collab/server/realtime.py ------------

    def message_read(self, size: int) -> None:
        """A WebSocket message of `size` payload bytes is read (serve.CappedWebSocket), before
        Engine.IO and Socket.IO decode it. Messages of the long-polling transport pass no
        WebSocket and are not seen here."""

    def received(self, event: str, op_id: str | None) -> None:
        """An event with an ack (join, leave, patch, sync, restore) reached its handler in
        realtime.DocumentNamespace, before anything in it is checked; `op_id` is its `id`
        when that is a string (a patch's op id), else None."""

    def answered(self, event: str, op_id: str | None, ack: wire.Ack | wire.ErrorAck) -> None:
        """Its handler made its ack, `{"ok": true, ...}` or `{"ok": false, "error": ...}`
        (the wire's); python-socketio queues it as the handler returns, and `frame_sent`
        sees it written."""

    def frame_sent(self, message: str | bytes) -> None:
        """A WebSocket message was written to a client (serve.CappedWebSocket.send): the
        Engine.IO packet as sent, e.g. '42["revision",{...}]' or an ack, '43...'."""

    def rate_limited(self) -> None:
        """A Socket.IO event was refused by its connection's rate limit
        (realtime.DocumentNamespace.trigger_event), before any handler: answered
        `rate_limited` when it had an ack id, dropped otherwise. `answered` does not see it."""

    def http_error(self, code: str, status: int) -> None:
        """An HTTP request was answered with a JSON error `{"error": {code, message}}` of
        HTTP `status`: the API's one translation (server/api.py `_error`) or the edge's
        refusals (server/guard.py `EdgeGuard`). Error pages shown to a browser are not JSON
        and not seen here."""

    # -- the service: collab/service/submit.py and commits.py --------------------------------

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


class Observers(Observer):
    """Several observers as one: each hook calls each of them, in the order given."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def message_read(self, size: int) -> None:
        for o in self.observers:
            o.message_read(size)

    def received(self, event: str, op_id: str | None) -> None:
        for o in self.observers:
            o.received(event, op_id)

    def answered(self, event: str, op_id: str | None, ack: wire.Ack | wire.ErrorAck) -> None:
        for o in self.observers:
            o.answered(event, op_id, ack)

    def frame_sent(self, message: str | bytes) -> None:
        for o in self.observers:
            o.frame_sent(message)

    def rate_limited(self) -> None:
        for o in self.observers:
            o.rate_limited()

    def http_error(self, code: str, status: int) -> None:
        for o in self.observers:
            o.http_error(code, status)

    def parsed(self, op_id: str) -> None:
        for o in self.observers:
            o.parsed(op_id)

    def revised(self, op_id: str) -> None:
        for o in self.observers:
            o.revised(op_id)

    def committing(self, revisions: Sequence[Revision]) -> None:
        for o in self.observers:
            o.committing(revisions)

    def stored(self, revisions: Sequence[Revision]) -> None:
        for o in self.observers:
            o.stored(revisions)

    def announced(self, revisions: Sequence[Revision]) -> None:
        for o in self.observers:
            o.announced(revisions)


def compose(*observers: Observer | None) -> Observer | None:
    """One observer for those given (None ones left out): None if there are none, so that
    the hooks stay free; the observer itself if there is one."""
    present = [o for o in observers if o is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else Observers(*present)
