"""Per-document permissions across processes (issue 14): two server processes on one
PostgreSQL database and one Redis queue, local accounts on. The owner changes the access on
process 0; a guest editing by the edit link on process 1 is made read-only there at once
(`role`), and then taken out of the document (`gone`, `sign_in_required`), through the queue.
Needs PostgreSQL and redis-server (skipped with the reason when absent, failed under CI=true)."""
from __future__ import annotations

import os
import secrets
import shutil
import time
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from bench.e2ekit import SYNC_TIMEOUT
from bench.liveserver import LiveServer, RedisServer
from collab.core.patches import make_patch
from skips import missing

pytestmark = pytest.mark.e2e


def next_event(client: Any, name: str) -> Any:
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:  # skip presence and the like
        event, *args = client.receive(timeout=max(0.1, deadline - time.monotonic()))
        if event == name:
            return args[0]


def test_an_access_change_on_one_process_reaches_the_clients_of_another(tmp_path, pg_url):
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    import socketio

    with ExitStack() as stack, requests.Session() as owner:
        redis = stack.enter_context(RedisServer(tmp_path / "redis"))
        env = {**os.environ, "COLLAB_MESSAGE_QUEUE": redis.url, "COLLAB_SIGN_IN": "local", "COLLAB_SIGN_UP": "1",
               "COLLAB_SECRET_KEY": secrets.token_hex(32)}
        p0, p1 = (stack.enter_context(LiveServer(tmp_path / f"p{i}", database_url=pg_url, env=env)) for i in range(2))
        r = owner.post(f"{p0.url}/api/signup", json={"email": "olga@example.org", "name": "Olga",
                                                     "password": "a long enough password"}, timeout=10)
        assert r.status_code == 201, r.text
        doc = owner.post(f"{p0.url}/api/docs", json={"text": "hi"}, timeout=10).json()["doc"]
        guest = socketio.SimpleClient()
        guest.connect(p1.url, transports=["websocket"])
        stack.callback(guest.disconnect)
        assert guest.call("join", {"doc": doc, "name": "Gus"}, timeout=SYNC_TIMEOUT)["role"] == "editor"

        assert owner.put(f"{p0.url}/api/docs/{doc}/access", json={"edit": "invited"}, timeout=10).status_code == 200
        assert next_event(guest, "role") == {"doc": doc, "role": "viewer"}
        ack = guest.call("patch", {"doc": doc, "base": 1, "patch": make_patch("hi", "hi!"), "id": "g-1"},
                         timeout=SYNC_TIMEOUT)
        assert ack["error"]["code"] == "read_only", ack

        assert owner.put(f"{p0.url}/api/docs/{doc}/access", json={"view": "invited"}, timeout=10).status_code == 200
        gone = next_event(guest, "gone")
        assert gone["doc"] == doc and gone["error"]["code"] == "sign_in_required"
        assert "Olga" not in str(gone)
        assert guest.call("join", {"doc": doc}, timeout=SYNC_TIMEOUT)["error"]["code"] == "sign_in_required"
        assert requests.get(f"{p1.url}/api/docs/{doc}", timeout=10).status_code == 401
        assert owner.get(f"{p1.url}/api/docs/{doc}", timeout=10).json()["text"] == "hi"  # the owner, on the other process
