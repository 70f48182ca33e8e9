"""Tombstones another process made, noticed by a server that has no message queue.

`collab delete` on the server's machine (and, later, a rename or a link rotation) writes a
tombstone to the database. With COLLAB_MESSAGE_QUEUE it also tells the running servers
through the queue (queue.py), and each takes the document's clients out of it there. A
single server without a queue had no such message: its open editors went on typing into
a deleted document until their next change failed. This watch is that message for it:
every COLLAB_TOMBSTONE_POLL seconds (1 by default) one indexed query (Store.tombstones_since, schema migration 5) for the
tombstones made since it last looked, each new one handed to `found` (realtime.py
`tombstoned`), which takes the path a queued `gone` takes. It runs only without a queue
(and not with COLLAB_TOMBSTONE_POLL=0).

Imports the storage interface only; the edge gives it its callbacks and its sleep.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from ..storage import Store, StoreError, Tombstone

log = logging.getLogger("collab.tombstones")

POLL = 1.0  # seconds between two looks (COLLAB_TOMBSTONE_POLL): how late an open editor hears of a CLI delete
# seconds looked back behind the newest tombstone seen: a tombstone's time is read by its
# writer before its transaction commits (a writer may wait up to SQLite's lock timeout, 10 s),
# so one may land with a time earlier than another already seen
SLACK = 30.0


class TombstoneWatch:
    """Polls the store for new tombstones; `run` on a background greenlet of the app."""

    def __init__(self, store: Store, found: Callable[[Tombstone], None], sleep: Callable[[float], object],
                 stopped: Callable[[], bool], clock: Callable[[], float] = time.time,
                 interval: float = POLL) -> None:
        self.store = store
        self.found = found
        self.sleep = sleep
        self.stopped = stopped  # True once the app's service is closed: the loop ends
        self.clock = clock
        self.interval = interval
        self.newest = clock()  # the newest tombstone time seen (at first: now; older ones are old news)
        self.seen: dict[str, float] = {}  # seen[name] = its time, for the ones inside the window
        self.failing = False  # the last look failed (logged once per run of failures)

    def poll(self) -> list[Tombstone]:
        """The tombstones not seen before, oldest first (one query: those of the last SLACK
        seconds before the newest seen, or before now if that is earlier)."""
        since = min(self.clock(), self.newest) - SLACK
        new = [t for t in self.store.tombstones_since(since) if self.seen.get(t.name) != t.ts]
        for t in new:
            self.seen[t.name] = t.ts
            self.newest = max(self.newest, t.ts)
        floor = min(self.clock(), self.newest) - SLACK
        self.seen = {name: ts for name, ts in self.seen.items() if ts >= floor}
        return new

    def run(self) -> None:
        while True:
            self.sleep(self.interval)
            if self.stopped():
                return
            try:
                new = self.poll()
            except StoreError as exc:  # the database is down: /healthz says so; try again next time
                if not self.failing:
                    log.warning("cannot look for new tombstones (%s): trying again every %.0f s", exc, self.interval)
                self.failing = True
                continue
            self.failing = False
            for tomb in new:
                try:
                    self.found(tomb)
                except Exception:  # one that cannot be handed on must not end the watch
                    log.exception("a new tombstone (%s) could not be handed to the clients", tomb.reason)
