"""Caps on what one Socket.IO connection can make the server buffer, before it buffers it.

python-socketio keeps a binary event's attachments per Engine.IO session until the number
its header announced has arrived (`Server._binary_packet[eio_sid]`), and the header may
announce up to 9,999,999,999 of them. Each attachment is one Engine.IO message, bounded
only by `max_http_buffer_size`, so a single connection could make the server hold any
amount of memory without ever reaching a handler. `PacketGuard` sits in front of the
server's Engine.IO `message` handler and refuses, before anything is kept:

- a binary packet announcing more than `MAX_ATTACHMENTS` attachments (the wire contract,
  docs/protocol.md, uses none; a few are let through so that a stray binary field is
  answered `bad_request` by the handler like any other wrong type);
- a binary packet whose header plus attachments exceed `max_packet_bytes` (the transport's
  message limit: one binary event costs at most what one text event may).

A refused connection is logged once (a warning, no traceback) and disconnected, which
makes python-socketio drop its partial packet. The same guard covers WebSocket and
long-polling, since both end in the Engine.IO `message` event.

Edge layer: imports python-socketio / python-engineio only, nothing of collab's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import socketio

log = logging.getLogger("collab.transport")

MAX_ATTACHMENTS = 8  # binary attachments one Socket.IO packet may announce (the contract uses 0)

_BINARY_TYPES = ("5", "6")  # Socket.IO BINARY_EVENT, BINARY_ACK: "<type><count>-..."


@dataclass
class _Pending:
    """A binary packet whose attachments are still arriving."""

    left: int  # attachments still to come
    size: int  # bytes so far: header packet plus attachments


class PacketGuard:
    """Wraps a Socket.IO server's Engine.IO `message` and `disconnect` handlers."""

    def __init__(self, sio: socketio.Server, max_packet_bytes: int,
                 max_attachments: int = MAX_ATTACHMENTS) -> None:
        self.sio = sio
        self.eio = sio.eio
        self.max_packet_bytes = max_packet_bytes
        self.max_attachments = max_attachments
        self._inner_message: Callable[[str, Any], Any] = self.eio.handlers["message"]
        self._inner_disconnect: Callable[..., Any] = self.eio.handlers["disconnect"]
        self._pending: dict[str, _Pending] = {}  # self._pending[eio_sid] = the binary packet being assembled
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
        elif isinstance(data, str) and data[:1] in _BINARY_TYPES:
            count = _attachment_count(data)
            # a binary packet without attachments would wait forever for one: refused too
            if count is None or not 1 <= count <= self.max_attachments:
                return self._refuse(eio_sid, 1008, "too many attachments",
                                    f"a binary packet announcing {data[1:12]!r} attachments "
                                    f"(at most {self.max_attachments})")
            self._pending[eio_sid] = _Pending(left=count, size=len(data))
        return self._inner_message(eio_sid, data)

    def on_disconnect(self, eio_sid: str, *reason: Any) -> Any:
        self._pending.pop(eio_sid, None)
        return self._inner_disconnect(eio_sid, *reason)

    def _refuse(self, eio_sid: str, close_code: int, reason: str, what: str) -> None:
        """Log, and close the session at once. `close_code` is the WebSocket status when the
        session is on a WebSocket: 1008 (policy violation) or 1009 (message too big)."""
        environ = self.sio.environ.get(eio_sid) or {}
        log.warning("closing Socket.IO session %s from %s: %s", eio_sid,
                    environ.get("REMOTE_ADDR", "?"), what)
        self._pending.pop(eio_sid, None)
        ws = environ.get("wsgi.websocket")
        if ws is not None:
            # closing the WebSocket itself stops its reader before the next frame: python-engineio
            # closes it only from the writer greenlet, which does not run while the reader finds
            # data waiting (frames the client had already sent would be read and dropped first)
            ws.close(close_code, reason)
        # not eio.disconnect(), which waits until the client has taken the close packet: a
        # long-polling client that never polls again would hold this request forever
        sock = self.eio.sockets.pop(eio_sid, None)
        if sock is not None:
            sock.close(wait=False, reason=self.eio.reason.SERVER_DISCONNECT)


def _attachment_count(packet: str) -> int | None:
    """The attachment count of a binary packet `"5<count>-..."`; None if it has none.

    Read without converting more digits than any allowed count has, so that a header of
    thousands of digits costs nothing."""
    dash = packet.find("-", 1, 13)
    digits = packet[1:dash] if dash > 1 else ""
    return int(digits) if digits.isdigit() and digits.isascii() else None
