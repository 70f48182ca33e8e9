"""The floor: a bare Flask-SocketIO relay on gevent, no apply, no storage.

    .venv/bin/python -m bench.relay --port 5055

It speaks just enough of collab's wire contract for the load driver: `join` puts the
client in the document's room and answers version 0 and an empty text; `patch` takes a
version number from a per-document counter, acks `{ok, version}` and emits `revision`
to the rest of the room, encoded once by Flask-SocketIO, exactly as collab emits it;
`seen` is ignored. The patch is neither parsed nor applied nor stored, so the relay's
cost per delivery is what Flask-SocketIO, python-socketio and gevent cost by themselves.
Same transport as `run.py` (gevent's WSGI server, TCP_NODELAY), same JSON.
"""
from gevent import monkey

monkey.patch_all()  # first, before anything else is imported

import argparse  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402


class NoDelayHandler(WebSocketHandler):
    """TCP_NODELAY on every connection, as collab.serve does (gevent leaves Nagle on)."""

    def __init__(self, sock, address, server, rfile=None):  # type: ignore[no-untyped-def]
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)


def create_relay() -> Flask:
    app = Flask(__name__)
    sio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*")
    heads: dict[str, int] = {}  # heads[doc] = the last version handed out

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"ok": True}

    @sio.on("join")
    def on_join(msg):  # type: ignore[no-untyped-def]
        join_room(msg["doc"])
        return {"ok": True, "doc": msg["doc"], "version": heads.get(msg["doc"], 0), "text": "",
                "role": "editor", "peers": [], "you": request.sid}

    @sio.on("patch")
    def on_patch(msg):  # type: ignore[no-untyped-def]
        doc = msg["doc"]
        version = heads[doc] = heads.get(doc, 0) + 1  # no yield in between: gevent is cooperative
        sio.emit("revision", {"doc": doc, "version": version, "patch": msg["patch"], "author": "relay",
                              "id": msg["id"], "ts": time.time(), "hash": None},
                 to=doc, skip_sid=request.sid)
        return {"ok": True, "version": version}

    @sio.on("seen")
    def on_seen(msg):  # type: ignore[no-untyped-def]
        return None

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    server = pywsgi.WSGIServer((args.host, args.port), create_relay(), handler_class=NoDelayHandler, log=None)
    print(f"relay serving on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
