"""Serve the app on gevent's WSGI server with WebSocket support.

The caller monkey-patches first (run.py does, as its first statement; so does
`collab serve`). Sockets get TCP_NODELAY: gevent leaves Nagle's algorithm on, which adds
a ~40 ms tail to every small frame. The connection handler also bounds what one client
can hold of the server: WebSocket messages capped from their header, close frames with
their status code, a deadline for a request's headers and one for its body, a limit on
open connections per client address and one in all, and the bytes per second one client
address is read at (`ReadRate`, by back-pressure); and what one message costs the event
loop: a large WebSocket message is read in slices that each give the loop back, within a
server-wide budget of large messages at once, and a connection gives the loop back every
few messages however fast they come, and a connection not yet in a document reads and
handles its messages in turns, one per pass of the loop, so that a crowd joining at once
does not go before everyone else (`NewcomerLane`; docs/deploy.md, docs/reliability.md).
A WebSocket handshake is answered 101 only once the application takes the socket, so that a refused
one gets its HTTP answer (400 and why); and a connection closed for flooding gets the
answers already due to it before its close frame.
"""
from __future__ import annotations

import argparse
import codecs
import errno
import logging
import resource
import signal
import socket
import struct
import sys
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator, Sequence
from urllib.parse import parse_qs

import gevent
from gevent import pywsgi
from gevent.event import Event
from gevent.hub import Waiter, get_hub
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import MSG_SOCKET_DEAD, Header, WebSocket

try:
    from geventwebsocket.gunicorn.workers import GeventWebSocketWorker as _GunicornWorker
    _gunicorn_unloadable: ImportError | None = None
except ImportError as exc:  # gunicorn is optional (pip install 'collab-editor[deploy]')
    _GunicornWorker = object
    _gunicorn_unloadable = exc  # said when the worker is used, not as "takes no arguments"

from . import create_app
from .cli import fail
from .core.config import Settings
from .server.guard import NEWCOMER, Newcomer, client_address
from .server.queue import DEPARTURE, Departure
from .storage import StoreError

if TYPE_CHECKING:  # flask is imported by create_app, after a gevent worker has monkey-patched
    from flask import Flask

log = logging.getLogger("collab.serve")
LISTEN_BACKLOG = 1_024  # connections the kernel holds for accept()
CLOSE_FLUSH_TIMEOUT = 5.0  # seconds a WebSocket being closed has to take the answers queued for it
YIELD_EVERY = 8  # messages one WebSocket reads before the loop is given back to the others
LINGER_SECONDS = 2.0  # how long what a closed flooder still sends is read and dropped
ENGINEIO_PATH = "/socket.io/"  # where Engine.IO's requests go (server/transport.py's path)
_last_refusal_log = 0.0  # monotonic time of the last "refusing connections" warning


