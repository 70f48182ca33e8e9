"""A document's title (collab/core/title.py) is the one the browser shows (core/title.js):
both give the titles of tests/vectors/titles/titles.json, written by title.js, for odd
cases (whitespace JavaScript and Python disagree on, a scan cut inside a surrogate pair)
and for the states of two real editing traces."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from collab.core.title import TITLE_MAX, TITLE_SCAN, scanned, title_of
from tests.skips import missing

REPO = Path(__file__).resolve().parents[2]
VECTORS = json.loads((REPO / "tests" / "vectors" / "titles" / "titles.json").read_text("utf-8"))
TRACES = REPO.parent / "shared" / "traces"


def _text(parts: list[list]) -> str:
    return "".join(piece * times for piece, times in parts)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: repr(_text(c["parts"])[:24]))
def test_the_title_is_the_browsers(case):
    assert title_of(_text(case["parts"])) == case["title"]


@pytest.mark.parametrize("name", sorted(VECTORS["traces"]))
def test_the_titles_of_a_real_documents_states_are_the_browsers(name):
    path = TRACES / f"{name}.json.gz"
    if not path.exists():
        missing(f"editing trace {path} is missing (the shared traces folder sits next to the repository)")
    trace = json.loads(gzip.decompress(path.read_bytes()))
    text, titles, every = list(trace["startContent"]), [], VECTORS["every"]
    for i, txn in enumerate(trace["txns"]):
        for pos, deleted, inserted in txn["patches"]:
            text[pos:pos + deleted] = inserted
        if (i + 1) % every == 0 or i == len(trace["txns"]) - 1:
            titles.append(title_of("".join(text)))
    assert titles == VECTORS["traces"][name]


def test_the_scan_counts_utf16_units_as_javascript_does():
    assert len(scanned("x" * (TITLE_SCAN + 5))) == TITLE_SCAN
    # 40,000 astral code points are 80,000 UTF-16 units: 32,768 of them are read
    assert scanned("😀" * 40000) == "😀" * (TITLE_SCAN // 2)
    cut = scanned("x" * (TITLE_SCAN - 1) + "😀")
    assert len(cut) == TITLE_SCAN and cut[-1] == "\ud83d"  # half a pair, as String.slice leaves it
    assert len(title_of("# " + "a" * 500)) == TITLE_MAX
