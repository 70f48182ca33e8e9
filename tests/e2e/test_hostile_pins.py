"""What one client address can pin in memory by joining documents (issue 13, item 2 again).

A joined document is never dropped from memory (it would get two states). So one client
that joined document after document and filled each made the server hold all of them:
RSS 58 -> 241 MB with COLLAB_MAX_OPEN_BYTES at 5 MB. Joins are now refused, `unavailable`
with `retry_after`, past COLLAB_MAX_JOINED_PER_ADDRESS documents or once the documents an
address has joined hold COLLAB_MAX_PINNED_PER_ADDRESS code points; a document with
members is still never evicted. In-process tests for the rules, one end-to-end test for
the memory figure (printed, not asserted).
"""
from __future__ import annotations

import json
import os
import re

import pytest
import socketio

from collab.core.patches import make_patch
from bench.liveserver import LiveServer
from bench.probes import read_until, ws_frame, ws_open
from test_hostile_transport import rss_mb


def join(client, doc):
    return client.emit("join", {"doc": doc}, callback=True)


def test_joins_past_the_documents_per_address_are_refused_and_create_nothing(make_app, doc_id):
    """COLLAB_MAX_JOINED_PER_ADDRESS=3: three documents joined from one address (over two
    connections, one document by both); the fourth is refused `unavailable` naming the
    setting, and is not created. Joining again one it has is fine; once one is left (or
    its connection gone), the fourth is joined."""
    app = make_app(max_joined_per_address=3)
    service = app.extensions["collab"]
    sio = app.extensions["socketio"]
    a, b = sio.test_client(app), sio.test_client(app)
    docs = [f"{doc_id}-{k}" for k in range(4)]
    assert all(join(a, d)["ok"] for d in docs[:2])
    assert join(b, docs[0])["ok"] and join(b, docs[2])["ok"]
    refused = join(b, docs[3])
    assert refused["ok"] is False and refused["error"]["code"] == "unavailable", refused
    assert "COLLAB_MAX_JOINED_PER_ADDRESS" in refused["error"]["message"] and refused["error"]["retry_after"] > 0
    assert service.store.get_document(docs[3]) is None  # refused before anything was created
    assert join(a, docs[2])["ok"]  # a document the address has joined already
    assert join(a, docs[0])["ok"]  # joined again on the same connection
    assert a.emit("leave", {"doc": docs[1]}, callback=True)["ok"]
    assert join(b, docs[3])["ok"]
    assert join(a, docs[1])["error"]["code"] == "unavailable"
    b.disconnect()  # docs 0 (still a's), 2 (still a's), 3: one slot comes back
    assert join(a, docs[1])["ok"]
    a.disconnect()


def test_joins_stop_once_the_address_pins_its_code_points_and_nothing_joined_is_evicted(make_app, doc_id):
    """COLLAB_MAX_PINNED_PER_ADDRESS=1,000,000 and COLLAB_MAX_OPEN_BYTES=500,000: one client
    joins documents and fills each with 300,000 characters. Joins are refused once what it
    has joined holds 1,000,000 code points; every document it joined stays in memory,
    whatever the open-bytes bound says, and keeps its text."""
    app = make_app(max_pinned_per_address=1_000_000, max_open_bytes=500_000)
    service = app.extensions["collab"]
    c = app.extensions["socketio"].test_client(app)
    joined, refused = [], None
    for k in range(10):
        d = f"{doc_id}-{k}"
        ack = join(c, d)
        if not ack["ok"]:
            refused = ack
            break
        joined.append(d)
        text = chr(ord("a") + k) * 300_000
        assert c.emit("patch", {"doc": d, "base": 0, "patch": make_patch("", text), "id": f"fill-{k}"},
                      callback=True)["ok"]
    assert refused is not None, "10 documents of 300,000 characters joined: nothing bounds what one address pins"
    assert refused["error"]["code"] == "unavailable" and "COLLAB_MAX_PINNED_PER_ADDRESS" in refused["error"]["message"]
    sizes = [service._docs[d].size for d in joined]
    print(f"\n{len(joined)} documents joined, holding {sum(sizes):,} code points; the next refused")
    assert sum(sizes[:-1]) < 1_000_000 <= sum(sizes)  # refused as soon as the bound was reached, not before
    for k, d in enumerate(joined):
        assert d in service._docs and service._docs[d].pins == 1
        assert c.emit("sync", {"doc": d, "since": 0}, callback=True)["version"] == 1
    assert service.open_bytes() > 500_000  # over the bound: pinned documents are never dropped
    c.disconnect()
    assert all(service._docs[d].pins == 0 for d in joined if d in service._docs)


def _join_raw(port: int, source: str, doc: str) -> dict:
    """Join `doc` over a raw WebSocket from the loopback address `source`; the join's ack."""
    s = ws_open(port, source=source, confirm=True)
    try:
        s.sendall(ws_frame(b'421["join",{"doc":"' + doc.encode() + b'"}]'))
        answer: list[bytes] = []
        got = read_until(s, lambda op, data: data.startswith(b"431[") and not answer.append(data), timeout=30)
        assert got is True, got
        return json.loads(answer[0][3:])[0]
    finally:
        s.close()


@pytest.mark.e2e
def test_one_address_filling_documents_cannot_fill_the_server(tmp_path, doc_id):
    """COLLAB_MAX_OPEN_BYTES=5,000,000, the other settings at their defaults: one client joins
    30 documents and fills each with 4,000,000 characters (the document limit). It is
    refused once its documents hold 32 Mi code points; the server's RSS is printed (before
    the bound: 59 -> 216 MB, all 30 joined). Another address still joins."""
    env = {"COLLAB_MAX_OPEN_BYTES": "5000000"}
    with LiveServer(tmp_path, env={**os.environ, **env}, start_timeout=60) as server:
        rss = [rss_mb(server)]
        sio = socketio.Client(reconnection=False)
        sio.connect(server.url, transports=["websocket"], wait_timeout=20)
        filled, refused = 0, None
        n = 4_000_000
        patch = f"@@ -0,0 +1,{n} @@\n+" + "a" * n + "\n"
        for k in range(30):
            d = f"{doc_id}-{k}"
            ack = sio.call("join", {"doc": d}, timeout=60)
            if not ack["ok"]:
                refused = ack
                break
            ack = sio.call("patch", {"doc": d, "base": 0, "patch": patch, "id": f"fill-{k}"}, timeout=120)
            assert ack["ok"], ack
            filled += 1
        rss.append(rss_mb(server))
        other = _join_raw(server.port, "127.0.0.2", doc_id + "-other")
        sio.disconnect()
    print(f"\n{filled} documents of {n:,} characters joined and filled by one address, then "
          f"{refused['error']['code'] if refused else 'no refusal'}; server RSS {rss[0]:.0f} -> {rss[1]:.0f} MB")
    assert refused is not None and refused["error"]["code"] == "unavailable", refused
    assert re.search(r"COLLAB_MAX_PINNED_PER_ADDRESS", refused["error"]["message"])
    assert 0 < filled < 30
    assert other["ok"], other
