"""WSGI entry point for gunicorn, with collab's gevent-websocket worker (docs/deploy.md):

    gunicorn -k collab.serve.GeventWebSocketWorker -w 1 --bind 0.0.0.0:5000 collab.wsgi:app

The worker is gevent-websocket's with collab's connection handler (TCP_NODELAY, WebSocket
messages capped from their header, request header and body deadlines, the per-address
connection limit); one worker per process, since Socket.IO keeps its connections' state there.
"""
from gevent import monkey

monkey.patch_all()  # first, before anything else is imported

from collab import create_app  # noqa: E402

app = create_app()