class CappedWebSocket(WebSocket):  # type: ignore[misc]  # gevent-websocket has no type hints
    """gevent-websocket reads a frame whole, however large its header says it is, then
    unmasks and checks its UTF-8 a byte at a time in Python, all without giving the event
    loop back (~0.3 s and 2 x ~0.5 s per 4 MB message). This one refuses a message over
    `max_message` bytes from its header, before reading it, with close code 1009 (message
    too big); reads a large message (over `large_frame_bytes`) in slices of that size,
    each unmasked and decoded at C speed, yielding the loop after each; and reads it only
    within the server's budget of large messages at once (`FrameBudget`), its bytes due at
    the request body's pace (COLLAB_BODY_TIMEOUT + 1 s per COLLAB_BODY_MIN_RATE bytes).
    Small messages are read as before, never waiting for the budget."""

    # no new slots, so that the handler's WebSocket can become one (__class__ assignment);
    # the per-connection state lives in the connection's environ ("collab.*" keys)
    __slots__ = ()

    def read_message(self):  # type: ignore[no-untyped-def]
        """The next text (str) or binary (bytes) message, None after a close frame. As
        gevent-websocket's, but with the payloads read by `_payload`."""
        env = self.environ
        _accept(env)  # the application reads: it has taken the WebSocket (NoDelayHandler.run_websocket)
        _release_budget(env)  # the previous message is handled (on this greenlet): its budget goes back
        if "collab.close" in env:  # closing (close_when_sent): what the client sent since is not read
            return None
        reads: ReadRate | None = env.get("collab.read_rate")
        if reads is not None:
            # before the newcomers' lane, so that a throttled newcomer does not hold its turn
            self._wait_rate(env, reads)
        newcomer: Newcomer | None = env.get(NEWCOMER)
        if newcomer is not None and not newcomer.settled:
            # not in a document yet (realtime's join settles it): its bytes are waited for
            # as before, and then its turn (so reading and handling the message both wait)
            self._wait_turn(env["collab.lane"])
        elif "collab.lane" in env:
            self._wait_departure(env["collab.lane"])
        read = env["collab.read"] = env.get("collab.read", 0) + 1
        if read % YIELD_EVERY == 0:
            # a client's events run on this greenlet, one after another, and reading a frame
            # that has arrived already does not yield: a flood of small ones would hold the
            # loop for as long as it lasts (800 events before its rate limit closes it)
            gevent.sleep(0)
        limits: ConnectionLimits = env.get("collab.limits") or ConnectionLimits()
        limit = env.get("collab.max_message")
        opcode = 0
        decoder = None
        parts: list[Any] = []  # the payload's pieces: bytes, or str once decoded
        size = 0
        while True:
            header = Header.decode_header(self.stream)
            if header.flags or not header.mask:
                # reserved bits (no extension is negotiated), or a client frame sent unmasked
                # (RFC 6455 5.1: the server must close): 1002, from receive()
                raise ProtocolError
            f_opcode = header.opcode
            if reads is not None:  # the frame's bytes, charged before its payload is read
                reads.charge(_address(env), header.length + 2)
            if f_opcode in (self.OPCODE_PING, self.OPCODE_PONG, self.OPCODE_CLOSE):
                payload = b"".join(self._payload(header, limits, large=False))  # at most 125 bytes
                if f_opcode == self.OPCODE_PING:
                    self.handle_ping(header, payload)
                    continue
                if f_opcode == self.OPCODE_PONG:
                    continue
                self.handle_close(header, payload)
                return None
            if f_opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
                if opcode:
                    raise ProtocolError(f"a new message (opcode {f_opcode}) inside a fragmented one")
                opcode = f_opcode
                # strict, and incremental: a character split between slices or frames is whole
                decoder = codecs.getincrementaldecoder("utf-8")() if opcode == self.OPCODE_TEXT else None
            elif f_opcode != self.OPCODE_CONTINUATION or not opcode:
                raise ProtocolError(f"unexpected opcode {f_opcode}")
            size += header.length
            if limit is not None and size > limit:
                log.warning("closing a WebSocket: a %d-byte message is over the %d-byte limit", size, limit)
                self.close(1009, b"message too big")
                raise WebSocketError("message too big")
            large = size > limits.large_frame_bytes
            if large:
                _take_budget(env, size)
                if self.closed:  # closed while it waited (the ping timeout): nothing to read
                    _release_budget(env)
                    raise WebSocketError("closed while waiting to be read")
            for chunk in self._payload(header, limits, large):
                # invalid UTF-8 raises UnicodeDecodeError: closed with 1007 by receive()
                parts.append(decoder.decode(chunk) if decoder is not None else chunk)
            if header.fin:
                break
        if decoder is not None:
            parts.append(decoder.decode(b"", True))
        observer = env.get("collab.observer")  # instruments' hooks (service/observer.py)
        if observer is not None:
            observer.message_read(size)
        return "".join(parts) if decoder is not None else b"".join(parts)

    def _wait_turn(self, lane: "NewcomerLane") -> None:
        """Wait until the client's next bytes have arrived (read into the buffer, not
        consumed), then for a turn of the newcomers' lane. Nothing arrived (the client
        closed, or the connection was closed meanwhile): no turn, the read says so."""
        ws: Any = self  # its slots are gevent-websocket's, which has no type hints
        rfile = getattr(ws.handler, "rfile", None)
        try:
            arrived = rfile is not None and rfile.peek(1)
        except (OSError, ValueError):  # reset, or the file closed under the wait
            arrived = False
        if arrived:
            lane.wait()
        if ws.stream is None or ws.closed:  # closed by another greenlet while this one waited
            raise WebSocketError("closed while waiting to be read")

    def _peek(self, n: int) -> bytes:
        """The client's next `n` bytes (fewer at the end of the stream), left to be read: waits
        for them, as the read would; b"" when the connection was reset or closed meanwhile.
        (A handler without a buffered file: `n` bytes that are no frame header.)"""
        ws: Any = self
        peek = getattr(getattr(ws.handler, "rfile", None), "peek", None)
        if peek is None:
            return b"x" * n
        try:
            return bytes(peek(n)[:n])
        except (OSError, ValueError):  # reset, or the file closed under the wait
            return b""

    def _wait_rate(self, env: dict[str, Any], reads: "ReadRate") -> None:
        """Wait until the client's next bytes have arrived, then until its address may send
        more (`ReadRate.admit`). A close frame or the end of the stream never waits: a
        client throttled is free to leave. Nor does a whole message of at most 125 bytes
        (charged all the same): an Engine.IO pong is one, so a client whose address sends
        more than its rate, on other connections too, still answers pings in time and is
        not dropped as gone; such messages cost the loop microseconds, and their number is
        bounded by the event rate limit. Closed by another greenlet meanwhile (`close`
        wakes the wait): the read says so."""
        ws: Any = self
        head = self._peek(2)
        if not head or head[0] & 0x0F == self.OPCODE_CLOSE:
            return
        if len(head) == 2 and head[0] & 0x80 and head[1] & 0x7F <= 125:  # FIN, and a 7-bit length
            return
        wake = env["collab.read_wake"] = Event()
        try:
            reads.admit(_address(env), wake, lambda: bool(ws.closed))
        finally:
            env.pop("collab.read_wake", None)
        if ws.stream is None or ws.closed:  # closed by another greenlet while this one waited
            raise WebSocketError("closed while waiting to be read")

    def _wait_departure(self, lane: "NewcomerLane") -> None:
        """An established client's next bytes: a close frame, or the end of the stream (it
        closed), waits for a turn of the lane (several departures a turn): a crowd closing at
        once (1,000 EOFs in one poll) was otherwise handled, ~1 ms a departure, in one pass
        of the loop, before anyone else's message was read. From then on the connection's
        `Departure` says it closed: presence to a crowd skips it (server/queue.py)."""
        first = self._peek(1)
        if not first or first[0] & 0x0F == self.OPCODE_CLOSE:
            # (a crowd that left at once was sent the first departure's presence while it waited)
            departure: Departure | None = self.environ.get(DEPARTURE)
            if departure is not None:
                departure.closed = True
            lane.wait(departure=True)

    def send(self, message: str | bytes, binary: bool | None = None) -> None:
        """As gevent-websocket's, written out rather than wrapped (no extra call per frame),
        then the observer's `frame_sent`."""
        env = self.environ
        if binary is None:
            binary = not isinstance(message, str)
        try:
            self.send_frame(message, self.OPCODE_BINARY if binary else self.OPCODE_TEXT)
        except WebSocketError:
            self.current_app.on_close(MSG_SOCKET_DEAD)
            raise WebSocketError(MSG_SOCKET_DEAD)
        observer = env.get("collab.observer") if env is not None else None
        if observer is not None:
            observer.frame_sent(message)

    def _payload(self, header: Header, limits: "ConnectionLimits", large: bool) -> Iterator[bytearray]:
        """A frame's payload, unmasked, in slices of at most `large_frame_bytes`. Of a large
        message, each slice must arrive by its deadline (the body rule: a trickled frame
        holding the budget is closed with 1008), and the event loop is given back after
        each (so others' frames are read between them)."""
        length = header.length
        step = limits.large_frame_bytes
        unmask = _Unmasker(header.mask)
        start = time.monotonic()
        done = 0
        while done < length:
            want = min(step, length - done)
            if self.raw_read is None:  # closed by another greenlet while this one yielded
                raise WebSocketError("closed while reading a frame")
            if large:
                left = start + limits.body_timeout + done / limits.body_min_rate - time.monotonic()
                try:
                    with gevent.Timeout(max(left, 0.001), SlowClient("websocket frame")):
                        data = self.raw_read(want)
                except SlowClient:
                    log.info("closing a WebSocket: %d of a %d-byte frame arrived in %.1f s",
                             done, length, time.monotonic() - start)
                    self.close(1008, b"message too slow")
                    raise WebSocketError("message too slow") from None
            else:
                data = self.raw_read(want)
            if data is None or len(data) != want:
                raise WebSocketError("Unexpected EOF reading frame payload")
            yield unmask(data)
            done += want
            if large:
                gevent.sleep(0)

    def send_frame(self, message: bytes | str, opcode: int) -> None:
        """As gevent-websocket's, once the handshake's answer (101) has gone out: the first
        frame the application sends is what accepts the WebSocket."""
        _accept(self.environ)
        super().send_frame(message, opcode)

    def close_when_sent(self, code: int, reason: str) -> None:
        """Stop reading now, and close with `code` once the application has sent what it has
        queued: python-engineio's writer sends its queue, then closes, when the reader ends
        (read_message answers None from now on). So the answers to what was read (the
        `rate_limited` and `bad_request` that say why) reach the client before the close
        frame. A client that does not take them within CLOSE_FLUSH_TIMEOUT seconds is cut off."""
        ws: Any = self  # its slots are gevent-websocket's, which has no type hints
        env = ws.environ
        if ws.closed or env is None or "collab.close" in env:
            return
        env["collab.close"] = (code, reason)
        gevent.spawn_later(CLOSE_FLUSH_TIMEOUT, self._cut_off)

    def _cut_off(self) -> None:
        """The client has not taken what was left to send it: end the connection both ways,
        which fails the writer blocked on it (and so ends the session)."""
        ws: Any = self
        handler = ws.handler
        if ws.closed or handler is None or getattr(handler, "socket", None) is None:
            return
        try:
            handler.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # gone already

    def close(self, code: int | None = None, message: bytes | str | None = None) -> None:
        """Send a close frame that carries its status code, then stop reading. Without a
        code: the one close_when_sent was given, else 1000.

        gevent-websocket's close() leaves the code out (RFC 6455 5.5.1: the payload starts
        with it), so every closure reached the client as 1005 "no status": invalid UTF-8
        (1007), protocol errors (1002), the server's own. And it stops only the writing: a
        reader blocked in the middle of a frame stayed blocked for as long as the client
        sent nothing, or kept reading frames after python-engineio had dropped the session.
        Shutting the socket's reading side ends that read at once (RFC 6455 7.1.1 lets an
        endpoint that sent a close frame discard what still comes)."""
        ws: Any = self  # its slots are gevent-websocket's, which has no type hints
        if ws.closed:
            return
        if code is None:
            code, message = (ws.environ or {}).get("collab.close", (1000, message))
        reason = message.encode("utf-8") if isinstance(message, str) else bytes(message or b"")
        try:
            # a control frame's payload is at most 125 bytes: the code and 123 of reason
            self.send_frame(struct.pack("!H", code) + reason[:123], opcode=self.OPCODE_CLOSE)
        except WebSocketError:
            pass  # the peer is gone already; closing is all that is left
        finally:
            ws.closed = True
            handler = ws.handler
            # (after close_when_sent no reader is left to stop, and the handler lingers instead)
            flushed = ws.environ is not None and "collab.close" in ws.environ
            if handler is not None and getattr(handler, "socket", None) is not None and not flushed:
                try:
                    handler.socket.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # not connected any more
            ws.stream = ws.raw_write = ws.raw_read = None  # as gevent-websocket's close()
            if ws.environ is not None:
                _release_budget(ws.environ)
                wake = ws.environ.get("collab.read_wake")
                if wake is not None:  # its reader waits for its address's bytes: it ends now
                    wake.set()
            ws.environ = None


