"""The read lane's sessions (service/runtime.py read_session): one request's computations
share one turn, and one client address cannot fill the queue that everyone waits in; the
write lane's (write_session): one address's computations never hold both of its threads.
Run on threads (Runtime()), with computations that hold until the test lets them go."""
from __future__ import annotations

import threading

import gevent
import pytest

from collab.core.errors import CollabError
from collab.service.runtime import READS_WAITING, READS_WAITING_PER_KEY, WRITE_THREADS, Runtime


@pytest.fixture
def lane():
    runtime = Runtime()
    gate = threading.Event()
    yield runtime, gate
    gate.set()
    runtime.close()


def _held(gate: threading.Event, n: int) -> int:
    gate.wait(30)
    return n


def _session(runtime: Runtime, key: str, gate: threading.Event, computations: int) -> list[int]:
    with runtime.read_session(key):
        return [runtime.run_read(_held, gate, i) for i in range(computations)]


def test_a_request_that_got_its_turn_is_never_refused_for_its_next_computation(lane):
    """Before: the diff of two old versions took the lane three times, waiting each time,
    and could be refused with 503 on its second or third, after seconds of waiting."""
    runtime, gate = lane
    first = gevent.spawn(_session, runtime, "a", gate, 3)
    gevent.sleep(0)  # it holds the turn, computing its first
    crowd = [gevent.spawn(_session, runtime, f"k{i}", gate, 1) for i in range(READS_WAITING)]
    gevent.sleep(0)  # the queue is full
    with pytest.raises(CollabError) as refused:
        runtime.run_read(_held, gate, -1)
    assert refused.value.code == "unavailable"
    gate.set()
    gevent.joinall([first, *crowd], timeout=30, raise_error=True)
    assert first.value == [0, 1, 2]
    assert all(g.value == [0] for g in crowd)


def test_one_address_cannot_fill_the_queue(lane):
    runtime, gate = lane
    busy = gevent.spawn(_session, runtime, "someone", gate, 1)
    gevent.sleep(0)
    mine = [gevent.spawn(_session, runtime, "attacker", gate, 1) for _ in range(READS_WAITING_PER_KEY)]
    gevent.sleep(0)
    more = gevent.spawn(_session, runtime, "attacker", gate, 1)
    other = gevent.spawn(_session, runtime, "victim", gate, 1)
    gevent.sleep(0)
    assert more.dead and isinstance(more.exception, CollabError) and more.exception.code == "unavailable"
    assert not other.dead  # waiting its turn, not refused
    gate.set()
    gevent.joinall([busy, *mine, other], timeout=30, raise_error=True)
    assert other.value == [0]


def test_an_exception_on_the_writer_thread_is_raised_here_and_printed_nowhere(capfd):
    """A rename to a taken name is StoreConflict on the writer thread: an ordinary answer (409),
    which gevent's pool printed as a traceback (the stranger's log filled with them)."""
    from collab.storage import StoreConflict

    def taken() -> None:
        raise StoreConflict("cannot rename document: 'x' is taken")

    runtime = Runtime()
    try:
        with pytest.raises(StoreConflict):
            runtime.run_blocking(taken)
        assert runtime.run_blocking(lambda: 7) == 7
        gevent.sleep(0.05)  # the hub would print a worker's error on its next turn
    finally:
        runtime.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "StoreConflict" not in err, err


def _write(runtime: Runtime, key: str, fn, *args):
    with runtime.write_session(key):
        return runtime.run_cpu(fn, *args)


def test_one_address_holds_one_write_lane_thread_and_the_other_stays_free(lane):
    """Patches from several connections of one address, each a long computation (held here
    until the gate opens): before, they took both write-lane threads and every other
    document's long write (a paste, a load) waited behind them. Now one runs, the others
    wait their turn; another address's computation runs meanwhile, as does work outside
    any session."""
    runtime, gate = lane
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def held(n: int) -> int:
        with lock:
            running.append(n)
            peak[0] = max(peak[0], len(running))
        gate.wait(30)
        with lock:
            running.remove(n)
        return n

    attack = [gevent.spawn(_write, runtime, "attacker", held, n) for n in range(2 * WRITE_THREADS)]
    gevent.sleep(0)  # every one has asked
    other = gevent.spawn(_write, runtime, "someone", lambda: "pasted")
    keyless = gevent.spawn(runtime.run_cpu, lambda: "loaded")
    gevent.joinall([other, keyless], timeout=30, raise_error=True)  # while the gate is closed
    assert (other.value, keyless.value) == ("pasted", "loaded")
    assert peak[0] == 1 and not any(g.dead for g in attack)
    gate.set()
    gevent.joinall(attack, timeout=30, raise_error=True)
    assert sorted(g.value for g in attack) == list(range(2 * WRITE_THREADS)) and peak[0] == 1
    assert runtime._write_turns == {}  # nothing kept of an address once its writes are done


def test_a_write_session_raises_what_its_computation_raised(lane):
    runtime, _ = lane

    def refused() -> None:
        raise CollabError("conflict", "changed meanwhile")

    with pytest.raises(CollabError):
        _write(runtime, "a", refused)
    assert _write(runtime, "a", lambda: 7) == 7 and runtime._write_turns == {}
