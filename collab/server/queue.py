"""The message queue between processes (Redis), and what an outage of it does.

While Redis is unreachable a process still serves its own clients: every revision is
committed and acknowledged, and this process's editors of a document still get each other's
revisions at once (python-socketio delivers locally before it publishes). Only editors on
other processes wait: they catch up by `sync` (a client asks after 5 s without a message).
Presence then shows this process's peers only. `/healthz` stays 200 and says
`"queue": "down"` (taking every process out of a load balancer would stop everything).

A message may also act on every process: `after_emit[event](room, data)` runs on each
process (the sender's too) once an emit of that event to a room was delivered to its own
clients. realtime.py uses it for `gone`: the clients of a deleted document, of a renamed
document's old edit id, of a rotated view token are taken out of it on every process,
through the same path as its revisions.

An emit to a room named in `SlicedDelivery.sliced_rooms` (presence: realtime.py) is
delivered to this process's clients in slices of `SLICE`, the event loop given back between
two: each frame queued wakes that client's writer greenlet, and an answer queued for
another client meanwhile was written only after all of them (1,000 writes to the closing
sockets of a crowd that left at once: 1-4 s). The sender keeps one such emit per document
in flight (realtime.py), and the Redis listener hands over one message at a time, so each
client still gets them in order. A member whose client has closed (its `Departure`: serve.py
sees the close frame or the end of the stream, and the departure then waits for its turn)
is not written to: it will never read it.

`SlicedDelivery` also keeps the rooms of each client (`rooms_of`): python-socketio finds a
departing client's rooms by looking in every room of the namespace, and every client is a
room of its own, so each departure cost a pass over all the others (1,000 departures: a
million lookups: 10-30 % of py-spy's samples of the server while a crowd of 1,000 left).

An outage is logged once when it starts and once when it ends, whichever of the queue's
users (publishing, listening, presence) notices first, instead of python-socketio's two
ERROR lines for every message published meanwhile.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator

import socketio

log = logging.getLogger("collab.queue")
DEPARTURE = "collab.departure"  # the environ key of a WebSocket connection's `Departure` (serve.py)


class Departure:
    """Whether a connection's client has closed (serve.py sets `closed` once it has seen the
    close frame or the end of the stream); read here through the connection's environ. An
    object, not a flag in the environ: Flask-SocketIO hands python-socketio a copy of it."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class Outage:
    """Whether the queue is reachable, as its users last found it; logs the changes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None  # when the current outage began (None: reachable)
        self.failures = 0  # operations that failed during it
        self.outages = 0  # outages since the process started (/metrics: collab_message_queue_outages_total)

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            self.outages += 1
            log.error("message queue unreachable (%s: %s): this process serves its own clients; those of "
                      "other processes catch up by sync; the next line says when it is back", what, exc)

    def worked(self) -> None:
        if self.since is not None:
            log.warning("message queue reachable again after %.1f s (%d operations failed meanwhile)",
                        self.clock() - self.since, self.failures)
            self.since, self.failures = None, 0


def channel(deployment: str) -> str:
    """The Redis channel of the processes of one database (Store.deployment_id): Redis's
    publish/subscribe ignores the database number of the URL, so a fixed channel name let
    two deployments on one Redis server see each other's revisions."""
    return f"collab-{deployment}"


