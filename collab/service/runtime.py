"""The few concurrency primitives the document service needs, on gevent.

Kept in one place so the service reads as plain code. Works with or without
monkey-patching (run.py patches; in-process tests do not). `spawn` comes from
Flask-SocketIO (socketio.start_background_task) when there is an app.

Long pure computations run on worker threads, in two lanes: writes (applying patches,
which editors wait for; inside a `write_session`, at most WRITES_AT_ONCE_PER_KEY of one
client address's at a time, so that one address never holds both threads) and reads (diffs, blame, replays for the history routes, which
any viewer can ask for). Reads run one at a time behind a bounded queue, so that however
many of them are asked for at once, the writes keep a thread; with `read_process` (the
server's choice, collab/app.py) they run in a child process (worker.py), so that a long
blame does not compete with the event loop for the interpreter lock at all. Reads of
large rows that nothing computes with (images) run on store-read threads, bounded the same
way (STORE_READS_AT_ONCE running, STORE_READS_WAITING waiting, then `unavailable`).
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar, cast

import gevent
import gevent.event
import gevent.lock
from gevent.threadpool import ThreadPool

from ..core.errors import CollabError
from .worker import ReadProcess

T = TypeVar("T")

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the interpreter lock while another waits
READS_AT_ONCE = 1  # read computations running on worker threads at the same time
READS_WAITING = 16  # more waiting than this: `unavailable` with a retry time, not a longer queue
READS_WAITING_PER_KEY = 4  # of which one client address's (a read_session's key)
WRITE_THREADS = 2  # threads of the write lane (patches, loads, catch-ups), shared by every document
# write-lane computations of one write_session's key (a client address) running or queued at
# once: its others wait here, not in the lane's queue, so that the other thread stays free for
# everyone else and each other address waits behind at most one of its computations. (Besides
# the threads, one busy thread holding the interpreter lock makes the event loop's every step
# slower; two, ~7 times: a keystroke's handling 1.7 -> 11.8 ms median, in-process)
WRITES_AT_ONCE_PER_KEY = 1
STORE_READS_AT_ONCE = 2  # threads reading large rows (images) on connections of their own
STORE_READS_WAITING = 32  # more waiting than this: `unavailable` with a retry time

Event = gevent.event.Event
Lock = gevent.lock.BoundedSemaphore


@dataclass
class _ReadSession:
    key: str
    holds: bool = False  # has the read lane's turn, kept until the session ends


@dataclass
class _Turns:
    lock: gevent.lock.BoundedSemaphore  # WRITES_AT_ONCE_PER_KEY of one key's computations
    users: int = 0  # its computations running or waiting (the entry goes with the last)


def _outcome(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
    """(True, fn(*args)), or (False, the exception it raised)."""
    try:
        return True, fn(*args)
    except Exception as exc:
        return False, exc


class Runtime:
    def __init__(self, spawn: Callable[..., Any] | None = None, read_process: bool = False) -> None:
        """`read_process`: run the read lane in a child process (its functions and their
        arguments must then pickle: module-level functions, partials of them, plain data)."""
        self._spawn = spawn or gevent.spawn
        self._read_process = ReadProcess() if read_process else None
        # one OS thread for database writes: a slow fsync must not freeze the event loop
        self._writer = ThreadPool(1)
        # threads for long pure computations (big patches, blame, diffs of whole versions):
        # the interpreter switches threads every few ms, so the event loop keeps running
        self._cpu = ThreadPool(WRITE_THREADS)
        self._write_keys: dict[Any, str] = {}  # by greenlet: the write_session it runs in
        self._write_turns: dict[str, _Turns] = {}  # by key, while one of its computations runs or waits
        # password hashes (COLLAB_SIGN_IN: ~0.1-1 s of CPU and 64 MiB each, Argon2id), one at a
        # time on a thread of their own: a flood of sign-ins queues here, holding neither the
        # threads of document work nor more than one hash's memory
        self._hashes = ThreadPool(1)
        # reads of large rows (images, megabytes each), each thread on its own connection
        # (service/reads.py): a crowd of page views waits here, not on the event loop
        self._store_reads = ThreadPool(STORE_READS_AT_ONCE)
        self._store_reads_asked = 0  # running or waiting
        # a worker thread running pure Python keeps the interpreter lock until asked to let
        # go, which the event loop's thread does after the switch interval (5 ms by default),
        # each time it wakes: a round trip wakes it several times. 1 ms cuts that wait
        # fivefold (the worker loses little: a switch costs microseconds)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._reads = gevent.lock.BoundedSemaphore(READS_AT_ONCE)
        self._reads_waiting = 0
        self._waiting_by_key: dict[str, int] = {}
        self._sessions: dict[Any, _ReadSession] = {}  # by greenlet

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._spawn(fn, *args)

    def yield_now(self) -> None:
        """Let every other ready greenlet run first."""
        gevent.sleep(0)

    def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call on the writer thread and wait for it."""
        return self._on(self._writer, fn, args)

    def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run pure code (no gevent objects, no I/O) on a worker thread and wait for it;
        inside a write_session, after its key's computations before it (WRITES_AT_ONCE_PER_KEY)."""
        key = self._write_keys.get(gevent.getcurrent())
        if key is None:
            return self._on(self._cpu, fn, args)
        turns = self._write_turns.get(key)
        if turns is None:
            turns = self._write_turns[key] = _Turns(Lock(WRITES_AT_ONCE_PER_KEY))
        turns.users += 1
        try:
            with turns.lock:
                return self._on(self._cpu, fn, args)
        finally:
            turns.users -= 1
            if not turns.users:
                del self._write_turns[key]

    @contextlib.contextmanager
    def write_session(self, key: str) -> Iterator[None]:
        """The write-lane computations of one message, on behalf of `key` (a client address):
        one key's run one at a time (WRITES_AT_ONCE_PER_KEY), whatever number of connections
        or documents it writes through."""
        me = gevent.getcurrent()
        assert me not in self._write_keys, "write sessions do not nest"
        self._write_keys[me] = key
        try:
            yield
        finally:
            del self._write_keys[me]

    def run_hash(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a password hash or check on the hashing thread and wait for it."""
        return self._on(self._hashes, fn, args)

    def run_store_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read of large rows on a store-read thread and wait for it: at most
        STORE_READS_AT_ONCE at once and STORE_READS_WAITING waiting; past that,
        `unavailable` with a time to retry after (HTTP 503 with Retry-After)."""
        if self._store_reads_asked >= STORE_READS_AT_ONCE + STORE_READS_WAITING:
            raise CollabError("unavailable", "the server is busy reading other large files; retry in a second",
                              retry_after=1)
        self._store_reads_asked += 1
        try:
            return self._on(self._store_reads, fn, args)
        finally:
            self._store_reads_asked -= 1

    @staticmethod
    def _on(pool: ThreadPool, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        # the exception comes back as a value: gevent's pool would print the traceback of
        # every one raised on a worker, and a `conflict` there (a taken name, a lost race) is
        # an ordinary answer
        ok, value = pool.apply(_outcome, (fn, args))
        if not ok:
            raise value
        return cast(T, value)

    def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Like run_cpu, for work a reader asked for: at most READS_AT_ONCE run at once,
        the others wait their turn here (not on a thread); past READS_WAITING waiting (or
        READS_WAITING_PER_KEY of one `read_session`'s key), the request is refused with
        `unavailable` and a time to retry after. Inside a read_session, the turn taken by
        its first computation is kept for the others: a request whose answer needs several
        (the texts of two versions, then their diff) is never refused after waiting."""
        session = self._sessions.get(gevent.getcurrent())
        if session is None or not session.holds:
            self._take_turn(session)
        try:
            if self._read_process is not None:
                return cast(T, self._read_process.run(fn, args))
            return self.run_cpu(fn, *args)
        finally:
            if session is None:
                self._reads.release()

    def _take_turn(self, session: _ReadSession | None) -> None:
        key = session.key if session is not None else None
        if self._reads_waiting >= READS_WAITING or (
                key is not None and self._waiting_by_key.get(key, 0) >= READS_WAITING_PER_KEY):
            raise CollabError("unavailable", "the server is busy with other history requests; retry in a second",
                              retry_after=1)
        self._reads_waiting += 1
        if key is not None:
            self._waiting_by_key[key] = self._waiting_by_key.get(key, 0) + 1
        try:
            self._reads.acquire()
        finally:
            self._reads_waiting -= 1
            if key is not None:
                left = self._waiting_by_key.pop(key) - 1
                if left:
                    self._waiting_by_key[key] = left
        if session is not None:
            session.holds = True

    @contextlib.contextmanager
    def read_session(self, key: str) -> Iterator[None]:
        """One request's read computations, on behalf of `key` (a client address): they
        share one turn of the read lane, taken at the first and given back at the end; and
        one key may have at most READS_WAITING_PER_KEY requests waiting, so that one
        client's many cannot fill the queue everyone else waits in."""
        me = gevent.getcurrent()
        session = self._sessions[me] = _ReadSession(key)
        try:
            yield
        finally:
            del self._sessions[me]
            if session.holds:
                self._reads.release()

    def close(self) -> None:
        if self._read_process is not None:
            self._read_process.close()
        self._writer.kill()
        self._cpu.kill()
        self._hashes.kill()
        self._store_reads.kill()
