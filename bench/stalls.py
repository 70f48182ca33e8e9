"""The worst stall each costly message or request makes another client see (issue 13, item 3).

    .venv/bin/python -m bench.stalls [--rounds N] [--only WORD]

Runs the attacks of tests/e2e/test_hostile_stalls.py, each against a fresh server (`run.py`,
SQLite in a temporary folder, its history seeded straight into the store), while another
client does `sync` round trips on another document; prints one row per attack and round:
the attack's answer, how long it took, and the other client's median and worst round
trip (the stall; the target is < 100 ms). The tests assert that every answer is right;
this only measures. `--only diff` runs the attacks whose test name contains "diff".
"""
from __future__ import annotations

import argparse
import contextlib
import io
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_hostile_stalls as attacks  # noqa: E402

ATTACKS = [
    attacks.test_stale_patch_of_many_hunks_over_revisions_of_many_edits,
    attacks.test_stale_patch_far_behind_on_a_large_document,
    attacks.test_patch_of_overlapping_hunks,
    attacks.test_patch_of_a_million_one_character_lines,
    attacks.test_four_diffs_of_large_versions_at_once,
    attacks.test_restore_of_a_large_version,
    attacks.test_blame_over_10k_revisions,
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times to run each attack (default 1)")
    parser.add_argument("--only", default="", help="run only the attacks whose test name contains this")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    chosen = [a for a in ATTACKS if args.only in a.__name__]
    if not chosen:
        parser.error(f"no attack's name contains {args.only!r}: " + ", ".join(a.__name__ for a in ATTACKS))
    print(f"$ .venv/bin/python -m bench.stalls {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"{'attack':58} {'answer':>12} {'took ms':>9} {'trips':>6} {'median ms':>10} {'worst ms':>9}")
    for _ in range(args.rounds):
        for attack in chosen:
            start = len(attacks.FIGURES)
            with tempfile.TemporaryDirectory(prefix="collab-stalls-") as tmp:
                with contextlib.redirect_stdout(io.StringIO()):  # the tests' own lines: the table says it
                    attack(Path(tmp), "s-" + secrets.token_hex(6))
            for name, answer, took, trips, median, worst in attacks.FIGURES[start:]:
                print(f"{name[:58]:58} {answer[:12]:>12} {took:9.0f} {trips:6d} {median:10.1f} {worst:9.1f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