# _XOR[k] maps each byte b to b ^ k: unmasking one of every four bytes is one bytes.translate
_XOR = [bytes(b ^ k for b in range(256)) for k in range(256)]


class _Unmasker:
    """XOR a client frame's payload with its 4-byte mask, slice after slice (RFC 6455 5.3).

    gevent-websocket does it a byte at a time in Python (~0.5 s for 4 MB, on the event
    loop). This is wsproto's technique (`XorMaskerSimple`): every fourth byte through one
    translation table, at C speed (~1 ms per MB), and the key rotated by what a slice
    leaves over, so that slices of any length chain. (The `websockets` package has the
    same in C, `speedups.apply_mask`: not needed at this cost.)"""

    __slots__ = ("key",)

    def __init__(self, mask: bytes) -> None:
        self.key = bytes(mask)

    def __call__(self, data: bytes) -> bytearray:
        out = bytearray(data)
        key = self.key
        for i in range(4):
            out[i::4] = out[i::4].translate(_XOR[key[i]])
        turn = len(out) % 4
        self.key = key[turn:] + key[:turn]
        return out


class FrameBudget:
    """Bytes of large WebSocket messages being read and handled at once, server-wide.

    A connection takes its message's size when the message grows past `large_frame_bytes`
    and gives it back when it asks for its next message (events run on the reader's
    greenlet, so the message has been handled by then) or closes. Past `capacity`, further
    large messages wait in arrival order, their bytes left in the kernel (TCP back-pressure
    on their senders); small messages never wait. Without it, 8 connections sending 4.9 MB
    frames had them all read, decoded and handled at once while an honest client's
    one-line frame waited behind them (up to 2.2 s in issue 13's measurement). Waiters hold nothing, and a holder never waits (the later
    frames of a fragmented message are added without waiting): there is no deadlock, and
    `used` may pass `capacity` by what fragmented messages add."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._waiting: deque[tuple[int, Event]] = deque()  # (bytes, set when granted), first come first

    def take(self, n: int) -> int:
        """Wait until `n` bytes (at most the whole budget) fit; returns what was taken."""
        n = min(n, self.capacity)
        if not self._waiting and self.used + n <= self.capacity:
            self.used += n
            return n
        entry = (n, Event())
        self._waiting.append(entry)
        try:
            entry[1].wait()
        except BaseException:  # killed or timed out while waiting
            if entry[1].is_set():
                self.give(n)
            else:
                self._waiting.remove(entry)
            raise
        return n

    def add(self, n: int) -> None:
        """More bytes for a message that holds some already: never waits."""
        self.used += n

    def give(self, n: int) -> None:
        self.used -= n
        assert self.used >= 0, self.used
        while self._waiting and self.used + self._waiting[0][0] <= self.capacity:
            size, granted = self._waiting.popleft()
            self.used += size
            granted.set()


class _Bucket:
    """One client address's bytes (ReadRate)."""

    __slots__ = ("tokens", "at", "waiting")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens  # bytes it may send now; below 0: the debt its next message waits to pay
        self.at = at  # monotonic time `tokens` was counted at
        self.waiting: deque[Event] = deque()  # its readers waiting to read, first come first served


