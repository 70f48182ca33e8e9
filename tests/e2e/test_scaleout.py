"""Scale-out: three server processes on one PostgreSQL database, fanned out through Redis.

Clients spread over the processes edit the same documents at once and converge with a
contiguous history; kill -9 of one process mid-typing moves its clients to another and
loses or doubles nothing; a Redis restart mid-typing heals. Needs PostgreSQL and
redis-server on this machine (skipped with the reason when absent, failed under CI=true).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
from contextlib import ExitStack
from typing import Any, Callable

import pytest
import requests

from collab.client.document import Document
from collab.core.ids import log_id  # logs name documents by this hash
from skips import missing
from bench.e2ekit import PIECES, SEED, SYNC_TIMEOUT, replay_history, run_threads, server_doc, settle, wait_for
from bench.liveserver import LiveServer, RedisServer

pytestmark = pytest.mark.e2e
PROCESSES = 3


class Cluster:
    def __init__(self, redis: RedisServer, servers: list[LiveServer]) -> None:
        self.redis = redis
        self.servers = servers

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def failover(self, i: int) -> list[str]:
        """Server i first, then the others: a client's list of servers to try."""
        return self.urls[i:] + self.urls[:i]


@pytest.fixture
def cluster(tmp_path, pg_url):
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(tmp_path / "redis"))
        # behind nginx in test_nginx_in_front, as docs/deploy.md says to run them
        env = {**os.environ, "COLLAB_MESSAGE_QUEUE": redis.url, "COLLAB_PROXY_HOPS": "1"}
        servers = [stack.enter_context(LiveServer(tmp_path / f"p{i}", database_url=pg_url, env=env))
                   for i in range(PROCESSES)]
        yield Cluster(redis, servers)