class SlicedDelivery(socketio.Manager):  # type: ignore[misc]
    """python-socketio's local delivery, in slices for the rooms `sliced_rooms` names, and
    with the rooms of each client indexed (the module docstring says why). Also the base of
    `RedisQueue`, beneath python-socketio's pub/sub layer: an emit of this process, and each
    one read from Redis, is delivered here, and every room change passes here."""

    SLICE = 50  # recipients between two turns of the loop (~50 ms of writes to closing sockets)
    sliced_rooms: tuple[str, ...] = ()  # room names starting so are delivered in slices

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # rooms_of[namespace][sid] = the rooms the client is in: its own, None (everyone's), and
        # the others; kept beside python-socketio's self.rooms[namespace][room][sid] = eio_sid
        self.rooms_of: dict[str, dict[str, set[Any]]] = {}

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if callback is None and isinstance(room, str) and room.startswith(self.sliced_rooms):
            # who is in the room now; one that leaves meanwhile has no room of its own left
            # (skipped), one that comes meanwhile had its join answer made after this message
            members = list(self.get_participants(namespace, room))
            environs: dict[str, Any] = getattr(self.server, "environ", {})  # environs[eio_sid] = its connection's
            for start in range(0, len(members), self.SLICE):
                if start:
                    self.server.sleep(0)
                # whose client closed is seen at each slice: a crowd leaving at once is seen
                # going while the message goes out (the frames would be written to dead sockets)
                sids = [sid for sid, eio_sid in members[start:start + self.SLICE] if not _closed(environs.get(eio_sid))]
                if sids:
                    # each sid is a room of its own: python-socketio encodes the packet once a slice
                    super().emit(event, data, namespace, room=sids, skip_sid=skip_sid)
            return
        super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self.rooms_of.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        mine = self.rooms_of.get(namespace, {}).get(sid)
        if mine is not None:
            mine.discard(room)
            if not mine:
                del self.rooms_of[namespace][sid]
                if not self.rooms_of[namespace]:
                    del self.rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """python-socketio's, leaving only the rooms the client is in (its copy of every room
        of the namespace, each asked whether it holds the client, was O(clients))."""
        for room in list(self.rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        # the rest as python-socketio's own (base_manager.BaseManager.basic_disconnect)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]


def _closed(environ: dict[str, Any] | None) -> bool:
    departure: Departure | None = environ.get(DEPARTURE) if environ is not None else None
    return departure is not None and departure.closed


class RedisQueue(socketio.RedisManager, SlicedDelivery):  # type: ignore[misc]
    """python-socketio's Redis manager, with its two I/O methods (`_publish` and the listen
    loop) reporting to an `Outage` instead of logging every failed message, and its local
    delivery sliced (`SlicedDelivery`, after it in the method order)."""

    RETRY_MAX = 5.0  # seconds between attempts to subscribe again (python-socketio: up to 60)
    connected: bool  # python-socketio's: whether self.redis is believed usable

    def __init__(self, url: str, outage: Outage, channel: str) -> None:
        super().__init__(url, channel=channel)
        self.outage = outage
        # after_emit[event](room, data): run here once an emit of `event` to `room` (from
        # this process or another) was delivered to this process's clients
        self.after_emit: dict[str, Callable[[str, object], None]] = {}

    def _handle_emit(self, message: dict[str, Any]) -> None:
        """python-socketio's delivery of one emit to this process's clients (for the
        sender's own emits and for every one read from Redis), then its after_emit hook."""
        super()._handle_emit(message)
        hook = self.after_emit.get(message.get("event", ""))
        room = message.get("room")
        if hook is not None and isinstance(room, str):
            data = message.get("data")
            hook(room, data[0] if isinstance(data, list) and len(data) == 1 else data)

    def _publish(self, data: Any) -> Any:
        for attempt in (1, 2):  # the second after reconnecting, as python-socketio does
            try:
                if not self.connected:
                    self._redis_connect()
                result = self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:  # redis-py's errors, and the OSError beneath them
                self.connected = False
                if attempt == 2:
                    self.outage.failed("publish", exc)
                continue
            self.outage.worked()
            return result
        return None

    def _redis_listen_with_retries(self) -> Iterator[Any]:
        retry = 0.5
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    self.outage.worked()
                    retry = 0.5
                yield from self.pubsub.listen()
            except Exception as exc:
                self.outage.failed("subscribe", exc)
                subscribed = False
                time.sleep(retry)  # this runs on a greenlet of its own (monkey-patched)
                retry = min(retry * 2, self.RETRY_MAX)
