"""Faults: crashes at every point of the write path, failing writes, bad networks, pipelining,
joins under load and corrupt stored data. The real server (run.py, see liveserver.py) and real
clients over real sockets, except where the in-process app is enough.

Every count asserted here is also a figure in docs/reliability.md. The 20-round kill -9 soak
on SQLite and PostgreSQL is bench/soak.py (`make soak`); this file runs a short version.
No assertion depends on timing: waits have deadlines, figures are printed, not asserted.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
import socketio

from collab.client.document import Document
from collab.core.patches import make_patch, text_hash
from bench.e2ekit import SYNC_TIMEOUT, Proxy, kill9_rounds, replay_history, run_threads, settle, wait_for
from bench.liveserver import REPO_ROOT, LiveServer

pytestmark = [
    pytest.mark.e2e,
    # after a kill -9, python-socketio's client leaves its dead socket for the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def raw_client(url: str) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    sio.connect(url, transports=["websocket"], wait_timeout=20)
    return sio


def call(sio: socketio.Client, event: str, data: dict) -> dict:
    return sio.call(event, data, timeout=30)


def server_text(url: str, doc: str) -> dict:
    r = requests.get(f"{url}/api/docs/{doc}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


# -- crashes -------------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["disk", "process"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill9_rounds_short(request, tmp_path, doc_id, backend, durability):
    """5 clients type; the server is SIGKILLed at random moments and restarted, 3 rounds
    (bench/soak.py runs 20 on SQLite and on PostgreSQL). On PostgreSQL the five clients
    rejoining at once load the document concurrently (loading yields there): this once
    made two states for one document and stored revisions that did not chain."""
    database = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    env = {**os.environ, "COLLAB_DURABILITY": durability}
    with LiveServer(tmp_path, database_url=database, env=env) as server:
        result = kill9_rounds(server, doc_id, clients=5, rounds=3)
        print("kill9_rounds", result)
        assert result["tokens_typed"] > 50 and result["acked_versions"] > 10, result
        for key in ("acked_versions_changed", "tokens_lost", "tokens_applied_twice", "op_ids_applied_twice",
                    "history_gaps", "replay_differs", "divergent_clients"):
            assert result[key] == 0, (key, result)
        with requests.Session() as http:
            replay_history(http, server.url, doc_id, check_versions=False)


@pytest.mark.parametrize("point", ["applied", "committed"])
def test_crash_point_then_resend_applies_exactly_once(tmp_path, doc_id, point):
    """COLLAB_TEST_FAULT kills the server at the 3rd revision: between apply and commit
    (`applied`: the revision was never durable) or between commit and ack (`committed`: it is
    durable, the author never heard). The author resends the same op id after the restart:
    `applied` -> applied now, once, as version 3; `committed` -> acknowledged as a duplicate
    with its original version 3. Either way the op id is in the history exactly once."""
    env = {**os.environ, "COLLAB_TEST_FAULT": f"{point}:3"}
    server = LiveServer(tmp_path, env=env)
    server.start()
    try:
        observer = raw_client(server.url)
        author = raw_client(server.url)
        assert call(author, "join", {"doc": doc_id, "name": "author"})["ok"]
        assert call(observer, "join", {"doc": doc_id, "name": "observer"})["ok"]
        seen: list[dict] = []
        observer.on("revision", seen.append)
        text = ""
        for v in (1, 2):
            ack = call(author, "patch", {"doc": doc_id, "base": v - 1, "patch": make_patch(text, text + f"{v};"),
                                         "id": f"op-{v}"})
            assert ack["ok"] and ack["version"] == v, ack
            text += f"{v};"
        third = {"doc": doc_id, "base": 2, "patch": make_patch(text, text + "3;"), "id": "op-3"}
        acks: list[dict] = []
        author.emit("patch", third, callback=lambda a: acks.append(a))
        assert server.proc is not None
        assert server.proc.wait(timeout=SYNC_TIMEOUT) == 86, "the fault hook did not crash the server"
        assert acks == [], "the author heard an ack from a crashed write"
        assert [r["version"] for r in seen if r["id"] == "op-3"] == [], "a revision was broadcast before the crash"
        for c in (author, observer):
            c.disconnect()
        server.kill9()  # reap the dead process
        server.env.pop("COLLAB_TEST_FAULT")
        server.start()
        stored = server_text(server.url, doc_id)
        assert stored["version"] == (2 if point == "applied" else 3), stored
        author = raw_client(server.url)
        assert call(author, "join", {"doc": doc_id})["ok"]
        again = call(author, "patch", third)
        assert again["ok"] and again["version"] == 3 and again["hash"] == text_hash("1;2;3;"), again
        assert bool(again.get("duplicate")) is (point == "committed"), again
        twice = call(author, "patch", third)  # and once more: still the same answer, nothing new
        assert twice["ok"] and twice["duplicate"] and twice["version"] == 3, twice
        author.disconnect()
        with requests.Session() as http:
            texts = replay_history(http, server.url, doc_id)
        assert texts[-1] == "1;2;3;"
        revs = requests.get(f"{server.url}/api/docs/{doc_id}/revisions", timeout=10).json()["revisions"]
        assert [r["id"] for r in revs] == ["op-1", "op-2", "op-3"]
    finally:
        server.stop()
        print(f"server log {server.log_path}:\n{server.log_tail()}")


def test_crash_between_commit_and_ack_with_the_real_client(tmp_path, doc_id):
    """The Python client types through a crash after commit and before the ack; after the
    restart it resends by itself: every token once, in order."""
    server = LiveServer(tmp_path, env={**os.environ, "COLLAB_TEST_FAULT": "committed:10"})
    server.start()
    typed: list[str] = []
    stop = threading.Event()
    with Document.open(server.url, doc_id, name="typist", timeout=20) as doc:
        def type_tokens() -> None:
            k = 0
            while not stop.is_set():
                with doc.editing():
                    doc.insert(len(doc.text), f"{k};")
                    typed.append(f"{k};")
                k += 1
                time.sleep(0.01)  # pacing, not a wait for correctness
        t = threading.Thread(target=type_tokens)
        t.start()
        try:
            assert server.proc is not None
            assert server.proc.wait(timeout=SYNC_TIMEOUT) == 86
            server.kill9()
            server.env.pop("COLLAB_TEST_FAULT")
            server.start()
            n = len(typed)
            wait_for(lambda: len(typed) > n + 20, SYNC_TIMEOUT, "typing after the restart")
        finally:
            stop.set()
            t.join()
        try:
            with requests.Session() as http:
                final = settle([doc], http, server.url, doc_id)
                assert final["text"] == "".join(typed)
                replay_history(http, server.url, doc_id, check_versions=False)
        finally:
            server.stop()


# -- failing writes --------------------------------------------------------------------------


def test_failing_write_changes_nothing_and_the_next_patch_gets_the_next_version(make_app, connect, doc_id,
                                                                                tmp_path):
    """Another process holds the SQLite database (the write times out, as with a full disk
    or a locked file): every patch of the batch gets `internal`, nobody receives a revision,
    the head stays; afterwards a new patch gets the next version and one broadcast."""
    app = make_app(database_url=f"sqlite:///{tmp_path}/locked.db?timeout=0.1")
    a, b, v = connect(app), connect(app), connect(app)
    ack = a.emit("join", {"doc": doc_id}, callback=True)
    b.emit("join", {"doc": doc_id}, callback=True)
    v.emit("join", {"view": ack["view"]}, callback=True)
    assert a.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "one"), "id": "f1"},
                  callback=True)["version"] == 1
    b.get_received(), v.get_received()
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    failed = [a.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("one", f"one {w}"), "id": f"x{w}"},
                     callback=True) for w in ("two", "three")]
    assert [f["error"]["code"] for f in failed] == ["internal", "internal"], failed
    blocker.execute("ROLLBACK")
    blocker.close()
    assert [e for e in b.get_received() + v.get_received() if e["name"] == "revision"] == []
    after = a.emit("join", {"doc": doc_id}, callback=True)
    assert after["version"] == 1 and after["text"] == "one"
    nxt = a.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("one", "one four"), "id": "f4"},
                 callback=True)
    assert nxt["ok"] and nxt["version"] == 2 and "duplicate" not in nxt, nxt
    revs = [e["args"][0] for e in b.get_received() if e["name"] == "revision"]
    assert [(r["version"], r["id"]) for r in revs] == [(2, "f4")]
    http = app.test_client()
    assert [r["id"] for r in http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]] == ["f1", "f4"]


# -- networks ----------------------------------------------------------------------------------


def _type_through(proxy_url: str, direct_url: str, doc_id: str, cut: float, hold_both: bool,
                  proxy: Proxy, drop: bool = False) -> tuple[list[str], float]:
    """A typist behind `proxy` keeps typing while the network is silent for `cut` seconds
    (then released, or cut with `drop`); an observer connects directly. Returns what was
    typed and how long the typist needed to be confirmed again after the network came back."""
    typed: list[str] = []
    stop = threading.Event()
    with ExitStack() as stack, requests.Session() as http:
        typist = stack.enter_context(Document.open(proxy_url, doc_id, name="typist", timeout=20))
        observer = stack.enter_context(Document.open(direct_url, doc_id, name="observer", timeout=20))

        def type_tokens() -> None:
            k = 0
            while not stop.is_set():
                with typist.editing():
                    typist.insert(len(typist.text), f"{k};")
                    typed.append(f"{k};")
                k += 1
                time.sleep(0.02)  # ~50 keys a second: pacing, not a wait for correctness
        t = threading.Thread(target=type_tokens)
        t.start()
        try:
            wait_for(lambda: typist.version >= 20, SYNC_TIMEOUT, "typing before the cut")
            proxy.hold(both=hold_both)
            time.sleep(cut)  # the length of the outage is the fault itself
            at = time.monotonic()
            if drop:
                proxy.cut()
            else:
                proxy.release()
            n = len(typed)
            wait_for(lambda: len(typed) > n + 20, SYNC_TIMEOUT, "typing after the cut")
        finally:
            stop.set()
            t.join()
        typist.wait_synced(SYNC_TIMEOUT)
        recovered = time.monotonic() - at
        server = settle([typist, observer], http, direct_url, doc_id)
        assert server["text"] == "".join(typed), "a token was lost, doubled or reordered"
        replay_history(http, direct_url, doc_id, check_versions=False)
    return typed, recovered


def test_client_cut_off_for_5_s_while_typing(live_server, doc_id):
    """The network goes silent both ways for 5 s (less than the default ping timeout):
    nothing is lost, nothing doubled."""
    with Proxy(live_server.port) as proxy:
        typed, recovered = _type_through(proxy.url, live_server.url, doc_id, 5.0, True, proxy)
    print(f"cut 5 s: {len(typed)} tokens, confirmed again {recovered:.2f} s after the network came back")


def test_client_cut_off_longer_than_the_ping_timeout(tmp_path, doc_id):
    """Ping interval 1 s and timeout 1 s; the network goes silent for 6 s: both ends drop
    the connection, the client reconnects, resends its in-flight patch and its unsent text."""
    env = {**os.environ, "COLLAB_PING_INTERVAL": "1", "COLLAB_PING_TIMEOUT": "1"}
    with LiveServer(tmp_path, env=env) as server, Proxy(server.port) as proxy:
        typed, recovered = _type_through(proxy.url, server.url, doc_id, 6.0, True, proxy)
        log = server.log_text()
    print(f"cut 6 s (> ping 1+1 s): {len(typed)} tokens, confirmed again {recovered:.2f} s later")
    assert "leave doc=" in log, "the server never noticed the silent client: the test did not test a timeout"


def test_lost_acks_then_connection_drops(live_server, doc_id):
    """Everything the server sends is lost for 2 s (acks included), then the connection
    breaks: the client resends its in-flight patch with the same op id; the server answers
    it as a duplicate; nothing is applied twice."""
    with Proxy(live_server.port) as proxy:
        typed, _ = _type_through(proxy.url, live_server.url, doc_id, 2.0, False, proxy, drop=True)
    assert "duplicate" in live_server.log_text() or typed  # the counts are in the settle assertion


def test_pipelining_many_patches_without_waiting_for_acks(live_server, doc_id):
    """A raw Socket.IO client sends 300 patches without waiting for any ack, all against
    the same base (each in its own slot): all are applied once, acks carry distinct
    consecutive versions, and an observer ends with the same text."""
    n = 300
    slots = "".join(f"[{i}:]\n" for i in range(n))
    sio = raw_client(live_server.url)
    try:
        assert call(sio, "join", {"doc": doc_id})["ok"]
        assert call(sio, "patch", {"doc": doc_id, "base": 0, "patch": make_patch("", slots), "id": "slots"})["ok"]
        acks: dict[int, dict] = {}
        done = threading.Event()

        def on_ack(i: int):
            def cb(ack: dict) -> None:
                acks[i] = ack
                if len(acks) == n:
                    done.set()
            return cb

        for i in range(n):
            new = slots.replace(f"[{i}:]", f"[{i}:x{i}]")
            sio.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch(slots, new), "id": f"pipe-{i}"},
                     callback=on_ack(i))
        assert done.wait(SYNC_TIMEOUT), f"only {len(acks)} of {n} acks arrived"
        bad = {i: a for i, a in acks.items() if not a.get("ok")}
        assert bad == {}, list(bad.items())[:3]
        assert sorted(a["version"] for a in acks.values()) == list(range(2, n + 2))
        # chained bases: each patch made on top of the previous one, still without waiting
        text, base = server_text(live_server.url, doc_id)["text"], n + 1
        chained: dict[int, dict] = {}
        for i in range(100):
            new = text + f"c{i};"
            sio.emit("patch", {"doc": doc_id, "base": base + i, "patch": make_patch(text, new), "id": f"chain-{i}"},
                     callback=lambda ack, i=i: chained.__setitem__(i, ack))
            text = new
        wait_for(lambda: len(chained) == 100, SYNC_TIMEOUT, "100 chained acks")
        assert [chained[i].get("version") for i in range(100)] == list(range(base + 1, base + 101)), \
            [chained[i] for i in range(100) if not chained[i].get("ok")][:3]
    finally:
        sio.disconnect()
    expected = "".join(f"[{i}:x{i}]\n" for i in range(n)) + "".join(f"c{i};" for i in range(100))
    with requests.Session() as http:
        texts = replay_history(http, live_server.url, doc_id, check_versions=False)
    assert texts[-1] == expected


def test_100_joins_during_heavy_editing_see_exactly_their_version(live_server, doc_id):
    """3 typists edit as fast as they can while 100 fresh connections join one after another
    (4 at a time): each join's text is exactly the stored text of the version it was given."""
    stop = threading.Event()
    joins: list[tuple[int, str]] = []

    with ExitStack() as stack, requests.Session() as http:
        typists = [stack.enter_context(Document.open(live_server.url, doc_id, name=f"t{i}", timeout=20))
                   for i in range(3)]

        def type_tokens(d: Document, i: int):
            def run() -> None:
                k = 0
                while not stop.is_set():
                    with d.editing():
                        pos = (k * 7919) % (len(d.text) + 1)
                        d.insert(pos, f"<{i}.{k}>")
                    k += 1
                    time.sleep(0.002)  # pacing, not a wait for correctness
            return run

        def joiner() -> None:
            for _ in range(25):
                sio = raw_client(live_server.url)
                try:
                    ack = call(sio, "join", {"doc": doc_id, "name": "joiner"})
                    assert ack["ok"], ack
                    joins.append((ack["version"], ack["text"]))
                finally:
                    sio.disconnect()

        threads = [threading.Thread(target=type_tokens(d, i)) for i, d in enumerate(typists)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: typists[0].version > 20, SYNC_TIMEOUT, "editing under way")
            run_threads([joiner] * 4, SYNC_TIMEOUT * 2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        settle(typists, http, live_server.url, doc_id)
        texts = replay_history(http, live_server.url, doc_id, check_versions=False)
    assert len(joins) == 100
    versions = sorted({v for v, _ in joins})
    print(f"100 joins saw {len(versions)} distinct versions between {versions[0]} and {versions[-1]}")
    assert len(versions) > 10, "the joins did not happen during editing"
    mismatched = [v for v, text in joins if texts[v] != text]
    assert mismatched == []


# -- corrupt data -----------------------------------------------------------------------------


def test_corrupt_document_reports_doc_corrupt_and_check_finds_it(tmp_path):
    """Tamper one document's stored revision in SQLite: the server stays up, that document
    answers `doc_corrupt` (socket and HTTP), the others work, `collab check` exits 1 naming it."""
    bad, good = "corrupt-doc", "healthy-doc"
    server = LiveServer(tmp_path)
    with server:
        for doc in (bad, good):
            with Document.open(server.url, doc, timeout=20) as d:
                for k in range(5):
                    d.insert(len(d.text), f"{doc} line {k}\n")
                d.wait_synced(SYNC_TIMEOUT)
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    changed = db.execute("UPDATE revisions SET patch = ? WHERE doc = ? AND version = 1",
                         ("@@ -1,3 +1,3 @@\n-zzz\n+yyy\n", bad)).rowcount
    db.close()
    assert changed == 1
    with server:
        sio = raw_client(server.url)
        try:
            ack = call(sio, "join", {"doc": bad})
            assert ack["ok"] is False and ack["error"]["code"] == "doc_corrupt", ack
            ok = call(sio, "join", {"doc": good})
            assert ok["ok"] and ok["text"].count("line") == 5
            assert call(sio, "patch", {"doc": good, "base": ok["version"], "id": "after-corrupt",
                                       "patch": make_patch(ok["text"], ok["text"] + "!")})["version"] == ok["version"] + 1
        finally:
            sio.disconnect()
        r = requests.get(f"{server.url}/api/docs/{bad}/versions/1", timeout=10)
        assert r.status_code == 500 and r.json()["error"]["code"] == "doc_corrupt", r.text
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        check = subprocess.run([str(Path(sys.executable).parent / "collab"), "check", "--database", server.database_url],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1, check
    assert f"CORRUPT {bad}:" in check.stdout and good not in check.stdout, check.stdout
