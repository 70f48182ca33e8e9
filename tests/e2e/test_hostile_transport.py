"""Hostile use of the transport itself, against the real server (run.py in a subprocess).

Raw sockets and raw WebSocket frames, never a well-behaved client library, for the
attacker; a real Socket.IO client for the honest user next to it, whose round trips and
fresh connections are timed while the attack goes on. Figures (server RSS, how long
half-sent requests live, the honest client's worst wait) are printed for
docs/reliability.md, never asserted as times; what is asserted is behaviour: the server
closes the attacker, with the right WebSocket close code, and keeps serving everyone else.

- binary Socket.IO packets announcing a million attachments, or attachments adding up to
  more than one message, over WebSocket and over long-polling;
- slowloris: 2,000 half-sent requests (headers, bodies) at a 1,024 file limit;
- WebSocket close codes: invalid UTF-8 (1007), protocol errors (1002), oversized (1009);
- packets that are not valid Socket.IO (one at a time, and 20,000 at once), floods of valid
  events of any name, and WebSocket handshakes from a foreign Host or Origin (400, no 101).
"""
from __future__ import annotations

import base64
import json
import multiprocessing
import os
import re
import resource
import selectors
import socket
import threading
import time
from pathlib import Path
from typing import Mapping

import pytest
import requests
import socketio

from bench.liveserver import LiveServer
from bench.probes import RoundTrips, read_until, ws_frame, ws_open

pytestmark = pytest.mark.e2e

MiB = 1_048_576


# -- raw WebSocket ------------------------------------------------------------------------------------------


def close_code(s: socket.socket, timeout: float = 20.0) -> object:
    return read_until(s, lambda op, data: False, timeout)


# -- the server and the honest client -----------------------------------------------------------------------


class LimitedServer(LiveServer):
    """run.py under `prlimit --nofile=N`: the file limit of a default systemd service or shell."""

    def __init__(self, workdir: Path, nofile: int, env: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, env=env)
        self.nofile = nofile

    @property
    def command(self) -> list[str]:
        return ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *super().command]


def rss_mb(server: LiveServer) -> float:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024  # type: ignore[union-attr]


# -- 4. binary attachments ------------------------------------------------------------------------------------


def _flood(s: socket.socket, header: bytes, attachments: int, size: int) -> tuple[int, object]:
    """Send a binary packet header, then up to `attachments` binary frames of `size` bytes;
    stop when the server has closed. Returns (frames sent, how the connection ended)."""
    s.sendall(ws_frame(header))
    blob = ws_frame(os.urandom(size), opcode=2)
    sent = 0
    try:
        for _ in range(attachments):
            s.sendall(blob)
            sent += 1
    except OSError:
        pass
    return sent, close_code(s, timeout=10)


def test_binary_attachments_are_capped_before_they_are_buffered(tmp_path, doc_id):
    """A binary event announcing 1,000,000 attachments followed by 4 MiB frames, and one
    announcing 8 (allowed) whose frames add up to more than a message, over WebSocket; the
    same over long-polling. Each is disconnected before the server holds more than about one
    message; the server's RSS and the honest client's worst wait are printed."""
    with LiveServer(tmp_path) as server, RoundTrips(server.url, doc_id, http=True, timeout=30, pace=0.02) as honest:
        rss = [rss_mb(server)]
        s = ws_open(server.port, confirm=True)
        million = _flood(s, b'451000000-["patch",{"doc":"x","patch":{"_placeholder":true,"num":0}}]', 48, 4 * MiB)
        s.close()
        rss.append(rss_mb(server))
        s = ws_open(server.port, confirm=True)
        eight = _flood(s, b'458-["patch",{"doc":"x","patch":{"_placeholder":true,"num":0}}]', 8, 4 * MiB)
        s.close()
        rss.append(rss_mb(server))
        polling = _polling_flood(server.url, 24, 3 * MiB)
        rss.append(rss_mb(server))
        # and the server still serves a new connection
        other = socketio.Client(reconnection=False)
        other.connect(server.url, transports=["websocket"], wait_timeout=20)
        assert other.call("join", {"doc": doc_id}, timeout=20)["ok"]
        other.disconnect()
    print(f"\n1,000,000 attachments: {million[0]} frames of 4 MiB accepted, then {million[1]}; "
          f"8 attachments: {eight[0]} accepted, then {eight[1]}; polling: {polling[0]} POSTs of 3 MiB accepted, "
          f"then {polling[1]}; server RSS {' -> '.join(f'{r:.0f}' for r in rss)} MB; honest client: {honest.report()}")
    # closed by the server (1008: too many attachments; 1009: too many bytes), long before the
    # attacker had sent everything (what it sent beyond the refusal sat in kernel buffers)
    assert million[1] == ("close", 1008) and million[0] < 48, million
    assert eight[1] == ("close", 1009) and eight[0] < 8, eight
    assert polling[0] <= 2, polling
    assert honest.failures == [], honest.failures[:5]
    assert rss[-1] - rss[0] < 64, f"server RSS grew {rss[-1] - rss[0]:.0f} MB under the attachment flood"


