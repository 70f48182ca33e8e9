"""Lookup buckets shared by the processes of a deployment (collab/server/buckets.py): the
same token bucket as core.ratelimit's, kept in Redis, so that a guesser whose requests are
spread over several processes gets one burst, not one per process."""
import random

import pytest

from collab.core.ratelimit import KeyedBuckets
from collab.server.buckets import SharedBuckets
from collab.server.queue import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_shared_bucket_answers_as_the_local_one(redis_url):
    """Seeded random takes, spends and waits on a few keys, the clock moving between them:
    Redis's script and the in-memory bucket give the same answers."""
    rng = random.Random(17)
    clock = Clock()
    shared = SharedBuckets(redis_url, rate=0.5, burst=5, namespace=f"t{rng.getrandbits(64):x}", clock=clock)
    local = KeyedBuckets(0.5, 5, clock=clock)
    for _ in range(600):
        op, key, cost = rng.choice(("take", "spend", "wait")), rng.choice("abc"), rng.choice((1.0, 1.0, 2.5))
        clock.now += rng.choice((0.0, 0.0, 0.3, 1.7, 12.0))
        ours, theirs = getattr(shared, op)(key, cost), getattr(local, op)(key, cost)
        assert ours == pytest.approx(theirs, abs=1e-9), (op, key, cost)


def test_processes_of_one_deployment_share_one_burst_per_address(make_app, redis_url):
    """Two processes (two apps on one database and one queue): the burst spent on the first
    leaves none on the second. Before: each process had its own, so N processes behind nginx
    let a guesser try N times as many names."""
    first = make_app(message_queue=redis_url, lookup_burst=6, lookup_rate=0.001)
    second = make_app(message_queue=redis_url, lookup_burst=6, lookup_rate=0.001)
    guessers = []
    for app in (first, second):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
        guessers.append(client)
    answers = [guessers[i % 2].get(f"/api/docs/guess-{i}").status_code for i in range(12)]
    assert answers == [404] * 6 + [429] * 6
    other = second.test_client()  # another address is not charged
    other.environ_base["REMOTE_ADDR"] = "198.51.100.24"
    assert other.get("/api/docs/guess-x").status_code == 404


def test_an_unreachable_redis_falls_back_to_the_process_buckets_and_is_logged_once(caplog):
    outage = Outage()
    buckets = SharedBuckets("redis://127.0.0.1:1/0", rate=0.001, burst=2, namespace="t", outage=outage)
    assert buckets.wait("a") == 0.0
    buckets.spend("a")
    buckets.spend("a")
    assert buckets.take("a") > 0  # the process's own bucket was charged
    assert outage.down and outage.failures == 1  # one failed attempt, then none until RETRY
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
