"""One client address's reads are bounded in bytes per second (collab/serve.py `ReadRate`;
issue 13, item 3).

Each message costs the event loop in proportion to its size whatever then happens to it
(Socket.IO's JSON decoding of a 3.9 MB patch: ~50 ms), so a flood of large messages from one
address, each refused `too_large`, still held the loop most of the time. These tests drive
`CappedWebSocket` readers on real sockets (gevent socketpairs) under gevent, with a
`ReadRate` as the server gives each connection (`NoDelayHandler.upgrade_connection`), and
assert what happens, never how long it takes: when an address's bucket is empty its readers
wait with the bytes left unread, another address is read meanwhile, nothing is lost, a waiter
holds no frame budget, and closing ends the wait. The figures with a real server are
`tests/e2e/test_hostile_lanes.py` and `bench.stalls --only lanes` (docs/reliability.md).
"""
from __future__ import annotations

import gevent
import gevent.socket
import pytest
from geventwebsocket.websocket import Stream

from collab.core.config import ConfigError, Settings
from collab.serve import CappedWebSocket, ConnectionLimits, FrameBudget, ReadRate
from tests.test_hostile_frames import client_frame


class _Connection:
    """A client's socket and the server's end of it, as the handler has them (its rfile
    peeks, as gevent's does)."""

    def __init__(self) -> None:
        self.client, self.socket = gevent.socket.socketpair()
        self.rfile = self.socket.makefile("rb")
        self.server = self  # the WebSocket's handler.server.application: no app here
        self.application = None

    def close(self) -> None:
        self.rfile.close()
        self.socket.close()
        self.client.close()


def websocket(conn: _Connection, address: str, reads: ReadRate, budget: FrameBudget | None = None) -> CappedWebSocket:
    """A CappedWebSocket on `conn` counted as `address`'s."""
    env = {"collab.limits": ConnectionLimits(large_frame_bytes=1_024), "collab.max_message": None,
           "collab.read_rate": reads, "collab.address": address}
    if budget is not None:
        env["collab.frame_budget"] = budget
    return CappedWebSocket(env, Stream(conn), conn)


def _read_all(ws: CappedWebSocket, n: int, into: list[str]) -> None:
    for _ in range(n):
        into.append(ws.receive())


def test_an_address_past_its_bytes_waits_with_them_unread_and_another_is_read_meanwhile():
    """Address A (two connections) has a bucket of 25,000 bytes refilled at 20,000 bytes/s
    and sends four 10,000-byte messages on each: the first messages are read at once, then
    A's readers wait, its bytes still in the socket, while B's messages are read; in the
    end every one of A's arrives, exactly and in order per connection. Before, every byte
    that had arrived was read at once."""
    reads = ReadRate(rate=20_000, burst=25_000)
    budget = FrameBudget(1_000_000)
    conns = [_Connection() for _ in range(3)]
    try:
        a1, a2, b = (websocket(c, addr, reads, budget) for c, addr in zip(conns, ("A", "A", "B")))
        sent = {k: [f"{k}{i}:" + "x" * 9_990 for i in range(4)] for k in ("a1", "a2")}
        for conn, k in zip(conns[:2], ("a1", "a2")):
            conn.client.sendall(b"".join(client_frame(m.encode()) for m in sent[k]))
        got: dict[str, list[str]] = {"a1": [], "a2": [], "b": []}
        readers = [gevent.spawn(_read_all, ws, 4, got[k]) for ws, k in ((a1, "a1"), (a2, "a2"))]
        gevent.sleep(0.05)  # (lets A's readers run until they wait)
        assert 2 <= len(got["a1"]) + len(got["a2"]) < 8, got
        assert reads.waits >= 1
        assert budget.used == 0  # a waiting reader holds none of the large-message budget
        assert conns[0].rfile.peek(1) or conns[1].rfile.peek(1)  # A's bytes wait in the socket
        conns[2].client.sendall(b"".join(client_frame(f"b{i}".encode()) for i in range(3)))
        gevent.spawn(_read_all, b, 3, got["b"]).get(timeout=5)
        assert got["b"] == ["b0", "b1", "b2"]
        assert len(got["a1"]) + len(got["a2"]) < 8  # B was read while A still waited
        gevent.joinall(readers, timeout=30, raise_error=True)
        assert got["a1"] == sent["a1"] and got["a2"] == sent["a2"]
    finally:
        for conn in conns:
            conn.close()


