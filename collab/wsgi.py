"""WSGI entry point for gunicorn's gevent-websocket worker:

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 collab.wsgi:app
"""
from gevent import monkey

monkey.patch_all()  # first, before anything else is imported

from collab import create_app  # noqa: E402

app = create_app()
