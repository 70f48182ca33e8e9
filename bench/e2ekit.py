"""Helpers for tests and benchmarks that talk to real servers: waiting with deadlines,
reading and replaying a document's stored history, settling clients, running typists in
threads, kill -9 rounds."""
from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests

from collab.client.document import Document
from collab.core.patches import apply_patch, parse_patch, text_hash

SEED = int(os.environ.get("COLLAB_E2E_SEED", "20240521"))
SYNC_TIMEOUT = 60.0  # seconds for every client to settle (generous: a 2-core CI box)

# text that breaks UTF-16 assumptions: two emoji sharing a high surrogate, CJK, combining
# marks, RTL, newlines
PIECES = ["😀😁", "👍🏽", "漢字", "かな", "e\u0301", "n\u0303o", "שלום", "\n", "a", "bc", "xyz ", "line\n", " "]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.02)  # polling interval, not a wait for correctness


def server_doc(http: requests.Session, url: str, doc: str) -> dict:
    r = http.get(f"{url}/api/docs/{doc}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def all_revisions(http: requests.Session, url: str, doc: str) -> list[dict]:
    revs: list[dict] = []
    while True:
        r = http.get(f"{url}/api/docs/{doc}/revisions", params={"since": len(revs)}, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        revs.extend(body["revisions"])
        if not body.get("more"):
            return revs


def replay_history(http: requests.Session, url: str, doc: str, check_versions: bool = True) -> list[str]:
    """Replay /revisions 1..head exactly; check versions, hashes, unique op ids and (if
    asked) every /versions/<v>. Returns the text at every version 0..head."""
    head = server_doc(http, url, doc)["version"]
    revs = all_revisions(http, url, doc)
    assert [r["version"] for r in revs] == list(range(1, head + 1)), "history has gaps or extra versions"
    ids = [r["id"] for r in revs]
    assert len(set(ids)) == len(ids), "an op id was applied twice"
    texts = [""]
    for rev in revs:
        text, _ = apply_patch(texts[-1], parse_patch(rev["patch"]))  # exact, no fuzz
        assert rev["hash"] == text_hash(text), f"revision {rev['version']}: hash does not match the replay"
        texts.append(text)
    if check_versions:
        for v, expected in enumerate(texts):
            r = http.get(f"{url}/api/docs/{doc}/versions/{v}", timeout=10)
            assert r.status_code == 200, r.text
            assert r.json()["version"] == v
            assert r.json()["text"] == expected, f"/versions/{v} differs from replaying revisions 1..{v}"
    return texts


def settle(clients: list[Document], http: requests.Session, url: str, doc: str) -> dict:
    """Wait until every client's edits are confirmed and every client holds the head;
    then assert they all equal the server. Returns the server's document."""
    for c in clients:
        c.wait_synced(SYNC_TIMEOUT)
    # every edit is acknowledged, so the head no longer moves; wait for it to reach everyone
    head = server_doc(http, url, doc)["version"]
    for c in clients:
        wait_for(lambda: c.version >= head, SYNC_TIMEOUT, f"client {c.name} reaching version {head}")
        c.wait_synced(SYNC_TIMEOUT)
    server = server_doc(http, url, doc)
    assert server["version"] == head
    for c in clients:
        assert c.version == server["version"], f"client {c.name}"
        assert c.text == server["text"], f"client {c.name} differs from the server (seed {SEED})"
    return server




def run_threads(fns: list[Callable[[], None]], timeout: float) -> None:
    """Run each fn in its own thread; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(fn) for fn in fns]
        for f in futures:
            f.result(timeout=timeout)


class Proxy:
    """A TCP relay between clients and the server that can hold back what the server sends
    (`hold()`), so a test can make an ack go missing: the server commits a patch, and
    its author never hears of it before the server dies."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self.listener = socket.create_server((host, 0))
        self.url = f"http://{host}:{self.listener.getsockname()[1]}"
        self._flowing = threading.Event()
        self._flowing.set()
        self._up_flowing = threading.Event()  # client -> server
        self._up_flowing.set()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def hold(self, both: bool = False) -> None:
        """From now on, keep every byte the server sends (the client hears nothing); with
        `both`, also every byte the client sends: a network that went silent (no FIN, no
        RST), as when a laptop leaves the Wi-Fi."""
        self._flowing.clear()
        if both:
            self._up_flowing.clear()

    def release(self) -> None:
        """The network is back: what was held flows on (to connections still open)."""
        self._flowing.set()
        self._up_flowing.set()

    def cut(self) -> None:
        """Close every relayed connection, throwing away what was held; flow again."""
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            self._close(c)
        self._flowing.set()
        self._up_flowing.set()

    def close(self) -> None:
        self._closed = True
        self._close(self.listener)
        self.cut()

    def __enter__(self) -> "Proxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _close(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=5)
                up.settimeout(None)
            except OSError:
                self._close(down)  # the server is down: the client retries
                continue
            for sock in (up, down):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns += [up, down]
            threading.Thread(target=self._relay, args=(down, up, self._up_flowing), daemon=True).start()
            threading.Thread(target=self._relay, args=(up, down, self._flowing), daemon=True).start()

    def _relay(self, src: socket.socket, dst: socket.socket, gate: threading.Event | None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if gate is not None:
                    while not gate.wait(0.05):
                        if src.fileno() < 0:  # cut while held: the bytes are dropped
                            return
                    if src.fileno() < 0:
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src)
            self._close(dst)


# -- kill -9 rounds (tests/e2e/test_faults.py runs a few; bench/soak.py runs 20) ----------------


def kill9_rounds(server, doc: str, *, clients: int = 5, rounds: int = 3, seed: str = str(SEED),
                 first_kill: tuple[float, float] = (0.3, 1.5)) -> dict:
    """`clients` Documents type numbered tokens at random token boundaries while `server`
    (a liveserver.LiveServer) is SIGKILLed at a random moment and restarted, `rounds` times.
    Returns counts (all must be 0): acknowledged versions changed, tokens lost, tokens or op
    ids applied twice, clients diverging from the server; and what was done."""
    import random
    import re
    from contextlib import ExitStack

    rng = random.Random(f"{seed}-kills")
    typed: list[list[str]] = [[] for _ in range(clients)]
    confirmed: dict[int, set[str]] = {}  # version -> hashes some client confirmed for it
    stop = threading.Event()
    boundary = re.compile(">")

    def record(doc_: Document) -> None:
        def confirmed_at(version: int, text: str) -> None:  # runs under the client's lock
            if version:
                confirmed.setdefault(version, set()).add(text_hash(text))
        doc_.on_confirmed(confirmed_at)

    def typist(i: int, d: Document) -> Callable[[], None]:
        def run() -> None:
            r = random.Random(f"{seed}-typist-{i}")
            k = 0
            while not stop.is_set():
                token = f"<{i}.{k}>"
                with d.editing():
                    text = d.text
                    ends = [0] + [m.end() for m in boundary.finditer(text)]
                    d.insert(r.choice(ends), token)
                    typed[i].append(token)
                k += 1
                time.sleep(r.uniform(0.005, 0.03))  # pacing: a fast typist, not a wait
        return run

    moments: list[float] = []
    with ExitStack() as stack, requests.Session() as http:
        docs = [stack.enter_context(Document.open(server.url, doc, name=f"c{i}", timeout=30))
                for i in range(clients)]
        for d in docs:
            record(d)
        with ThreadPoolExecutor(max_workers=clients) as pool:
            futures = [pool.submit(typist(i, d)) for i, d in enumerate(docs)]
            try:
                for _ in range(rounds):
                    moment = rng.uniform(*first_kill)
                    moments.append(moment)
                    time.sleep(moment)  # a random moment to crash at, not a wait for correctness
                    server.kill9()
                    server.start()
                time.sleep(rng.uniform(*first_kill))  # keep typing after the last restart
            finally:
                stop.set()
                for f in futures:
                    f.result(timeout=SYNC_TIMEOUT)
        for d in docs:
            d.wait_synced(SYNC_TIMEOUT)
        head = server_doc(http, server.url, doc)["version"]
        for d in docs:
            wait_for(lambda: d.version >= head, SYNC_TIMEOUT, f"client {d.name} reaching version {head}")
            d.wait_synced(SYNC_TIMEOUT)
        final = server_doc(http, server.url, doc)
        revs = all_revisions(http, server.url, doc)
        texts = [""]
        for rev in revs:
            texts.append(apply_patch(texts[-1], parse_patch(rev["patch"]))[0])
        hashes = [text_hash(t) for t in texts]
        ids = [r["id"] for r in revs]
        everything = [t for ts in typed for t in ts]
        counts = {t: final["text"].count(t) for t in everything}
        return {
            "rounds": rounds,
            "kill_moments_s": [round(m, 2) for m in moments],
            "tokens_typed": len(everything),
            "versions": final["version"],
            "acked_versions_changed": sum(1 for v, hs in confirmed.items()
                                          if v >= len(hashes) or hs != {hashes[v]}),
            "acked_versions": len(confirmed),
            "tokens_lost": sum(1 for n in counts.values() if n == 0),
            "tokens_applied_twice": sum(1 for n in counts.values() if n > 1),
            "op_ids_applied_twice": len(ids) - len(set(ids)),
            "history_gaps": int([r["version"] for r in revs] != list(range(1, final["version"] + 1))),
            "replay_differs": int(texts[-1] != final["text"] or revs and revs[-1]["hash"] != hashes[-1]),
            "divergent_clients": sum(1 for d in docs if d.text != final["text"] or d.version != final["version"]),
        }
