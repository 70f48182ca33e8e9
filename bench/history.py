"""Reading any version of a very long history: the automerge-paper editing trace.

    .venv/bin/python -m bench.history [--database PATH] [--samples 100] [--seed 1]

Loads /work/shared/traces/automerge-paper.json.gz (259,778 transactions, Martin
Kleppmann typing a paper; trace by Joseph Gentle, josephg/editing-traces, CC BY 4.0) as
one revision per transaction, written straight into a SQLite store through the storage
interface (canonical patches, hashes, a snapshot every 100 revisions, big batches). Then
measures, through the Flask test client, GET /api/docs/<doc>/versions/<v> for random
versions (each answer checked against the trace), a cold join (service.open), blame of
the whole history, and bytes stored per revision. With --database PATH the store is
kept, and reused by the next run when it already holds the whole trace.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

from collab import create_app
from collab.core.config import Settings
from collab.core.patches import Edit, patch_from_edits, text_hash
from collab.service.documents import DocumentService
from collab.storage import NewRevision, Revision, open_store

TRACE = "/work/shared/traces/automerge-paper.json.gz"
DOC = "automerge-paper"
AUTHOR = "Martin Kleppmann"
BATCH = 10_000  # revisions per transaction while loading
SNAPSHOT_EVERY = Settings().snapshot_every


def load(url: str, txns: list[dict], wanted: set[int]) -> dict[int, str]:
    """Write the trace as revisions 1..len(txns); return the text at each wanted version."""
    store = open_store(url)
    store.create_document(DOC, "automerge-paper-view-token", time.time())
    texts = {0: ""} if 0 in wanted else {}
    text = ""
    batch: list[NewRevision] = []
    started = time.perf_counter()
    for v, txn in enumerate(txns, 1):
        edits = []
        new = text
        for pos, deleted, inserted in txn["patches"]:
            # one splice per transaction in this trace; several would need a diff instead
            assert len(txn["patches"]) == 1, "multi-splice transactions are not handled"
            edits.append(Edit(pos, text[pos : pos + deleted], inserted))
            new = text[:pos] + inserted + text[pos + deleted :]
        ts = dt.datetime.fromisoformat(txn["time"].replace("Z", "+00:00")).timestamp()
        rev = Revision(DOC, v, patch_from_edits(text, edits), AUTHOR, f"trace-{v}", ts, text_hash(new))
        text = new
        batch.append(NewRevision(rev, text if v % SNAPSHOT_EVERY == 0 else None))
        if v in wanted:
            texts[v] = text
        if len(batch) == BATCH or v == len(txns):
            store.append(batch)
            batch = []
            rate = v / (time.perf_counter() - started)
            print(f"\rloading: {v:,}/{len(txns):,} revisions ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    store.close()
    return texts


def replay_texts(txns: list[dict], wanted: set[int]) -> dict[int, str]:
    """The text at each wanted version, from the trace alone (to check the answers)."""
    text, out = "", {0: ""}
    for v, txn in enumerate(txns, 1):
        for pos, deleted, inserted in txn["patches"]:
            text = text[:pos] + inserted + text[pos + deleted :]
        if v in wanted:
            out[v] = text
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="SQLite file to keep (and reuse); default: a temporary one")
    parser.add_argument("--samples", type=int, default=100, help="random versions to read (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with gzip.open(TRACE, "rt", encoding="utf-8") as f:
        trace = json.load(f)
    txns = trace["txns"]
    head = len(txns)
    rng = random.Random(args.seed)
    versions = [rng.randint(0, head) for _ in range(args.samples)]
    wanted = set(versions) | {head}

    tmp = None
    if args.database:
        path = os.path.abspath(args.database)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="collab-bench-")
        path = os.path.join(tmp.name, "history.db")
    url = "sqlite:///" + path
    existing = open_store(url)
    row = existing.get_document(DOC)
    existing.close()
    load_s = None
    if row is not None and row.head == head:
        print(f"reusing {path} ({head:,} revisions)", file=sys.stderr)
        texts = replay_texts(txns, wanted)
    elif row is None:
        started = time.perf_counter()
        texts = load(url, txns, wanted)
        load_s = time.perf_counter() - started
    else:
        raise SystemExit(f"{path} holds another version of {DOC!r}: remove it or pick another --database")
    assert texts[head] == trace["endContent"], "the loaded trace does not end with its endContent"

    # a cold join: a fresh service opens the document from the store
    store = open_store(url)
    service = DocumentService(store, Settings())
    started = time.perf_counter()
    state = service.open(DOC)
    join_ms = (time.perf_counter() - started) * 1000
    assert state.committed == head and state.committed_text == texts[head]
    service.close()
    store.close()

    app = create_app({"database_url": url, "log_level": "WARNING"})
    http = app.test_client()
    assert http.get(f"/api/docs/{DOC}").status_code == 200  # open it once, as a reader would be
    times = []
    for v in versions:
        started = time.perf_counter()
        r = http.get(f"/api/docs/{DOC}/versions/{v}")
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200 and r.get_json()["text"] == texts[v], f"version {v} is wrong"
    started = time.perf_counter()
    spans = http.get(f"/api/docs/{DOC}/blame").get_json()["spans"]
    blame_s = time.perf_counter() - started
    assert spans[-1]["end"] == len(texts[head])
    app.extensions["collab"].close()

    size = sum(os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix))
    db = sqlite3.connect(path)
    snaps, snap_chars = db.execute("SELECT count(*), sum(length(text)) FROM snapshots").fetchone()
    db.close()
    rows = [
        ("revisions", f"{head:,}"),
        ("final text (code points)", f"{len(texts[head]):,}"),
        ("load (direct to the store)", f"{load_s:.1f} s" if load_s is not None else "reused"),
        (f"GET /versions/<v>, {len(versions)} random v: p50", f"{statistics.median(times):.1f} ms"),
        ("  p95", f"{percentile(times, 95):.1f} ms"),
        ("  max", f"{max(times):.1f} ms"),
        ("join from cold (service.open)", f"{join_ms:.1f} ms"),
        ("GET /blame at the head (whole history)", f"{blame_s:.1f} s"),
        ("bytes stored per revision", f"{size / head:,.0f} B (file {size / 1e6:,.1f} MB)"),
        (f"  of which {snaps:,} snapshots (ASCII text)", f"{snap_chars / head:,.0f} B per revision"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':{width}}  value")
    for k, value in rows:
        print(f"{k:{width}}  {value}")
    print(f"\ncommand: .venv/bin/python -m bench.history {' '.join(sys.argv[1:])}".rstrip())
    print("trace: automerge-paper by Joseph Gentle, josephg/editing-traces (CC BY 4.0)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
