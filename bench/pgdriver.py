"""psycopg 3 against psycopg2 + psycogreen under gevent (issue 5: "measure and choose").

Each run is a fresh process, monkey-patched first. 50 greenlets do what the document
service does on PostgreSQL: each transaction updates a document's head (compare-and-set)
and inserts a revision; meanwhile a ticker greenlet wakes every 1 ms and records how late it
was: the event-loop stall the driver causes. Prints transactions/s and the ticker's worst
delay for both drivers.

    .venv/bin/python -m bench.pgdriver [--url postgresql://127.0.0.1/test] [--seconds 5]
"""
from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys

WORKER = r'''
from gevent import monkey; monkey.patch_all()
import json, sys, time, gevent
driver, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if driver == "psycopg2":
    import psycogreen.gevent; psycogreen.gevent.patch_psycopg()
    import psycopg2, psycopg2.pool
    pool = psycopg2.pool.ThreadedConnectionPool(1, 10, url)
    def txn(doc, v):
        conn = pool.getconn()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("UPDATE bench_docs SET head = %s WHERE id = %s AND head = %s", (v, doc, v - 1))
                cur.execute("INSERT INTO bench_revs VALUES (%s, %s, %s)", (doc, v, "x" * 60))
        finally:
            pool.putconn(conn)
else:
    from psycopg_pool import ConnectionPool
    pool = ConnectionPool(url, min_size=1, max_size=10, kwargs={"autocommit": True}, open=True)
    def txn(doc, v):
        with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("UPDATE bench_docs SET head = %s WHERE id = %s AND head = %s", (v, doc, v - 1))
            cur.execute("INSERT INTO bench_revs VALUES (%s, %s, %s)", (doc, v, "x" * 60))
done = [0]
stop = time.monotonic() + seconds
def worker(i):
    doc, v = f"{driver}-{i}", 0
    while time.monotonic() < stop:
        v += 1
        txn(doc, v)
        done[0] += 1
lates = []
def ticker():
    while time.monotonic() < stop:
        t = time.monotonic(); gevent.sleep(0.001); lates.append(time.monotonic() - t - 0.001)
t0 = time.monotonic()
gevent.joinall([gevent.spawn(worker, i) for i in range(50)] + [gevent.spawn(ticker)])
lates.sort()
print(json.dumps({"driver": driver, "txn_per_s": round(done[0] / (time.monotonic() - t0)),
                  "loop_delay_p50_ms": round(lates[len(lates) // 2] * 1000, 2),
                  "loop_delay_max_ms": round(lates[-1] * 1000, 1)}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="postgresql://127.0.0.1/test", help="a database to create a scratch one from")
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    import psycopg

    try:
        import psycogreen  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError:
        raise SystemExit("bench.pgdriver compares with psycopg2: .venv/bin/pip install psycopg2-binary psycogreen")

    name = "collab_pgdriver_" + secrets.token_hex(4)
    admin = psycopg.connect(args.url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = args.url.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("CREATE TABLE bench_docs (id TEXT PRIMARY KEY, head BIGINT NOT NULL)")
            c.execute("CREATE TABLE bench_revs (doc TEXT, version BIGINT, patch TEXT, PRIMARY KEY (doc, version))")
            for drv in ("psycopg", "psycopg2"):
                c.execute("INSERT INTO bench_docs SELECT %s || '-' || g, 0 FROM generate_series(0, 49) g", (drv,))
        print(f"command: .venv/bin/python -m bench.pgdriver {' '.join(sys.argv[1:])}")
        print("| driver | transactions/s | loop delay p50 ms | loop delay max ms |\n|---|---|---|---|")
        for drv in ("psycopg", "psycopg2"):
            out = subprocess.run([sys.executable, "-c", WORKER, drv, url, str(args.seconds)],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"| {r['driver']} | {r['txn_per_s']} | {r['loop_delay_p50_ms']} | {r['loop_delay_max_ms']} |")
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
