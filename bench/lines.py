"""What one patch costs a write-lane thread, by its lines, and what honest clients send
(issue 13, items 1 and 3: COLLAB_MAX_PATCH_LINES and MOVE_LIMIT).

    .venv/bin/python -m bench.lines [--rounds 5] [--lines 10000]

In this process, on this thread (nothing else of collab runs): each patch parsed
(`parse_patch`) then applied as the write lane applies it (`submit._revise` on a rope: the
new text, its edits, the canonical patch and the hash), `--rounds` times; the median and the
worst in ms, and per line in microseconds. The shapes, each `--lines` lines long:

  alternating +      one hunk of alternating one-character context and insert lines
                     (" a", "+b"): as many edits as pairs, none merged
  alternating -      the same with deletes (" a", "-b")
  hunks              a hunk every 10 code points, each header, context, insert, context
  stale              `hunks`, moved over revisions of one edit each since its base (`move_hunks`),
                     as many as MOVE_LIMIT allows, and 200,000 steps' worth

and patches at the character limit (COLLAB_MAX_PATCH_CHARS, 4,194,304 as sent): one insert
of CJK (9 characters of patch each, %-escaped UTF-8), of line breaks (3 each), of ASCII.

Then the honest Python client (collab/client/state.py): a 3.9 M code point document of lines
rewritten in one `set_text` (every line edited: 4.1 M code points after, near the document
limit), the patches it sends
within the default limits: how many, their most lines and characters, and what each costs
the write lane (parse and apply, as above).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

from collab.client.state import SyncClient
from collab.core.patches import MOVE_LIMIT, Edit, move_hunks, parse_patch, patch_from_edits
from collab.core.rope import Rope
from collab.service.submit import _revise


def _times(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _row(name: str, lines: int, times: list[float]) -> None:
    med, worst = statistics.median(times), max(times)
    print(f"{name:42} {lines:>8,} {1000 * med:9.1f} {1000 * worst:9.1f} {1e6 * med / max(lines, 1):8.2f}", flush=True)


def _applied(text: str, patch: str) -> Callable[[], object]:
    rope = Rope(text)
    return lambda: _revise(rope, parse_patch(patch), None, 1 << 30, False)


def shapes(lines: int, rounds: int) -> None:
    n = (lines - 1) // 2  # pairs, after the header
    insert = f"@@ -1,{n} +1,{2 * n} @@\n" + " a\n+b\n" * n
    delete = f"@@ -1,{2 * n} +1,{n} @@\n" + " a\n-b\n" * n
    h = lines // 4
    text = "0123456789" * h
    hunks = "".join(f"@@ -{i * 10 + 2},8 +{i * 10 + 2 + i},9 @@\n 1234\n+x\n 5678\n" for i in range(h))
    for name, base, patch in (("alternating +", "a" * n, insert), ("alternating -", "ab" * n, delete),
                              (f"hunks ({h:,})", text, hunks)):
        _row(name, patch.count("\n"), _times(_applied(base, patch), rounds))
    parsed = parse_patch(hunks)
    for steps in (MOVE_LIMIT, 200_000):
        revisions = [[Edit(len(text) + r, "", "z")] for r in range(steps // h)]
        _row(f"stale: {h:,} hunks x {len(revisions):,} revisions (move)", hunks.count("\n"),
             _times(lambda: move_hunks(parsed, revisions), rounds))


def characters(rounds: int) -> None:
    limit = 4_194_304
    for name, unit, width in (("CJK", "中", 9), ("line breaks", "\n", 3), ("ASCII", "x", 1)):
        patch = patch_from_edits("", [Edit(0, "", unit * (limit // width - 20))])
        _row(f"{name}, {len(patch):,} characters", patch.count("\n"), _times(_applied("", patch), rounds))


def honest(rounds: int) -> None:
    line = "a line of an honest document, long enough to be prose.\n"  # 56 code points
    old = line * (3_900_000 // len(line))
    new = old.replace("honest", "rewritten")  # every line edited: 69,642 changes, 4.1 M code points
    client = SyncClient(version=1, text=old)
    client.set_text(new)
    shadow = Rope(old)
    costs: list[float] = []
    most_lines = most_chars = sent = 0
    version = 1
    while True:
        message = client.take_patch()
        if message is None:
            break
        sent += 1
        patch = message["patch"]
        most_lines, most_chars = max(most_lines, patch.count("\n")), max(most_chars, len(patch))
        t = time.perf_counter()
        shadow, _, _, digest = _revise(shadow, parse_patch(patch), None, 1 << 30, False)
        costs.append(time.perf_counter() - t)
        version += 1
        client.receive_ack({"ok": True, "version": version, "hash": digest}, message["id"])
    assert client.synced and client.text == new and str(shadow) == new
    print(f"\nhonest Python client, a {len(old):,} code point document with every line edited "
          f"({old.count(line):,} changes), one set_text:")
    print(f"  {sent} patches, at most {most_lines:,} lines and {most_chars:,} characters each; write lane per "
          f"patch: median {1000 * statistics.median(costs):.1f} ms, worst {1000 * max(costs):.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="times each patch is parsed and applied (default 5)")
    parser.add_argument("--lines", type=int, default=10_000, help="lines of each shape (default 10,000)")
    args = parser.parse_args(argv)
    print(f"$ .venv/bin/python -m bench.lines --rounds {args.rounds} --lines {args.lines}")
    print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}, {os.cpu_count()} cores")
    print(f"{'shape':42} {'lines':>8} {'med ms':>9} {'worst ms':>9} {'us/line':>8}")
    shapes(args.lines, args.rounds)
    characters(args.rounds)
    honest(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