class ReadRate:
    """Bytes per second the server reads from one client address, all its connections
    together (COLLAB_READ_RATE): a token bucket of `burst` bytes per address, refilled at
    `rate`.

    Every message costs the event loop in proportion to its size whatever is then done with
    it (unmasking, UTF-8, Socket.IO's JSON decoding: ~50 ms for a 3.9 MB patch, one C call
    that holds the interpreter lock, so not movable to a thread), and a message refused
    `too_large` is as fast to send again: two connections of one address sending 3.9 MB
    patches as fast as they were refused held the loop most of the time, and another
    address's editor waited up to 663 ms for its acks (docs/reliability.md, issue 13).

    Back-pressure, not refusal: a reader asks here once its client's next bytes have
    arrived, before it reads them; while the address's bucket is in debt it waits (the
    address's readers in arrival order), its bytes stay in the kernel, and TCP's flow
    control slows the sender. Nothing is refused or lost. A message is charged its frames'
    lengths as their headers are read, before their payloads, and once admitted is read
    whole: the bucket goes into debt by one message at most, paid at `rate` before the
    address's next message is read. So one address makes the loop decode at most `burst` +
    one message + `rate` x seconds bytes, and `burst` (one message at the transport's
    limit) admits an honest paste at the patch limit at once, and a second right after it. A waiter holds nothing others need: the frame
    budget is given back before, the newcomers' lane waited for after; and a throttled
    client's pong is read at once (`CappedWebSocket._wait_rate`), so the ping timeout does
    not take it for gone."""

    PRUNE_FROM = 1_024  # buckets kept before the full ones (equal to a new one) are dropped

    def __init__(self, rate: float, burst: int) -> None:
        assert rate > 0 and burst > 0, (rate, burst)
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}  # _buckets[address] = its bucket (full ones dropped now and then)
        self._prune_at = self.PRUNE_FROM
        self.waits = 0  # reads that waited (for tests and instruments)

    def _bucket(self, address: str) -> _Bucket:
        """The address's bucket, refilled to now."""
        now = time.monotonic()
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune()
            bucket = self._buckets[address] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket

    def _prune(self) -> None:
        """Drop the buckets that are full and waited on by nobody: as a new one would be."""
        now = time.monotonic()
        for address, bucket in list(self._buckets.items()):
            if not bucket.waiting and bucket.tokens + (now - bucket.at) * self.rate >= self.burst:
                del self._buckets[address]
        self._prune_at = max(self.PRUNE_FROM, 2 * len(self._buckets))

    def charge(self, address: str, n: int) -> None:
        """`n` bytes read (or about to be) from `address`: never waits."""
        self._bucket(address).tokens -= n

    def admit(self, address: str, wake: Event, closed: Callable[[], bool]) -> float:
        """Return once `address` may send its next message: at once while its bucket is not
        in debt and none of its readers waits before this one; or as soon as `closed()`
        (whoever closes sets `wake`). Returns the seconds waited."""
        bucket = self._bucket(address)
        if not bucket.waiting and bucket.tokens >= 0:
            return 0.0
        self.waits += 1
        start = time.monotonic()
        bucket.waiting.append(wake)
        try:
            while not closed():
                timeout: float | None = None  # not first: woken by the one before it
                if bucket.waiting[0] is wake:
                    self._bucket(address)  # refilled (the same bucket: one waited on is never dropped)
                    if bucket.tokens >= 0:
                        break
                    timeout = -bucket.tokens / self.rate
                wake.wait(timeout)
                wake.clear()
        finally:
            first = bucket.waiting[0] is wake
            bucket.waiting.remove(wake)
            if first and bucket.waiting:
                # the next reader's turn: it runs once this one yields, after its message's
                # frame headers are charged (they are read without yielding)
                bucket.waiting[0].set()
        return time.monotonic() - start


def _never() -> bool:
    return False


def _address(env: dict[str, Any]) -> str:
    """The client address a connection's reads are counted by, as the per-address limits
    count (guard.client_address: the forwarded one behind COLLAB_PROXY_HOPS, which ProxyFix
    has put into the environ by the time the application reads; IPv6 by /64)."""
    address: str | None = env.get("collab.address")
    if address is None:
        address = env["collab.address"] = client_address(env)
    return address


