"""WSGI entry point for gunicorn, with collab's gevent-websocket worker (docs/deploy.md):

    gunicorn -k collab.serve.GeventWebSocketWorker -w 1 --bind 0.0.0.0:5000 collab.wsgi:app

The worker is gevent-websocket's with collab's connection handler (TCP_NODELAY, WebSocket
messages capped from their header, request header and body deadlines, the per-address
connection limit); one worker per process, since Socket.IO keeps its connections' state there.

A start that cannot go on (a bad setting, a database that cannot be opened or reached, a
queue URL of another scheme) is one line on stderr, `collab.wsgi: ...`, and the worker exits
with APP_LOAD_ERROR: gunicorn's arbiter then stops, exiting with it too, instead of printing
a traceback for every worker it boots.
"""
from gevent import monkey

monkey.patch_all()  # first, before anything else is imported

from flask import Flask  # noqa: E402

from collab import create_app  # noqa: E402
from collab.cli import fail  # noqa: E402
from collab.storage import StoreError  # noqa: E402

APP_LOAD_ERROR = 4  # gunicorn's (gunicorn.arbiter.Arbiter.APP_LOAD_ERROR): "App failed to load", and it halts


def load() -> Flask:
    """The app, or one line and SystemExit(APP_LOAD_ERROR) when it cannot start."""
    try:
        return create_app()
    except (ValueError, OSError, StoreError) as exc:  # what run.py reports so (ConfigError is a ValueError)
        fail("collab.wsgi", exc)
        raise SystemExit(APP_LOAD_ERROR) from None


app = load()
