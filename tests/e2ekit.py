"""Helpers for tests that talk to real servers: waiting with deadlines, reading and
replaying a document's stored history, settling clients, running typists in threads."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests

from collab.client import Document
from collab.patches import apply_patch, parse_patch, text_hash

SEED = int(os.environ.get("COLLAB_E2E_SEED", "20240521"))
SYNC_TIMEOUT = 60.0  # seconds for every client to settle (generous: a 2-core CI box)

# text that breaks UTF-16 assumptions: two emoji sharing a high surrogate, CJK, combining
# marks, RTL, newlines
PIECES = ["😀😁", "👍🏽", "漢字", "かな", "e\u0301", "n\u0303o", "שלום", "\n", "a", "bc", "xyz ", "line\n", " "]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.02)  # polling interval, not a wait for correctness


def server_doc(http: requests.Session, url: str, doc: str) -> dict:
    r = http.get(f"{url}/api/docs/{doc}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def all_revisions(http: requests.Session, url: str, doc: str) -> list[dict]:
    revs: list[dict] = []
    while True:
        r = http.get(f"{url}/api/docs/{doc}/revisions", params={"since": len(revs)}, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        revs.extend(body["revisions"])
        if not body.get("more"):
            return revs


def replay_history(http: requests.Session, url: str, doc: str, check_versions: bool = True) -> list[str]:
    """Replay /revisions 1..head exactly; check versions, hashes, unique op ids and (if
    asked) every /versions/<v>. Returns the text at every version 0..head."""
    head = server_doc(http, url, doc)["version"]
    revs = all_revisions(http, url, doc)
    assert [r["version"] for r in revs] == list(range(1, head + 1)), "history has gaps or extra versions"
    ids = [r["id"] for r in revs]
    assert len(set(ids)) == len(ids), "an op id was applied twice"
    texts = [""]
    for rev in revs:
        text, _ = apply_patch(texts[-1], parse_patch(rev["patch"]))  # exact, no fuzz
        assert rev["hash"] == text_hash(text), f"revision {rev['version']}: hash does not match the replay"
        texts.append(text)
    if check_versions:
        for v, expected in enumerate(texts):
            r = http.get(f"{url}/api/docs/{doc}/versions/{v}", timeout=10)
            assert r.status_code == 200, r.text
            assert r.json()["version"] == v
            assert r.json()["text"] == expected, f"/versions/{v} differs from replaying revisions 1..{v}"
    return texts


def settle(clients: list[Document], http: requests.Session, url: str, doc: str) -> dict:
    """Wait until every client's edits are confirmed and every client holds the head;
    then assert they all equal the server. Returns the server's document."""
    for c in clients:
        c.wait_synced(SYNC_TIMEOUT)
    # every edit is acknowledged, so the head no longer moves; wait for it to reach everyone
    head = server_doc(http, url, doc)["version"]
    for c in clients:
        wait_for(lambda: c.version >= head, SYNC_TIMEOUT, f"client {c.name} reaching version {head}")
        c.wait_synced(SYNC_TIMEOUT)
    server = server_doc(http, url, doc)
    assert server["version"] == head
    for c in clients:
        assert c.version == server["version"], f"client {c.name}"
        assert c.text == server["text"], f"client {c.name} differs from the server (seed {SEED})"
    return server




def run_threads(fns: list[Callable[[], None]], timeout: float) -> None:
    """Run each fn in its own thread; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(fn) for fn in fns]
        for f in futures:
            f.result(timeout=timeout)