class NewcomerLane:
    """The messages of connections not yet in a document, one per pass of the event loop,
    first come first served; established connections' messages never wait here.

    gevent serves every connection whose bytes have arrived one after another in a single
    pass of its loop, and polls for I/O again only after the last: 1,000 joins arriving at
    once (a crowd reconnecting after a restart) were read and handled (0.4-1 ms each) before
    an established editor's message that came in meanwhile was even read, and its answer
    was written after the joins' answers: a 0.4-2 s wait (docs/reliability.md, issue 13).
    Here a newcomer's reader waits for its bytes as before, then for its turn: a timer
    grants one turn per pass, and libev runs a timer only after it has polled, so between
    two newcomers' messages the loop reads and handles what everyone else sent, and writes
    what is due. Every waiting newcomer is served in order, one per pass however busy the
    loop (no starvation); with nobody waiting, a newcomer waits one pass (microseconds).

    An established connection's departure (a close frame, or the end of its stream) waits
    for a turn too: a crowd closing at once is the same burst (`_wait_departure`). A turn
    takes up to DEPARTURES_PER_TURN departures waiting one after another at the head of the
    lane: a turn each made 1,000 departures take 1,000 passes of the whole loop, each as
    long as whatever else it had to do. Few a turn: what a departure does after its turn
    (its disconnect, ~0.2 ms) falls into the next pass, before the answers due in it (16 a
    turn put ~4 ms of them there, 30-45 ms under a load average of 4)."""

    DEPARTURES_PER_TURN = 4  # departures let through in one turn (a newcomer has a turn of its own)

    def __init__(self) -> None:
        self._waiting: deque[tuple[Waiter, bool]] = deque()  # (waiter, a departure), first come first served
        self._timer: Any = None  # the loop's timer that grants the next turn, while one is due
        self.granted = 0  # waiters let through (for tests and instruments)
        self.turns = 0  # turns that let some through

    def wait(self, departure: bool = False) -> None:
        """Return in this greenlet's turn; `departure`: for a client that has closed."""
        entry = (Waiter(), departure)
        self._waiting.append(entry)
        self._arm()
        try:
            entry[0].get()
        except BaseException:  # killed while waiting: its place goes
            if entry in self._waiting:
                self._waiting.remove(entry)
            raise

    def _arm(self) -> None:
        if self._timer is None and self._waiting:
            self._timer = get_hub().loop.timer(0.0)
            self._timer.start(self._grant)

    def _grant(self) -> None:
        """In the hub, after a poll: the first newcomer runs (until it waits for something),
        or the departures at the head, one after another; the next turn is due at the next
        pass."""
        self._timer.close()
        self._timer = None
        try:
            let = 0
            while self._waiting and let < self.DEPARTURES_PER_TURN:
                if let and not self._waiting[0][1]:  # a newcomer's message has a turn of its own
                    break
                waiter, departure = self._waiting.popleft()
                let += 1
                self.granted += 1
                waiter.switch(None)  # back here once it waits for something
                if not departure:
                    break
            self.turns += bool(let)
        finally:
            self._arm()


def _accept(env: dict[str, Any] | None) -> None:
    """Send the handshake's 101 answer if it has not gone out yet (NoDelayHandler.run_websocket).
    The first of the reader and the writer greenlets to use the WebSocket sends it; the
    answer is a couple of hundred bytes on a socket that has sent nothing yet, so it goes
    out in one send, without a yield in which the other could write a frame before it."""
    send = env.pop("collab.accept", None) if env is not None else None
    if send is not None:
        send()


def _take_budget(env: dict[str, Any], size: int) -> None:
    """The current message (`size` bytes so far) is large: hold its bytes of the budget."""
    budget: FrameBudget | None = env.get("collab.frame_budget")
    if budget is None:
        return
    held = env.get("collab.frame_held", 0)
    if held:
        budget.add(size - held)
        env["collab.frame_held"] = size
    else:
        env["collab.frame_held"] = budget.take(size)


def _release_budget(env: dict[str, Any]) -> None:
    held = env.pop("collab.frame_held", 0)
    budget: FrameBudget | None = env.get("collab.frame_budget")
    if held and budget is not None:
        budget.give(held)


class SlowClient(OSError):
    """A request's headers or body did not arrive in the time it is given. An OSError, so
    that gevent's handler treats it as the connection failing (it is closed, no traceback)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may hold of the server (the COLLAB_* settings of the same names)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    body_min_rate: int = 32_768
    max_connections_per_address: int = 256
    max_connections: int = 10_000
    large_frame_bytes: int = 65_536
    large_frames_budget: int = 16_777_216
    read_rate: int = 1_048_576  # bytes/s from one client address (ReadRate); 0 = no limit
    read_burst: int = 5_242_880  # bytes: one message at the transport's limit (Settings.max_message_bytes)

    @classmethod
    def of(cls, app: object) -> "ConnectionLimits":
        settings: Settings | None = getattr(app, "extensions", {}).get("collab.settings")
        if settings is None:  # not collab's app: the defaults
            return cls()
        return cls(settings.header_timeout, settings.body_timeout, settings.body_min_rate,
                   settings.max_connections_per_address, settings.max_connections,
                   settings.large_frame_bytes, settings.large_frames_budget,
                   settings.read_rate, settings.max_message_bytes)


FILE_RESERVE = 128  # file descriptors kept for the database, logs, Redis and the 503 answers themselves


def connection_cap(configured: int) -> int:
    """At most COLLAB_MAX_CONNECTIONS open connections (0: no setting), and never more than
    the process's file limit less FILE_RESERVE: past the file limit accept() fails
    (EMFILE) and nobody is answered at all, where below it the extra ones get a 503."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    by_files = max(soft - FILE_RESERVE, 1)
    return min(configured, by_files) if configured else by_files


class _Served:
    """What one server counts across its connections."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.total = 0  # open connections
        self.by_address: Counter[str] = Counter()  # by_address[address] = open connections from it
        self.cap = connection_cap(limits.max_connections)
        self.frames = FrameBudget(limits.large_frames_budget)
        self.newcomers = NewcomerLane()
        self.reads = ReadRate(limits.read_rate, limits.read_burst) if limits.read_rate else None
        if self.cap != limits.max_connections:
            log.info("at most %d open connections (the file limit less %d; COLLAB_MAX_CONNECTIONS=%d)",
                     self.cap, FILE_RESERVE, limits.max_connections)


def peer_address(client_address: object) -> str:
    """The client address connections are counted by: the socket's peer. Behind a reverse
    proxy that is the proxy's address, so the limit is turned off there (0) and the proxy
    limits; a trusted-proxy setting would take the client from X-Forwarded-For here, which
    can only be known once the headers are read (counting starts at accept)."""
    if isinstance(client_address, tuple) and client_address:
        return str(client_address[0])
    return str(client_address)  # a Unix socket (gunicorn --bind unix:...): one client, the proxy


# _served[server] = its connection counts and large-frame budget
_served: "weakref.WeakKeyDictionary[object, _Served]" = weakref.WeakKeyDictionary()


def _plain_response(status: str, text: str, *extra: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, for where no app runs."""
    body = (text + "\n").encode("utf-8")
    head = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8", *extra, "Connection: close",
            f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


