"""End to end: the real server (run.py in a subprocess, see liveserver.py) and real
Python clients (collab.client.Document) over real sockets.

- seeded random concurrent editing by several clients converges, and the stored history
  replays to every `/versions/<v>`;
- clients editing disjoint regions lose nothing;
- a real editing trace replayed through one client reproduces its final text;
- kill -9 of the server mid-typing and a restart lose no acknowledged edit and apply
  none twice.

Every wait has a deadline; no assertion depends on timing. COLLAB_E2E_SEED picks the seed
(default below); the seed is in the failure message of a convergence check.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Callable

import pytest
import requests
import socketio

from collab.client.document import Document
from collab.core.patches import make_patch, text_hash
from bench.e2ekit import PIECES, SEED, SYNC_TIMEOUT, Proxy, replay_history, run_threads, settle, wait_for
from bench.liveserver import REPO_ROOT, LiveServer

pytestmark = pytest.mark.e2e

TRACES = REPO_ROOT.parent / "shared" / "traces"
CI = os.environ.get("CI", "").lower() == "true"
KILL_ROUNDS = ("mid-typing", "ack lost", "mid-typing")  # kill -9 + restart, see the test


def open_clients(stack: ExitStack, url: str, doc: str, n: int) -> list[Document]:
    return [stack.enter_context(Document.open(url, doc, name=f"c{i}", timeout=20)) for i in range(n)]


# -- tests ------------------------------------------------------------------------------


def test_random_concurrent_editing_converges(live_server: LiveServer, doc_id: str) -> None:
    """5 clients x 200 seeded random inserts, deletes and replaces at once."""
    n_clients, n_ops = 5, 200

    def typist(doc: Document, rng: random.Random) -> Callable[[], None]:
        def run() -> None:
            for _ in range(n_ops):
                with doc.editing():  # read the text and edit it with no revision in between
                    text = doc.text
                    kind = rng.random()
                    pos = rng.randint(0, len(text))
                    if kind < 0.55 or not text:
                        doc.insert(pos, "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3))))
                    else:
                        pos = min(pos, len(text) - 1)
                        length = rng.randint(1, min(6, len(text) - pos))
                        if kind < 0.8:
                            doc.delete(pos, length)
                        else:
                            doc.replace(pos, length, rng.choice(PIECES))
                if rng.random() < 0.5:
                    time.sleep(rng.random() * 0.01)  # pacing, so that patches interleave
        return run

    with ExitStack() as stack, requests.Session() as http:
        clients = open_clients(stack, live_server.url, doc_id, n_clients)
        run_threads([typist(c, random.Random(f"{SEED}-{i}")) for i, c in enumerate(clients)], SYNC_TIMEOUT)
        server = settle(clients, http, live_server.url, doc_id)
        texts = replay_history(http, live_server.url, doc_id)
        assert texts[-1] == server["text"]
        assert server["version"] >= n_clients, "too few revisions to have tested anything"


def test_disjoint_regions_lose_nothing(live_server: LiveServer, doc_id: str) -> None:
    """Each client appends its own tokens inside its own region; every token survives once,
    in its client's order, and nothing else changes."""
    n_clients, n_tokens = 5, 80

    def region(i: int, tokens: list[str]) -> str:
        return f"<{i}>\n" + "".join(tokens) + f"</{i}>\n"

    with ExitStack() as stack, requests.Session() as http:
        clients = open_clients(stack, live_server.url, doc_id, n_clients)
        clients[0].insert(0, "".join(region(i, []) for i in range(n_clients)))
        for c in clients:
            wait_for(lambda: c.version >= 1, SYNC_TIMEOUT, f"client {c.name} receiving the skeleton")

        typed: list[list[str]] = [[] for _ in range(n_clients)]

        def typist(i: int, doc: Document, rng: random.Random) -> Callable[[], None]:
            def run() -> None:
                for k in range(n_tokens):
                    token = f"[{i}.{k}{rng.choice(PIECES)}]"
                    with doc.editing():
                        end = doc.text.index(f"</{i}>")
                        doc.insert(end, token)
                    typed[i].append(token)
                    if rng.random() < 0.5:
                        time.sleep(rng.random() * 0.01)  # pacing, so that patches interleave
            return run

        run_threads([typist(i, c, random.Random(f"{SEED}-region-{i}")) for i, c in enumerate(clients)],
                    SYNC_TIMEOUT)
        server = settle(clients, http, live_server.url, doc_id)
        expected = [region(i, typed[i]) for i in range(n_clients)]
        assert server["text"] == "".join(expected)
        replay_history(http, live_server.url, doc_id, check_versions=False)


