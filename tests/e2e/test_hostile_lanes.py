"""Hostile patches built to hold the write lanes (issue 13, items 1 and 3).

Long patches are parsed and applied on the write lane's threads (collab/service/runtime.py),
which every document's costly writes share: a paste of more than a few thousand characters,
the first load of a document, a stale patch's old revisions. Here hostile connections send
patches of many operations over and over, each on its own document, from one client address
and a process of their own (`bench.flood.Flood`), while an honest editor types and pastes
into another document from another address (`bench.probes.Typist`: one patch in flight, as
the clients send). The honest editor's worst ack is how long the attack made other
documents' writes wait: printed (docs/reliability.md has the figures; the target is
< 100 ms), never asserted. Asserted: every honest patch is acknowledged and stored exactly,
and every hostile one is answered. bench/stalls.py prints the same figures.
"""
from __future__ import annotations

import time

import requests

from bench.flood import Flood
from bench.liveserver import LiveServer
from bench.probes import Typist


def _flood(tmp_path, doc_id: str, connections: int, pairs: int, seconds: float) -> None:
    with LiveServer(tmp_path, start_timeout=60) as server:
        with Flood(server.url, doc_id + "-hostile", connections, pairs) as flood:  # joined and seeded
            with Typist(server.url, doc_id + "-honest") as typist:
                flood.start()
                start = time.perf_counter()
                time.sleep(seconds)  # (the attack's length: a duration, not a wait for something)
        took = time.perf_counter() - start
        name = f"{connections} connections x patches of {2 * pairs + 1:,} lines"
        print(f"\n{name}: {flood.summary()} in {1000 * took:.0f} ms; other client: {typist.report()}")
        print(flood.report())
        assert typist.failures == [] and typist.refused == [], (typist.failures, typist.refused)
        assert flood.failures == [], flood.failures
        assert set(flood.answers) <= {"ok", "too_large", "rate_limited"}, flood.answers
        assert len(typist.times) >= 3, typist.report()
        body = requests.get(f"{server.url}/api/docs/{doc_id}-honest", timeout=60).json()
        assert (body["version"], body["text"]) == (typist.version, typist.text)


def test_patches_of_a_million_operations_from_two_connections(tmp_path, doc_id):
    """Two connections, each sending hunks of 650,000 alternating context and insert lines
    (1.3 million operations, 3.9 MB, within the 4,194,304-character patch limit): each one
    held a write-lane thread for seconds (parsed, then applied an edit at a time), and there
    are two: every other document's long writes waited for them."""
    _flood(tmp_path, doc_id, connections=2, pairs=650_000, seconds=20)


def test_patches_at_the_line_limit_from_many_connections(tmp_path, doc_id):
    """Eight connections, each sending patches just within the line limit (10,000 lines:
    4,999 alternating context and insert lines and the header) as fast as they are answered."""
    _flood(tmp_path, doc_id, connections=8, pairs=4_999, seconds=15)