_TOO_MANY = _plain_response("503 Service Unavailable", "too many open connections from your address",
                            "Retry-After: 10")
_FULL = _plain_response("503 Service Unavailable", "the server has too many open connections; try again shortly",
                        "Retry-After: 5")
_TIMED_OUT = _plain_response("408 Request Timeout", "the request did not arrive in time")


class _TimedBody:
    """What gevent's request body (`Input`) reads through, against a deadline: `body_timeout`
    seconds from the end of the headers plus 1 s per `body_min_rate` bytes received (Apache's
    mod_reqtimeout rule). A client uploading at least that fast never meets it; one that
    declares a body and sends it a byte at a time would otherwise hold its connection, and
    the greenlet reading it, for as long as it likes. Past the deadline the connection is
    shut (no answer reaches the client: `NoDelayHandler.abort`) and the read ends short, so
    the application, or gevent's own discard of an unread body, stops reading."""

    __slots__ = ("_rfile", "_limits", "_start", "_received", "_handler", "_reads")

    def __init__(self, rfile: BinaryIO, limits: ConnectionLimits, handler: "NoDelayHandler",
                 reads: "ReadRate | None" = None) -> None:
        self._rfile = rfile
        self._limits = limits
        self._start = time.monotonic()
        self._received = 0
        self._handler = handler
        self._reads = reads  # a long-polling POST's: its bytes count in its address's ReadRate

    def _left(self) -> float:
        """Seconds until the deadline, which moves on with every byte received."""
        limits = self._limits
        deadline = self._start + limits.body_timeout + self._received / limits.body_min_rate
        return deadline - time.monotonic()

    def read(self, size: int | None = -1) -> bytes:
        """Like BufferedReader.read: `size` bytes, fewer only at the end of the stream (or at
        the deadline). Read a socket buffer at a time, so that the deadline moves on."""
        chunks: list[bytes] = []
        want = -1 if size is None or size < 0 else size
        while want:
            chunk = self._timed(self._read1, 65_536 if want < 0 else min(want, 65_536))
            if not chunk:
                break
            chunks.append(chunk)
            if want > 0:
                want -= len(chunk)
        return b"".join(chunks)

    def _read1(self, size: int) -> bytes:
        """At most `size` bytes, from one read of the socket at most."""
        read1 = getattr(self._rfile, "read1", None)
        data: bytes = read1(size) if read1 is not None else self._rfile.read(size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        # chunk-size lines and trailers: gevent bounds them at MAX_REQUEST_LINE
        return self._timed(self._rfile.readline, -1 if size is None else size)

    def _timed(self, read: Callable[[int], bytes], size: int) -> bytes:
        reads = self._reads
        if reads is not None:
            # its address's bytes are due as a WebSocket's are (ReadRate); the time waited
            # here is the server's, not the client's: the deadline moves on by it
            self._start += reads.admit(_address(self._handler.environ), Event(), _never)
        left = self._left()
        try:
            if left <= 0:
                raise SlowClient("request body")
            with gevent.Timeout(left, SlowClient("request body")):
                data: bytes = read(size)
        except SlowClient:
            self._handler.abort("body")
            return b""
        self._received += len(data)
        if reads is not None:
            reads.charge(_address(self._handler.environ), len(data))
        return data

    def __getattr__(self, name: str) -> Any:  # closed, fileno, ...: as the file it wraps
        return getattr(self._rfile, name)


class NoDelayHandler(WebSocketHandler):  # type: ignore[misc]  # gevent-websocket has no type hints
    """One client connection: TCP_NODELAY; at most `max_connections_per_address` open at once
    from one address (more are answered 503 at once); a request's line and headers must
    arrive within `header_timeout` seconds of the connection being ready for one (so idle
    keep-alive connections end too), its body within `body_timeout` plus 1 s per
    `body_min_rate` bytes received (408, or for a body: closed without an answer); WebSocket messages capped at the app's
    limit. Without these, 2,000 half-sent requests stayed open as long as their client
    wished, and at a 1,024 file limit nobody else could connect."""

    websocket: Any  # set by gevent-websocket's upgrade_connection, on a WebSocket handshake only

    def __init__(self, sock: socket.socket, address: object, server: pywsgi.WSGIServer,
                 rfile: BinaryIO | None = None) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)
        self.limits = ConnectionLimits.of(server.application)
        self._headers_due: gevent.Timeout | None = None

    def handle(self) -> None:
        address = peer_address(self.client_address)
        limit = self.limits.max_connections_per_address
        served = _served.get(self.server)
        if served is None:
            served = _served[self.server] = _Served(self.limits)
        counts = served.by_address
        if served.cap and served.total >= served.cap:
            self._refuse(_FULL, "refusing connections: %d open, the limit (COLLAB_MAX_CONNECTIONS, "
                         "at most the file limit less %d)", served.cap, FILE_RESERVE)
            return
        if limit and counts[address] >= limit:
            self._refuse(_TOO_MANY, "refusing connections from %s: %d open, the limit "
                         "(COLLAB_MAX_CONNECTIONS_PER_ADDRESS)", address, limit)
            return
        counts[address] += 1
        served.total += 1
        try:
            super().handle()
        finally:
            self._disarm()
            env = getattr(self, "environ", None)
            if env:  # a large WebSocket message still held (the reader died mid-message)
                _release_budget(env)
            served.total -= 1
            counts[address] -= 1
            if counts[address] <= 0:
                del counts[address]

    def log_request(self) -> None:
        """No access log. gevent-websocket's handler logged every request but the upgrades
        at INFO (logger geventwebsocket.handler), whatever the server's `log` (serve()
        gives None): request lines whose paths name documents (/d/<edit id>, /v/<view
        token>, /api/docs/<id>/..., /socket.io/?doc=<id>), and a document's ids are the
        capabilities to edit and read it (docs/deploy.md, "Metrics and logs")."""

    def _refuse(self, answer: bytes, why: str, *args: object) -> None:
        # a flood logs once per second at most, not once per connection
        global _last_refusal_log
        now = time.monotonic()
        if now - _last_refusal_log >= 1.0:
            _last_refusal_log = now
            log.warning(why, *args)
        try:
            self.socket.sendall(answer)
            # FIN after the answer, so that the client reads it before it sees the close
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # gone already

    # -- headers: one deadline from "ready for a request" to "headers read" ------------------

    def read_requestline(self) -> str:
        self._disarm()
        self._headers_due = gevent.Timeout.start_new(self.limits.header_timeout, SlowClient("request headers"))
        try:
            line: str = super().read_requestline()
        except SlowClient:
            # nothing or part of a request line in header_timeout seconds: an idle keep-alive
            # connection or a slow client; either way the connection ends (no answer to send)
            self._headers_due = None
            self.timed_out("request line")
            return ""
        if not line:
            self._disarm()
        return line

    def read_request(self, raw_requestline: str) -> bool:
        try:
            ok: bool = super().read_request(raw_requestline)
            return ok
        except SlowClient:
            self._headers_due = None
            self.timed_out("headers")
            raise
        finally:
            self._disarm()

    def _handle_client_error(self, ex: Exception) -> tuple[str, bytes]:
        # gevent's hook for bad client input; a header timeout is answered 408, not 400
        if isinstance(ex, SlowClient):
            return ("408", _TIMED_OUT)
        answer: tuple[str, bytes] = super()._handle_client_error(ex)
        return answer

    def _disarm(self) -> None:
        if self._headers_due is not None:
            self._headers_due.close()
            self._headers_due = None

    # -- body ----------------------------------------------------------------------------------

    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        body = self.wsgi_input
        if body is not None and (body.content_length or body.chunked_input):
            served = _served.get(self.server)
            # Engine.IO's long-polling POSTs carry the messages a WebSocket would: the same
            # read rate (other bodies, imports and images, keep to their own limits)
            polling = served is not None and env.get("PATH_INFO", "").startswith(ENGINEIO_PATH)
            body.rfile = _TimedBody(body.rfile, self.limits, self, served.reads if polling and served else None)
        return env

    def timed_out(self, what: str) -> None:
        """A request's `what` did not arrive in time: the connection closes after this request."""
        self.close_connection = True
        log.info("closing a connection from %s: its %s did not arrive in time",
                 peer_address(self.client_address), what)

    def abort(self, what: str) -> None:
        """As timed_out, and no answer reaches the client: the application is handed a short
        body, and whatever it answers must not look like success (python-engineio answers
        "OK" to a long-polling POST whose body it failed to read, which would tell the
        client that messages nobody read were delivered). The client sees the connection
        drop, as after any network failure, and resends."""
        self.timed_out(what)
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # gone already

    # -- WebSocket handshake: the 101 only once the application takes the socket ---------------

    def run_application(self) -> None:
        """As gevent-websocket's, except that a WebSocket handshake is answered only when the
        application has decided. gevent-websocket answers `101 Switching Protocols` before the
        application runs, so every refusal (a foreign Host, a foreign Origin, a bad Engine.IO
        query) became a 101 and then a close with 1000, where the client should have seen
        the HTTP answer: 400 and why."""
        hook = getattr(self.server, "pre_start_hook", None)
        if hook and hook(self):
            super(WebSocketHandler, self).run_application()
            return
        self.result = self.upgrade_websocket()
        if hasattr(self, "websocket"):
            # the 101 is ready (start_response was called) but not sent: the first frame the
            # application reads or writes sends it (_accept)
            self.environ["collab.accept"] = lambda: self.write(b"")
            self.run_websocket()
            return
        if self.status:  # gevent-websocket refused the handshake itself (no key, a bad version)
            self.result = self.result or []
            self.process_result()
            return
        super(WebSocketHandler, self).run_application()  # not a WebSocket: an ordinary request

    def run_websocket(self) -> None:
        """Run the application on the upgraded request. If it answers without ever using the
        WebSocket, the handshake was refused: its answer goes out as the HTTP response it is
        (status, headers, body), and no 101."""
        answer: list[Any] = []  # [status, headers] of the application's own answer, if it gives one

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
            answer[:] = [status, headers]
            return lambda _data: None

        ws = self.websocket
        body: list[bytes] = []
        try:
            result = self.application(self.environ, start_response)
            try:
                for chunk in result:
                    if "collab.accept" in self.environ and chunk:  # a refusal's body (a few bytes)
                        body.append(bytes(chunk))
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            refused = self.environ.pop("collab.accept", None) is not None
            if refused:
                ws.closed = True  # nothing of the WebSocket protocol goes out: no close frame
            elif not ws.closed:
                ws.close()
            self.environ["wsgi.websocket"] = None
            self.websocket = None
        if refused:
            self._refuse_handshake(answer, body)
        elif "collab.close" in self.environ:
            self._linger()

    def _linger(self) -> None:
        """After a WebSocket closed with close_when_sent (a client flooding the server): its
        client may still be sending what it flooded, and closing a socket with bytes unread
        resets the connection (RST), which makes the client's system drop what it had not
        read yet: the last answers and the close frame that say why. So: end the sending
        side (FIN after the close frame), then read and drop what still comes, until the
        client closes too or for LINGER_SECONDS at most (Apache's lingering close)."""
        sock = self.socket
        deadline = time.monotonic() + LINGER_SECONDS
        try:
            sock.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                with gevent.Timeout(left, False):
                    if not sock.recv(65_536):
                        return
        except OSError:
            pass  # reset or gone: nothing more to do

    def _refuse_handshake(self, answer: list[Any], body: list[bytes]) -> None:
        """Answer a refused handshake with the application's status and body (400 at least)."""
        status, headers = answer if answer else ("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
        if status.startswith("101") or int(status[:3]) < 400:
            # answered as if accepted, yet never used: not an answer a client can act on
            status, headers, body = "400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")], [
                b"this WebSocket handshake was not taken\n"]
        # start again as a plain answer (the 101's start_response set what a WebSocket needs)
        self.status = None
        self.headers_sent = False
        self.response_use_chunked = False
        self.start_response(status, [(k, v) for k, v in headers if k.lower() != "content-length"])
        self.close_connection = True
        self.result = body
        self.process_result()

    def upgrade_connection(self) -> list[bytes] | None:
        result: list[bytes] | None = super().upgrade_connection()  # a refusal's body, or None
        ws = self.environ.get("wsgi.websocket")
        if ws is not None:
            self.environ["collab.max_message"] = max_message(self.application)
            self.environ["collab.limits"] = self.limits
            served = _served[self.server]
            self.environ["collab.frame_budget"] = served.frames
            if served.reads is not None:
                self.environ["collab.read_rate"] = served.reads
            if "sid" not in parse_qs(self.environ.get("QUERY_STRING", "")):
                # a new Engine.IO session (not the upgrade of a long-polling one, whose
                # environ realtime does not see): its messages wait their turn until it joins
                self.environ["collab.lane"] = served.newcomers
                self.environ[NEWCOMER] = Newcomer()
                self.environ[DEPARTURE] = Departure()
            self.environ["collab.observer"] = getattr(self.application, "extensions", {}).get("collab.observer")
            ws.__class__ = CappedWebSocket
            ws.raw_write = _frame_writer(self.socket)
        return result


