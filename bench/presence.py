"""Presence for a crowd: N clients join one document at once (issue 13, item 5).

    .venv/bin/python -m bench.presence [--clients 1000] [--processes 4] [--delta-share 0.5]

Starts `run.py` (SQLite in a temporary folder) under `prlimit --nofile` raised to fit the
crowd, then `--processes` client processes, each with its share of raw WebSocket
connections from its own loopback address (127.0.0.2, .3, ...: under the per-address
connection limit, the server's defaults otherwise). Once every connection is open they
all send `join` to one document at once; a share of them ask for presence deltas. Each
client counts the presence frames it receives and their bytes (the Socket.IO payload),
answers Engine.IO pings, and watches the `editors` count until it says N. Meanwhile an
honest editor of another document does `sync` round trips (bench/probes.py RoundTrips):
its worst round trip is what the storm cost everyone else, printed for the joins and, apart,
for the crowd leaving at once when the bench ends (every member closes its connections, and
the figures run until the server has closed them all, plus 1 s; the client processes exit
only after that), with the server's CPU for the departures. Prints one table; the test
harness stopped near 400 connections, hence a bench with its own processes.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import secrets
import selectors
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

from bench.liveserver import LiveServer
from bench.probes import RoundTrips, ws_frame, ws_open


def _asks_deltas(i: int, share: float) -> bool:
    """Whether client `i` asks for presence deltas: spread evenly, `share` of them."""
    return int((i + 1) * share) > int(i * share)


class Member:
    """One crowd member's connection and what it received."""

    def __init__(self, s: socket.socket, name: str) -> None:
        self.s, self.name = s, name
        self.buf = b""
        self.joined_at: float | None = None
        self.frames = 0  # presence frames
        self.bytes = 0  # their payload bytes
        self.editors = 0  # the last count presence (or the join answer) gave
        self.join_bytes = 0  # the join answer's payload (its list of peers)
        self.refused: str | None = None  # the join's error code, if it was refused

    def frames_in(self) -> list[bytes]:
        out = []
        while len(self.buf) >= 2:
            n, off = self.buf[1] & 0x7F, 2
            if n == 126:
                n, off = int.from_bytes(self.buf[2:4], "big"), 4
            elif n == 127:
                n, off = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < off + n:
                break
            out.append(self.buf[off:off + n])
            self.buf = self.buf[off + n:]
        return out


def crowd(port: int, source: str, doc: str, n: int, first: int, total: int, delta_share: float,
          sync, results) -> None:  # type: ignore[no-untyped-def]
    """`n` members from `source`. `sync` = (ready barrier, go event, stop event, settled
    counter, release event): join when `go` is set, count this process settled once every
    member's `editors` says `total`, read until `stop`; put the members' figures on
    `results`, close every connection, and exit once `release` is set: a client process's
    exit (~0.12 s of CPU each after its last atexit hook, on the same 2 cores) fell in the
    middle of the server's handling of the departures."""
    ready, go, stop, settled, release = sync
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    members = [Member(ws_open(port, source=source, timeout=60), f"p{first + k}") for k in range(n)]
    sel = selectors.DefaultSelector()
    for m in members:
        sel.register(m.s, selectors.EVENT_READ, m)
    ready.wait()
    go.wait()
    t0 = time.monotonic()
    for k, m in enumerate(members):
        delta = _asks_deltas(first + k, delta_share)
        message = {"doc": doc, "name": m.name, **({"presence": "delta"} if delta else {})}
        m.s.sendall(ws_frame(b"421" + json.dumps(["join", message]).encode()))
    counted = False
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            m = key.data
            chunk = m.s.recv(262_144)
            if not chunk:
                sel.unregister(m.s)
                continue
            m.buf += chunk
            for payload in m.frames_in():
                if payload == b"2":  # Engine.IO ping
                    m.s.sendall(ws_frame(b"3"))
                elif payload.startswith(b"431["):
                    m.joined_at = time.monotonic() - t0
                    m.join_bytes = len(payload)
                    answer = json.loads(payload[3:])[0]
                    m.editors = answer.get("editors", 0)
                    m.refused = None if answer.get("ok") else answer["error"]["code"]
                elif payload.startswith(b'42["presence"'):
                    m.frames += 1
                    m.bytes += len(payload)
                    m.editors = json.loads(payload[2:])[1].get("editors", m.editors)
        if not counted and all(m.editors >= total for m in members):
            counted = True
            with settled.get_lock():
                settled.value += 1
    results.put([(m.joined_at, m.frames, m.bytes, m.editors, _asks_deltas(first + i, delta_share), m.join_bytes,
                  m.refused)
                 for i, m in enumerate(members)])
    for m in members:
        m.s.close()
    release.wait()


