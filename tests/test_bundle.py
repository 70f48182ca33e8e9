"""The editor's first load stays small (issue 15: "the bundle stays lazy: first load no heavier
than today's plus 10 %"): what a page needs before it shows anything, its entry and its static
imports with app.css, gzipped, as frontend/build.mjs measures and writes to dist/firstload.json.
Code highlighting, math, diagrams, the preview and the code-block parsers load on first use."""
from __future__ import annotations

import json

from skips import missing
from bench.liveserver import REPO_ROOT

FIRST_LOAD = REPO_ROOT / "frontend" / "dist" / "firstload.json"
# measured the same way on a5171cb, before issue 15's work: editor 144.0 KiB, history 20.6 KiB.
# The budget is the editor's (+10 %); the history page's is ours: +15 %, most of it the
# stylesheet every page shares (the two themes' colours)
BUDGET = {"editor": 144.0 * 1024 * 1.10, "history": 20.6 * 1024 * 1.15}


def test_the_first_load_of_each_page_keeps_its_budget():
    if not FIRST_LOAD.is_file():
        missing("the browser bundle is not built: run `make frontend`")
    sizes = json.loads(FIRST_LOAD.read_text())
    over = {page: f"{sizes[page] / 1024:.1f} KiB > {limit / 1024:.1f} KiB" for page, limit in BUDGET.items() if sizes[page] > limit}
    assert not over, over