def _frame_writer(sock: socket.socket) -> Callable[[bytes], None]:
    """How a WebSocket writes its frames: one send() first, sendall() for what it left.
    gevent's sendall() asks the kernel for the socket's buffer size (a getsockopt system
    call) and reads the clock before every write, and a frame of a few hundred bytes
    almost always fits the buffer whole: 6.1 -> 3.0 us per 300-byte frame, and the frame
    writes' share of the server's CPU at 50 editors 16.6 -> 12.1 % (docs/performance.md)."""
    send, sendall = sock.send, sock.sendall

    def write(data: bytes) -> None:
        sent = send(data)
        if sent < len(data):
            sendall(memoryview(data)[sent:])

    return write


def max_message(app: object) -> int | None:
    """The transport's limit: our patch limit plus room for the Socket.IO framing."""
    settings: Settings | None = getattr(app, "extensions", {}).get("collab.settings")
    return settings.max_message_bytes if settings else None


class GeventWebSocketWorker(_GunicornWorker):  # type: ignore[misc]  # gevent-websocket has no type hints
    """gunicorn worker with the same handler: `gunicorn -k collab.serve.GeventWebSocketWorker`."""

    wsgi_handler = NoDelayHandler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _gunicorn_unloadable is not None:
            raise RuntimeError(f"the gunicorn worker cannot be loaded: {_gunicorn_unloadable} "
                               "(pip install 'collab-editor[deploy]')") from _gunicorn_unloadable
        super().__init__(*args, **kwargs)


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound before the app is built: a port in use stops the
    start at once, before anything is opened or logged. A backlog of 1,024 (gevent's default:
    128; the kernel caps it at somaxconn): a burst of connections, a flood's or a reconnecting
    crowd's, waits in the kernel instead of having its SYNs dropped, which costs an honest
    client a 1 s retransmit."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gevent: a restart reuses a port in TIME_WAIT
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            why += ": another server has it; stop that one, or choose another port (--port, COLLAB_PORT)"
        elif exc.errno == errno.EACCES:
            why += ": ports below 1024 need privileges; choose another port (--port, COLLAB_PORT)"
        raise OSError(f"cannot listen on {host}:{port}: {why}") from None
    return sock


