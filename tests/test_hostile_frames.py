"""Large WebSocket messages cost the event loop a bounded slice at a time (issue 13).

collab/serve.py's `CappedWebSocket` reads a client's frames. These tests drive it in-process
under gevent (no monkey-patching needed: gevent's own primitives) with the client's bytes
already waiting in a buffer, which is what a fast client on a good network gives the
server: gevent-websocket then read, unmasked and decoded a 4 MB message without giving the
loop back once. The end-to-end figure (8 connections sending 4.9 MB frames while an honest
client does round trips) is `test_hostile_transport.py::test_large_frames_from_many_connections_…`.
"""
from __future__ import annotations

import io
import os
import random
import struct

import gevent
import gevent.socket

from collab.serve import CappedWebSocket, ConnectionLimits, FrameBudget, _Unmasker


def client_frame(payload: bytes, opcode: int = 1, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One masked client frame (RFC 6455 5.2), masked the slow obvious way for small
    payloads and as two big integers for large ones (an independent reference)."""
    mask = mask or os.urandom(4)
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack("!Q", n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


class _Wire:
    """The network under a WebSocket: what the client sent (already arrived, or arriving
    through `feed`), and what the server wrote back."""

    def __init__(self, data: bytes = b"") -> None:
        self.rfile = io.BytesIO(data)
        self.sent = bytearray()
        self.socket = self
        self.server = self  # the WebSocket's handler.server.application: no app here
        self.application = None

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown(self, how: int) -> None:
        pass

    def close_code(self) -> int | None:
        """The status code of the close frame the server sent, if any."""
        if len(self.sent) >= 4 and self.sent[0] & 0x0F == 8:
            return int.from_bytes(self.sent[2:4], "big")
        return None


def websocket(wire, limits: ConnectionLimits | None = None, budget: FrameBudget | None = None,
              max_message: int | None = None) -> CappedWebSocket:
    """A CappedWebSocket on `wire`, as NoDelayHandler.upgrade_connection makes one."""
    from geventwebsocket.websocket import Stream
    env = {"collab.limits": limits or ConnectionLimits(), "collab.max_message": max_message}
    if budget is not None:
        env["collab.frame_budget"] = budget
    return CappedWebSocket(env, Stream(wire), wire)


def test_a_large_message_gives_the_loop_back_between_slices():
    """A 4 MB text message whose bytes have all arrived: another greenlet runs between the
    reader's 64 KiB slices (gevent-websocket read, unmasked and decoded it in one go: the
    other greenlet ran 0 times), and the text is exactly what was sent, multi-byte
    characters cut at every slice boundary included."""
    text = ("42[\"patch\",{\"patch\":\"" + "文書 ü é 😀 abc " * 200_000)[:2_900_000] + "\"}]"
    data = text.encode("utf-8")
    assert len(data) > 4_000_000
    ws = websocket(_Wire(client_frame(data)))
    ticks = 0

    def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            gevent.sleep(0)

    other = gevent.spawn(ticker)
    gevent.sleep(0)  # the ticker is running
    before = ticks
    reader = gevent.spawn(ws.receive)
    message = reader.get(timeout=60)
    during = ticks - before
    other.kill()
    assert message == text
    slices = len(data) // 65_536
    print(f"\n{len(data):,}-byte message: the other greenlet ran {during} times during the read ({slices} slices)")
    assert during >= slices // 2, f"the other greenlet ran {during} times while {slices} slices were read"


def test_small_messages_are_read_whole_and_exactly():
    """Small frames, fragmented messages (a character split between two frames), binary,
    pings between fragments: each arrives exactly, and nothing waits for the budget."""
    budget = FrameBudget(1)  # full: any large message would wait forever
    budget.used = 1
    word = "ab文c".encode("utf-8")
    wire = _Wire(client_frame(b"hello")
                 + client_frame(word[:3], fin=False) + client_frame(b"ping!", opcode=9)
                 + client_frame(word[3:], opcode=0)
                 + client_frame(bytes(range(256)), opcode=2))
    ws = websocket(wire, budget=budget)
    assert gevent.spawn(ws.receive).get(timeout=5) == "hello"
    assert gevent.spawn(ws.receive).get(timeout=5) == "ab文c"
    assert gevent.spawn(ws.receive).get(timeout=5) == bytes(range(256))
    assert wire.sent[:1] == b"\x8a"  # the pong


def test_the_unmasker_chains_over_slices_of_any_length():
    """Unmasking slice after slice (each leaving the key turned by its length) gives the
    payload exactly, for random masks and random cuts."""
    rng = random.Random(13)
    for _ in range(200):
        payload = rng.randbytes(rng.randrange(0, 3000))
        frame = client_frame(payload, mask=rng.randbytes(4))
        off = len(frame) - len(payload) - 4  # the mask, then the masked payload
        mask, masked = frame[off:off + 4], frame[off + 4:]
        unmask = _Unmasker(mask)
        out, i = bytearray(), 0
        while i < len(masked):
            j = min(len(masked), i + rng.randrange(1, 17))
            out += unmask(masked[i:j])
            i = j
        assert bytes(out) == payload


def test_large_messages_wait_for_the_budget_and_small_ones_never_do():
    """Budget 10,000 bytes, messages over 1,024 bytes are large: A's 8,000-byte message
    holds the budget until A asks for its next message (its event has been handled by
    then); B's and C's wait, in the order they came, while D's small message is read at
    once. Without a budget, all three were read at once."""
    limits = ConnectionLimits(large_frame_bytes=1_024, large_frames_budget=10_000)
    budget = FrameBudget(limits.large_frames_budget)
    big = {k: (k * 8_000).encode() for k in "ABC"}
    sockets = {k: websocket(_Wire(client_frame(big[k]) + client_frame(b"next")), limits, budget) for k in "ABC"}
    small = websocket(_Wire(client_frame(b"x" * 500)), limits, budget)
    done: list[str] = []

    def read(k: str) -> None:
        assert sockets[k].receive() == big[k].decode()
        done.append(k)

    readers = {"A": gevent.spawn(read, "A")}
    gevent.sleep(0.05)
    assert done == ["A"] and budget.used == 8_000
    readers["B"] = gevent.spawn(read, "B")
    gevent.sleep(0.01)
    readers["C"] = gevent.spawn(read, "C")
    gevent.sleep(0.05)
    assert gevent.spawn(small.receive).get(timeout=5) == "x" * 500  # never waits
    assert done == ["A"], "B and C read while A's message held the budget"
    # A asks for its next message: A's bytes go back, B's turn (C still waits: 16,000 > 10,000)
    assert gevent.spawn(sockets["A"].receive).get(timeout=5) == "next"
    gevent.sleep(0.05)
    assert done == ["A", "B"]
    assert gevent.spawn(sockets["B"].receive).get(timeout=5) == "next"
    gevent.joinall(list(readers.values()), timeout=5, raise_error=True)
    assert done == ["A", "B", "C"]
    assert gevent.spawn(sockets["C"].receive).get(timeout=5) == "next"
    assert budget.used == 0


def test_a_trickled_large_frame_is_closed_and_gives_the_budget_back():
    """A large frame whose bytes stop coming is closed with 1008 once its deadline (body
    timeout + 1 s per body_min_rate bytes) passes, and the budget it held is free again:
    otherwise one trickling client would hold every other large message back."""
    limits = ConnectionLimits(body_timeout=0.3, body_min_rate=1_000_000, large_frame_bytes=1_024)
    budget = FrameBudget(limits.large_frames_budget)
    r, w = gevent.socket.socketpair()
    wire = _Wire()
    wire.rfile = r.makefile("rb")
    frame = client_frame(b"y" * 100_000)
    w.sendall(frame[:5_000])  # the header and a little; the rest never comes
    ws = websocket(wire, limits, budget)
    assert gevent.spawn(ws.receive).get(timeout=10) is None  # closed (receive() says so with None)
    assert wire.close_code() == 1008
    assert budget.used == 0
    r.close()
    w.close()


def test_a_connection_closed_while_it_waits_for_the_budget_frees_its_place():
    """A large message waiting for the budget, whose connection is closed meanwhile (the
    ping timeout), takes nothing once its turn comes and leaves the budget free."""
    limits = ConnectionLimits(large_frame_bytes=1_024, large_frames_budget=5_000)
    budget = FrameBudget(limits.large_frames_budget)
    first = websocket(_Wire(client_frame(b"a" * 4_000) + client_frame(b"next")), limits, budget)
    second = websocket(_Wire(client_frame(b"b" * 4_000)), limits, budget)
    assert gevent.spawn(first.receive).get(timeout=5) == "a" * 4_000
    waiting = gevent.spawn(second.receive)
    gevent.sleep(0.05)
    second.close(1000)
    assert gevent.spawn(first.receive).get(timeout=5) == "next"
    assert waiting.get(timeout=5) is None  # closed: nothing read
    assert budget.used == 0
