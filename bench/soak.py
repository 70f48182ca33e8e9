"""Long fault runs (`make soak`): the 20-round kill -9 soak on SQLite and PostgreSQL, the
event-loop stall other clients see while slow patches are processed, and the server's memory
while a client never reads. Prints a table (the figures of docs/reliability.md) and the
command that made it.

    .venv/bin/python -m bench.soak [--rounds 20] [--clients 5] [--skip-pg]

Uses the harness the tests use too (bench/liveserver.py, bench/e2ekit.py, bench/probes.py):
the real server (run.py) in a subprocess, real clients over real sockets. PostgreSQL comes from
COLLAB_TEST_POSTGRES (default postgresql://127.0.0.1/test), as for the tests.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import socketio

from bench.e2ekit import kill9_rounds
from bench.liveserver import LiveServer
from bench.probes import RoundTrips, rss_kb, slow_patches, ws_open, ws_send
from collab.core.patches import make_patch

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("COLLAB_TEST_POSTGRES", "postgresql://127.0.0.1/test")
ZERO = ("acked_versions_changed", "tokens_lost", "tokens_applied_twice", "op_ids_applied_twice", "history_gaps",
        "replay_differs", "divergent_clients")


def soak_kills(database: str, rounds: int, clients: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        admin = name = None
        url = None
        if database == "postgresql":
            import psycopg

            admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
            name = "collab_soak_" + secrets.token_hex(4)
            admin.execute(f'CREATE DATABASE "{name}"')
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        try:
            with LiveServer(Path(tmp), database_url=url) as server:
                t = time.monotonic()
                result = kill9_rounds(server, "soak-" + secrets.token_hex(4), clients=clients, rounds=rounds,
                                      seed=f"soak-{database}")
                result["seconds"] = round(time.monotonic() - t, 1)
                return result
        finally:
            if admin is not None:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.close()


def stall() -> list[tuple[str, str, float, float, float]]:
    """(patch, answer, ms to answer, median and max round trip of another client in ms)."""
    text = "".join(f"line {i:07d} of the document that is long enough\n"[:40] for i in range(25_000))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp)) as server:
        sio = socketio.Client(reconnection=False)
        sio.connect(server.url, transports=["websocket"], wait_timeout=20)
        try:
            for n, (name, (_, patch)) in enumerate(slow_patches(text, 5000).items()):
                doc = f"stall-{n}"
                sio.call("join", {"doc": doc}, timeout=30)
                sio.call("patch", {"doc": doc, "base": 0, "patch": make_patch("", text), "id": "big"}, timeout=60)
                if "old" in name:
                    tail = text
                    for k in range(300):
                        sio.call("patch", {"doc": doc, "base": 1 + k, "patch": make_patch(tail, tail + "t"),
                                           "id": f"t{k}"}, timeout=60)
                        tail += "t"
                worst = []
                for attempt in range(3):  # three tries each, the worst round trip of each kept
                    with RoundTrips(server.url, "stall-probe") as rtt:
                        t = time.perf_counter()
                        ack = sio.call("patch", {"doc": doc, "base": 1, "patch": patch, "id": f"slow{attempt}"},
                                       timeout=120)
                        took = time.perf_counter() - t
                        time.sleep(0.2)  # round trips after the answer too, for the median
                    ts = sorted(rtt.times)
                    worst.append((took, ts[len(ts) // 2], ts[-1]))
                    if ack.get("ok"):
                        break  # applied: a second try would be a duplicate or a conflict
                answer = "ok" if ack.get("ok") else ack["error"]["code"]
                took, median, mx = max(worst, key=lambda w: w[2])
                rows.append((name, answer, 1000 * took, 1000 * median, 1000 * mx))
        finally:
            sio.disconnect()
    return rows


def memory(blocks: int = 5, per_block: int = 1000, stuck_client: bool = True) -> list[int]:
    """Server RSS (kB) before and after each block of 2 KB revisions, with or without a
    client that joined and never reads (it answers pings blindly, so it is never dropped)."""
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp)) as server:
        assert server.proc is not None
        stop = threading.Event()
        if stuck_client:
            stuck = ws_open(server.port, rcvbuf=4096)
            ws_send(stuck, b'42["join",{"doc":"mem"}]')

            def pong() -> None:
                while not stop.wait(5):
                    try:
                        ws_send(stuck, b"3")
                    except OSError:
                        return
            threading.Thread(target=pong, daemon=True).start()
        writer = socketio.Client(reconnection=False)
        writer.connect(server.url, transports=["websocket"], wait_timeout=20)
        ack = writer.call("join", {"doc": "mem"}, timeout=20)
        text, version = ack["text"], ack["version"]
        rss = [rss_kb(server.proc.pid)]
        for block in range(blocks):
            for k in range(per_block):
                new = f"{block}.{k}:" + "x" * 2000
                msg = {"doc": "mem", "base": version, "patch": make_patch(text, new), "id": f"m{block}.{k}"}
                ack = writer.call("patch", msg, timeout=30)
                while not ack["ok"] and ack["error"]["code"] == "rate_limited":
                    time.sleep(ack["error"]["retry_after"] + 0.005)
                    ack = writer.call("patch", msg, timeout=30)
                text, version = new, ack["version"]
            rss.append(rss_kb(server.proc.pid))
        stop.set()
        writer.disconnect()
        return rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--only", choices=["kills", "stall", "memory"], help="run one part")
    args = parser.parse_args()
    print(f"command: {' '.join([os.path.relpath(sys.executable, ROOT), '-m', 'bench.soak', *sys.argv[1:]])}")
    failed = False
    if args.only in (None, "kills"):
        print(f"\n## kill -9 at random moments, {args.clients} clients typing, {args.rounds} rounds")
        print("| database | tokens typed | versions | acked versions | " + " | ".join(ZERO) + " | seconds |")
        print("|---" * (5 + len(ZERO)) + "|")
        for database in ("sqlite", "postgresql")[: 1 if args.skip_pg else 2]:
            r = soak_kills(database, args.rounds, args.clients)
            print(f"| {database} | {r['tokens_typed']} | {r['versions']} | {r['acked_versions']} | "
                  + " | ".join(str(r[k]) for k in ZERO) + f" | {r['seconds']} |", flush=True)
            failed |= any(r[k] for k in ZERO)
    if args.only in (None, "stall"):
        print("\n## slow patches on a 1,000,000 code point document; another client's sync round trips")
        print("| patch | answer | answered in ms | other client median ms | other client max ms (stall) |")
        print("|---|---|---|---|---|")
        for name, answer, took, median, mx in stall():
            print(f"| {name} | {answer} | {took:.0f} | {median:.1f} | {mx:.0f} |", flush=True)
    if args.only in (None, "memory"):
        print("\n## server RSS while 5 x 1,000 revisions of 2 KB are written (MB after each 1,000)")
        print("| client that never reads | RSS MB | growth per 1,000 revisions MB |")
        print("|---|---|---|")
        for stuck in (False, True):
            rss = memory(stuck_client=stuck)
            growth = [(b - a) / 1024 for a, b in zip(rss, rss[1:])]
            print(f"| {'yes' if stuck else 'no'} | {' '.join(f'{r / 1024:.1f}' for r in rss)} | "
                  f"{' '.join(f'{g:.1f}' for g in growth)} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
