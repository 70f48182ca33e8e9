"""What one Socket.IO connection may send, checked before python-socketio keeps or runs it.

python-socketio keeps a binary event's attachments per Engine.IO session until the number
its header announced has arrived (`Server._binary_packet[eio_sid]`), and the header may
announce up to 9,999,999,999 of them. Each attachment is one Engine.IO message, bounded
only by `max_http_buffer_size`, so a single connection could make the server hold any
amount of memory without ever reaching a handler. And a packet that does not decode
(`42["x",{bad`, a number of 5,000 digits, an event that is not a list) raised out of the
decoder, where python-engineio logged a traceback for it and went on reading: 20,000 of
them (400 KB) wrote 92 MB of log and held the event loop for seconds. `PacketGuard` sits
in front of the server's Engine.IO `message` handler and refuses, before anything is kept:

- a binary packet announcing more than `MAX_ATTACHMENTS` attachments (the wire contract,
  docs/protocol.md, uses none; a few are let through so that a stray binary field is
  answered `bad_request` by the handler like any other wrong type);
- a binary packet whose header plus attachments exceed `max_packet_bytes` (the transport's
  message limit: one binary event costs at most what one text event may);
- a malformed packet (`CheckedPacket`, the decoder python-socketio is given): answered
  `bad_request` when it carries an ack id, logged once per connection (one line, no
  traceback), and the connection's `MAX_MALFORMED`-th closes it.

A refused connection is logged once (a warning, no traceback) and disconnected, which
makes python-socketio drop its partial packet. The same guard covers WebSocket and
long-polling, since both end in the Engine.IO `message` event.

`PollingGuard` (WSGI, in front of Engine.IO) checks a long-polling POST's body before
python-engineio reads it. python-engineio decodes the body in its request handler and did
three things with one that was no valid payload: text that is not UTF-8, an empty packet,
more than 16 packets, a bad base64 attachment were logged as a traceback and answered 200
"OK", the session left open (the client told that what nobody read was delivered); a
packet type a client never sends (`0` open, `2` ping, `6` noop, `9`) and a body over
`max_http_buffer_size` made it close the session *and wait* until the client fetched the
close packet, holding the POST for as long as the client did not poll (15 s and more).
Now every one of them is answered at once `400` with one line of text, and the session
is closed, the next poll answering it; one warning is logged, no traceback.

Edge layer: imports python-socketio / python-engineio and the core's wire builders.
"""
from __future__ import annotations

import io
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import socketio
from engineio import json as _json
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from socketio import packet

from ..core import wire

log = logging.getLogger("collab.transport")

MAX_ATTACHMENTS = 8  # binary attachments one Socket.IO packet may announce (the contract uses 0)
MAX_MALFORMED = 10  # malformed Socket.IO packets one connection may send: the 10th closes it

_BINARY_TYPES = ("5", "6")  # Socket.IO BINARY_EVENT, BINARY_ACK: "<type><count>-..."
# event names the Socket.IO protocol keeps for itself: a client's `42["disconnect"]` would
# otherwise run the disconnect handler of a connection that is still there
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                             "removeListener"})


# -- decoding ------------------------------------------------------------------------------


