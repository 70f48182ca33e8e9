"""Where a keystroke's time goes, in the server and around it: a timeline of every patch.

    .venv/bin/python -m bench.timeline [--editors 2] [--seconds 15]

Starts collab on a fresh SQLite file (pinned to CPU 0) with timestamps taken around the
steps of the patch path, drives it with bench/driver's latency workload (CPU 1), and
prints, for each step, p50 / p90 / p99 / max over the patches (the first sixth is left
out as warm-up). The steps, in order:

  frame    the patch's WebSocket message has been read (Observer.message_read)
  handler  it reached its handler in realtime.DocumentNamespace (Observer.received)
  parsed   the patch is parsed (Observer.parsed)
  revised  applied, its canonical patch and hash made (Observer.revised)
  commit   the committer takes it (Observer.committing)
  stored   the store's transaction, fsync included, is done (Observer.stored)
  emitted  broadcast_revisions returned: encoded once, queued for every other editor
           (Observer.announced)
  first    its `revision` frame is written to the first other editor (Observer.frame_sent)
  last     ... and to the last one
  ack      the author's ack frame is written (Observer.frame_sent)

Timestamps come from the server itself (time.perf_counter); the driver's latency for the
same run (author's edit to arrival everywhere) is printed with them. Every step is an
observer hook (collab/service/observer.py, given to create_app): the edge's are called by
the WebSocket (collab/serve.py) and the Socket.IO handlers, the others by the service.

Then the same patches end to end, the driver's timestamps (`ops_out` in driver.mjs) and the
server's on one clock (the wall clock both read), joined by op id:

  typed    the first keystroke the patch carries is made (driver)
  sent     the patch is handed to socket.io-client (driver)
  frame .. last  as above (server)
  arrived  its `revision` reaches the handler of the last other editor (driver)

with the slowest patches broken down segment by segment, so that a tail can be told to
come from the driver, the way in, the server's steps, or the way out.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

STEPS = ("frame", "handler", "parsed", "revised", "commit", "stored", "emitted", "first", "last")
VERSION = re.compile(r'"version":\s*(\d+)')


def serve(out: str, argv: list[str]) -> None:
    """The instrumented server (a child process): collab's run.py plus an observer that
    takes a timestamp at every hook (collab/service/observer.py); nothing is wrapped."""
    from gevent import monkey

    monkey.patch_all()
    from collab import serve as collab_serve
    from collab.app import create_app
    from collab.service.observer import Observer

    now = time.perf_counter
    records: list[dict] = []
    by_op: dict[str, dict] = {}  # by_op[op id] = the patch being handled, until its ack
    by_version: dict[int, dict] = {}  # what the committer and the writers saw, per version

    def mark_versions(step: str, revisions) -> None:  # type: ignore[no-untyped-def]
        t = now()
        for r in revisions:
            by_version.setdefault(r.version, {}).setdefault(step, t)

    class Timeline(Observer):
        last_frame = 0.0  # when the last WebSocket message was read (its handler runs next, on its reader)

        def message_read(self, size: int) -> None:
            self.last_frame = now()

        def received(self, event: str, op_id: str | None) -> None:
            if event == "patch" and op_id is not None:
                by_op[op_id] = {"frame": self.last_frame, "handler": now(), "id": op_id}

        def parsed(self, op_id: str) -> None:
            rec = by_op.get(op_id)
            if rec is not None:
                rec.setdefault("parsed", now())

        def revised(self, op_id: str) -> None:
            rec = by_op.get(op_id)
            if rec is not None:
                rec.setdefault("revised", now())

        def committing(self, revisions) -> None:  # type: ignore[no-untyped-def]
            mark_versions("commit", revisions)

        def stored(self, revisions) -> None:  # type: ignore[no-untyped-def]
            mark_versions("stored", revisions)

        def announced(self, revisions) -> None:  # type: ignore[no-untyped-def]
            mark_versions("emitted", revisions)

        def answered(self, event: str, op_id: str | None, ack) -> None:  # type: ignore[no-untyped-def]
            rec = by_op.pop(op_id, None) if event == "patch" and op_id is not None else None
            if rec is not None and ack.get("ok"):
                rec["version"] = ack["version"]
                records.append(rec)

        def frame_sent(self, message: str | bytes) -> None:
            if not isinstance(message, str) or not message.startswith("4"):
                return
            m = VERSION.search(message, 0, 200)
            if m is None:
                return
            seen = by_version.setdefault(int(m.group(1)), {})
            t = now()
            if message.startswith('42["revision"'):
                seen.setdefault("first", t)
                seen["last"] = t
            elif message.startswith("43"):
                seen.setdefault("ack", t)

    def dump(*_: object) -> None:
        for rec in records:
            rec.update(by_version.get(rec["version"], {}))
        with open(out, "w", encoding="utf-8") as f:
            # seconds to add to a perf_counter reading for the wall clock (the driver's clock)
            json.dump({"wall": time.time() - now(), "records": records}, f)
        os._exit(0)

    signal.signal(signal.SIGUSR1, dump)
    ap = argparse.ArgumentParser(prog="bench.timeline --serve")  # run.py's options (collab.serve.main)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database", required=True)
    args = ap.parse_args(argv)
    collab_serve.serve(create_app({"database_url": args.database}, observer=Timeline()), args.host, args.port)


def _row(a: str, b: str, ms: list[float]) -> str:
    """One line: the pair of timestamps, how many, p50 / p90 / p99 / max of `ms` (sorted)."""
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return (f"{a:>8} -> {b:<8} {len(ms):>6} {statistics.median(ms):8.3f} {pick(0.9):8.3f} "
            f"{pick(0.99):8.3f} {ms[-1]:8.3f}")


def _header(first: str) -> str:
    return f"{first:>20} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}"


def report(records: list[dict]) -> list[str]:
    records = records[len(records) // 6:]  # the server's records include the warm-up
    rows = []
    pairs = list(zip(STEPS, STEPS[1:])) + [("frame", "first"), ("frame", "last"), ("frame", "ack")]
    for a, b in pairs:
        ms = sorted((r[b] - r[a]) * 1000 for r in records if a in r and b in r)
        if ms:
            rows.append(_row(a, b, ms))
    return [_header("step")] + rows


SEGMENTS = (  # a patch's way from the author's keystroke to its arrival everywhere
    ("typed", "sent", "driver: first keystroke to patch sent (waits while one is in flight)"),
    ("sent", "frame", "driver sends it; the server has read its frame"),
    ("frame", "last", "server: frame read to written to the last other editor"),
    ("last", "arrived", "from the server's write to the last editor's handler (driver)"),
    ("typed", "arrived", "end to end"),
)


def joined(server: dict, ops: list[dict]) -> list[dict]:
    """Each patch's driver timestamps beside its server timestamps, in ms on one clock.

    The driver writes ms since the epoch (performance.timeOrigin + performance.now()); the
    server's perf_counter readings are moved onto the same clock with its `wall` offset.
    """
    wall = server["wall"]
    by_id = {r["id"]: r for r in server["records"] if r.get("id")}
    rows = []
    for op in ops:
        rec = by_id.get(op["id"])
        if rec is None or not op["arrived"] or "last" not in rec:
            continue
        rows.append({"id": op["id"], "typed": op["made"], "sent": op["sent"], "arrived": max(op["arrived"]),
                     **{k: (rec[k] + wall) * 1000 for k in STEPS if k in rec}})
    return rows


def report_segments(rows: list[dict], worst: int = 5) -> list[str]:
    """p50 / p90 / p99 / max of each segment, then the slowest patches segment by segment
    (the driver keeps only patches sent in its measuring window: no warm-up to leave out)."""
    out = [_header("segment")]
    for a, b, what in SEGMENTS:
        ms = sorted(r[b] - r[a] for r in rows)
        if ms:
            out.append(f"{_row(a, b, ms)}  {what}")
    out.append(f"the {worst} slowest, ms: end to end = " + " + ".join(f"{a}->{b}" for a, b, _ in SEGMENTS[:-1])
               + "  [server: " + " ".join(STEPS[1:]) + "]")
    for r in sorted(rows, key=lambda r: r["arrived"] - r["typed"])[-worst:]:
        seg = " + ".join(f"{r[b] - r[a]:.2f}" for a, b, _ in SEGMENTS[:-1])
        steps = " ".join(f"{r[b] - r[a]:.2f}" if a in r and b in r else "-" for a, b in zip(STEPS, STEPS[1:]))
        out.append(f"  {r['arrived'] - r['typed']:6.2f} = {seg}  [{steps}]")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.timeline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--editors", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--serve", help=argparse.SUPPRESS)  # internal: the instrumented server's output file
    args, rest = ap.parse_known_args(argv)
    if not args.serve and (args.editors < 2 or args.seconds <= 0):
        ap.error("--editors must be at least 2 (an author and a receiver) and --seconds above 0")
    if args.serve:
        serve(args.serve, rest)
        return 0

    from bench.__main__ import drive
    from bench.systems import LOAD_ENV, REPO, SERVER_CPU, free_port, taskset

    work = Path(tempfile.mkdtemp(prefix="collab-timeline-"))
    out, port = work / "timeline.json", free_port()
    py = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable
    cmd = taskset(SERVER_CPU) + [py, "-m", "bench.timeline", "--serve", str(out), "--host", "127.0.0.1",
                                 "--port", str(port), "--database", f"sqlite:///{work}/collab.db"]
    with open(work / "server.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **LOAD_ENV}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print(f"the server did not start; see {work}/server.log", file=sys.stderr)
                    return 1
                time.sleep(0.1)

        class Server:
            system = client = "collab"
            urls, pids = [f"http://127.0.0.1:{port}"], [proc.pid]

        result = drive({"workload": "latency", "docs": 1, "editors": args.editors, "interval_ms": 200,
                        "warmup_s": 3, "duration_s": args.seconds,
                        "ops_out": str(work / "ops.json")}, Server)  # type: ignore[arg-type]
        proc.send_signal(signal.SIGUSR1)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    server = json.loads(out.read_text(encoding="utf-8"))
    records = server["records"]
    ops = json.loads((work / "ops.json").read_text(encoding="utf-8")) if (work / "ops.json").exists() else []
    print(f"command: .venv/bin/python -m bench.timeline {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"driver: latency {result.get('latency_ms')}, server CPU {result.get('server_cpu_pct')} %")
    print(f"{len(records)} patches acknowledged; ms between steps (server clock):")
    print("\n".join(report(records)))
    print(f"{len(ops)} patches sent by the driver; ms between its timestamps and the server's (one clock):")
    print("\n".join(report_segments(joined(server, ops))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
