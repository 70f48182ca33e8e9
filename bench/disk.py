"""What a durable commit costs on this disk: fdatasync alone, then collab's own SQLite commits.

    .venv/bin/python -m bench.disk [--dir DIR] [--commits 3000] [--gap-ms 20]

Every acknowledged revision waits for one SQLite transaction with synchronous=FULL, whose
cost is mostly one fdatasync of the WAL. This writes in DIR (default: the current
directory, where `run.py` keeps collab.db), one operation every --gap-ms, as a document
typed into at that pace would:

  fdatasync   a 12 KB overwrite of a file, then fdatasync
  commit      DocumentService.submit of a one-character patch on a SQLite store: parse,
              apply, one durable transaction (checkpoints included, as in production)

and prints p50 / p99 / p99.9 / max of each, and the slowest commits. Nothing else should
run meanwhile. A disk whose p99.9 is tens of milliseconds will show it in the latency
benchmark's p99, whatever the server does: every revision waits for its commit.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    n = len(ms)
    at = lambda q: ms[min(n - 1, int(q * n))]  # noqa: E731
    return (f"{name:>10}  n {n:>6}  p50 {at(0.5):7.3f}  p99 {at(0.99):7.3f}  p99.9 {at(0.999):8.3f}  "
            f"max {ms[-1]:8.3f} ms  (over 10 ms: {sum(m > 10 for m in ms)})")


def progress(what: str, done: int, count: int) -> None:
    if done % 500 == 0 or done == count:
        print(f"  {what} {done}/{count}", file=sys.stderr, flush=True)


def fdatasyncs(work: Path, count: int, gap: float) -> list[float]:
    path = work / "fdatasync.test"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    took = []
    try:
        os.write(fd, b"\0" * 5 * 12288)
        os.fsync(fd)
        for i in range(count):
            os.pwrite(fd, os.urandom(12288), (i % 5) * 12288)
            start = time.perf_counter()
            os.fdatasync(fd)
            took.append(time.perf_counter() - start)
            progress("fdatasync", i + 1, count)
            time.sleep(gap)
    finally:
        os.close(fd)
        path.unlink()
    return took


def commits(work: Path, count: int, gap: float) -> list[float]:
    import diff_match_patch

    from collab.core.config import Settings
    from collab.service.documents import DocumentService
    from collab.storage import open_store

    dmp = diff_match_patch.diff_match_patch()
    service = DocumentService(open_store(f"sqlite:///{work}/collab.db"), Settings())
    state = service.open("disk-bench", create=True)
    rng, text, took = random.Random(1), "", []
    try:
        for i in range(count):
            pos = rng.randint(0, len(text))
            new = text[:pos] + chr(97 + i % 26) + text[pos:]
            patch = dmp.patch_toText(dmp.patch_make(text, new))
            start = time.perf_counter()
            service.submit(state, state.committed, patch, f"disk-bench-{i:012d}", "bench")
            took.append(time.perf_counter() - start)
            text = new
            progress("commit", i + 1, count)
            time.sleep(gap)
    finally:
        service.close()
    return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.disk", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=".", help="where to write (a temporary folder in it is removed after)")
    ap.add_argument("--commits", type=int, default=3000, help="how many of each (default 3000)")
    ap.add_argument("--gap-ms", type=float, default=20, help="pause between two (default 20 ms)")
    args = ap.parse_args(argv)
    if args.commits < 1 or args.gap_ms < 0:
        ap.error("--commits must be at least 1 and --gap-ms at least 0")
    base = Path(args.dir)
    if not base.is_dir():
        ap.error(f"--dir {base}: not a directory")
    try:
        work = Path(tempfile.mkdtemp(prefix="collab-disk-", dir=base))
    except OSError as exc:
        ap.error(f"--dir {base}: cannot write there ({exc.strerror})")
    gap = args.gap_ms / 1000
    print(f"command: .venv/bin/python -m bench.disk {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"writing in {work.resolve()}, {args.commits} of each, {args.gap_ms:g} ms apart", flush=True)
    try:
        print(summary("fdatasync", fdatasyncs(work, args.commits, gap)), flush=True)
        took = commits(work, args.commits, gap)
        print(summary("commit", took))
        slow = sorted(range(len(took)), key=took.__getitem__)[-5:]
        print("slowest commits (ms, at commit #): " + ", ".join(f"{took[i] * 1000:.1f} #{i + 1}" for i in slow))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
