"""Server CPU per keystroke on big documents (issue 15, the server half).

    .venv/bin/python -m bench.bigdoc [--patches N] [--sizes 1000,1000000,4000000] [--profile SIZE]

Through the real write path, in this process: a `DocumentService` on SQLite in a
temporary folder (as `make run` stores), an `on_commit` that builds and JSON-encodes each
revision's broadcast as the Socket.IO edge does (`core/wire.revision`). A document of
mixed text (ASCII, accented Latin, CJK, emoji: astral code points) is imported, then
typed into one character at a time, each patch made as the browser makes it (a canonical
hunk with 4 code points of context each side), the sizes taking turns a round at a time
(so that the machine's load weighs on each alike):

  head start/middle/end  a keystroke at the head version at the start, middle, end
  stale 1-3 (moved)      two people typing: a patch made 1-3 revisions behind the head,
                         away from what those revisions touched (its hunk is moved)
  stale 1 (merged)       a patch made 1 revision behind, next to what that revision
                         changed (its hunk is merged: core/merge.py)

The figure is the process's CPU time (`time.process_time`: every thread, so work offloaded
to a worker thread counts) of each `DocumentService.submit`, from the call to its return
(parse, apply, hash, queue, the group commit on SQLite, the broadcast built): p50 and p99 in
microseconds. `--profile 4000000` prints a cProfile of the head keystrokes at that size.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collab.core import wire
from collab.core.config import Settings
from collab.core.patches import Edit, TextLike, patch_from_edits
from collab.service.documents import DocumentService
from collab.service.state import DocState
from collab.storage import Revision, open_store

SIZES = (1_000, 1_000_000, 4_000_000)
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "naïve", "café", "Straße",
         "日本語", "中文", "한국어", "😀", "🎉", "👩‍💻", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ok", "and", "then", "**bold**", "`code`"]
TYPED = "abcdefghijklmnopqrstuvwxyz éü日本😀"


def mixed_text(size: int, seed: int = 15) -> str:
    """`size` code points of Markdown-ish lines mixing ASCII, Latin-1, CJK and emoji."""
    rng = random.Random(seed)
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "\n"
        if rng.random() < 0.1:
            line = "# " + line
        out.append(line)
        n += len(line)
    return "".join(out)[:size]


class Typist:
    """The text as a client sees it, and one-character patches made on it."""

    def __init__(self, service: DocumentService, state: DocState, rng: random.Random) -> None:
        self.service, self.state, self.rng = service, state, rng
        self.version, self.text = state.committed, state.committed_rope
        self.ops = 0

    def patch_at(self, text: TextLike, pos: int) -> str:
        return patch_from_edits(text, [Edit(pos, "", self.rng.choice(TYPED))])

    def submit(self, base: int, patch: str) -> float:
        """CPU seconds of one submit; the text follows the head."""
        self.ops += 1
        start = time.process_time()
        result = self.service.submit(self.state, base, patch, f"bench-{self.ops}", "bench")
        took = time.process_time() - start
        self.version = result.version
        # the text as the server holds it (a rope: patch_from_edits reads only the context
        # it needs), not a copy: copying 16 MB between patches would empty the CPU's caches
        self.text = self.state.committed_rope
        return took


def one_round(typist: Typist, times: dict[str, list[float]], profiler: cProfile.Profile | None) -> None:
    """One round of every case on one document, each case's CPU time added to `times`."""
    for case in ("head start", "head middle", "head end"):
        n = len(typist.text)
        pos = {"head start": 0, "head middle": n // 2, "head end": n}[case]
        patch = typist.patch_at(typist.text, pos)
        if profiler is not None:
            profiler.enable()
        times.setdefault(case, []).append(typist.submit(typist.version, patch))
        if profiler is not None:
            profiler.disable()
    for behind in (1, 2, 3):
        # a patch made at `base`, then `behind` revisions from someone else first
        base, old = typist.version, typist.text
        mine = typist.patch_at(old, len(old) // 3)
        for k in range(behind):
            other = typist.patch_at(typist.text, len(typist.text) * 2 // 3 + k)
            typist.submit(typist.version, other)
        times.setdefault(f"stale {behind} (moved)", []).append(typist.submit(base, mine))
    # a concurrent keystroke right next to the other person's: merged
    base, old = typist.version, typist.text
    pos = len(old) // 4
    mine = typist.patch_at(old, pos)
    typist.submit(typist.version, typist.patch_at(typist.text, pos + 1))
    times.setdefault("stale 1 (merged)", []).append(typist.submit(base, mine))


def run(sizes: list[int], rounds: int, profile: int) -> dict[int, dict[str, list[float]]]:
    """Every size's document imported, then typed into a round at a time, the sizes taking
    turns (so that the machine's load weighs on each alike)."""
    times: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    with tempfile.TemporaryDirectory(prefix="collab-bigdoc-") as work:
        encoded = [0]

        def on_commit(state: DocState, committed: list[tuple[Revision, object]]) -> None:
            # what realtime.broadcast_revisions builds, encoded once as the socket would
            for rev, _ in committed:
                encoded[0] += len(json.dumps(wire.revision(state.id, rev), ensure_ascii=False))

        services, typists = [], {}
        try:
            for size in sizes:
                service = DocumentService(open_store(f"sqlite:///{work}/bench{size}.db"), Settings(),
                                          on_commit=on_commit)
                services.append(service)
                state = service.open(f"big{size}", create=True)
                text = mixed_text(size)
                service.rewrite(state, "bench", "import", lambda _v, _t: text)
                typists[size] = Typist(service, state, random.Random(size))
            profiler = cProfile.Profile(time.process_time) if profile else None
            for _ in range(rounds):
                for size in sizes:
                    one_round(typists[size], times[size], profiler if size == profile else None)
            if profiler is not None:
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        finally:
            for service in services:
                service.close()
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patches", type=int, default=100, help="rounds of every case per size (default 100)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="document sizes in code points")
    parser.add_argument("--profile", type=int, default=0, help="cProfile the head keystrokes at this size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"$ .venv/bin/python -m bench.bigdoc {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"# {os.cpu_count()} cores, load average {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'code points':>12} {'case':20} {'patches':>8} {'p50 us':>9} {'p99 us':>9}")
    p50: dict[tuple[int, str], float] = {}
    for size, cases in run(sizes, args.patches, args.profile).items():
        for case, values in cases.items():
            p50[size, case] = pct(values, 0.5)
            print(f"{size:12,} {case:20} {len(values):8d} {pct(values, 0.5) * 1e6:9.0f} "
                  f"{pct(values, 0.99) * 1e6:9.0f}", flush=True)
    if len(sizes) > 1:
        small, big = min(sizes), max(sizes)
        for case in ("head middle", "stale 1 (moved)"):
            if (small, case) in p50 and (big, case) in p50:
                ratio = p50[big, case] / p50[small, case]
                print(f"# {case}: p50 at {big:,} / at {small:,} = {ratio:.2f} (target: at most 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
