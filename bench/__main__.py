"""collab's benchmark suite: `make bench` (or `.venv/bin/python -m bench [--quick]`).

Side by side, with the same Node.js load driver (bench/driver/: frontend/src/sync.js over
socket.io-client for collab and the relay; yjs with y-websocket's or Hocuspocus's provider
for the peers), each server started fresh for each run, pinned to CPU 0 and the driver to
CPU 1 (`taskset`), server CPU time read from /proc/<pid>/stat:

  1 latency      one document, N editors (2, 10, 50, 100), a keystroke every 200 ms each
  2 many-docs    100 documents x 2 editors, 1 keystroke/s each
  3 throughput   automerge-paper replayed by one editor, followed by one receiver; and
                 10 editors on one document, each as fast as one patch in flight allows
  4 history      bench/history.py (any version of the 260k-revision document)
  5 connections  server memory per idle connected client, 1,000 and 5,000 clients
  6 floor        the latency workload against bench/relay.py (no apply, no storage)
  scale-out      issue 5: many documents on 1 vs 2 collab processes (PostgreSQL + Redis)

Results: a table per workload on stdout, JSON and PNG charts in bench/results/.
`--systems collab,collab-tmpfs,yws` adds a diagnostic collab whose database is on tmpfs (no
fsync, not durable): the difference from collab is what the durable commit costs.

Beside the suite: `python -m bench.profile` (py-spy on the server under a workload),
`python -m bench.timeline` (each step of the patch path, timed inside the server, and each
patch end to end with the driver's timestamps), `python -m bench.disk` (fdatasync and
collab's SQLite commits on this disk), `python -m bench.history`, `python -m bench.pgdriver`,
`python -m bench.soak`, `python -m bench.bigdoc` (server CPU per keystroke at 1 KB, 1 MB
and 4 M code points) and `python -m bench.images` (uploaded images: upload, fetch, and what
of them runs on the event loop).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.systems import (DRIVER_CPU, DRIVER_DIR, EXTRA_SYSTEMS, LABELS, LOAD_ENV, REPO, SYSTEMS,
                           PostgresDatabase, Server, taskset)
from bench.liveserver import RedisServer

TRACE = "/work/shared/traces/automerge-paper.json.gz"
RESULTS = REPO / "bench" / "results"
ALL = ("latency", "many-docs", "throughput", "history", "connections", "scaleout")


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gib": round(mem, 1), "kernel": platform.release(),
            "python": platform.python_version(), "node": node, "loadavg_at_start": os.getloadavg()}


def drive(config: dict[str, Any], server: Server, timeout: float = 600) -> dict[str, Any]:
    """Run the driver once (pinned to DRIVER_CPU); its progress goes to stderr."""
    config = {**config, "system": server.client, "urls": server.urls, "pids": server.pids}
    cmd = taskset(DRIVER_CPU) + ["node", str(DRIVER_DIR / "driver.mjs"), json.dumps(config)]
    proc = subprocess.run(cmd, cwd=DRIVER_DIR, stdout=subprocess.PIPE, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"driver exited with {proc.returncode}"}
    return json.loads(lines[-1])


COLLAB_SOURCE = [REPO]  # where collab's run.py is started from (--collab-source)


def run(system: str, config: dict[str, Any], work: Path, **server_kw: Any) -> dict[str, Any]:
    label = f"{system} {config['workload']} " + " ".join(f"{k}={v}" for k, v in config.items()
                                                         if k in ("docs", "editors", "clients", "limit"))
    print(f"- {label}", file=sys.stderr, flush=True)
    try:
        with Server(system, work / f"{system}-{time.monotonic_ns()}", collab_source=COLLAB_SOURCE[0],
                    **server_kw) as server:
            return drive(config, server)
    except Exception as exc:  # a system that fails to start is reported, not fatal
        return {"error": str(exc)}


# ---- workloads ------------------------------------------------------------------------------

def latency(p: dict[str, Any], work: Path, systems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for n in p["editors"]:
        for system in systems:
            cfg = {"workload": "latency", "docs": 1, "editors": n, "interval_ms": 200,
                   "warmup_s": p["warmup_s"], "duration_s": p["duration_s"]}
            rows.append({"system": system, "editors": n, **run(system, cfg, work)})
    return rows


def many_docs(p: dict[str, Any], work: Path, systems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for system in systems:
        cfg = {"workload": "latency", "docs": p["docs"], "editors": 2, "interval_ms": 1000,
               "warmup_s": p["warmup_s"], "duration_s": p["duration_s"]}
        rows.append({"system": system, "docs": p["docs"], **run(system, cfg, work)})
    return rows


def throughput(p: dict[str, Any], work: Path, systems: list[str]) -> dict[str, list[dict[str, Any]]]:
    trace_rows, sat_rows = [], []
    for system in [s for s in systems if s != "relay"]:
        cfg = {"workload": "trace", "trace": TRACE, "chunk": 50, "limit": p["trace_limit"]}
        trace_rows.append({"system": system, **run(system, cfg, work)})
    for system in [s for s in systems if s in ("collab", "collab-process", "relay")]:
        cfg = {"workload": "saturate", "docs": 1, "editors": 10, "warmup_s": 2, "duration_s": p["duration_s"]}
        sat_rows.append({"system": system, "editors": 10, **run(system, cfg, work)})
    return {"trace": trace_rows, "saturate": sat_rows}


def history(p: dict[str, Any]) -> dict[str, Any]:
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "bench.history", "--samples", "100"]
    print("- history: " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    return {"command": ".venv/bin/python -m bench.history --samples 100", "returncode": proc.returncode,
            "output": proc.stdout}


def connections(p: dict[str, Any], work: Path, systems: list[str]) -> list[dict[str, Any]]:
    rows = []
    for n in p["clients"]:
        for system in [s for s in systems if s != "relay"]:
            cfg = {"workload": "idle", "clients": n, "per_doc": 10}
            rows.append({"system": system, "clients_wanted": n, **run(system, cfg, work)})
    return rows


def scaleout(p: dict[str, Any], work: Path) -> dict[str, Any]:
    """Issue 5: many documents on 1 vs 2 collab processes sharing PostgreSQL (+ Redis for 2).
    Not pinned: the two processes get one core each and share them with the driver, the
    database and Redis, which is all this 2-core machine has."""
    admin = os.environ.get("COLLAB_TEST_POSTGRES", "postgresql://127.0.0.1/test")
    if shutil.which("redis-server") is None:
        return {"skipped": "redis-server is not installed"}
    rows = []
    try:
        for procs in (1, 2):
            for workload in ("saturate", "latency"):
                with PostgresDatabase(admin) as db, RedisServer(work / f"redis-{procs}-{workload}") as redis:
                    env = {"COLLAB_MESSAGE_QUEUE": redis.url} if procs > 1 else {}
                    cfg: dict[str, Any] = {"workload": workload, "docs": p["docs"], "editors": 2,
                                           "warmup_s": p["warmup_s"], "duration_s": p["duration_s"]}
                    if workload == "latency":
                        cfg["interval_ms"] = 1000
                    r = run("collab", cfg, work, database=db.url, env=env, cpus=[None] * procs)
                    rows.append({"processes": procs, "workload": workload, "docs": p["docs"], **r})
    except Exception as exc:
        return {"skipped": f"PostgreSQL at {admin}: {exc}", "rows": rows}
    return {"rows": rows, "database": "PostgreSQL (fresh database, dropped after)",
            "queue": "private redis-server (2 processes only)"}


# ---- reporting ------------------------------------------------------------------------------

def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [header] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = [f"\n## {title}\n", "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in cells[1:]:
        out.append("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(out)


def lat(r: dict[str, Any], k: str) -> Any:
    return (r.get("latency_ms") or {}).get(k)


def report(res: dict[str, Any]) -> str:
    parts = []
    w = res["workloads"]
    if "latency" in w:
        parts.append(table("1 + 6. Latency: one document, N editors, a keystroke every 200 ms each (ms)",
                           ["system", "N", "p50", "p95", "p99", "max", "deliveries exp/obs", "ack p50",
                            "server CPU %", "CPU us/delivery", "driver CPU %", "converged"],
                           [[LABELS[r["system"]], r["editors"], lat(r, "p50"), lat(r, "p95"), lat(r, "p99"),
                             lat(r, "max"), f"{fmt(r.get('expected_deliveries'))}/{fmt(r.get('observed_deliveries'))}",
                             (r.get("ack_ms") or {}).get("p50"), r.get("server_cpu_pct"), r.get("cpu_us_per_delivery"),
                             r.get("driver_cpu_pct"), r.get("converged", r.get("error"))] for r in w["latency"]]))
    if "many-docs" in w:
        parts.append(table("2. Many documents: D documents x 2 editors, 1 keystroke/s each (ms)",
                           ["system", "docs", "p50", "p99", "max", "deliveries exp/obs", "server CPU %",
                            "CPU us/delivery", "converged"],
                           [[LABELS[r["system"]], r["docs"], lat(r, "p50"), lat(r, "p99"), lat(r, "max"),
                             f"{fmt(r.get('expected_deliveries'))}/{fmt(r.get('observed_deliveries'))}",
                             r.get("server_cpu_pct"), r.get("cpu_us_per_delivery"), r.get("converged", r.get("error"))]
                            for r in w["many-docs"]]))
    if "throughput" in w:
        parts.append(table("3a. Throughput: automerge-paper replayed (50 transactions per turn), one receiver",
                           ["system", "transactions", "end to end s", "keystrokes/s", "revisions", "revisions/s",
                            "server CPU s", "CPU us/revision", "final text exact"],
                           [[LABELS[r["system"]], r.get("transactions"), r.get("end_to_end_s"),
                             r.get("keystrokes_per_s"), r.get("revisions"), r.get("revisions_per_s"),
                             r.get("server_cpu_s"), r.get("cpu_us_per_revision"),
                             r.get("final_text_ok", r.get("error"))] for r in w["throughput"]["trace"]]))
        parts.append(table("3b. Throughput: 10 editors on one document, each with one patch in flight",
                           ["system", "committed rev/s", "delivered msgs/s", "ack p50 ms", "ack p99 ms",
                            "server CPU %", "CPU us/revision", "clients' CPU us/revision", "converged"],
                           [[LABELS[r["system"]], r.get("committed_per_s"), r.get("delivered_per_s"),
                             (r.get("ack_ms") or {}).get("p50"), (r.get("ack_ms") or {}).get("p99"),
                             r.get("server_cpu_pct"), r.get("cpu_us_per_revision"),
                             r.get("driver_cpu_us_per_revision"), r.get("converged", r.get("error"))]
                            for r in w["throughput"]["saturate"]]))
    if "history" in w:
        parts.append("\n## 4. History (" + w["history"]["command"] + ")\n\n" + w["history"]["output"])
    if "connections" in w:
        parts.append(table("5. Connections: server memory per idle connected client (10 per document)",
                           ["system", "clients", "connect s", "RSS before MiB", "RSS after MiB", "KiB/client"],
                           [[LABELS[r["system"]], r.get("clients", r.get("error")), r.get("connect_s"),
                             r.get("rss_before_mb"), r.get("rss_after_mb"), r.get("kib_per_client")]
                            for r in w["connections"]]))
    if "scaleout" in w:
        s = w["scaleout"]
        if "skipped" in s:
            parts.append(f"\n## Scale-out (issue 5)\n\nskipped: {s['skipped']}")
        rows = s.get("rows", [])
        if rows:
            parts.append(table("Scale-out (issue 5): D documents x 2 editors on 1 vs 2 collab processes, PostgreSQL",
                               ["processes", "workload", "docs", "committed rev/s", "delivered msgs/s", "p50 ms",
                                "p99 ms", "ack p50 ms", "server CPU % (all)", "converged"],
                               [[r["processes"], r["workload"], r["docs"], r.get("committed_per_s"),
                                 r.get("delivered_per_s"),
                                 lat(r, "p50") if r["workload"] == "latency" else (r.get("keystroke_latency_ms") or {}).get("p50"),
                                 lat(r, "p99") if r["workload"] == "latency" else (r.get("keystroke_latency_ms") or {}).get("p99"),
                                 (r.get("ack_ms") or {}).get("p50"), r.get("server_cpu_pct"),
                                 r.get("converged", r.get("error"))] for r in rows]))
    return "\n".join(parts)


def charts(res: dict[str, Any], stem: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    w = res["workloads"]
    if "latency" in w:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for system in SYSTEMS + EXTRA_SYSTEMS:
            rows = [r for r in w["latency"] if r["system"] == system and r.get("latency_ms")]
            if not rows:
                continue
            ns = [r["editors"] for r in rows]
            axes[0].plot(ns, [r["latency_ms"]["p50"] for r in rows], "o--", label=f"{LABELS[system]} p50")
            axes[0].plot(ns, [r["latency_ms"]["p99"] for r in rows], "o-", label=f"{LABELS[system]} p99")
            axes[1].plot(ns, [r.get("cpu_us_per_delivery") or 0 for r in rows], "o-", label=LABELS[system])
        axes[0].set(xlabel="editors on one document", ylabel="ms (log)", yscale="log", title="keystroke latency")
        axes[1].set(xlabel="editors on one document", ylabel="us", title="server CPU per delivered keystroke")
        for a in axes:
            a.legend(fontsize=7)
            a.grid(alpha=0.3)
        fig.tight_layout()
        path = stem.with_name(stem.name + "-latency.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(str(path))
    bars = []
    if "throughput" in w:
        bars.append(("keystrokes/s, automerge-paper", {LABELS[r["system"]]: r.get("keystrokes_per_s") or 0
                                                         for r in w["throughput"]["trace"]}))
    if "connections" in w:
        top = max((r["clients_wanted"] for r in w["connections"]), default=0)
        bars.append((f"KiB per idle client ({top:,} clients)", {LABELS[r["system"]]: r.get("kib_per_client") or 0
                                                                 for r in w["connections"] if r["clients_wanted"] == top}))
    if bars:
        fig, axes = plt.subplots(1, len(bars), figsize=(5 * len(bars), 3.5))
        axes = axes if len(bars) > 1 else [axes]
        for a, (title, data) in zip(axes, bars):
            a.bar(list(data), list(data.values()), color="#4a7ab7")
            a.set_title(title, fontsize=9)
            a.tick_params(labelsize=8)
        fig.tight_layout()
        path = stem.with_name(stem.name + "-throughput-memory.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(str(path))
    return made


# ---- main -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short smoke run (~3 minutes): fewer editors, 5 s windows")
    ap.add_argument("--only", help=f"comma-separated workloads out of {','.join(ALL)} (default: all)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, out of {','.join(SYSTEMS)} "
                    f"(and {','.join(EXTRA_SYSTEMS)}: collab with no fsync, to see what durability costs)")
    ap.add_argument("--editors", help="comma-separated room sizes for the latency workload (default: 2,10,50,100)")
    ap.add_argument("--collab-source", choices=("worktree", "head"), default="worktree",
                    help="run collab from the working tree (default) or from a `git archive HEAD` export")
    args = ap.parse_args(argv)
    if shutil.which("node") is None or not (DRIVER_DIR / "node_modules").exists():
        print("the driver needs node and its packages: cd bench/driver && npm ci", file=sys.stderr)
        return 2
    wanted = args.only.split(",") if args.only else list(ALL)
    if args.quick and not args.only:
        wanted.remove("history")  # loading 260k revisions takes minutes: run bench.history alone
    systems = args.systems.split(",")
    unknown = [s for s in systems if s not in SYSTEMS + EXTRA_SYSTEMS]
    if unknown:
        ap.error(f"unknown system(s) {', '.join(unknown)}: use {', '.join(SYSTEMS + EXTRA_SYSTEMS)}")
    q = args.quick
    params = {
        "latency": {"editors": [2, 10] if q else [2, 10, 50, 100], "warmup_s": 1 if q else 3, "duration_s": 5 if q else 15},
        "many-docs": {"docs": 20 if q else 100, "warmup_s": 1 if q else 3, "duration_s": 5 if q else 15},
        "throughput": {"trace_limit": 20000 if q else None, "duration_s": 5 if q else 10},
        "connections": {"clients": [200] if q else [1000, 5000]},
        "scaleout": {"docs": 20 if q else 100, "warmup_s": 1 if q else 3, "duration_s": 5 if q else 10},
    }
    if args.editors:
        params["latency"]["editors"] = [int(n) for n in args.editors.split(",")]
    # 5,000 connections: each is a socket in the server and one in the driver
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    command = " ".join([".venv/bin/python -m bench"] + (argv if argv is not None else sys.argv[1:]))
    res: dict[str, Any] = {"command": command, "started": dt.datetime.now().isoformat(timespec="seconds"),
                           "machine": machine(), "params": {k: params[k] for k in params if k in wanted},
                           "pinning": {"server_cpu": 0, "driver_cpu": 1},
                           "collab_env": " ".join(f"{k}={v}" for k, v in LOAD_ENV.items()),
                           "workloads": {}}
    m = res["machine"]
    print(f"command: {command}\nmachine: {m['nproc']} x {m['cpu']}, {m['memory_gib']} GiB, Linux {m['kernel']}, "
          f"Python {m['python']}, Node {m['node']}, load average {m['loadavg_at_start'][0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        work = Path(tmp)
        source = REPO
        if args.collab_source == "head":
            source = work / "head"
            source.mkdir()
            subprocess.run(f"git archive HEAD | tar -x -C {source}", shell=True, cwd=REPO, check=True)
        res["collab_source"] = args.collab_source
        COLLAB_SOURCE[0] = source
        steps = {
            "latency": lambda: latency(params["latency"], work, systems),
            "many-docs": lambda: many_docs(params["many-docs"], work, systems),
            "throughput": lambda: throughput(params["throughput"], work, systems),
            "history": lambda: history({}),
            "connections": lambda: connections(params["connections"], work, systems),
            "scaleout": lambda: scaleout(params["scaleout"], work),
        }
        for i, name in enumerate(wanted, 1):
            print(f"[{i}/{len(wanted)}] {name}", file=sys.stderr, flush=True)
            started = time.monotonic()
            res["workloads"][name] = steps[name]()
            print(f"  {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    res["loadavg_at_end"] = os.getloadavg()
    text = report(res)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / (("quick-" if q else "full-") + dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1))
    stem.with_suffix(".md").write_text(f"command: {command}\nmachine: {json.dumps(m)}\n{text}\n")
    pngs = charts(res, stem)
    print(f"\nresults: {stem}.json, {stem}.md" + "".join(f", {p}" for p in pngs))
    print(f"load average at end: {res['loadavg_at_end'][0]:.2f} (other work on this machine adds noise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