def random_typist(doc: Document, rng: random.Random, ops: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(ops):
            with doc.editing():
                text = doc.text
                pos = rng.randint(0, len(text))
                if rng.random() < 0.6 or not text:
                    doc.insert(pos, rng.choice(PIECES))
                else:
                    pos = min(pos, len(text) - 1)
                    doc.delete(pos, rng.randint(1, min(4, len(text) - pos)))
            time.sleep(rng.random() * 0.01)  # pacing, so that patches from processes interleave
    return run


def test_clients_on_three_processes_converge(cluster, doc_id):
    with ExitStack() as stack, requests.Session() as http:
        clients = [stack.enter_context(Document.open(cluster.failover(i % PROCESSES), doc_id, name=f"c{i}"))
                   for i in range(2 * PROCESSES)]
        run_threads([random_typist(c, random.Random(f"{SEED}-{i}"), 120) for i, c in enumerate(clients)],
                    SYNC_TIMEOUT)
        server = settle(clients, http, cluster.urls[0], doc_id)
        texts = replay_history(http, cluster.urls[1], doc_id, check_versions=False)
        assert texts[-1] == server["text"]
        for url in cluster.urls:  # every process answers the same head
            assert server_doc(http, url, doc_id) == server
        # presence covers the clients of every process
        names = {f"c{i}" for i in range(2 * PROCESSES)}
        wait_for(lambda: {p["name"] for p in clients[0].peers} == names, SYNC_TIMEOUT, "presence of all processes")


def token_typist(doc: Document, i: int, typed: list[str], stop: threading.Event) -> Callable[[], None]:
    """Appends numbered tokens inside the client's own region until told to stop."""
    def run() -> None:
        k = 0
        while not stop.is_set() or k < 20:
            token = f"[{i}.{k}]"
            with doc.editing():
                doc.insert(doc.text.index(f"</{i}>"), token)
            typed.append(token)
            k += 1
            time.sleep(0.005)
    return run


def typed_regions(cluster, doc_id, fault: Callable[[], None]) -> None:
    """Clients on every process type tokens; `fault` strikes mid-typing; afterwards every
    token is there exactly once, in its client's order, on every process."""
    with ExitStack() as stack, requests.Session() as http:
        clients = [stack.enter_context(Document.open(cluster.failover(i), doc_id, name=f"t{i}", timeout=20))
                   for i in range(PROCESSES)]
        clients[0].insert(0, "".join(f"<{i}></{i}>\n" for i in range(PROCESSES)))
        for c in clients:
            wait_for(lambda: c.version >= 1, SYNC_TIMEOUT, "the skeleton reaching every client")
        typed: list[list[str]] = [[] for _ in range(PROCESSES)]
        stop = threading.Event()
        threads = [threading.Thread(target=token_typist(c, i, typed[i], stop)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        wait_for(lambda: all(len(t) >= 20 for t in typed), SYNC_TIMEOUT, "typing under way")
        fault()
        wait_for(lambda: all(len(t) >= 60 for t in typed), SYNC_TIMEOUT, "typing after the fault")
        stop.set()
        for t in threads:
            t.join(SYNC_TIMEOUT)
        alive = [s.url for s in cluster.servers if s.proc is not None]
        server = settle(clients, http, alive[0], doc_id)
        assert server["text"] == "".join(f"<{i}>" + "".join(typed[i]) + f"</{i}>\n" for i in range(PROCESSES))
        replay_history(http, alive[-1], doc_id, check_versions=False)


def test_kill9_of_one_process_loses_and_doubles_nothing(cluster, doc_id):
    typed_regions(cluster, doc_id, cluster.servers[1].kill9)


def test_redis_restart_mid_typing_heals(cluster, doc_id):
    typed_regions(cluster, doc_id, cluster.redis.restart)
    with requests.Session() as http:
        for url in cluster.urls:
            wait_for(lambda: http.get(url + "/healthz", timeout=5).json().get("queue") == "ok",
                     SYNC_TIMEOUT, "the queue being healthy again")


def test_nginx_in_front(cluster, doc_id, tmp_path):
    """deploy/nginx.conf with TLS, with this test's ports: WebSocket and polling clients through it."""
    from nginxkit import nginx, tls_certificate

    cert = tls_certificate(tmp_path)
    with nginx(tmp_path, [s.port for s in cluster.servers], cert) as site, requests.Session() as http, \
            ExitStack() as stack:
        http.verify = str(cert.cert)
        http.trust_env = False  # else REQUESTS_CA_BUNDLE, where set, replaces `verify` (psf/requests#3829)
        url = site.url
        # websocket-client sends Origin: <url>, so this also proves that the scheme and Host
        # nginx passes on let the server's same-origin check accept it
        ws = stack.enter_context(Document.open(url, doc_id, name="ws", verify=str(cert.cert)))
        polling = stack.enter_context(Document.open(url, doc_id, name="polling", transports=["polling"],
                                                    verify=str(cert.cert)))
        ws.insert(0, "through nginx ")
        polling.insert(0, "polling ")
        polling.insert(0, "😀 ")
        server = settle([ws, polling], http, url, doc_id)
        assert sorted(server["text"].split()) == sorted(["through", "nginx", "polling", "😀"])
        # routed by document: both clients of the document reached the same process
        joined = [s for s in cluster.servers if f"join doc={log_id(doc_id)} " in s.log_text()]
        assert len(joined) == 1, [s.url for s in joined]
        # a body the server takes is not refused by nginx first: 2.1 M CJK code points are 6.3 MB
        # of UTF-8 (before: client_max_body_size 6m, nginx's HTML 413)
        big = "漢" * 2_100_000
        r = http.post(f"{url}/api/docs", data=json.dumps({"doc": f"{doc_id}-big", "text": big}, ensure_ascii=False).encode(),
                      headers={"Content-Type": "application/json", "Origin": url}, timeout=120)
        assert r.status_code == 201, (r.status_code, r.text[:200])
        assert http.get(f"{url}/api/docs/{doc_id}-big", timeout=60).json()["text"] == big


def test_many_documents_saturated_from_every_process_converge(cluster, doc_id):
    """Batches of one process's commits span several documents; two processes' batches
    sharing documents must not deadlock in PostgreSQL (rows are locked in one order)."""
    with ExitStack() as stack, requests.Session() as http:
        docs = [(f"{doc_id}-{d}", [stack.enter_context(Document.open(cluster.failover(i), f"{doc_id}-{d}",
                                                                      name=f"p{i}"))
                                   for i in range(PROCESSES)])
                for d in range(5)]
        stop = time.monotonic() + 3

        def typist(c: Document, seed: str) -> Callable[[], None]:
            def run() -> None:
                r = random.Random(seed)
                while time.monotonic() < stop:  # as fast as one patch in flight allows
                    with c.editing():
                        c.insert(r.randint(0, len(c.text)), r.choice(PIECES))
                    time.sleep(0.001)
            return run

        run_threads([typist(c, f"{SEED}-{d}-{i}") for d, (_, cs) in enumerate(docs) for i, c in enumerate(cs)],
                    SYNC_TIMEOUT)
        for doc, clients in docs:
            server = settle(clients, http, cluster.urls[0], doc)
            assert server["version"] > 10
            replay_history(http, cluster.urls[-1], doc, check_versions=False)


def test_a_redis_outage_degrades_says_so_once_and_heals(cluster, doc_id):
    """Redis down for a while: each process still serves its own clients in real time and
    says so in /healthz (200, `"queue": "down"`: a load balancer keeps every process), its log
    has one line for the outage and one for the recovery (before: two ERROR lines for every
    message published meanwhile); afterwards clients of other processes catch up."""
    with ExitStack() as stack, requests.Session() as http:
        a, b = (stack.enter_context(Document.open(cluster.urls[0], doc_id, name=n)) for n in ("a", "b"))
        other = stack.enter_context(Document.open(cluster.urls[1], doc_id, name="other"))
        a.insert(0, "before ")
        wait_for(lambda: other.text == "before ", SYNC_TIMEOUT, "the first edit everywhere")
        cluster.redis.stop()
        for i in range(30):  # many revisions published while Redis is down
            a.insert(len(a.text), f"{i} ")
            wait_for(lambda: b.text == a.text, SYNC_TIMEOUT, "b, on a's process, seeing a's edit at once")
        health = http.get(cluster.urls[0] + "/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["queue"] == "down", health.text
        cluster.redis.start()
        wait_for(lambda: http.get(cluster.urls[0] + "/healthz", timeout=10).json()["queue"] == "ok",
                 SYNC_TIMEOUT, "the queue being back")
        a.insert(len(a.text), "after")
        server = settle([a, b, other], http, cluster.urls[1], doc_id)
        assert server["text"] == "before " + "".join(f"{i} " for i in range(30)) + "after"
    log = cluster.servers[0].log_text()
    assert log.count("message queue unreachable") == 1, log[-3000:]
    assert log.count("message queue reachable again") == 1, log[-3000:]
    assert "Cannot publish to redis" not in log and "Cannot receive from redis" not in log


def test_the_peers_of_a_killed_process_leave_every_screen_by_themselves(cluster, doc_id):
    """A process is killed: its editors leave no goodbye. Once its heartbeat has expired the
    others drop them from presence and say so, with nothing else happening in the document
    (before: their names stayed on every screen until the next join, leave or rename)."""
    with ExitStack() as stack:
        here = stack.enter_context(Document.open(cluster.urls[0], doc_id, name="stays"))
        doomed = Document.open(cluster.urls[1], doc_id, name="doomed")
        wait_for(lambda: sorted(p["name"] for p in here.peers) == ["doomed", "stays"], SYNC_TIMEOUT,
                 "both editors in presence")
        cluster.servers[1].kill9()
        doomed.close()
        # the dead process's heartbeat lives 15 s, and the others look every 5 s
        wait_for(lambda: [p["name"] for p in here.peers] == ["stays"], SYNC_TIMEOUT + 30,
                 "the killed process's editor gone from presence")


def _joined(url: str, what: dict) -> tuple[Any, dict]:
    """A Socket.IO client on `url` (WebSocket) and its join answer."""
    import socketio

    c = socketio.SimpleClient()
    c.connect(url, transports=["websocket"])
    return c, c.call("join", what, timeout=SYNC_TIMEOUT)


def next_event(c: Any, name: str) -> dict:
    """The next `name` event a SimpleClient receives (presence and the like skipped)."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        event, *args = c.receive(timeout=max(0.1, deadline - time.monotonic()))
        if event == name:
            return args[0]


def _written_on_two_processes(cluster: Any, doc_id: str) -> tuple[Any, Any, Any, str]:
    """Editor a on process 0 writes "hi"; editor b and a viewer join on process 1: (a, b, v, view token)."""
    from collab.core.patches import make_patch

    a, ack = _joined(cluster.urls[0], {"doc": doc_id, "name": "a"})
    assert a.call("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "hi"), "id": "op-1"},
                  timeout=SYNC_TIMEOUT)["ok"]
    b, _ = _joined(cluster.urls[1], {"doc": doc_id, "name": "b"})
    v, _ = _joined(cluster.urls[1], {"view": ack["view"]})
    return a, b, v, ack["view"]


@pytest.mark.parametrize("by", ["http", "cli"])
def test_a_delete_reaches_the_editors_of_every_process(cluster, doc_id, pg_url, by):
    """DELETE on process 2 (or `collab delete` with COLLAB_MESSAGE_QUEUE): the editors on
    processes 0 and 1 and a viewer get `gone` through Redis and are taken out of the document
    there; every process answers 410 `deleted` for its edit id and view token, over HTTP and
    on `join`, and nothing brings it back."""
    import subprocess
    import sys

    import queue

    from collab.core.patches import make_patch

    with ExitStack() as stack, requests.Session() as http:
        clients, seen = [], queue.Queue()
        a, b, v, view = _written_on_two_processes(cluster, doc_id)
        for c in (a, b, v):
            clients.append(c)
            stack.callback(c.disconnect)
        if by == "http":
            r = http.delete(f"{cluster.urls[2]}/api/docs/{doc_id}", timeout=10)
            assert r.status_code == 200, r.text
        else:
            done = subprocess.run([sys.executable, "-m", "collab.cli", "delete", doc_id, "--database", pg_url],
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, "COLLAB_MESSAGE_QUEUE": cluster.redis.url})
            assert done.returncode == 0 and "told through the message queue" in done.stdout, done.stderr
        for c, name in ((a, doc_id), (b, doc_id), (v, view)):
            deadline = time.monotonic() + SYNC_TIMEOUT
            while True:  # skip presence and the like
                event, *args = c.receive(timeout=max(0.1, deadline - time.monotonic()))
                if event == "gone":
                    break
            assert args[0]["doc"] == name and args[0]["error"]["code"] == "deleted"
            seen.put(name)
        # taken out on its own process: writing needs a join, and joining is refused
        ack = b.call("patch", {"doc": doc_id, "base": 1, "patch": make_patch("hi", "hi!"), "id": "op-2"},
                     timeout=SYNC_TIMEOUT)
        assert ack["error"]["code"] == "not_joined", ack
        for url in cluster.urls:
            for name in (doc_id, view):
                r = http.get(f"{url}/api/docs/{name}", timeout=10)
                assert r.status_code == 410 and r.json()["error"]["code"] == "deleted", (url, r.text)
            assert b.call("join", {"doc": doc_id}, timeout=SYNC_TIMEOUT)["error"]["code"] == "deleted"
        assert http.post(f"{cluster.urls[0]}/api/docs", json={"doc": doc_id}, timeout=10).status_code == 410
        assert seen.qsize() == 3


def test_another_deployment_on_the_same_redis_sees_nothing(cluster, doc_id, tmp_path):
    """A second deployment (its own database) on the same Redis server, with a document of
    the same id: it gets none of this deployment's revisions or presence. Redis's pub/sub
    ignores the URL's database number, and every process used one fixed channel: the other
    deployment's editor received the revision (found from outside)."""
    import socketio

    env = {**os.environ, "COLLAB_MESSAGE_QUEUE": cluster.redis.url}
    with LiveServer(tmp_path / "elsewhere", env=env) as elsewhere:  # SQLite: another database
        seen: dict[str, list] = {"mine": [], "theirs": []}
        clients = {}
        for who, url in (("mine", cluster.urls[1]), ("theirs", elsewhere.url)):
            c = socketio.Client(reconnection=False)
            c.on("revision", lambda msg, who=who: seen[who].append(("revision", msg)))
            c.on("presence", lambda msg, who=who: seen[who].append(("presence", msg)))
            c.connect(url, transports=["websocket"], wait_timeout=20)
            assert c.call("join", {"doc": doc_id, "name": "Zed" if who == "theirs" else "Bea"}, timeout=20)["ok"]
            clients[who] = c
        try:
            ann = Document(cluster.urls[0], doc_id, name="Ann")
            try:
                ann.insert(0, "SECRET")
                ann.wait_synced(SYNC_TIMEOUT)
                wait_for(lambda: any(kind == "revision" for kind, _ in seen["mine"]), 20,
                         "the revision at the other process of this deployment")
                wait_for(lambda: any(kind == "presence" and "Ann" in str(msg) for kind, msg in seen["mine"]), 20,
                         "Ann in the presence of this deployment")
                time.sleep(1.0)  # what the other deployment would have got meanwhile has arrived
            finally:
                ann.close()
            assert [kind for kind, _ in seen["theirs"] if kind == "revision"] == []
            assert not any("Ann" in str(msg) or "SECRET" in str(msg) for _, msg in seen["theirs"]), seen["theirs"]
            assert requests.get(f"{elsewhere.url}/api/docs/{doc_id}", timeout=10).json()["text"] == ""
        finally:
            for c in clients.values():
                c.disconnect()


@pytest.mark.parametrize("by", ["http", "cli"])
def test_a_rename_and_a_new_view_token_reach_every_process(cluster, doc_id, pg_url, by):
    """Rename on process 2 (or `collab rename`): the editors of the old id on processes 0 and
    1 get `gone` (reason renamed) and are out; the viewer on process 1 stays, moved to the new
    id, and sees what is written under it on process 0. Then a new view token (process 2 or
    `collab rotate-view`): that viewer gets `gone` (reason rotated), the editor goes on, and
    a viewer of the new token sees its revisions. Every process answers 410 with the reason."""
    import subprocess
    import sys

    import socketio

    from collab.core.patches import make_patch

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "collab.cli", *args, "--database", pg_url],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLLAB_MESSAGE_QUEUE": cluster.redis.url})
        assert done.returncode == 0 and "told through the message queue" in done.stdout, done.stderr
        return done.stdout

    new = doc_id + "-renamed"
    with ExitStack() as stack, requests.Session() as http:
        a, b, v, view = _written_on_two_processes(cluster, doc_id)
        for c in (a, b, v):
            stack.callback(c.disconnect)
        if by == "http":
            r = http.post(f"{cluster.urls[2]}/api/docs/{doc_id}/rename", json={"id": new}, timeout=10)
            assert r.status_code == 200 and r.json()["doc"] == new, r.text
        else:
            cli("rename", doc_id, new)
        for c in (a, b):
            message = next_event(c, "gone")
            assert message["doc"] == doc_id and message["error"]["reason"] == "renamed"
        ack = b.call("patch", {"doc": doc_id, "base": 1, "patch": make_patch("hi", "hi!"), "id": "op-2"},
                     timeout=SYNC_TIMEOUT)
        assert ack["error"]["code"] == "not_joined", ack
        for url in cluster.urls:
            r = http.get(f"{url}/api/docs/{doc_id}", timeout=10)
            assert r.status_code == 410 and r.json()["error"]["reason"] == "renamed", (url, r.text)
        # the viewer on process 1 sees what an editor of the new id writes on process 0
        c, ack = _joined(cluster.urls[0], {"doc": new, "name": "c"})
        stack.callback(c.disconnect)
        assert ack["version"] == 1 and ack["view"] == view
        assert c.call("patch", {"doc": new, "base": 1, "patch": make_patch("hi", "hi!"), "id": "op-3"},
                      timeout=SYNC_TIMEOUT)["ok"]
        revision = next_event(v, "revision")
        assert (revision["doc"], revision["version"]) == (view, 2)

        # a new view token: the viewer of the old one is told, the editor goes on
        if by == "http":
            r = http.post(f"{cluster.urls[2]}/api/docs/{new}/view-token", timeout=10)
            assert r.status_code == 200, r.text
            rotated = r.json()["view_url"].rsplit("/", 1)[1]
        else:
            rotated = cli("rotate-view", new).split("/v/", 1)[1].split(";", 1)[0]
        message = next_event(v, "gone")
        assert message["doc"] == view and message["error"]["reason"] == "rotated"
        for url in cluster.urls:
            r = http.get(f"{url}/api/docs/{view}", timeout=10)
            assert r.status_code == 410 and r.json()["error"]["reason"] == "rotated", (url, r.text)
            assert http.get(f"{url}/api/docs/{new}/links", timeout=10).json()["view_url"].endswith(f"/v/{rotated}")
        w, ack = _joined(cluster.urls[1], {"view": rotated})
        stack.callback(w.disconnect)
        assert ack["version"] == 2
        assert c.call("patch", {"doc": new, "base": 2, "patch": make_patch("hi!", "hi!!"), "id": "op-4"},
                      timeout=SYNC_TIMEOUT)["ok"]
        revision = next_event(w, "revision")
        assert (revision["doc"], revision["version"]) == (rotated, 3)


def test_a_title_chosen_on_one_process_reaches_every_process(cluster, doc_id):
    """A title chosen on process 2: the editor on process 0 and the viewer on process 1 are
    told, as is the editor on process 1 (each by the name it used), and process 1, which has the document open, gives it
    with the next join there; giving the first heading back travels the same way."""
    with ExitStack() as stack, requests.Session() as http:
        a, b, v, view = _written_on_two_processes(cluster, doc_id)
        for c in (a, b, v):
            stack.callback(c.disconnect)
        r = http.put(f"{cluster.urls[2]}/api/docs/{doc_id}/title", json={"title": "Shared plan"}, timeout=10)
        assert r.status_code == 200, r.text
        for editor in (a, b):
            assert next_event(editor, "title") == {"doc": doc_id, "title": "Shared plan"}
        assert next_event(v, "title") == {"doc": view, "title": "Shared plan"}
        c, ack = _joined(cluster.urls[1], {"doc": doc_id, "name": "c"})
        stack.callback(c.disconnect)
        assert ack["title"] == "Shared plan"
        assert http.put(f"{cluster.urls[0]}/api/docs/{doc_id}/title", json={"title": None}, timeout=10).ok
        assert next_event(b, "title") == {"doc": doc_id, "title": None}
        d, ack = _joined(cluster.urls[1], {"view": view})
        stack.callback(d.disconnect)
        assert "title" not in ack
