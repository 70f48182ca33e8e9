"""Token buckets shared by every process of a deployment, in Redis.

The lookups of unknown documents (guard.Lookups) are charged per client address. Kept in each
process's memory, a guesser whose requests nginx spreads over N processes (it routes by
document, and every guess is another document) got N bursts and N times the rate. With a
message queue (COLLAB_MESSAGE_QUEUE) the buckets live in Redis instead: one bucket per
address for the whole deployment.

The algorithm is core.ratelimit.TokenBucket's, run as one Lua script so that a check and a
charge from two processes cannot interleave; the state of a bucket is a hash {tokens, stamp}
that expires once it would be full again (an address not seen is a full bucket, as in
KeyedBuckets). The clock is the processes' wall clock (time.time), passed in: processes of
one deployment keep their clocks in step (NTP), and a few ms of skew is a few ms of refill.

While Redis cannot be reached the process charges its own in-memory buckets (what it did
before this module), and tries Redis again after RETRY seconds, so that an outage costs
each lookup nothing and is logged once (queue.Outage).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from ..core.ratelimit import KeyedBuckets
from .queue import Outage

# KEYS[1]: the bucket; ARGV: rate, burst, now, cost, mode ("wait", "spend" or "take").
# Returns the seconds to wait as a string (Redis turns a Lua number into an integer).
_SCRIPT = """
local rate, burst, now, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local mode = ARGV[5]
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
if state[1] == false and mode == 'wait' then return '0' end
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens < cost then wait = (cost - tokens) / rate end
if mode == 'spend' or (mode == 'take' and wait == 0) then tokens = tokens - cost end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'stamp', string.format('%.17g', now))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
if mode == 'take' and wait == 0 then return '0' end
return string.format('%.17g', wait)
"""


class SharedBuckets:
    """KeyedBuckets' three operations on buckets kept in Redis under `namespace`."""

    RETRY = 5.0  # seconds between attempts to reach Redis again during an outage

    def __init__(self, url: str, rate: float, burst: float, namespace: str, outage: Outage | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        import redis

        self.rate = rate
        self.burst = burst
        self.outage = outage or Outage()
        self.clock = clock
        self.monotonic = monotonic
        self.local = KeyedBuckets(rate, burst)  # while Redis cannot be reached
        self._errors = (redis.RedisError, OSError)
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self.redis.register_script(_SCRIPT)
        self._prefix = f"{namespace}:lookups:"
        self._down_until = 0.0  # monotonic time before which Redis is not tried again

    def _run(self, mode: str, key: str, cost: float) -> float | None:
        """The script's answer, or None when Redis cannot answer (the caller uses its own)."""
        if self.monotonic() < self._down_until:
            return None
        try:
            answer: Any = self._script(keys=[self._prefix + key],
                                       args=[self.rate, self.burst, repr(self.clock()), cost, mode])
        except self._errors as exc:
            self._down_until = self.monotonic() + self.RETRY
            self.outage.failed("rate limits", exc)
            return None
        self.outage.worked()
        return float(answer)

    def take(self, key: str, cost: float = 1.0) -> float:
        wait = self._run("take", key, cost)
        return self.local.take(key, cost) if wait is None else wait

    def spend(self, key: str, cost: float = 1.0) -> None:
        if self._run("spend", key, cost) is None:
            self.local.spend(key, cost)

    def wait(self, key: str, cost: float = 1.0) -> float:
        wait = self._run("wait", key, cost)
        return self.local.wait(key, cost) if wait is None else wait
