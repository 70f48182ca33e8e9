"""Hostile editors sending costly patches over and over, in a process of their own.

`Flood` (a context manager) starts a child process whose `connections` Socket.IO clients,
all from one client address (`source`, an address of the loopback network), each join a
document of their own holding `"a" * pairs` and then send, one after the other as fast as
they are answered, a one-hunk patch of `pairs` alternating context and insert lines (`" a"`,
`"+b"`: 2 x pairs operations, none mergeable) and the patch that deletes the b's again. A
connection's events are handled one at a time: it never has more than one in the server.

In a process of its own so that building, masking and sending megabytes does not take the
interpreter lock from the honest client measured beside it (bench.probes.Typist). Used by
tests/e2e/test_hostile_lanes.py:

    with Flood(server.url, doc, connections=2, pairs=650_000) as flood:  # joined and seeded
        flood.start()          # the patches begin
        ...
    flood.answers              # {"ok": 5, "too_large": 0, ...}, once the with block is left
"""
from __future__ import annotations

import collections
import multiprocessing
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import socketio

from collab.core import wire
from collab.core.patches import make_patch

HOSTILE = "127.0.0.2"  # the attack's client address by default (an honest client's is 127.0.0.1)


def connect_from(url: str, source: str) -> socketio.Client:
    """A Socket.IO client whose WebSocket comes from `source` (an address of the loopback
    network): the server counts it against that client address."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20, source_address=(source, 0))
    sio = socketio.Client(reconnection=False, websocket_extra_options={"socket": sock})
    sio.connect(url, transports=["websocket"], wait_timeout=20)
    return sio


def _flood(url: str, doc: str, connections: int, pairs: int, source: str, ready: Any, go: Any, stop: Any,
           results: Any) -> None:
    """The child process: join and seed, say so, wait for `go`, send until `stop`, report."""
    n = pairs
    insert = f"@@ -1,{n} +1,{2 * n} @@\n" + " a\n+b\n" * n
    delete = f"@@ -1,{2 * n} +1,{n} @@\n" + " a\n-b\n" * n
    clients = []
    for k in range(connections):
        sio = connect_from(url, source)
        d = f"{doc}-{k}"
        assert sio.call("join", wire.join_request(d), timeout=60)["ok"]
        seed = sio.call("patch", wire.patch_request(d, 0, make_patch("", "a" * n), f"seed-{k}"), timeout=300)
        assert seed["ok"], seed
        clients.append((sio, d, seed["version"]))
    answers: collections.Counter[str] = collections.Counter()
    took: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def send(sio: socketio.Client, d: str, version: int) -> None:
        grown, k = False, 0
        while not stop.is_set():
            k += 1
            t = time.perf_counter()
            try:
                ack = sio.call("patch", wire.patch_request(d, version, delete if grown else insert, f"{d}-{k}"),
                               timeout=600)
            except Exception as exc:
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                return
            code = "ok" if ack.get("ok") else ack["error"]["code"]
            with lock:
                took.append(time.perf_counter() - t)
                answers[code] += 1
            if code == "ok":
                grown, version = not grown, ack["version"]
            elif code == "rate_limited":
                stop.wait(ack["error"].get("retry_after", 0.1))

    threads = [threading.Thread(target=send, args=c, daemon=True) for c in clients]
    ready.set()
    go.wait(300)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    for sio, _, _ in clients:
        sio.disconnect()
    results.put({"answers": dict(answers), "took": took, "failures": failures, "chars": len(insert)})


class Flood:
    def __init__(self, url: str, doc: str, connections: int, pairs: int, source: str = HOSTILE) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pairs = pairs
        self._ready, self._go, self._stop = ctx.Event(), ctx.Event(), ctx.Event()
        self._results = ctx.Queue()
        self._process = ctx.Process(target=_flood, daemon=True, args=(
            url, doc, connections, pairs, source, self._ready, self._go, self._stop, self._results))
        self.answers: dict[str, int] = {}
        self.took: list[float] = []  # seconds, of each hostile patch from sent to answered
        self.failures: list[str] = []
        self.chars = 0

    def __enter__(self) -> "Flood":
        self._process.start()
        if not self._ready.wait(600):
            self._process.kill()
            raise RuntimeError("the hostile clients did not join and seed their documents in 600 s")
        return self

    def start(self) -> None:
        self._go.set()

    def __exit__(self, *exc: object) -> None:
        self._go.set()
        self._stop.set()
        try:
            result = self._results.get(timeout=900)  # (the last patches are answered first)
        finally:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
        self.answers, self.took, self.failures, self.chars = (result["answers"], result["took"],
                                                              result["failures"], result["chars"])

    def summary(self) -> str:
        """The answers as one word ("6ok,2too_large"), for bench/stalls.py's table."""
        return ",".join(f"{n}{code}" for code, n in sorted(self.answers.items())) or "none"

    def report(self) -> str:
        ts = sorted(self.took) or [float("nan")]
        return (f"hostile patches of {2 * self.pairs + 1:,} lines ({self.chars:,} characters): {self.answers}, "
                f"each answered in median {1000 * ts[len(ts) // 2]:.0f} ms, worst {1000 * ts[-1]:.0f} ms")