def serve(app: Flask, host: str, port: int, listener: socket.socket | None = None) -> None:
    """Serve `app` on `listener`, else on a socket bound to host:port now."""
    server = pywsgi.WSGIServer(listener or listen(host, port), app, handler_class=NoDelayHandler,
                               log=None, error_log=logging.getLogger("collab.wsgi"))
    import gevent

    def stop(*_: object) -> None:
        log.info("stopping")
        server.stop(timeout=5)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    server.init_socket()
    host_shown, port_shown = server.socket.getsockname()[:2]
    log.info("collab serving on http://%s:%s", host_shown, port_shown)
    server.serve_forever()
    app.extensions["collab"].close()


def main(argv: Sequence[str] | None = None, prog: str = "run.py") -> None:
    """Start the server; a start that fails (a bad setting, a database that cannot be opened
    or reached, a port in use) says why in one line on stderr and exits with status 1."""
    try:
        defaults = Settings.from_env()
        parser = argparse.ArgumentParser(prog=prog, description="Run the collab server.")
        parser.add_argument("--host", default=defaults.host, help="address to listen on (default: COLLAB_HOST, "
                            "else 127.0.0.1)")
        parser.add_argument("--port", type=int, default=defaults.port,
                            help="TCP port (0 picks a free one; default: COLLAB_PORT, else 5000)")
        parser.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL, else collab.db "
                            "in the data folder: COLLAB_DATA_DIR, a checkout's instance/ or the user data folder)")
        args = parser.parse_args(argv)
        if args.database is not None and not args.database.strip():  # before: the default, silently
            raise ValueError("--database is empty: give a database URL, or leave the option out for the default")
        listener = listen(args.host, args.port)
        config = {"database_url": args.database} if args.database else {}
        app = create_app(config)
    except (ValueError, OSError, StoreError) as exc:  # ConfigError is a ValueError
        sys.exit(fail(prog, exc))
    serve(app, args.host, args.port, listener)