def _polling_flood(url: str, posts: int, size: int) -> tuple[int, str]:
    """The same flood over Engine.IO long-polling: a binary event announcing 1,000,000
    attachments, then POSTs of one base64 attachment each. Returns (POSTs accepted, why it
    stopped)."""
    http = requests.Session()
    r = http.get(url + "/socket.io/?EIO=4&transport=polling", timeout=20)
    sid = json.loads(r.text[1:])["sid"]
    endpoint = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert http.post(endpoint, data="40", timeout=20).text == "OK"
    http.get(endpoint, timeout=20)  # the CONNECT answer
    header = '451000000-["patch",{"doc":"x","patch":{"_placeholder":true,"num":0}}]'
    r = http.post(endpoint, data=header, timeout=20)
    if r.text != "OK":
        return 0, f"header: HTTP {r.status_code} {r.text[:60]}"
    body = "b" + base64.b64encode(os.urandom(size)).decode()
    for k in range(posts):
        r = http.post(endpoint, data=body, timeout=30)
        if r.status_code != 200 or r.text != "OK":
            return k, f"HTTP {r.status_code} {r.text[:60]}"
    return posts, "all accepted"


# -- 15. slowloris --------------------------------------------------------------------------------------------

ATTACKER = "127.0.0.2"  # another address of the loopback network: the honest client is 127.0.0.1