def test_a_message_larger_than_what_is_left_is_read_whole_and_the_debt_paid_before_the_next():
    """Nothing is refused: a 30,000-byte message with 10,000 bytes left in the bucket is read
    whole (the bucket goes into debt), and the next message waits for the debt."""
    reads = ReadRate(rate=50_000, burst=10_000)
    conn = _Connection()
    try:
        ws = websocket(conn, "A", reads)
        big = "y" * 30_000
        after = "n" * 200  # (over 125 bytes: a smaller whole message never waits)
        conn.client.sendall(client_frame(big.encode()) + client_frame(after.encode()))
        assert gevent.spawn(ws.receive).get(timeout=5) == big
        assert reads.waits == 0
        assert gevent.spawn(ws.receive).get(timeout=5) == after
        assert reads.waits == 1
    finally:
        conn.close()


def test_closing_a_connection_ends_its_readers_wait():
    """A reader waiting for its address's debt (minutes of it at 1,000 bytes/s) ends as soon as
    the connection is closed from elsewhere (the ping timeout, the server stopping); and a
    client that closes is not held: its close frame is read without waiting."""
    reads = ReadRate(rate=1_000, burst=1_000)
    conns = [_Connection(), _Connection()]
    try:
        first, second = (websocket(c, "A", reads) for c in conns)
        conns[0].client.sendall(client_frame(b"z" * 200_000) + client_frame(b"m" * 200))
        assert len(gevent.spawn(first.receive).get(timeout=10)) == 200_000  # in debt by ~199 s now
        waiting = gevent.spawn(first.receive)
        gevent.sleep(0.05)
        assert not waiting.ready()  # waits for the debt
        first.close()
        assert waiting.get(timeout=5) is None  # ended by the close (gevent-websocket: None once closed)
        conns[1].client.sendall(client_frame(b"\x03\xe8", opcode=8))  # the other connection leaves
        assert gevent.spawn(second.receive).get(timeout=5) is None
    finally:
        for conn in conns:
            conn.close()


def test_the_read_rate_is_set_per_address_and_admits_the_largest_message():
    """COLLAB_READ_RATE: the server's limits carry it with a burst of one message at the
    transport's limit; 0 turns it off; a negative rate is refused."""
    settings = Settings.from_env({})
    limits = ConnectionLimits.of(type("App", (), {"extensions": {"collab.settings": settings}})())
    assert limits.read_rate == settings.read_rate > 0
    assert limits.read_burst == settings.max_message_bytes
    Settings.from_env({"COLLAB_READ_RATE": "0"}).validate()
    with pytest.raises(ConfigError, match="COLLAB_READ_RATE must be a number >= 0"):
        Settings.from_env({"COLLAB_READ_RATE": "-1"})

def test_a_small_whole_message_is_read_while_its_address_waits():
    """An Engine.IO pong ("3") is read at once however deep its address is in debt, so the
    ping timeout does not drop a client that is merely throttled; a 200-byte message waits."""
    reads = ReadRate(rate=1_000, burst=1_000)
    conns = [_Connection(), _Connection()]
    try:
        flood, other = (websocket(c, "A", reads) for c in conns)
        conns[0].client.sendall(client_frame(b"z" * 100_000))
        assert len(gevent.spawn(flood.receive).get(timeout=10)) == 100_000  # ~99 s of debt
        conns[1].client.sendall(client_frame(b"3") + client_frame(b"p" * 200))
        assert gevent.spawn(other.receive).get(timeout=5) == "3"
        waiting = gevent.spawn(other.receive)
        gevent.sleep(0.05)
        assert not waiting.ready()
        other.close()
        assert waiting.get(timeout=5) is None
    finally:
        for conn in conns:
            conn.close()


def test_a_long_polling_body_counts_in_its_address_and_its_wait_is_not_the_clients():
    """An Engine.IO long-polling POST's body is read through its address's bucket too, and
    the time it waits there does not count against the body's deadline: with the address in
    debt for ~0.5 s and a body deadline of 0.2 s, the body is still read whole, not cut off."""
    from collab.serve import _TimedBody

    class Handler:
        environ = {"collab.address": "A"}
        aborted: list[str] = []

        def abort(self, what: str) -> None:
            self.aborted.append(what)

    reads = ReadRate(rate=100_000, burst=10_000)
    reads.charge("A", 60_000)  # in debt: 50,000 bytes, ~0.5 s
    conn = _Connection()
    try:
        body = b"4" + b"q" * 20_000
        conn.client.sendall(body)
        handler = Handler()
        timed = _TimedBody(conn.rfile, ConnectionLimits(body_timeout=0.2), handler, reads)  # type: ignore[arg-type]
        assert gevent.spawn(timed.read, len(body)).get(timeout=10) == body
        assert handler.aborted == [] and reads.waits >= 1
    finally:
        conn.close()