def test_editing_trace_replays_exactly(live_server: LiveServer, doc_id: str) -> None:
    """josephg/editing-traces seph-blog1 (CC BY 4.0, Joseph Gentle) typed through one client
    as fast as it goes; the client batches while a patch is in flight."""
    path = TRACES / "seph-blog1.json.gz"
    if not path.exists():
        reason = f"editing trace {path} is missing (the shared traces folder sits next to the repository)"
        if CI:
            pytest.fail(reason + "; CI=true: a missing trace is a failure")
        pytest.skip(reason)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        trace = json.load(f)
    assert trace["startContent"] == ""

    with ExitStack() as stack, requests.Session() as http:
        (doc,) = open_clients(stack, live_server.url, doc_id, 1)
        for n, txn in enumerate(trace["txns"]):
            for pos, deleted, inserted in txn["patches"]:
                doc.replace(pos, deleted, inserted)
            if n % 8 == 0:
                # not a wait: let the client's socket thread take the lock it shares with
                # this loop (threading locks are not fair; without this, acks wait behind
                # thousands of edits and the whole trace goes in a dozen huge patches)
                time.sleep(0)
        assert doc.text == trace["endContent"]
        server = settle([doc], http, live_server.url, doc_id)
        assert server["text"] == trace["endContent"]
        texts = replay_history(http, live_server.url, doc_id, check_versions=False)
        assert texts[-1] == trace["endContent"]


def test_kill9_mid_typing_loses_no_acknowledged_edit(live_server: LiveServer, doc_id: str) -> None:
    """A client types numbered tokens without pause while the server is SIGKILLed and
    restarted (same port and database), once per round of KILL_ROUNDS:
    - "mid-typing": whenever a patch is in flight;
    - "ack lost": right after the server committed the client's patch, before the client
      heard the ack (held back by a relay): its resend after the restart must be
      recognised by op id, not applied again.
    Every (version, hash) the client saw confirmed still holds afterwards; every token is
    in the final text exactly once, in order."""
    typed: list[str] = []
    confirmed: list[tuple[int, str]] = []  # every (version, hash of the text) the client confirmed
    stop = threading.Event()
    go = threading.Event()  # cleared: the typist pauses ...
    go.set()
    idle = threading.Event()  # ... and says so

    with ExitStack() as stack, requests.Session() as http:
        proxy = stack.enter_context(Proxy(live_server.port))
        typist = stack.enter_context(Document.open(proxy.url, doc_id, name="typist", timeout=20))
        observer = stack.enter_context(Document.open(live_server.url, doc_id, name="observer", timeout=20))

        # record every confirmed (version, hash), after every ack, revision and sync answer:
        # the text given is the server's at `version`
        def confirmed_at(version: int, text: str) -> None:
            if version and (not confirmed or confirmed[-1][0] != version):
                confirmed.append((version, text_hash(text)))

        typist.on_confirmed(confirmed_at)

        def type_tokens() -> None:
            k = 0
            while not stop.is_set():
                if not go.is_set():
                    idle.set()
                    go.wait(0.05)
                    continue
                idle.clear()
                token = f"{k};"
                with typist._lock:
                    typist.insert(len(typist.text), token)
                    typed.append(token)
                k += 1
                time.sleep(0.002)  # pacing: a fast typist, so the server sees many revisions

        def stuck() -> bool:
            """The typist stopped: its thread failed, or the server refused it for good."""
            assert typist.error is None, f"the server refused the typist: {typist.error}"
            return typing.done()

        def confirmed_more(n: int) -> None:
            target = len(confirmed) + n
            wait_for(lambda: len(confirmed) >= target or stuck(), SYNC_TIMEOUT, f"{n} more confirmed versions")

        def inflight() -> tuple[str, int] | None:
            with typist._lock:
                assert typist.state is not None
                f = typist.state.inflight
                return (f.id, f.base) if f is not None else None

        def committed(op: tuple[str, int] | None) -> bool:
            if op is None:
                return False
            r = http.get(f"{live_server.url}/api/docs/{doc_id}/revisions",
                         params={"since": op[1], "limit": 1}, timeout=10)
            revs = r.json()["revisions"] if r.status_code == 200 else []
            return bool(revs) and revs[0]["id"] == op[0]

        typed_at_kill: list[int] = []  # tokens typed when each kill came
        before_kill: list[tuple[int, str]] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            typing = pool.submit(type_tokens)
            try:
                for how in KILL_ROUNDS:
                    confirmed_more(20)
                    if how == "ack lost":
                        # a pause with nothing in flight, so that every ack from now on
                        # is one the typist has not heard yet
                        go.clear()
                        wait_for(lambda: idle.is_set() or stuck(), SYNC_TIMEOUT, "the typist pausing")
                        typist.wait_synced(SYNC_TIMEOUT)
                        proxy.hold()  # from now on the typist hears nothing from the server
                        go.set()
                        wait_for(lambda: committed(inflight()) or stuck(), SYNC_TIMEOUT,
                                 "a committed patch whose ack is held back")
                        lost = inflight()
                    else:
                        wait_for(lambda: inflight() is not None or stuck(), SYNC_TIMEOUT, "a patch in flight")
                    live_server.kill9()
                    proxy.cut()
                    with typist._lock:
                        before_kill = list(confirmed)
                        typed_at_kill.append(len(typed))
                    if how == "ack lost":
                        assert inflight() == lost, "the typist heard the ack it should have missed"
                    live_server.start()
                confirmed_more(20)
            finally:
                stop.set()
                typing.result(timeout=SYNC_TIMEOUT)

        assert typed_at_kill == sorted(set(typed_at_kill)) and typed_at_kill[-1] < len(typed), \
            "the typist did not type across every restart"
        server = settle([typist, observer], http, live_server.url, doc_id)
        assert server["text"] == "".join(typed), "a token was lost, doubled or reordered"
        for version, hash_ in before_kill:
            r = http.get(f"{live_server.url}/api/docs/{doc_id}/versions/{version}", timeout=10)
            assert r.status_code == 200, r.text
            assert text_hash(r.json()["text"]) == hash_, f"acknowledged version {version} changed after kill -9"
        texts = replay_history(http, live_server.url, doc_id)
        for version, hash_ in confirmed:
            assert text_hash(texts[version]) == hash_, f"confirmed version {version} is not in the history"