class Slowloris:
    """`n` connections from ATTACKER, each a request sent in part: half of them stop inside
    the headers, half declare a 1 MB body and send a few bytes of it. Every second each
    sends one more byte (so that a mere idle timeout would never fire). Records when the
    server ended each connection and what it answered."""

    def __init__(self, port: int, n: int) -> None:
        self.port = port
        self.n = n
        self.opened: dict[socket.socket, float] = {}
        self.ended: dict[socket.socket, float] = {}
        self.answers: dict[socket.socket, bytes] = {}
        self.never_connected = 0

    def open(self, connect_timeout: float = 10.0) -> None:
        sel = selectors.DefaultSelector()
        for _ in range(self.n):
            s = socket.socket()
            s.bind((ATTACKER, 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            sel.register(s, selectors.EVENT_WRITE)
        deadline = time.monotonic() + connect_timeout
        pending = self.n
        k = 0
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                s = key.fileobj  # type: ignore[assignment]
                sel.unregister(s)
                pending -= 1
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self.never_connected += 1
                    s.close()
                    continue
                k += 1
                try:
                    s.send(self._start(k))
                except OSError:
                    pass  # already answered and closed: seen by watch()
                self.opened[s] = time.monotonic()
        for key in list(sel.get_map().values()):  # still connecting: the kernel's backlog is full
            self.never_connected += 1
            key.fileobj.close()  # type: ignore[union-attr]
        sel.close()

    def _start(self, k: int) -> bytes:
        if k % 2:
            return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        return (b"POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 1000000\r\n\r\nsome")

    def watch(self, timeout: float) -> None:
        """Until every connection has been ended by the server, or `timeout` seconds."""
        sel = selectors.DefaultSelector()
        for s in self.opened:
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        next_byte = time.monotonic() + 1.0
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj  # type: ignore[assignment]
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    self.answers[s] = self.answers.get(s, b"") + data
                    continue
                self.ended[s] = time.monotonic()
                sel.unregister(s)
            if time.monotonic() >= next_byte:
                next_byte += 1.0
                for key in list(sel.get_map().values()):
                    try:
                        key.fileobj.send(b"x")  # type: ignore[union-attr]
                    except OSError:
                        pass  # ended: the read above sees it
        sel.close()

    def close(self) -> None:
        for s in self.opened:
            s.close()

    def report(self) -> str:
        refused = [s for s in self.ended if self.answers.get(s, b"").startswith(b"HTTP/1.1 503")]
        held = sorted(self.ended[s] - self.opened[s] for s in self.ended if s not in refused)
        timed_out = sum(1 for s in self.ended if self.answers.get(s, b"").startswith(b"HTTP/1.1 408"))
        lives = f"median {sorted(held)[len(held) // 2]:.1f} s, max {max(held):.1f} s" if held else "none"
        return (f"{self.n} half-sent requests: {len(self.opened)} connected ({self.never_connected} not), "
                f"{len(refused)} answered 503 at once (per-address limit), {len(held)} held until the server "
                f"ended them ({timed_out} with 408): lived {lives}; {len(self.opened) - len(self.ended)} still open")


def slowloris(port: int, n: int, watch: float, results: "multiprocessing.Queue[tuple[int, int, str]]") -> None:
    """The attack, in a process of its own: the honest client's figures are then the
    server's doing, not this process's interpreter lock."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1_000), hard))
    attack = Slowloris(port, n)
    try:
        attack.open()
        attack.watch(timeout=watch)
        results.put((len(attack.opened), len(attack.opened) - len(attack.ended), attack.report()))
    finally:
        attack.close()


def test_slowloris_does_not_starve_anyone(tmp_path, doc_id):
    """2,000 half-sent requests from one address against a server with a 1,024 file limit
    (COLLAB_HEADER_TIMEOUT and COLLAB_BODY_TIMEOUT 3 s, to keep the test short): every one is
    ended by the server (refused at once past the per-address limit, or timed out), and an
    honest client from another address is served all along: its round trips on an open
    connection and its fresh HTTP requests all succeed. How long the half-sent requests
    lived and the honest client's worst wait are printed."""
    env = {**os.environ, "COLLAB_HEADER_TIMEOUT": "3", "COLLAB_BODY_TIMEOUT": "3"}
    ctx = multiprocessing.get_context("spawn")
    results: "multiprocessing.Queue[tuple[int, int, str]]" = ctx.Queue()
    with LimitedServer(tmp_path, nofile=1_024, env=env) as server, RoundTrips(server.url, doc_id, http=True, timeout=30, pace=0.02) as honest:
        attacker = ctx.Process(target=slowloris, args=(server.port, 2_000, 40.0, results))
        attacker.start()
        opened, still_open, report = results.get(timeout=120)
        attacker.join(timeout=30)
        after = requests.get(server.url + "/healthz", timeout=10)
    print(f"\n{report}\nhonest client: {honest.report()}")
    assert opened, "no attacking connection got through: the test tested nothing"
    assert still_open == 0, f"{still_open} half-sent requests still open: {report}"
    assert honest.failures == [], honest.failures[:5]
    assert after.status_code == 200


def _held_connections(port: int, n: int) -> list[socket.socket]:
    """`n` connections from 4 addresses (127.0.0.2-5), each holding a half-sent request."""
    held = []
    for k in range(n):
        s = socket.socket()
        s.bind((f"127.0.0.{2 + k % 4}", 0))
        s.settimeout(20)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(s)
    return held


def _fresh_request(port: int) -> tuple[float, bytes]:
    """A GET /healthz on a new connection: (seconds until the answer was complete, the answer)."""
    t = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return time.monotonic() - t, answer


@pytest.mark.parametrize("cap", ["setting", "file limit"])
def test_connections_past_the_server_wide_cap_are_answered_503_at_once(tmp_path, doc_id, cap):
    """COLLAB_MAX_CONNECTIONS=40 (or, unset, a file limit of 200: 200 - 128 = 72): that
    many connections open from 4 addresses (none near the per-address limit), including an
    honest Socket.IO client; the next connection from anywhere is answered 503 "too many
    open connections" at once, instead of being taken (and, at the file limit, instead of
    accept() failing, which leaves every later client unanswered). Once some close, new
    connections are served again, and the honest client was served throughout."""
    env = {**os.environ, "COLLAB_HEADER_TIMEOUT": "60"}
    if cap == "setting":
        env["COLLAB_MAX_CONNECTIONS"] = "40"
        limit, server_of = 40, lambda: LiveServer(tmp_path, env=env)
    else:
        limit, server_of = 72, lambda: LimitedServer(tmp_path, nofile=200, env=env)
    with server_of() as server, RoundTrips(server.url, doc_id, timeout=30, pace=0.02) as honest:
        held = _held_connections(server.port, limit - 1)  # + the honest client's WebSocket
        try:
            took, refused = _fresh_request(server.port)
            for s in held[:10]:
                s.close()
            time.sleep(0.2)  # the server sees them close (not a timing under test)
            _, served = _fresh_request(server.port)
        finally:
            for s in held:
                s.close()
        assert honest.sio.call("sync", {"doc": doc_id, "since": 0}, timeout=20)["ok"]
    first = {k: v.split(b"\r\n")[0].decode() for k, v in (("refused", refused), ("served", served))}
    print(f"\n{cap}: {limit} open; the next connection answered in {1000 * took:.0f} ms: {first['refused']}; "
          f"after 10 closed: {first['served']}; honest client: {honest.report()}")
    assert refused.startswith(b"HTTP/1.1 503"), refused[:200]
    assert b"Retry-After: " in refused and b"the server has too many open connections" in refused
    assert served.startswith(b"HTTP/1.1 200"), served[:200]
    assert honest.failures == [], honest.failures[:5]


# -- large WebSocket messages from many connections at once -------------------------------------------------


def large_messages(port: int, doc: str, senders: int, rounds: int, size: int,
                   results: "multiprocessing.Queue[list[str]]") -> None:
    """`senders` raw WebSockets, each joined to its own document, send `rounds` patch events
    of `size` bytes (over the patch limit, under the transport's message limit: answered
    `too_large` once read and decoded whole), all at once; puts every answer's code. In a
    process of its own, so that the honest client's figures are the server's doing."""
    import threading
    start = threading.Barrier(senders)
    codes: list[str] = []

    def send(k: int) -> None:
        s = ws_open(port, confirm=True)
        s.settimeout(120)
        s.sendall(ws_frame(b'421["join",{"doc":"' + f"{doc}-big{k}".encode() + b'"}]'))
        assert read_until(s, lambda op, data: data.startswith(b"431["), timeout=60) is True
        body = b"@@ -0,0 +1,1 @@\\n+" + b"a" * size
        start.wait(timeout=60)
        for r in range(rounds):
            n = str(2 + r).encode()
            s.sendall(ws_frame(b"42" + n + b'["patch",{"doc":"' + f"{doc}-big{k}".encode()
                            + b'","base":0,"id":"big-' + n + b'","patch":"' + body + b'"}]'))
            answer: list[bytes] = []
            got = read_until(s, lambda op, data: data.startswith(b"43" + n + b"[") and not answer.append(data),
                             timeout=120)
            codes.append(json.loads(answer[0][len(n) + 2:])[0]["error"]["code"] if got is True else str(got))
        s.close()

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    results.put(codes)


def test_large_frames_from_many_connections_leave_small_ones_alone(tmp_path, doc_id):
    """8 connections each send 3 messages of 4.9 MB at once (24 in all, each answered
    `too_large` after it was read whole) while an honest client does `sync` round trips:
    every answer comes, and the honest client's worst wait is printed (before: 2.2 s, every
    message read, unmasked and decoded on the loop without yielding, all 8 at once)."""
    ctx = multiprocessing.get_context("spawn")
    results: "multiprocessing.Queue[list[str]]" = ctx.Queue()
    # (the frame budget's test: one address's 118 MB would be read at COLLAB_READ_RATE, 2 minutes)
    env = {**os.environ, "COLLAB_READ_RATE": "0"}
    with LiveServer(tmp_path, env=env) as server, RoundTrips(server.url, doc_id, timeout=60, pace=0.01) as honest:
        rss = [rss_mb(server)]
        t = time.monotonic()
        attacker = ctx.Process(target=large_messages, args=(server.port, doc_id, 8, 3, 4_900_000, results))
        attacker.start()
        codes = results.get(timeout=300)
        took = time.monotonic() - t
        attacker.join(timeout=30)
        rss.append(rss_mb(server))
    print(f"\n8 connections x 3 messages of 4.9 MB: {codes.count('too_large')} of {len(codes)} answered too_large "
          f"in {took:.1f} s; server RSS {rss[0]:.0f} -> {rss[1]:.0f} MB; honest client: {honest.report()}")
    assert codes == ["too_large"] * 24, codes
    assert honest.failures == [], honest.failures[:5]


def _upload(port: int, path: str, body: bytes, rate: float, timeout: float) -> tuple[float, bytes]:
    """POST `body` at about `rate` bytes/s (pacing the upload, not waiting for anything);
    returns (seconds until the server answered or closed, what it answered)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t = time.monotonic()
    try:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode())
        step = max(1, int(rate / 20))
        try:
            for i in range(0, len(body), step):
                s.sendall(body[i:i + step])
                time.sleep(step / rate)
        except OSError:
            pass  # the server gave up on the body: its answer is below
        answer = b""
        while b"\r\n\r\n" not in answer:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - t, answer
    finally:
        s.close()


def test_a_slow_upload_is_given_time_and_a_trickled_body_is_not(tmp_path):
    """COLLAB_BODY_TIMEOUT=2, COLLAB_BODY_MIN_RATE=65536: a 400 KB long-polling POST sent at
    ~128 KB/s (3 s, longer than the timeout) is taken whole; the same body trickled at
    ~2 KB/s is cut off by the server (the deadline moves only with the bytes received)."""
    env = {**os.environ, "COLLAB_BODY_TIMEOUT": "2", "COLLAB_BODY_MIN_RATE": "65536"}
    with LiveServer(tmp_path, env=env) as server:
        def session() -> str:
            r = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=20)
            sid = json.loads(r.text[1:])["sid"]
            assert requests.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="40",
                                 timeout=20).text == "OK"
            return f"/socket.io/?EIO=4&transport=polling&sid={sid}"
        body = ('42["seen",{"doc":"nobody","version":0,"pad":"' + "x" * 400_000 + '"}]').encode()
        slow, slow_answer = _upload(server.port, session(), body, rate=128_000, timeout=30)
        trickled, trickled_answer = _upload(server.port, session(), body, rate=2_000, timeout=60)
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    first_line = [answer.partition(b"\r\n")[0] for answer in (slow_answer, trickled_answer)]
    print(f"\n400 KB at ~128 KB/s: answered after {slow:.1f} s: {first_line[0]!r}; "
          f"at ~2 KB/s: ended after {trickled:.1f} s: {first_line[1]!r}")
    assert slow_answer.startswith(b"HTTP/1.1 200"), slow_answer[:200]
    assert not trickled_answer.startswith(b"HTTP/1.1 200"), trickled_answer[:200]


def test_a_websocket_stopped_mid_frame_is_closed_after_the_ping_timeout(tmp_path):
    """COLLAB_PING_INTERVAL=1, COLLAB_PING_TIMEOUT=1: a WebSocket that sends the first bytes
    of a frame and then one byte a second (so it can never answer a ping: a pong would have
    to wait for the frame to end) is closed by the server once the ping timeout passes,
    and its connection ends. Before, python-engineio dropped the session but the reader
    stayed blocked inside the frame, holding the connection as long as the client wished."""
    env = {**os.environ, "COLLAB_PING_INTERVAL": "1", "COLLAB_PING_TIMEOUT": "1"}
    with LiveServer(tmp_path, env=env) as server:
        s = ws_open(server.port, confirm=True)
        whole = ws_frame(b'42["join",{"doc":"' + b"x" * 60 + b'"}]')
        t = time.monotonic()
        s.sendall(whole[:6])
        s.settimeout(1.0)
        ended = None
        for i in range(6, min(len(whole) - 1, 6 + 30)):  # at most 30 s, one byte a second
            try:
                if not s.recv(65536) and ended is None:
                    ended = time.monotonic() - t
                    break
            except socket.timeout:
                pass
            except OSError:
                ended = time.monotonic() - t
                break
            try:
                s.sendall(whole[i:i + 1])
            except OSError:
                ended = time.monotonic() - t
                break
        s.close()
    print(f"\nWebSocket stopped mid-frame: connection ended after {ended if ended is None else round(ended, 1)} s")
    assert ended is not None, "the server kept a WebSocket stuck mid-frame open for 30 s"


# -- 18. WebSocket close codes --------------------------------------------------------------------------------

CLOSE_CASES = {
    # name: (frames the client sends, the status code RFC 6455 7.4.1 gives the closure)
    "invalid UTF-8 in a text frame": ([ws_frame(b'42["join",{"doc":"\xff\xfe"}]')], 1007),
    "invalid UTF-8 across continuation frames": ([ws_frame(b'42["join",{"doc":"\xe2', fin=False),
                                                  ws_frame(b'\x28\xa1"}]', opcode=0)], 1007),
    "a reserved bit set": ([ws_frame(b"3", rsv=4)], 1002),
    "a reserved opcode": ([ws_frame(b"3", opcode=3)], 1002),
    "a continuation frame with nothing to continue": ([ws_frame(b"3", opcode=0)], 1002),
    "a fragmented control frame": ([ws_frame(b"", opcode=9, fin=False)], 1002),
    "an unmasked frame": ([bytes([0x81, 1]) + b"3"], 1002),
    "the client closing normally": ([ws_frame((1000).to_bytes(2, "big") + b"bye", opcode=8)], 1000),
    "the client closing with 4000": ([ws_frame((4000).to_bytes(2, "big"), opcode=8)], 4000),
}


def test_every_websocket_closure_carries_its_status_code(tmp_path, doc_id):
    """Each bad frame closes its connection with the status code the RFC gives it (1007 for
    invalid UTF-8, 1002 for protocol errors), and a client's own close is answered with its
    code; before, gevent-websocket sent every close frame without any code (1005)."""
    got: dict[str, object] = {}
    with LiveServer(tmp_path) as server, RoundTrips(server.url, doc_id, http=True, timeout=30, pace=0.02) as honest:
        for name, (frames, _) in CLOSE_CASES.items():
            s = ws_open(server.port, confirm=True)
            s.sendall(b"".join(frames))
            got[name] = close_code(s)
            s.close()
    for name, (_, code) in CLOSE_CASES.items():
        print(f"{name}: {got[name]}")
    print(f"honest client meanwhile: {honest.report()}")
    assert {name: got[name] for name in CLOSE_CASES} == {name: ("close", code) for name, (_, code) in CLOSE_CASES.items()}
    assert honest.failures == [], honest.failures[:5]


# -- 13. malformed packets, floods of events, refused handshakes -------------------------------------------


def _log_since(server: LiveServer, offset: int) -> str:
    return server.log_path.read_bytes()[offset:].decode("utf-8", "replace")


def _answer(s: socket.socket, ack: bytes, timeout: float = 20.0) -> object:
    """The ack packet `43<ack>[...]` the server sends back (its JSON), or how the wait ended."""
    got: list[bytes] = []
    how = read_until(s, lambda op, data: data.startswith(b"43" + ack + b"[") and not got.append(data), timeout)
    return json.loads(got[0][2 + len(ack):])[0] if how is True else how


def flood(port: int, frame: bytes, n: int, join: str | None,
          results: "multiprocessing.Queue[tuple[object, int, float]]") -> None:
    """In its own process (so that the honest client's measurements share no interpreter
    lock with the attacker): a raw WebSocket (joined to `join` first, if given) sends `n`
    copies of one frame at once, as an attack script does, while reading what comes back
    until the server closes. Puts (how it ended, acks received, seconds)."""
    s = ws_open(port, confirm=True)
    if join is not None:
        s.sendall(ws_frame(b'429["join",{"doc":"' + join.encode() + b'"}]'))
        assert isinstance(_answer(s, b"9"), dict)
    blob = ws_frame(frame) * n

    def send() -> None:
        try:
            s.sendall(blob)
        except OSError:
            pass  # closed while we were still sending: the close frame is read below

    t = time.perf_counter()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    acks: list[int] = []
    how = read_until(s, lambda op, data: bool(data.startswith(b"43") and acks.append(1)), timeout=30)
    took = time.perf_counter() - t
    s.close()
    results.put((how, len(acks), took))


def _flooded(port: int, frame: bytes, n: int, join: str | None = None) -> tuple[object, int, float]:
    ctx = multiprocessing.get_context("spawn")
    results: "multiprocessing.Queue[tuple[object, int, float]]" = ctx.Queue()
    attacker = ctx.Process(target=flood, args=(port, frame, n, join, results))
    attacker.start()
    try:
        return results.get(timeout=120)
    finally:
        attacker.join(timeout=30)


def test_malformed_packets_are_answered_and_a_flood_of_them_closes_its_connection(tmp_path, doc_id):
    """Packets that are not valid Socket.IO: bad JSON in an event, a number of 5,000 digits
    in a field, an ack id of 5,000 digits, an event that is not a list, a reserved event
    name, a packet type no client sends. One with an ack id is answered `bad_request`,
    and the connection goes on; 20,000 of `42["x",{bad` at once (400 KB) close it with
    1008 after a few, over WebSocket and over long-polling; the log gets a line or two per
    connection, never a traceback (before: two tracebacks per packet, 92 MB, 6.8 s stall)."""
    digits = b"1" * 5000
    with LiveServer(tmp_path) as server, RoundTrips(server.url, doc_id, timeout=60) as honest:
        offset = server.log_path.stat().st_size
        s = ws_open(server.port, confirm=True)
        answers = {
            "bad JSON": (ws_frame(b'421["x",{bad'), _answer),
            "5,000 digits in a field": (ws_frame(b'422["sync",{"doc":"' + doc_id.encode() + b'","since":' + digits
                                                 + b'}]'), _answer),
            "an event that is not a list": (ws_frame(b'423{"doc":"x"}'), _answer),
            "a reserved event name": (ws_frame(b'424["disconnect",{"doc":"x"}]'), _answer),
        }
        got = {}
        for k, (name, (frame, read)) in enumerate(answers.items(), start=1):
            s.sendall(frame)
            got[name] = read(s, str(k).encode())
        # no ack id to answer: dropped (and counted)
        s.sendall(ws_frame(b"42" + digits + b'["sync",{"doc":"x","since":0}]') + ws_frame(b'44["x"]')
                  + ws_frame(b'49["x"]'))
        # and the connection still works: joined, synced
        s.sendall(ws_frame(b'425["join",{"doc":"' + doc_id.encode() + b'"}]'))
        joined = _answer(s, b"5")
        s.close()
        flooded = _flooded(server.port, b'42["x",{bad', 20_000)
        polling = _polling_malformed(server.url, 60)
        log = _log_since(server, offset)
    print(f"\nmalformed packets: {got}; 20,000 at once: {flooded[0]} after {1000 * flooded[2]:.0f} ms; "
          f"long-polling: {polling}; log: {len(log.splitlines())} lines, {len(log):,} bytes; "
          f"honest client: {honest.report()}")
    for name, ack in got.items():
        assert isinstance(ack, dict) and ack["error"]["code"] == "bad_request", (name, ack)
    assert "100 digits" in got["5,000 digits in a field"]["error"]["message"]
    assert isinstance(joined, dict) and joined["ok"], joined
    assert flooded[:2] == (("close", 1008), 0), flooded
    assert polling.startswith("HTTP 400"), polling
    assert "Traceback" not in log, log[:3000]
    malformed_lines = [line for line in log.splitlines() if "malformed" in line]
    assert len(malformed_lines) <= 2 * 3, malformed_lines  # three connections: at most two lines each
    assert honest.failures == [], honest.failures[:5]


def _polling_malformed(url: str, n: int) -> str:
    """`n` malformed packets by long-polling, 15 to a POST (Engine.IO's record separator
    between them; python-engineio takes at most 16 packets in one); then one more POST.
    Returns how the first refused POST was answered."""
    http = requests.Session()
    sid = json.loads(http.get(url + "/socket.io/?EIO=4&transport=polling", timeout=20).text[1:])["sid"]
    endpoint = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert http.post(endpoint, data="40", timeout=20).text == "OK"
    http.get(endpoint, timeout=20)  # the CONNECT answer
    for _ in range(0, n, 15):
        r = http.post(endpoint, data="\x1e".join(['42["x",{bad'] * 15), timeout=20)
        if r.status_code != 200:
            break
    else:
        r = http.post(endpoint, data='42["sync",{"doc":"x","since":0}]', timeout=20)
    return f"HTTP {r.status_code} {r.text[:60]}"


FLOODS = {
    # name: (the frame sent 20,000 times, whether the flooder joins a document first)
    "unknown events": (b'42["nosuch",{"doc":"x"}]', False),
    "unknown events with an ack id": (b'421["nosuch",{"doc":"x"}]', False),
    "cursor events of a joined editor": (b'42["cursor",{"doc":"DOC","anchor":0,"head":0}]', True),
    "sync events": (b'421["sync",{"doc":"DOC","since":0}]', True),
}
# the flooder's own document: on the honest client's, the 400 cursor events the burst lets
# through would be relayed to it, and its wait would measure its own client handling them


def test_floods_of_valid_events_are_limited_and_the_flooder_is_closed(tmp_path, doc_id):
    """20,000 valid events at once, of a name the server does not know (with and without an
    ack id), `cursor` events of a joined editor (relayed to the document's other editor),
    `sync`: every event takes from the connection's rate limit (200/s, burst 400); a refused
    one with an ack id is answered `rate_limited`, and a connection that keeps sending over
    the limit is closed with 1008 long before its 20,000 are read. Before: none was ever
    limited or closed (unknown events not counted at all); the honest client's worst wait
    is printed."""
    got: dict[str, tuple[object, int, float]] = {}
    worst: dict[str, float] = {}
    with LiveServer(tmp_path) as server:
        offset = server.log_path.stat().st_size
        for name, (frame, joins) in FLOODS.items():
            with RoundTrips(server.url, doc_id, timeout=60) as honest:
                time.sleep(0.2)  # a few round trips before, for the median
                flooded_doc = doc_id + "-flood"
                got[name] = _flooded(server.port, frame.replace(b"DOC", flooded_doc.encode()), 20_000,
                                     flooded_doc if joins else None)
            worst[name] = honest.worst_ms
            print(f"\n{name}: {got[name][1]} acks, then {got[name][0]} after {1000 * got[name][2]:.0f} ms; "
                  f"honest client: {honest.report()}")
            assert honest.failures == [], honest.failures[:5]
        log = _log_since(server, offset)
    print(f"log: {len(log.splitlines())} lines")
    for name, (how, acks, _) in got.items():
        assert how == ("close", 1008), (name, how)
    # what has an ack id is answered until the close (bad_request or the sync's answer, then
    # rate_limited), far fewer than 20,000
    assert 400 <= got["unknown events with an ack id"][1] < 2_000, got
    assert 400 <= got["sync events"][1] < 2_000, got
    assert "Traceback" not in log, log[:3000]
    assert len(log.splitlines()) < 40, log[:3000]


def _handshake(port: int, host: str | None = None, origin: str | None = None) -> bytes:
    """A raw WebSocket handshake to the Engine.IO endpoint: the server's whole answer (up to
    the close, or its headers when it is a 101)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\n"
               + (f"Origin: {origin}\r\n" if origin else "")
               + f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    try:
        while not (answer.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in answer):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        s.close()
    return answer


def test_a_refused_websocket_handshake_is_an_http_400(tmp_path):
    """A WebSocket handshake with a foreign Host (DNS rebinding) or a foreign Origin is
    answered `400` with the reason in the body, before any upgrade (before: `101 Switching
    Protocols`, then a close frame 1000, so the client never learnt why); the server's own
    origin, and no Origin, still get the 101."""
    with LiveServer(tmp_path) as server:
        port = server.port
        answers = {
            "foreign Host": _handshake(port, host=f"rebind.evil.example:{port}"),
            "foreign Origin": _handshake(port, origin="http://evil.example"),
            "foreign Host and its Origin": _handshake(port, host="evil.example", origin="http://evil.example"),
        }
        own = _handshake(port, origin=f"http://127.0.0.1:{port}")
        plain = _handshake(port)
    for name, answer in answers.items():
        print(f"{name}: {answer[:300]!r}")
    for name, answer in answers.items():
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (name, answer[:300])
        assert b"Upgrade" not in head and b"Sec-WebSocket-Accept" not in head, (name, head)
        assert body and (b"host name" in body or b"origin" in body.lower()), (name, body)
    assert b"COLLAB_ALLOWED_HOSTS" in answers["foreign Host"]
    assert own.startswith(b"HTTP/1.1 101") and plain.startswith(b"HTTP/1.1 101"), (own[:100], plain[:100])
