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
from typing import Sequence

from gevent import pywsgi
from geventwebsocket.handler import WebSocketHandler

from . import create_app

log = logging.getLogger("collab.serve")


class NoDelayHandler(WebSocketHandler):
    def __init__(self, sock, address, server, rfile=None):  # type: ignore[no-untyped-def]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)


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