class MalformedPacket(ValueError):
    """A Socket.IO packet that does not decode, or that decodes to what no client may send.
    `ack` is its ack id when it is an event whose id was read whole (it can be answered)."""

    def __init__(self, why: str, namespace: str | None = None, ack: int | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.namespace = namespace
        self.ack = ack


class _BadJSON(ValueError):
    """The JSON part of a packet did not decode (raised inside python-socketio's decode)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _JSON:
    """CheckedPacket's JSON codec: python-engineio's, with decoding errors marked as such,
    so that they are told from the errors of the packet's header."""

    dumps = staticmethod(_json.dumps)

    @staticmethod
    def loads(text: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return _json.loads(text, *args, **kwargs)
        except RecursionError:
            raise _BadJSON("its JSON is nested too deeply") from None
        except ValueError as exc:
            if str(exc) == "Integer is too large":  # python-engineio reads at most 100 digits
                raise _BadJSON("a number in it has more than 100 digits") from None
            raise _BadJSON(f"its JSON does not decode ({str(exc)[:100]})") from None


class CheckedPacket(packet.Packet):  # type: ignore[misc]  # python-socketio has no type hints
    """python-socketio's packet, whose decoding raises `MalformedPacket` for anything a
    client may not send: what does not decode, a packet type a client never sends
    (CONNECT_ERROR, 7-9), an event that is not a list starting with its name, a reserved
    event name, an ack that is not a list. Encoding is python-socketio's."""

    json = _JSON

    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet) or 0
        except _BadJSON as exc:
            event = self.packet_type in (packet.EVENT, packet.BINARY_EVENT)
            raise MalformedPacket(exc.why, self.namespace, self.id if event else None) from None
        except (ValueError, TypeError) as exc:  # the header: type, attachments, namespace, id
            raise MalformedPacket(str(exc)[:100] or type(exc).__name__) from None
        kind, data = self.packet_type, self.data
        if kind in (packet.EVENT, packet.BINARY_EVENT):
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                raise MalformedPacket("an event must be a list that starts with its name", self.namespace, self.id)
            if data[0] in RESERVED_EVENTS:
                raise MalformedPacket(f"{data[0]!r} is a name Socket.IO reserves", self.namespace, self.id)
        elif kind in (packet.ACK, packet.BINARY_ACK):
            if not isinstance(data, list):
                raise MalformedPacket("an ack must be a list")
        elif kind == packet.CONNECT:
            if data is not None and not isinstance(data, dict):
                raise MalformedPacket("a CONNECT packet's auth must be an object")
        elif kind != packet.DISCONNECT:
            raise MalformedPacket(f"packet type {kind!r} is not one a client sends")
        return count


@dataclass
class _Pending:
    """A binary packet whose attachments are still arriving."""

    left: int  # attachments still to come
    size: int  # bytes so far: header packet plus attachments


class PacketGuard:
    """Wraps a Socket.IO server's Engine.IO `message` and `disconnect` handlers, and gives
    it `CheckedPacket` to decode with."""

    def __init__(self, sio: socketio.Server, max_packet_bytes: int,
                 max_attachments: int = MAX_ATTACHMENTS, max_malformed: int = MAX_MALFORMED) -> None:
        self.sio = sio
        self.eio = sio.eio
        self.max_packet_bytes = max_packet_bytes
        self.max_attachments = max_attachments
        self.max_malformed = max_malformed
        self._inner_message: Callable[[str, Any], Any] = self.eio.handlers["message"]
        self._inner_disconnect: Callable[..., Any] = self.eio.handlers["disconnect"]
        self._pending: dict[str, _Pending] = {}  # self._pending[eio_sid] = the binary packet being assembled
        self._malformed: dict[str, int] = {}  # self._malformed[eio_sid] = malformed packets it sent
        sio.packet_class = CheckedPacket
        self.eio.on("message", self.on_message)
        self.eio.on("disconnect", self.on_disconnect)

    def on_message(self, eio_sid: str, data: Any) -> Any:
        if eio_sid not in self.eio.sockets:
            # a session refused below: what its reader or its POST still holds is dropped
            return None
        pending = self._pending.get(eio_sid)
        if pending is not None:
            # python-socketio takes whatever comes next as an attachment, text or bytes
            pending.size += len(data)
            if pending.size > self.max_packet_bytes:
                return self._refuse(eio_sid, 1009, "message too big",
                                    f"a binary packet of over {pending.size:,} bytes "
                                    f"(limit {self.max_packet_bytes:,})")
            pending.left -= 1
            if pending.left <= 0:
                del self._pending[eio_sid]
        elif not data or not isinstance(data, str):
            # python-socketio would take an empty message for an event without data, and
            # bytes for a packet to decode: neither is one
            return self._malformed_packet(eio_sid, MalformedPacket(
                "an empty message" if not data else "binary data that is no packet's attachment"))
        elif data[:1] in _BINARY_TYPES:
            count = _attachment_count(data)
            # a binary packet without attachments would wait forever for one: refused too
            if count is None or not 1 <= count <= self.max_attachments:
                return self._refuse(eio_sid, 1008, "too many attachments",
                                    f"a binary packet announcing {data[1:12]!r} attachments "
                                    f"(at most {self.max_attachments})")
            if self.sio.manager.sid_from_eio_sid(eio_sid, _namespace(data) or "/") is None:
                return self._malformed_packet(eio_sid, MalformedPacket("a binary packet outside a connected namespace"))
            self._pending[eio_sid] = _Pending(left=count, size=len(data))
        try:
            return self._inner_message(eio_sid, data)
        except MalformedPacket as exc:  # raised by CheckedPacket.decode, before anything ran
            self._pending.pop(eio_sid, None)
            return self._malformed_packet(eio_sid, exc)

    def on_disconnect(self, eio_sid: str, *reason: Any) -> Any:
        self._pending.pop(eio_sid, None)
        self._malformed.pop(eio_sid, None)
        return self._inner_disconnect(eio_sid, *reason)

    def _malformed_packet(self, eio_sid: str, exc: MalformedPacket) -> None:
        """Answer an event's ack id with `bad_request` (the client learns why, and does not
        wait for an answer); log the first of a connection only; close the connection at
        its `max_malformed`-th. Nothing else is logged, whatever their number: a flood of
        them must not cost more than its own bytes."""
        count = self._malformed[eio_sid] = self._malformed.get(eio_sid, 0) + 1
        if count >= self.max_malformed:
            self._refuse(eio_sid, 1008, "malformed packets",
                         f"{count} malformed Socket.IO packets (the last: {exc.why})")
            return
        if count == 1:
            environ = self.sio.environ.get(eio_sid) or {}
            log.warning("Socket.IO session %s from %s sent a malformed packet (%s); answered bad_request, "
                        "its %d-th closes it, and no more of them are logged", eio_sid,
                        environ.get("REMOTE_ADDR", "?"), exc.why, self.max_malformed)
        namespace = exc.namespace or "/"
        if exc.ack is not None and self.sio.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
            answer = wire.error_ack("bad_request", f"this packet is not valid Socket.IO: {exc.why}")
            ack = packet.Packet(packet.ACK, data=[answer], namespace=namespace, id=exc.ack)
            self.eio.send(eio_sid, ack.encode())

    def _refuse(self, eio_sid: str, close_code: int, reason: str, what: str) -> None:
        """Log, and close the session at once."""
        environ = self.sio.environ.get(eio_sid) or {}
        log.warning("closing Socket.IO session %s from %s: %s", eio_sid,
                    environ.get("REMOTE_ADDR", "?"), what)
        self._pending.pop(eio_sid, None)
        # what was malformed was answered (bad_request): those answers go out before the close
        close_session(self.sio, eio_sid, close_code, reason, flush=reason == "malformed packets")


# Engine.IO packets a client sends by long-polling (python-engineio's Socket.receive takes
# these; any other one it refuses, closing the session and waiting for the client)
_CLIENT_PACKETS = frozenset({eio_packet.CLOSE, eio_packet.PONG, eio_packet.MESSAGE, eio_packet.UPGRADE})
_PACKET_TYPES = frozenset("0123456b")  # how an encoded packet starts: its type, or b for base64


class PollingGuard:
    """WSGI middleware: a long-polling POST (`POST /socket.io/?transport=polling&sid=...` of a
    connected session) whose body is no valid Engine.IO payload is answered 400 with a short
    text, and its session closed, before python-engineio sees it (see the module docstring).
    A valid body is handed on unchanged; anything else (no session, a GET, a WebSocket) is
    python-engineio's to answer."""

    def __init__(self, app: Callable[..., Iterable[bytes]], sio: socketio.Server, path: str = "socket.io") -> None:
        self.app = app
        self.sio = sio
        self.prefix = f"/{path.strip('/')}/"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.app(environ, start_response)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        sid = (query.get("sid") or [""])[0]
        sock = self.sio.eio.sockets.get(sid)
        if query.get("transport") != ["polling"] or sock is None or not sock.connected or sock.upgraded:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        limit = self.sio.eio.max_http_buffer_size
        if length > limit:
            return self._refuse(sid, f"a body of {length:,} bytes, over the {limit:,} a POST may carry",
                                environ, start_response)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        if len(body) < length:
            # the body stopped coming (collab/serve.py aborts such a request): as before
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        why = invalid_payload(body) if length >= 0 else "a Content-Length that is not a number"
        if why is not None:
            return self._refuse(sid, why, environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def _refuse(self, sid: str, why: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        log.warning("closing Socket.IO session %s from %s: a long-polling POST that is no valid Engine.IO "
                    "payload (%s)", sid, environ.get("REMOTE_ADDR", "?"), why)
        close_session(self.sio, sid, 1008, "invalid payload")
        text = f"not a valid Engine.IO payload: {why}; the session is closed\n".encode()
        start_response("400 BAD REQUEST", [("Content-Type", "text/plain; charset=utf-8"),
                                           ("Content-Length", str(len(text))), ("Connection", "close")])
        return [text]


def invalid_payload(body: bytes) -> str | None:
    """Why `body` is not a long-polling payload a client may send (None: it is one): decoded
    as python-engineio decodes it, and of the packet types its Socket.receive takes."""
    if not body:
        return "an empty body"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"bytes that are not UTF-8 (at byte {exc.start})"
    if not text.startswith("d="):  # (JSONP's form-encoded body: left to the decoder)
        for encoded in text.split("\x1e"):
            if encoded[:1] not in _PACKET_TYPES:
                return f"a packet starting {encoded[:1]!r}, which is no Engine.IO packet type" if encoded else "an empty packet"
    try:
        packets = eio_payload.Payload(encoded_payload=text).packets
    except Exception as exc:  # noqa: BLE001 - whatever python-engineio's decoder raises is the answer
        return f"it does not decode: {str(exc)[:80] or type(exc).__name__}"
    for pkt in packets:
        if pkt.packet_type not in _CLIENT_PACKETS:
            return f"a packet of type {pkt.packet_type}, which a client never sends"
    return None


def close_session(sio: socketio.Server, eio_sid: str, close_code: int, reason: str, flush: bool = False) -> None:
    """Close an Engine.IO session, from any greenlet (its reader's included): at once, or
    with `flush` once what is queued for it has been sent (on a WebSocket served by
    collab/serve.py: nothing more is read meanwhile). `close_code` is the WebSocket status
    when the session is on a WebSocket: 1008 (policy violation) or 1009 (message too big).
    The client sees its connection drop, and reconnects as after any drop (docs/protocol.md)."""
    environ = sio.environ.get(eio_sid) or {}
    ws = environ.get("wsgi.websocket")
    if flush and ws is not None and hasattr(ws, "close_when_sent"):
        ws.close_when_sent(close_code, reason)  # the session ends when its reader does
        return
    if ws is not None:
        # closing the WebSocket itself stops its reader before the next frame: python-engineio
        # closes it only from the writer greenlet, which does not run while the reader finds
        # data waiting (frames the client had already sent would be read and dropped first)
        ws.close(close_code, reason)
    # not eio.disconnect(), which waits until the client has taken the close packet: a
    # long-polling client that never polls again would hold this request forever
    sock = sio.eio.sockets.pop(eio_sid, None)
    if sock is not None:
        sock.close(wait=False, reason=sio.eio.reason.SERVER_DISCONNECT)


def _attachment_count(header: str) -> int | None:
    """The attachment count of a binary packet `"5<count>-..."`; None if it has none.

    Read without converting more digits than any allowed count has, so that a header of
    thousands of digits costs nothing."""
    dash = header.find("-", 1, 13)
    digits = header[1:dash] if dash > 1 else ""
    return int(digits) if digits.isdigit() and digits.isascii() else None


def _namespace(header: str) -> str | None:
    """The namespace of a binary packet `"5<count>-/chat,..."`, None for the default one."""
    rest = header[header.find("-") + 1:]
    if not rest.startswith("/"):
        return None
    end = rest.find(",")
    return (rest if end < 0 else rest[:end]).split("?", 1)[0]
