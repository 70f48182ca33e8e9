"""Rate limits: a token bucket (`rate` events per second sustained, bursts up to `burst`)
and a table of buckets per key (a client address), bounded in size. Pure."""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def take(self, cost: float = 1.0) -> float:
        """Spend `cost` tokens: 0.0 when allowed, else the seconds to wait before retrying."""
        if self.wait(cost) == 0.0:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def spend(self, cost: float = 1.0) -> None:
        """Spend `cost` tokens whether or not they are there (the bucket may go below zero:
        the wait after it grows)."""
        self.wait(cost)  # refill up to now first
        self.tokens -= cost

    def wait(self, cost: float = 1.0) -> float:
        """The seconds until `cost` tokens are there (0.0: now), spending nothing."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / self.rate


class KeyedBuckets:
    """One TokenBucket per key, for the `capacity` most recently seen keys: a key not seen
    for longer than its bucket takes to refill loses nothing by being forgotten, and memory
    stays bounded whatever the number of addresses."""

    def __init__(self, rate: float, burst: float, capacity: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()  # key -> its bucket, oldest first

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend `cost` of `key`'s tokens: 0.0 when allowed, else the seconds to wait."""
        return self._bucket(key).take(cost)

    def _bucket(self, key: str) -> TokenBucket:
        """`key`'s bucket, made (full) if it is new; the least recently used past `capacity`
        are forgotten."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def spend(self, key: str, cost: float = 1.0) -> None:
        """Spend `cost` of `key`'s tokens whether or not they are there."""
        self._bucket(key).spend(cost)

    def wait(self, key: str, cost: float = 1.0) -> float:
        """The seconds until `key` has `cost` tokens (0.0: now), spending nothing; a key
        never seen has a full bucket."""
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.wait(cost)

    def __len__(self) -> int:
        return len(self._buckets)
