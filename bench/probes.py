"""Watching the server from outside, for the hostile tests.

`RoundTrips`: an honest client next to an attack: `sync` round trips on one Socket.IO
connection, back to back, and optionally a fresh HTTP request (a new TCP connection) each
round. The worst round trip is the event-loop stall the attack made others see; failures are
findings. `Typist`: an honest editor next to an attack, typing and pasting into its own
document; its worst ack is how long the attack made another document's writes wait. A raw WebSocket client (`ws_open`, `ws_frame`, `ws_send`; `read_until`: what it
gets back, frame by frame), the patches meant to cost the server most (`slow_patches`) and a
process's memory (`rss_kb`). Used by the hostile tests and by bench/soak.py."""
from __future__ import annotations

import base64
import os
import re
import socket
import threading
import time
from typing import Callable

import requests
import socketio

from collab.core.patches import Edit, make_patch, patch_from_edits
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

    def kept_serving(self, start: float, end: float, rounds: int = 3) -> bool:
        """Whether the honest client was served while an attack ran from `start` to `end`:
        `rounds` round trips, or as many as fit in that time at half this client's usual pace,
        less the one in flight when the attack began (a frozen loop serves none, however long
        the attack; one that is busy half the time still serves; an attack over in less than
        four usual round trips leaves no room for one, frozen or not)."""
        usual = sorted(self.times)[len(self.times) // 2] + self.pace if self.times else 0.0
        fit = int((end - start) / (2 * usual)) - 1 if usual else rounds
        return self.served_during(start, end) >= min(rounds, max(fit, 0))

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


class Typist:
    def __init__(self, url: str, doc: str, *, pace: float = 0.02, paste: int = 40_000,
                 paste_every: float = 1.0, timeout: float = 120) -> None:
        """Types one character at a time at the end of `doc`, each keystroke a patch sent once
        the previous one is acknowledged (one in flight, as the clients send), `pace` seconds
        apart; every `paste_every` seconds a paste of `paste` characters instead (a patch that
        long is parsed off the event loop, on a write-lane thread: it waits for one)."""
        self.url, self.doc, self.pace, self.paste, self.paste_every = url, doc, pace, paste, paste_every
        self.timeout = timeout
        self.sio = socketio.Client(reconnection=False)
        self.sio.connect(url, transports=["websocket"], wait_timeout=20)
        ack = self.sio.call("join", wire.join_request(doc), timeout=20)
        assert ack["ok"], ack
        self.version, self.text = ack["version"], ack["text"]
        self.times: list[float] = []  # seconds, of each acknowledged patch (keystroke or paste)
        self.pastes: list[float] = []  # seconds, of the pastes among them
        self.refused: list[str] = []  # error codes of the patches refused
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pasted_at = time.perf_counter()
        n = 0
        while not self._stop.is_set():
            n += 1
            paste = time.perf_counter() - pasted_at >= self.paste_every
            s = (f"paste {n} " * (self.paste // 8 + 1))[: self.paste] if paste else "abcdefghij"[n % 10]
            patch = patch_from_edits(self.text, [Edit(len(self.text), "", s)])
            t = time.perf_counter()
            try:
                ack = self.sio.call("patch", wire.patch_request(self.doc, self.version, patch, f"typist-{n}"),
                                    timeout=self.timeout)
            except Exception as exc:  # a timeout is a finding, kept for the assertion
                self.failures.append(f"patch: {type(exc).__name__}: {exc}")
                return
            took = time.perf_counter() - t
            if ack.get("ok"):
                self.times.append(took)
                if paste:
                    self.pastes.append(took)
                    pasted_at = time.perf_counter()
                self.version, self.text = ack["version"], self.text + s
            else:
                self.refused.append(ack["error"]["code"])
            self._stop.wait(self.pace)

    def __enter__(self) -> "Typist":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 30)
        self.sio.disconnect()

    def report(self) -> str:
        def summary(ts: list[float]) -> str:
            ts = sorted(ts)
            return (f"{len(ts)}, median {1000 * ts[len(ts) // 2]:.1f} ms, worst {1000 * ts[-1]:.1f} ms"
                    if ts else "none")
        # "round trips": the acks, keystrokes and pastes (bench/stalls.py reads this phrase)
        return f"round trips {summary(self.times)}; pastes {summary(self.pastes)}; refused {len(self.refused)}"


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


def ws_open(port: int, *, source: str | None = None, rcvbuf: int | None = None, namespace: bool = True,
            confirm: bool = False, timeout: float = 20.0) -> socket.socket:
    """A raw WebSocket to the Engine.IO endpoint (from `source`, an address of the loopback
    network, if given); with `namespace` the Socket.IO namespace is connected too, and with
    `confirm` its answer awaited. A refused handshake raises ConnectionError."""
    s = socket.socket()
    if source:
        s.bind((source, 0))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError(f"the server closed the WebSocket handshake: {buf[:200]!r}")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"WebSocket handshake refused: {buf[:200]!r}")
    if namespace:
        ws_send(s, b"40")
        if confirm:
            assert read_until(s, lambda op, data: op == 1 and data.startswith(b"40")), "no Socket.IO CONNECT answer"
    return s


def ws_frame(payload: bytes, opcode: int = 1, *, fin: bool = True, rsv: int = 0, claimed: int | None = None) -> bytes:
    """One masked client frame; `claimed`: the length its header announces (an attacker's
    lie). The mask is XORed as two big integers (a Python loop over 4 MiB takes seconds)."""
    n = len(payload) if claimed is None else claimed
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    mask, size = os.urandom(4), len(payload)
    key = (mask * (size // 4 + 1))[:size]
    return head + mask + (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


def ws_send(s: socket.socket, data: bytes) -> None:
    s.sendall(ws_frame(data))


def ws_read_until_close(s: socket.socket) -> int | None:
    """Read frames until a close frame (returns its code, 1005 when it has none) or EOF (None)."""
    how, code = read_until(s, lambda _opcode, _payload: False, timeout=s.gettimeout() or 20.0)  # type: ignore[misc]
    if how != "close":
        return None
    return code if code is not None else 1005


def slow_patches(text: str, max_hunks: int) -> dict[str, tuple[int, str]]:
    """Patches meant to cost the server the most, each with its base version (1 = `text`)."""
    n = len(text)
    hunks = "".join(f"@@ -{i * 40 + 1},1 +{i * 40 + 1},1 @@\n-{text[i * 40]}\n+Z\n" for i in range(max_hunks))
    absent = "".join(f"@@ -{i * 40 + 1},3 +{i * 40 + 1},3 @@\n qq\n-q\n+Z\n" for i in range(max_hunks))
    too_many = hunks + "@@ -1,1 +1,1 @@\n-x\n+y\n" * 2
    return {
        "5,000 hunks": (1, hunks),
        "5,000 hunks, absent context": (1, absent),
        "5,002 hunks (over the limit)": (1, too_many),
        "delete all 1M code points": (1, make_patch(text, "")),
        "5,000 hunks on a base 300 revisions old": (1, hunks),
        "replace 1M code points": (1, make_patch(text, "y" * n)),
    }


def rss_kb(pid: int) -> int:
    """A process's resident memory, in KiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))  # type: ignore[union-attr]
