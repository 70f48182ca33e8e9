"""Serve the app on gevent's WSGI server with WebSocket support.

The caller monkey-patches first (run.py does, as its first statement; so does
`collab serve`). Sockets get TCP_NODELAY: gevent leaves Nagle's algorithm on, which adds
a ~40 ms tail to every small frame. The connection handler also bounds what one client
can hold of the server: WebSocket messages capped from their header, close frames with
their status code, a deadline for a request's headers and one for its body, and a limit
on open connections per client address (docs/deploy.md, docs/reliability.md).
"""
from __future__ import annotations

import argparse
import logging
import signal
import socket
import struct
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Sequence

import gevent
from gevent import pywsgi
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import Header, WebSocket

try:
    from geventwebsocket.gunicorn.workers import GeventWebSocketWorker as _GunicornWorker
except ImportError:  # gunicorn is optional (pip install collab[deploy])
    _GunicornWorker = object

from . import create_app
from .core.config import Settings

if TYPE_CHECKING:  # flask is imported by create_app, after a gevent worker has monkey-patched
    from flask import Flask

log = logging.getLogger("collab.serve")
LISTEN_BACKLOG = 1_024  # connections the kernel holds for accept()
_last_refusal_log = 0.0  # monotonic time of the last "refusing connections" warning


class CappedWebSocket(WebSocket):  # type: ignore[misc]  # gevent-websocket has no type hints
    """gevent-websocket reads a frame whole, however large its header says it is; this
    refuses a message over `max_message` bytes from its header, before reading it, with
    close code 1009 (message too big). It also unmasks and checks UTF-8 at C speed."""

    # no new slots, so that the handler's WebSocket can become one (__class__ assignment);
    # the per-connection state lives in the connection's environ
    __slots__ = ()

    def validate_utf8(self, payload: bytes) -> None:
        """gevent-websocket checks UTF-8 a byte at a time in Python (~0.5 s per 4 MB, twice
        per message, on the event loop). The whole message is decoded strictly anyway
        (`_decode_bytes`, C speed), and invalid UTF-8 still closes with 1007 there."""

    def read_frame(self) -> tuple[Header, bytes]:
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

    @classmethod
    def of(cls, app: object) -> "ConnectionLimits":
        settings: Settings | None = getattr(app, "extensions", {}).get("collab.settings")
        if settings is None:  # not collab's app: the defaults
            return cls()
        return cls(settings.header_timeout, settings.body_timeout, settings.body_min_rate,
                   settings.max_connections_per_address)


def peer_address(client_address: object) -> str:
    """The client address connections are counted by: the socket's peer. Behind a reverse
    proxy that is the proxy's address, so the limit is turned off there (0) and the proxy
    limits; a trusted-proxy setting would take the client from X-Forwarded-For here, which
    can only be known once the headers are read (counting starts at accept)."""
    if isinstance(client_address, tuple) and client_address:
        return str(client_address[0])
    return str(client_address)  # a Unix socket (gunicorn --bind unix:...): one client, the proxy


# open connections per client address, per server: _open[server][address] = count
_open: "weakref.WeakKeyDictionary[object, Counter[str]]" = weakref.WeakKeyDictionary()


def _plain_response(status: str, text: str, *extra: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, for where no app runs."""
    body = (text + "\n").encode("utf-8")
    head = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8", *extra, "Connection: close",
            f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


_TOO_MANY = _plain_response("503 Service Unavailable", "too many open connections from your address",
                            "Retry-After: 10")
_TIMED_OUT = _plain_response("408 Request Timeout", "the request did not arrive in time")


class _TimedBody:
    """What gevent's request body (`Input`) reads through, against a deadline: `body_timeout`
    seconds from the end of the headers plus 1 s per `body_min_rate` bytes received (Apache's
    mod_reqtimeout rule). A client uploading at least that fast never meets it; one that
    declares a body and sends it a byte at a time would otherwise hold its connection, and
    the greenlet reading it, for as long as it likes. Past the deadline the connection is
    shut (no answer reaches the client: `NoDelayHandler.abort`) and the read ends short, so
    the application, or gevent's own discard of an unread body, stops reading."""

    __slots__ = ("_rfile", "_limits", "_start", "_received", "_handler")

    def __init__(self, rfile: BinaryIO, limits: ConnectionLimits, handler: "NoDelayHandler") -> None:
        self._rfile = rfile
        self._limits = limits
        self._start = time.monotonic()
        self._received = 0
        self._handler = handler

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
        counts = _open.setdefault(self.server, Counter())
        if limit and counts[address] >= limit:
            self._refuse(address, limit)
            return
        counts[address] += 1
        try:
            super().handle()
        finally:
            self._disarm()
            counts[address] -= 1
            if counts[address] <= 0:
                del counts[address]

    def _refuse(self, address: str, limit: int) -> None:
        # a flood from one address logs once per second at most, not once per connection
        global _last_refusal_log
        now = time.monotonic()
        if now - _last_refusal_log >= 1.0:
            _last_refusal_log = now
            log.warning("refusing connections from %s: %d open, the limit "
                        "(COLLAB_MAX_CONNECTIONS_PER_ADDRESS)", address, limit)
        try:
            self.socket.sendall(_TOO_MANY)
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
            body.rfile = _TimedBody(body.rfile, self.limits, self)
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

    def upgrade_connection(self) -> list[bytes] | None:
        result: list[bytes] | None = super().upgrade_connection()  # a refusal's body, or None
        ws = self.environ.get("wsgi.websocket")
        if ws is not None:
            self.environ["collab.max_message"] = max_message(self.application)
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


def serve(app: Flask, host: str, port: int) -> None:
    # a listen backlog of 1,024 (gevent's default: 128; the kernel caps it at somaxconn): a
    # burst of connections, a flood's or a reconnecting crowd's, waits in the kernel
    # instead of having its SYNs dropped, which costs an honest client a 1 s retransmit
    server = pywsgi.WSGIServer((host, port), app, backlog=LISTEN_BACKLOG, handler_class=NoDelayHandler,
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
    parser = argparse.ArgumentParser(prog=prog, description="Run the collab server.")
    defaults = Settings.from_env()
    parser.add_argument("--host", default=defaults.host, help="address to listen on (default: COLLAB_HOST, "
                        "else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=defaults.port,
                        help="TCP port (0 picks a free one; default: COLLAB_PORT, else 5000)")
    parser.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL, "
                        "else a SQLite file in the instance folder)")
    args = parser.parse_args(argv)
    config = {"database_url": args.database} if args.database else {}
    serve(create_app(config), args.host, args.port)