def test_a_clients_events_are_handled_in_the_order_sent(live_server: LiveServer, doc_id: str) -> None:
    """An editor sends a patch and, without waiting for its ack, its cursor at the end of the
    new text: the others must get the revision before the cursor, or the cursor points into
    text they do not have yet. (With a greenlet per event the cursor, which waits for
    nothing, overtook the patch, which waits for its commit.)"""
    seen: list[str] = []
    a, b = socketio.Client(reconnection=False), socketio.Client(reconnection=False)
    b.on("revision", lambda msg: seen.append(f"revision {msg['version']}"))
    b.on("revisions", lambda msg: seen.extend(f"revision {r['version']}" for r in msg["revisions"]))
    b.on("cursor", lambda msg: seen.append(f"cursor {msg['head']}"))
    try:
        for c in (a, b):
            c.connect(live_server.url, transports=["websocket"], wait_timeout=20)
            assert c.call("join", {"doc": doc_id}, timeout=20)["ok"]
        text = ""
        for k in range(1, 21):
            new = text + f"word {k} "
            a.emit("patch", {"doc": doc_id, "base": k - 1, "patch": make_patch(text, new), "id": f"op-{k}"})
            a.emit("cursor", {"doc": doc_id, "anchor": len(new), "head": len(new)})
            text = new
        wait_for(lambda: len(seen) == 40, SYNC_TIMEOUT, "20 revisions and 20 cursors at the other editor")
        expected: list[str] = []
        text = ""
        for k in range(1, 21):
            text += f"word {k} "
            expected += [f"revision {k}", f"cursor {len(text)}"]
        assert seen == expected
    finally:
        a.disconnect()
        b.disconnect()


def test_a_cli_delete_reaches_the_open_editors_of_a_server_without_a_queue(tmp_path, doc_id: str) -> None:
    """`collab delete` in another process, against the SQLite file a running server without
    COLLAB_MESSAGE_QUEUE uses: the server finds the tombstones (server/tombstones.py) and its
    editor and viewer get `gone`, as after a delete through the server's own API. Before:
    nothing reached them until their next change failed; an editor kept typing into a
    deleted document."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLLAB_MESSAGE_QUEUE"}
    server = LiveServer(tmp_path, env=env)
    server.start()
    with ExitStack() as stack:
        stack.callback(server.stop)
        clients = []
        for _ in range(2):
            c = socketio.SimpleClient()
            c.connect(server.url, transports=["websocket"])
            stack.callback(c.disconnect)
            clients.append(c)
        editor, viewer = clients
        joined = editor.call("join", {"doc": doc_id, "name": "Ann"}, timeout=SYNC_TIMEOUT)
        view = joined["view"]
        assert viewer.call("join", {"view": view}, timeout=SYNC_TIMEOUT)["ok"]
        assert editor.call("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "hi"), "id": "op-1"},
                           timeout=SYNC_TIMEOUT)["ok"]
        done = subprocess.run([sys.executable, "-m", "collab.cli", "delete", doc_id, "--database",
                               server.database_url], capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        assert "the running server finds its tombstones within a second or two" in done.stdout, done.stdout
        for c, name in ((editor, doc_id), (viewer, view)):
            deadline = time.monotonic() + SYNC_TIMEOUT
            while True:  # skip presence and revisions
                event, *args = c.receive(timeout=max(0.1, deadline - time.monotonic()))
                if event == "gone":
                    break
            assert args[0]["doc"] == name and args[0]["error"]["code"] == "deleted", args
        # taken out of the document: writing needs a join, and joining is refused
        ack = editor.call("patch", {"doc": doc_id, "base": 1, "patch": make_patch("hi", "hi!"), "id": "op-2"},
                          timeout=SYNC_TIMEOUT)
        assert ack["error"]["code"] == "not_joined", ack
        assert editor.call("join", {"doc": doc_id}, timeout=SYNC_TIMEOUT)["error"]["code"] == "deleted"
