"""The real server's log and /metrics never name a document (issue 17).

A document's edit id is the capability to edit it, its view token the capability to read
it: the log (stderr, what a log collector ships anywhere) names documents by the first 8
hex digits of the SHA-256 of the id (collab/core/ids.py `log_id`), and /metrics has no
label that names one. The server is started as a user does (run.py), with metrics on, in
both log formats; clients join, write, are refused and leave with ids the test knows.
"""
from __future__ import annotations

import json
import os
import secrets

import pytest
import requests
import socketio

from bench.e2ekit import wait_for
from bench.liveserver import LiveServer
from collab.core.ids import log_id
from collab.core.patches import make_patch

pytestmark = pytest.mark.e2e


def client(url: str, received: list | None = None, transports: tuple[str, ...] = ("websocket",)) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    if received is not None:
        sio.on("revision", received.append)
    sio.connect(url, transports=list(transports), wait_timeout=20)
    return sio


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_log_line_and_no_metric_names_a_document(tmp_path, log_format):
    doc, other, gone = "t-" + secrets.token_hex(8), "u-" + secrets.token_hex(8), "g-" + secrets.token_hex(8)
    env = {**os.environ, "COLLAB_METRICS": "1", "COLLAB_LOG_FORMAT": log_format, "COLLAB_LOG_LEVEL": "INFO"}
    server = LiveServer(tmp_path, env=env)
    server.start()
    received: list = []
    try:
        # the browser names the document in the Socket.IO URL (for a proxy's routing); over
        # long polling every request carries it
        author = client(f"{server.url}?doc={doc}")
        editor = client(f"{server.url}?doc={doc}", received, transports=("polling",))
        watcher = client(server.url, received)
        joined = author.call("join", {"doc": doc, "name": "Ann"}, timeout=20)
        view = joined["view"]
        assert editor.call("join", {"doc": doc}, timeout=20)["ok"]
        assert watcher.call("join", {"doc": doc}, timeout=20)["ok"]
        ack = author.call("patch", {"doc": doc, "base": 0, "patch": make_patch("", "hi"), "id": "op-1"}, timeout=20)
        assert ack["ok"]
        # refusals whose messages quote the id the client sent
        assert author.call("patch", {"doc": other, "base": 0, "patch": "", "id": "op-2"},
                           timeout=20)["error"]["code"] == "not_joined"
        viewer = client(server.url)
        assert viewer.call("join", {"view": view}, timeout=20)["role"] == "viewer"
        assert viewer.call("patch", {"doc": view, "base": 1, "patch": make_patch("hi", "ho"), "id": "op-3"},
                           timeout=20)["error"]["code"] == "read_only"
        assert author.call("join", {"view": "no-such-token-" + doc}, timeout=20)["ok"] is False
        wait_for(lambda: len(received) == 2, 20, "the revision at the other editors")
        for path in (f"/d/{doc}", f"/v/{view}", f"/d/{doc}/history", f"/api/docs/{doc}", f"/api/docs/{other}",
                     f"/api/docs/{doc}/revisions?since=0"):
            assert requests.get(server.url + path, timeout=10).status_code in (200, 404), path
        # a document deleted while an editor has it open (the service and the namespace log it)
        assert watcher.call("join", {"doc": gone}, timeout=20)["ok"]
        assert requests.delete(f"{server.url}/api/docs/{gone}", timeout=10).status_code == 200
        metrics = requests.get(server.url + "/metrics", timeout=10)
        assert metrics.status_code == 200
        for c in (author, editor, watcher, viewer):
            c.call("leave", {"doc": view if c is viewer else doc}, timeout=20)
            c.disconnect()
    finally:
        server.stop()
    text = metrics.text
    assert "collab_patches_accepted_total 1.0" in text
    # one of the other editors is on long polling (not counted), the viewer joined after it
    assert "collab_deliveries_total 1.0" in text
    assert 'collab_errors_total{code="not_joined"} 1.0' in text and 'collab_errors_total{code="read_only"} 1.0' in text
    log = "\n".join(line for line in server.log_text().splitlines() if not line.startswith("===== start"))
    for secret in (doc, other, gone, view, doc[2:], view[:12]):
        assert secret not in log and secret not in text, secret
    for line in ("join", "leave", "not_joined", "read_only", "deleted"):
        assert line in log, (line, log)
    assert log_id(doc) in log and log_id(other) in log and log_id(view) in log
    if log_format == "json":
        records = [json.loads(line) for line in log.splitlines() if line.strip()]
        joins = [r for r in records if r["logger"] == "collab.realtime" and r["message"].startswith("join doc=")]
        assert len(joins) == 5 and all(r["level"] == "INFO" and r["time"] for r in joins)
