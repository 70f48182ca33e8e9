"""Serve the app on gevent's WSGI server with WebSocket support.

The caller monkey-patches first (run.py does, as its first statement; so does
`collab serve`). Sockets get TCP_NODELAY: gevent leaves Nagle's algorithm on, which adds
a ~40 ms tail to every small frame.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import struct
from typing import Any, Sequence

from gevent import pywsgi
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import Header, WebSocket

try:
    from geventwebsocket.gunicorn.workers import GeventWebSocketWorker as _GunicornWorker
except ImportError:  # gunicorn is optional (pip install collab[deploy])
    _GunicornWorker = object  # type: ignore[misc,assignment]

from . import create_app

log = logging.getLogger("collab.serve")


class CappedWebSocket(WebSocket):
    """gevent-websocket reads a frame whole, however large its header says it is; this
    refuses a message over `max_message` bytes from its header, before reading it, with
    close code 1009 (message too big). It also unmasks and checks UTF-8 at C speed."""

    # no new slots, so that the handler's WebSocket can become one (__class__ assignment);
    # the per-connection state lives in the connection's environ
    __slots__ = ()

    def validate_utf8(self, payload):  # type: ignore[no-untyped-def]
        """gevent-websocket checks UTF-8 a byte at a time in Python (~0.5 s per 4 MB, twice
        per message, on the event loop). The whole message is decoded strictly anyway
        (`_decode_bytes`, C speed), and invalid UTF-8 still closes with 1007 there."""

    def read_frame(self):  # type: ignore[no-untyped-def]
        header = Header.decode_header(self.stream)
        if header.flags or not header.mask:
            # reserved bits (no extension is negotiated), or a client frame sent unmasked
            # (RFC 6455 5.1: the server must close): 1002, from receive()
            raise ProtocolError
        env = self.environ
        if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            env["collab.message_size"] = 0  # a new message; continuation frames add up
        size = env["collab.message_size"] = env.get("collab.message_size", 0) + header.length
        limit = env.get("collab.max_message")
        if limit is not None and size > limit:
            log.warning("closing a WebSocket: a %d-byte message is over the %d-byte limit", size, limit)
            self.close(1009, b"message too big")
            raise WebSocketError("message too big")
        if not header.length:
            return header, b""
        try:
            payload = self.raw_read(header.length)
        except Exception:
            payload = b""
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = _unmask(payload, header.mask)
        return header, payload


    def close(self, code: int = 1000, message: bytes | str | None = b"") -> None:
        """Send a close frame that carries its status code, then stop reading.

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
        reason = message.encode("utf-8") if isinstance(message, str) else bytes(message or b"")
        try:
            # a control frame's payload is at most 125 bytes: the code and 123 of reason
            self.send_frame(struct.pack("!H", code) + reason[:123], opcode=self.OPCODE_CLOSE)
        except WebSocketError:
            pass  # the peer is gone already; closing is all that is left
        finally:
            ws.closed = True
            handler = ws.handler
            if handler is not None and getattr(handler, "socket", None) is not None:
                try:
                    handler.socket.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # not connected any more
            ws.stream = ws.raw_write = ws.raw_read = None  # as gevent-websocket's close()
            ws.environ = None


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a client frame with its 4-byte mask as two big integers: gevent-websocket does it
    a byte at a time in Python, ~0.5 s for 4 MB, on the event loop."""
    n = len(payload)
    key = (bytes(mask) * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class NoDelayHandler(WebSocketHandler):
    """TCP_NODELAY on every connection, and WebSocket messages capped at the app's limit."""

    def __init__(self, sock, address, server, rfile=None):  # type: ignore[no-untyped-def]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)

    def upgrade_connection(self):  # type: ignore[no-untyped-def]
        result = super().upgrade_connection()
        ws = self.environ.get("wsgi.websocket")
        if ws is not None:
            self.environ["collab.max_message"] = max_message(self.application)
            ws.__class__ = CappedWebSocket
            ws.raw_write = _frame_writer(self.socket)
        return result


def _frame_writer(sock):  # type: ignore[no-untyped-def]
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


def max_message(app) -> int | None:  # type: ignore[no-untyped-def]
    """The transport's limit: our patch limit plus room for the Socket.IO framing."""
    settings = getattr(app, "extensions", {}).get("collab.settings")
    return settings.max_patch_chars + 1_048_576 if settings else None


class GeventWebSocketWorker(_GunicornWorker):
    """gunicorn worker with the same handler: `gunicorn -k collab.serve.GeventWebSocketWorker`."""

    wsgi_handler = NoDelayHandler


def serve(app, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    server = pywsgi.WSGIServer((host, port), app, handler_class=NoDelayHandler, log=None,
                               error_log=logging.getLogger("collab.wsgi"))
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="run.py", description="Run the collab server.")
    parser.add_argument("--host", default=os.environ.get("COLLAB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("COLLAB_PORT", "5000")),
                        help="TCP port (0 picks a free one)")
    parser.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL, "
                        "else a SQLite file in the instance folder)")
    args = parser.parse_args(argv)
    config = {"database_url": args.database} if args.database else {}
    serve(create_app(config), args.host, args.port)
