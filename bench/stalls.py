"""The worst stall each costly message or request makes another client see (issue 13, item 3).

    .venv/bin/python -m bench.stalls [--rounds N] [--only WORD] [--database postgresql]

Runs the attacks of tests/e2e/test_hostile_stalls.py, test_hostile_reads.py and
test_hostile_lanes.py (each its test, through pytest in a subprocess), each against a fresh
server (`run.py`, SQLite in a temporary folder, or with `--database postgresql` a fresh
database made from COLLAB_TEST_POSTGRES as the tests make them; its history seeded straight
into the store), while another client does `sync` round trips on another document
(test_hostile_lanes.py: types and pastes into it, its round trips the patches' acks); prints
one row per attack and round: the attack's answer, how long it took, the other client's
median and worst round trip (the stall; the target is < 100 ms), and whether the test's
assertions passed. `--only diff` runs the attacks whose test name
contains "diff".
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "tests/e2e/test_hostile_stalls.py"
ATTACKS = [
    "test_stale_patch_of_many_hunks_over_revisions_of_many_edits",
    "test_stale_patch_far_behind_on_a_large_document",
    "test_opening_a_large_document_not_in_memory",
    "test_patch_of_overlapping_hunks",
    "test_patch_of_a_million_one_character_lines",
    "test_four_diffs_of_large_versions_at_once",
    "test_history_requests_at_once_on_a_large_cold_document",
    "test_restore_of_a_large_version",
    "test_blame_over_10k_revisions",
    "tests/e2e/test_hostile_reads.py::test_blame_over_100k_revisions",
    "tests/e2e/test_hostile_reads.py::test_old_versions_behind_large_revisions_at_once",
    "tests/e2e/test_hostile_reads.py::test_large_images_at_once",
    "tests/e2e/test_hostile_reads.py::test_html_exports_of_a_large_document_at_once",
    "tests/e2e/test_hostile_lanes.py::test_patches_of_a_million_operations_from_two_connections",
    "tests/e2e/test_hostile_lanes.py::test_patches_at_the_line_limit_from_many_connections",
]
# the line each attack prints (test_hostile_stalls._record), e.g.
# "GET /blame over 10,000 revisions: 200 in 180 ms; other client: round trips 40, median 4.1 ms, worst 58.0 ms"
FIGURE = re.compile(r"^(?P<name>.+?): (?P<answer>\S+) in (?P<took>\d+) ms; other client: round trips "
                    r"(?P<trips>\d+), median (?P<median>[\d.]+) ms, worst (?P<worst>[\d.]+) ms", re.M)


def run(attack: str, database: str = "sqlite") -> tuple[list[re.Match[str]], str]:
    """Run one attack as the test suite does (pytest, in a fresh interpreter: bench imports no
    test code), against `database` (sqlite or postgresql: the tests' db_url fixture reads it),
    and read the figures it prints; the second value says how the test ended."""
    test = attack if "::" in attack else f"{MODULE}::{attack}"  # (a module of its own, or MODULE's)
    env = {**os.environ, "COLLAB_TEST_STALLS_DATABASE": database}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode == 0 and re.search(r"\b1 skipped\b", done.stdout):  # (PostgreSQL not reachable)
        return [], "skipped"
    return list(FIGURE.finditer(done.stdout)), "passed" if done.returncode == 0 else "FAILED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times to run each attack (default 1)")
    parser.add_argument("--only", default="", help="run only the attacks whose test name contains this")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the store the server runs on (default sqlite)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    chosen = [a for a in ATTACKS if args.only in a]
    if not chosen:
        parser.error(f"no attack's name contains {args.only!r}: " + ", ".join(ATTACKS))
    print(f"$ .venv/bin/python -m bench.stalls {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"{'attack':58} {'answer':>12} {'took ms':>9} {'trips':>6} {'median ms':>10} {'worst ms':>9}  test")
    failed = 0
    for _ in range(args.rounds):
        for attack in chosen:
            figures, outcome = run(attack, args.database)
            failed += outcome != "passed"
            for f in figures or [None]:
                if f is None:
                    print(f"{attack[:58]:58} {'-':>12} {'-':>9} {'-':>6} {'-':>10} {'-':>9}  {outcome}", flush=True)
                    continue
                print(f"{f['name'][:58]:58} {f['answer'][:12]:>12} {int(f['took']):9d} {int(f['trips']):6d} "
                      f"{float(f['median']):10.1f} {float(f['worst']):9.1f}  {outcome}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
