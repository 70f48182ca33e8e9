"""Cost of attribution on a long history: blame, the identities a restore stores, and
revert, on the automerge-paper editing trace.

    .venv/bin/python -m bench.attribution [--revisions 10000,50000] [--authors 3]

Takes the first N transactions of /work/shared/traces/automerge-paper.json.gz (Martin
Kleppmann typing a paper; trace by Joseph Gentle, josephg/editing-traces, CC BY 4.0) as
revisions 1..N, handed in turns to `--authors` authors (a new author every 200 revisions),
plus a restore of version N/2 and a restore of version N (so two revisions that store
attribution), and times the pure functions the history API runs off the event loop:
blame of the head, `attribution_at` (what a restore of the head computes) and `revert`
of the first author since 0 and since N/2. Prints a table.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import dataclass

from collab.core.blame import attribution_at, blame
from collab.core.patches import Edit, make_patch, patch_from_edits
from collab.core.revert import revert

TRACE = "/work/shared/traces/automerge-paper.json.gz"
AUTHORS = ["ann", "bob", "cy", "dee", "eve"]


@dataclass(frozen=True)
class Rev:
    version: int
    patch: str
    author: str
    attribution: str | None = None


def history(txns: list[dict], n: int, authors: int) -> list[Rev]:
    revs: list[Rev] = []
    texts = [""]
    text = ""
    for v, txn in enumerate(txns[:n], 1):
        ((pos, deleted, inserted),) = txn["patches"]
        edits = [Edit(pos, text[pos : pos + deleted], inserted)]
        revs.append(Rev(v, patch_from_edits(text, edits), AUTHORS[(v // 200) % authors]))
        text = text[:pos] + inserted + text[pos + deleted :]
        texts.append(text)
    for target in (n // 2, n):  # restore the middle, then the last trace version again
        new = texts[target]
        revs.append(Rev(len(revs) + 1, make_patch(text, new), "restorer", attribution_at(revs[:target])))
        text = new
    return revs


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--revisions", default="10000,50000", help="comma-separated history lengths")
    ap.add_argument("--authors", type=int, default=3)
    args = ap.parse_args()
    with gzip.open(TRACE, "rt", encoding="utf-8") as f:
        txns = json.load(f)["txns"]
    print(f"command: {' '.join(sys.argv)}")
    print(f"{'revisions':>10} {'text cp':>8} {'blame ms':>9} {'attribution ms':>15} "
          f"{'revert since 0 ms':>18} {'revert since N/2 ms':>20} {'stored attribution B':>21}")
    for n in (int(x) for x in args.revisions.split(",")):
        revs = history(txns, n, args.authors)
        t_blame, spans = timed(blame, revs)
        t_attr, _ = timed(attribution_at, revs)
        t_rev0, _ = timed(revert, revs, AUTHORS[0], 0)
        t_rev_half, _ = timed(revert, revs, AUTHORS[0], n // 2)
        stored = sum(len(r.attribution or "") for r in revs)
        length = spans[-1]["end"] if spans else 0  # type: ignore[index]
        print(f"{len(revs):>10,} {length:>8,} {t_blame:>9.0f} {t_attr:>15.0f} {t_rev0:>18.0f} "
              f"{t_rev_half:>20.0f} {stored:>21,}")


if __name__ == "__main__":
    main()