class _Limited(LiveServer):
    """run.py under `prlimit --nofile=N`."""

    def __init__(self, workdir: Path, nofile: int) -> None:
        super().__init__(workdir, start_timeout=60)
        self.nofile = nofile

    @property
    def command(self) -> list[str]:
        return ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *super().command]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=4, help="client processes (one loopback address each)")
    parser.add_argument("--delta-share", type=float, default=0.5, help="share of clients asking for deltas")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the crowd to settle")
    args = parser.parse_args(argv)
    if args.clients / args.processes > 250:
        parser.error("at most 250 clients a process: the per-address connection limit is 256")
    print(f"$ .venv/bin/python -m bench.presence {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    doc, probe_doc = "crowd-" + secrets.token_hex(4), "probe-" + secrets.token_hex(4)
    ctx = multiprocessing.get_context("spawn")
    ready, go, stop, settled = ctx.Barrier(args.processes + 1), ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    release = ctx.Event()
    results = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="collab-presence-") as tmp, \
            _Limited(Path(tmp), args.clients + 1_024) as server:
        # the document exists, as a team's does: joins racing its creation would each cost
        # their address a lookup of an unknown name (COLLAB_LOOKUP_BURST, 100)
        requests.post(server.url + "/api/docs", json={"doc": doc}, timeout=30).raise_for_status()
        share = [args.clients // args.processes + (k < args.clients % args.processes) for k in range(args.processes)]
        procs, first = [], 0
        for k, n in enumerate(share):
            procs.append(ctx.Process(target=crowd, args=(server.port, f"127.0.0.{2 + k}", doc, n, first, args.clients,
                                                         args.delta_share, (ready, go, stop, settled, release), results),
                                     daemon=True))
            procs[-1].start()
            first += n
        ready.wait(timeout=300)  # every connection open
        with RoundTrips(server.url, probe_doc, timeout=60, pace=0.01) as honest:
            time.sleep(1.0)  # quiet round trips first
            t0, cpu0 = time.monotonic(), _cpu_seconds(server)
            go_at = time.perf_counter()  # (the clock of honest.spans)
            go.set()
            while settled.value < args.processes and time.monotonic() < t0 + args.timeout:
                time.sleep(0.05)
            took, cpu = time.monotonic() - t0, _cpu_seconds(server) - cpu0
            time.sleep(2.0)  # the presence messages coalesced after the last join
            stop_at, cpu_left0, open_fds = time.perf_counter(), _cpu_seconds(server), _open_files(server)
            stop.set()  # the crowd leaves: every member closes its connection
            rows = [row for _ in procs for row in results.get(timeout=120)]
            # until the server has closed the crowd's connections (its open files say so)
            while _open_files(server) > open_fds - args.clients + 10 and time.perf_counter() < stop_at + args.timeout:
                time.sleep(0.01)
            gone_after = time.perf_counter() - stop_at
            time.sleep(1.0)
            cpu_left = _cpu_seconds(server) - cpu_left0
        storm = sorted(b - a for a, b in honest.spans if go_at <= b and a < stop_at) or [float("nan")]
        leaving = sorted(b - a for a, b in honest.spans if stop_at <= b) or [float("nan")]
        release.set()
        for p in procs:
            p.join(timeout=30)
        blocked = server.log_path.read_text(errors="replace").count("appears to be blocked")
    _print(args, rows, took, settled.value == args.processes, storm, leaving, honest)
    if os.environ.get("GEVENT_MONITOR_THREAD_ENABLE"):
        print(f"gevent's monitor (GEVENT_MAX_BLOCKING_TIME={os.environ.get('GEVENT_MAX_BLOCKING_TIME', '0.1')} s): "
              f"{blocked} greenlets reported blocking the server's event loop")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"server CPU from the first join until every client saw {args.clients} editors: {cpu:.2f} s "
          f"({1000 * cpu / args.clients:.2f} ms a join)")
    print(f"the crowd's connections closed on the server {gone_after:.2f} s after the crowd began closing; server "
          f"CPU until 1 s later: {cpu_left:.2f} s ({1000 * cpu_left / args.clients:.2f} ms a departure)")
    return 0


def _cpu_seconds(server: LiveServer) -> float:
    """User + system CPU time of the server process (prlimit execs it: same pid)."""
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_files(server: LiveServer) -> int:
    """The server process's open file descriptors (its connections among them)."""
    assert server.proc is not None
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def _print(args, rows, took, settled, storm, leaving, honest) -> None:  # type: ignore[no-untyped-def]
    joined = [r for r in rows if r[0] is not None and r[6] is None]
    refused = Counter(r[6] for r in rows if r[6] is not None)
    if not settled:
        last = Counter(r[3] for r in rows)
        print("the last `editors` count the clients saw (count: clients):",
              ", ".join(f"{k}: {v}" for k, v in sorted(last.items())[-8:]), f"({len(last)} distinct)")
    print(f"{args.clients} clients ({args.processes} processes, {args.delta_share:.0%} asking for deltas) join one "
          f"document at once: {len(joined)} joined{f' ({dict(refused)} refused)' if refused else ''}, {'all saw' if settled else 'NOT all saw'} editors = "
          f"{args.clients} after {took:.1f} s; slowest join answer {max(r[0] for r in joined):.1f} s")
    print(f"{'clients':<12} {'n':>5} {'frames':>8} {'bytes':>12} {'frames/client':>14} {'max bytes/client':>17} "
          f"{'join answers':>13}")
    for label, group in (("full lists", [r for r in rows if not r[4]]), ("deltas", [r for r in rows if r[4]]),
                         ("all", rows)):
        if not group:
            continue
        frames, size = sum(r[1] for r in group), sum(r[2] for r in group)
        print(f"{label:<12} {len(group):5d} {frames:8d} {size:12,d} {frames / len(group):14.1f} "
              f"{max(r[2] for r in group):17,d} {sum(r[5] for r in group):13,d}")
    for what, ts in (("the joins (until 2 s after the last)", storm), ("the crowd leaving", leaving)):
        print(f"honest client during {what}: {len(ts)} round trips, median {1000 * ts[len(ts) // 2]:.1f} ms, "
              f"worst {1000 * ts[-1]:.1f} ms")
    print(f"honest client's failures: {honest.failures[:3] or 'none'}")


if __name__ == "__main__":
    raise SystemExit(main())
