"""Watching the server from outside, for the hostile tests.

`RoundTrips`: an honest client next to an attack: `sync` round trips on one Socket.IO
connection, back to back, and optionally a fresh HTTP request (a new TCP connection) each
round. The worst round trip is the event-loop stall the attack made others see; failures are
findings. `read_until`: what a raw WebSocket client gets back, frame by frame."""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable

import requests
import socketio

from collab.core import wire


class RoundTrips:
    def __init__(self, url: str, doc: str, *, http: bool = False, timeout: float = 60,
                 pace: float = 0.006) -> None:
        """`pace`: seconds between rounds (0.006: ~150 round trips a second, under the
        default rate limit of 200 events a second); `http`: also GET /healthz each round."""
        self.url, self.doc, self.http, self.timeout, self.pace = url, doc, http, timeout, pace
        self.sio = socketio.Client(reconnection=False)
        self.sio.connect(url, transports=["websocket"], wait_timeout=20)
        assert self.sio.call("join", wire.join_request(doc), timeout=20)["ok"]
        self.times: list[float] = []  # seconds, of each round trip
        self.spans: list[tuple[float, float]] = []  # (sent, answered), perf_counter
        self.requests: list[float] = []  # seconds, of each fresh HTTP request
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            try:
                ack = self.sio.call("sync", wire.sync_request(self.doc, 0), timeout=self.timeout)
            except Exception as exc:  # a timeout is a finding, kept for the assertion
                self.failures.append(f"sync: {type(exc).__name__}: {exc}")
                return
            now = time.perf_counter()
            self.times.append(now - t)
            self.spans.append((t, now))
            if not ack.get("ok"):
                self.failures.append(f"sync: {ack}")
            if self.http:
                self._request()
            self._stop.wait(self.pace)

    def _request(self) -> None:
        t = time.perf_counter()
        try:
            r = requests.get(self.url + "/healthz", timeout=self.timeout, headers={"Connection": "close"})
            if r.status_code != 200:
                self.failures.append(f"/healthz: HTTP {r.status_code}")
        except Exception as exc:  # a refused or timed-out request is the finding
            self.failures.append(f"/healthz: {type(exc).__name__}: {exc}")
        self.requests.append(time.perf_counter() - t)

    def __enter__(self) -> "RoundTrips":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.wait(0.2)  # a few round trips after the attack's answer, for the median
        self._stop.set()
        self._thread.join(timeout=self.timeout + 30)
        self.sio.disconnect()

    def served_during(self, start: float, end: float) -> int:
        """Round trips that began after `start` and were answered before `end`."""
        return sum(1 for a, b in self.spans if a >= start and b <= end)

    @property
    def worst_ms(self) -> float:
        return 1000 * max(self.times) if self.times else float("nan")

    def report(self) -> str:
        def summary(ts: list[float]) -> str:
            ts = sorted(ts)
            return (f"{len(ts)}, median {1000 * ts[len(ts) // 2]:.1f} ms, worst {1000 * ts[-1]:.1f} ms"
                    if ts else "none")
        out = f"round trips {summary(self.times)}"
        return out + f"; fresh HTTP requests {summary(self.requests)}" if self.http else out


def read_until(s: socket.socket, want: Callable[[int, bytes], bool], timeout: float = 20.0) -> object:
    """Read server frames until `want(opcode, payload)` is true (returns True), a close frame
    (returns ("close", code or None)) or EOF (returns ("eof", None)); ("timeout", None) if
    nothing of the sort came within `timeout` seconds."""
    s.settimeout(timeout)
    buf = b""
    while True:
        while len(buf) >= 2:
            n, off = buf[1] & 0x7F, 2
            if n == 126:
                n, off = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                n, off = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < off + n:
                break
            opcode, payload, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
            if opcode == 8:
                return ("close", int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None)
            if want(opcode, payload):
                return True
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return ("timeout", None)
        except OSError:
            return ("eof", None)
        if not chunk:
            return ("eof", None)
        buf += chunk
