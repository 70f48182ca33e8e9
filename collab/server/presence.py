"""Who is in each document: the peers of this process, or of every process through Redis,
and what of that each client is sent (`Roster`: capped lists, counts and deltas).

A peer is `{id, name, role, version, color?, account?}` (color: a picked one, palette.py; version: the
last one it confirmed with `seen`; account: a signed-in person's account id, the UI marks everyone
else a guest).
What goes out must not grow with the square of the crowd: a `presence` message lists at
most `max_peers` editors (viewers are counted, never listed), and a client that asked for
deltas gets only the entries that changed since the last message. No I/O in `Roster`.
With several processes each one writes its own peers into a Redis hash per document and
keeps a heartbeat key alive; a reader drops peers whose process stopped beating (killed
processes leave no ghosts: each process also sweeps the documents it serves every heartbeat,
drops the dead ones' peers and has its clients told). Redis losing its data (a restart) heals at the next
heartbeat, which writes this process's peers again. If Redis is unreachable, this
process's own peers are still shown, and the outage is logged once (server/queue.py).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import wire
from ..core.palette import PALETTE
from ..core.wire import Counts, Peer
from .queue import Outage


class LocalPresence:
    """Peers of this process only (one process, no message queue)."""

    def __init__(self) -> None:
        self._peers: dict[str, dict[str, Peer]] = {}  # peers[doc][peer id] = peer

    def set(self, doc: str, peer: Peer) -> None:
        self._peers.setdefault(doc, {})[peer["id"]] = peer

    def remove(self, doc: str, peer_id: str) -> None:
        peers = self._peers.get(doc, {})
        peers.pop(peer_id, None)
        if not peers:
            self._peers.pop(doc, None)

    def peers(self, doc: str) -> list[Peer]:
        return list(self._peers.get(doc, {}).values())

    def ping(self) -> str:
        return "none"  # no queue in use

    def watch(self, on_gone: Callable[[str, list[str]], None]) -> None:
        """on_gone(doc id, peer ids): peers that went without leaving (one process: never)."""

    def close(self) -> None:
        pass


class RedisPresence(LocalPresence):
    HEARTBEAT = 5.0  # seconds between heartbeats
    TTL = 15  # seconds after the last heartbeat a process counts as gone
    # a document's hash lives this long after the last process serving it beat (a killed
    # process's peers were kept for good: one key leaked per document per crash)
    KEY_TTL = 4 * TTL

    def __init__(self, url: str, spawn: Callable[..., Any], sleep: Callable[[float], None],
                 process_id: str, outage: Outage | None = None, namespace: str = "collab") -> None:
        """`namespace`: what the keys start with, queue.channel(the deployment's id): the
        processes of another database on the same Redis never see these."""
        import redis

        super().__init__()
        self.outage = outage or Outage()
        self._errors = redis.RedisError
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.process = process_id
        self._namespace = namespace
        self._sleep = sleep
        self._closed = False
        # told (doc id, peer ids) when peers of a process that stopped beating are dropped, so
        # that their documents' clients hear it without waiting for some other change
        self._on_gone: Callable[[str, list[str]], None] | None = None
        spawn(self._heartbeat)

    def watch(self, on_gone: Callable[[str, list[str]], None]) -> None:
        self._on_gone = on_gone

    def _key(self, doc: str) -> str:
        """A document's peers, by a hash of its edit id: Redis may be shared, and whoever can
        list its keys would else read every open document's edit link (the edit capability)."""
        return f"{self._namespace}:presence:{hashlib.sha256(doc.encode()).hexdigest()[:32]}"

    def _alive_key(self, process: str) -> str:
        return f"{self._namespace}:process:{process}"

    def set(self, doc: str, peer: Peer) -> None:
        super().set(doc, peer)
        try:
            pipe = self.redis.pipeline()
            pipe.hset(self._key(doc), peer["id"], json.dumps({**peer, "process": self.process}))
            pipe.expire(self._key(doc), self.KEY_TTL)
            pipe.execute()
        except self._errors as exc:
            self.outage.failed("presence", exc)

    def remove(self, doc: str, peer_id: str) -> None:
        super().remove(doc, peer_id)
        try:
            self.redis.hdel(self._key(doc), peer_id)
        except self._errors as exc:
            self.outage.failed("presence", exc)

    def peers(self, doc: str) -> list[Peer]:
        try:
            raw = self.redis.hgetall(self._key(doc))
            # what processes wrote: a peer and the process it is on (checked only by key)
            entries: list[dict[str, Any]] = [json.loads(v) for v in raw.values()]
            processes = sorted({e.get("process", "") for e in entries} - {self.process})
            alive = {self.process}
            if processes:
                beats = self.redis.mget([self._alive_key(p) for p in processes])
                alive.update(p for p, beat in zip(processes, beats) if beat is not None)
        except self._errors as exc:
            self.outage.failed("presence", exc)
            return super().peers(doc)
        mine = {p["id"]: p for p in super().peers(doc)}  # ours are authoritative
        # a colour only if it is the palette's (what another process wrote is still checked:
        # it goes into pages' CSS)
        others = [wire.peer(e.get("id", ""), e.get("name", ""), e.get("role", ""), e.get("version", 0),
                            e.get("color") if e.get("color") in PALETTE else None,
                            e.get("account") if isinstance(e.get("account"), str) else None)
                  for e in entries if e.get("process") in alive and e.get("process") != self.process]
        # one order on every process, so that a capped list is the same wherever it is made
        return sorted([*mine.values(), *(p for p in others if p["id"] not in mine)], key=lambda p: p["id"])

    def ping(self) -> str:
        try:
            self.redis.ping()
        except self._errors as exc:
            self.outage.failed("health check", exc)
            raise
        self.outage.worked()
        return "ok"

    def _heartbeat(self) -> None:
        while not self._closed:
            try:
                pipe = self.redis.pipeline()
                pipe.set(self._alive_key(self.process), "1", ex=self.TTL)
                for doc, peers in self._peers.items():
                    for peer in peers.values():
                        pipe.hset(self._key(doc), peer["id"], json.dumps({**peer, "process": self.process}))
                    pipe.expire(self._key(doc), self.KEY_TTL)
                pipe.execute()
                for doc in list(self._peers):
                    self._sweep(doc)
                self.outage.worked()
            except self._errors as exc:
                self.outage.failed("presence heartbeat", exc)
            self._sleep(self.HEARTBEAT)

    def _sweep(self, doc: str) -> None:
        """Drop the peers of processes that stopped beating (killed: they left no goodbye) from
        a document this process serves, and say so: else their names stayed on every screen
        until something else about the document changed."""
        raw = self.redis.hgetall(self._key(doc))
        owners = {(pid.decode() if isinstance(pid, bytes) else pid): json.loads(v).get("process", "")
                  for pid, v in raw.items()}
        processes = sorted(set(owners.values()) - {self.process})
        if not processes:
            return
        beats = self.redis.mget([self._alive_key(p) for p in processes])
        dead = {p for p, beat in zip(processes, beats) if beat is None}
        gone = [pid for pid, owner in owners.items() if owner in dead]
        if gone:
            self.redis.hdel(self._key(doc), *gone)
            if self._on_gone is not None:
                self._on_gone(doc, gone)

    def close(self) -> None:
        self._closed = True


@dataclass
class Roster:
    """What the clients of one document were last told about its peers, and what changed
    since. One per document, kept by the edge that sends `presence` (realtime.py).

    `listed` holds at most `max_peers` editors (in the presence store's order); `counts`
    are the editors and viewers there are. `touched` collects the peer ids changed since
    the last message: one that a join answer listed in between and that went is still
    announced as gone, and one that changed and changed back is sent again, so that a
    client whose join answer was made in between ends with what everyone else has. Peers
    beyond the cap are counted only: their coming and going is not announced to anyone.
    """

    max_peers: int
    listed: dict[str, Peer] = field(default_factory=dict)  # listed[peer id] = peer, as last sent
    counts: Counts = field(default_factory=lambda: Counts(editors=0, viewers=0))
    touched: set[str] = field(default_factory=set)
    # ids listed in join answers since the last message: only those, and `listed`, can be on
    # a delta client's screen, so only those are ever announced as gone
    shown: set[str] = field(default_factory=set)
    sent_at: float = float("-inf")  # monotonic time of the last message
    due: bool = False  # a message is scheduled
    sending: bool = False  # a message is going out (in slices: realtime.py)
    queued: bool = False  # the scheduled one came due meanwhile: sent when that one is through

    def view(self, peers: list[Peer]) -> tuple[list[Peer], Counts]:
        """The capped list and the counts for `peers` (everyone in the document)."""
        editors = [p for p in peers if p["role"] != "viewer"]
        return editors[: self.max_peers], {"editors": len(editors), "viewers": len(peers) - len(editors)}

    def answer(self, peers: list[Peer]) -> tuple[list[Peer], Counts]:
        """`view` for a join answer: what it lists may be on that client's screen until the
        next message says otherwise."""
        listed, counts = self.view(peers)
        self.shown.update(p["id"] for p in listed)
        return listed, counts

    def update(self, peers: list[Peer]) -> tuple[list[Peer], list[Peer], list[str], Counts] | None:
        """Take in the current peers: (full list, changed entries, gone ids, counts), or
        None when nothing a client can see changed (then nothing is sent)."""
        listed, counts = self.view(peers)
        now = {p["id"]: p for p in listed}
        # a touched entry goes out even if it is back to what was sent last: a join answer
        # made in between may have shown the intermediate value
        changed = [p for pid, p in now.items() if self.listed.get(pid) != p or pid in self.touched]
        # a peer beyond the cap that came, changed or went was never listed: not gone for anyone
        gone = sorted((set(self.listed) | (self.touched & self.shown)) - set(now))
        self.touched, self.shown = set(), set()
        if not changed and not gone and counts == self.counts:
            return None
        self.listed, self.counts = now, counts
        return listed, changed, gone, counts
