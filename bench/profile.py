"""Where collab's server time goes under load: py-spy samples the server during a workload.

    .venv/bin/python -m bench.profile [--editors 50] [--workload latency|saturate] [--seconds 15]

Starts collab pinned to CPU 0 (fresh SQLite database, rate limit raised), drives it with
bench/driver (pinned to CPU 1), and records the server with `py-spy record` (needs py-spy
in .venv: `.venv/bin/pip install py-spy`; root or ptrace permission). py-spy samples only
running code (no --idle), so the shares are of the server's CPU time. Prints the functions
with the most samples, self and inclusive, then collab's own functions inclusive, and keeps
the collapsed stacks (flame graph input) in bench/results/.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.__main__ import RESULTS, drive
from bench.systems import REPO, Server

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def short(file: str) -> str:
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    try:
        return str(Path(file).resolve().relative_to(REPO))
    except ValueError:
        return file


def summarise(collapsed: Path, top: int) -> tuple[list[tuple[str, float, float]], int]:
    self_n: collections.Counter[str] = collections.Counter()
    incl_n: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        names = []
        for frame in stack.split(";"):
            m = FRAME.match(frame.strip())
            names.append(f"{short(m['file'])}:{m['func']}" if m else frame.strip())
        if names:
            self_n[names[-1]] += n
        for name in set(names):
            incl_n[name] += n
    rows = [(name, 100 * self_n[name] / total, 100 * incl_n[name] / total)
            for name, _ in self_n.most_common(top)]
    return rows, total


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    ap.add_argument("--editors", type=int, default=50)
    ap.add_argument("--docs", type=int, default=1)
    ap.add_argument("--workload", choices=("latency", "saturate"), default="latency")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--rate", type=int, default=200, help="samples per second")
    args = ap.parse_args()
    if min(args.editors, args.docs, args.seconds, args.top, args.rate) < 1:
        ap.error("--editors, --docs, --seconds, --top and --rate must be at least 1")
    spy = shutil.which("py-spy", path=str(REPO / ".venv" / "bin")) or shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"profile-{args.workload}-{args.docs}x{args.editors}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    collapsed = stem.with_suffix(".txt")
    with tempfile.TemporaryDirectory(prefix="collab-profile-") as tmp, Server("collab", Path(tmp)) as server:
        warmup = 3
        rec = subprocess.Popen([spy, "record", "--pid", str(server.pids[0]), "--rate", str(args.rate), "--nonblocking",
                                "--duration", str(args.seconds + warmup), "--format", "raw", "--output", str(collapsed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(drive(
            {"workload": args.workload, "docs": args.docs, "editors": args.editors, "interval_ms": 200,
             "warmup_s": warmup, "duration_s": args.seconds, "drain_s": 3}, server)))
        t.start()
        t.join()
        _, err = rec.communicate(timeout=60)
    if not collapsed.exists():
        print(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
        return 1
    rows, total = summarise(collapsed, args.top)
    print(f"command: .venv/bin/python -m bench.profile {' '.join(sys.argv[1:])}".rstrip())
    print(f"workload: {args.workload}, {args.docs} doc(s) x {args.editors} editors; server CPU "
          f"{result.get('server_cpu_pct', 0):.0f} %, latency {result.get('latency_ms')}")
    print(f"{total:,} samples at {args.rate}/s of running code (% = share of the server's CPU time)\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'function (file:function)':{width}}  self %  incl %")
    for name, s, i in rows:
        print(f"{name:{width}}  {s:6.1f}  {i:6.1f}")
    # inclusive view of collab's own modules: where the server's work is spent
    incl = collections.Counter()
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        seen = set()
        for frame in stack.split(";"):
            m = FRAME.match(frame.strip())
            if m and "collab/" in m["file"] and "site-packages" not in m["file"]:
                key = f"{short(m['file'])}:{m['func']}"
                if key not in seen:
                    seen.add(key)
                    incl[key] += int(count)
    print(f"\n{'collab function (inclusive)':{width}}  incl %")
    for name, n in incl.most_common(15):
        print(f"{name:{width}}  {100 * n / total:6.1f}")
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
