"""The few concurrency primitives the document service needs, on gevent.

Kept in one place so the service reads as plain code. Works with or without
monkey-patching (run.py patches; in-process tests do not). `spawn` comes from
Flask-SocketIO (socketio.start_background_task) when there is an app.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import gevent
import gevent.event
import gevent.lock
from gevent.threadpool import ThreadPool

T = TypeVar("T")

Event = gevent.event.Event
Lock = gevent.lock.BoundedSemaphore


class Runtime:
    def __init__(self, spawn: Callable[..., Any] | None = None) -> None:
        self._spawn = spawn or gevent.spawn
        # one OS thread for database writes: a slow fsync must not freeze the event loop
        self._writer = ThreadPool(1)
        # threads for long pure computations (big patches, blame, diffs of whole versions):
        # the interpreter switches threads every few ms, so the event loop keeps running
        self._cpu = ThreadPool(2)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._spawn(fn, *args)

    def yield_now(self) -> None:
        """Let every other ready greenlet run first."""
        gevent.sleep(0)

    def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return self._writer.apply(fn, args)

    def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run pure code (no gevent objects, no I/O) on a worker thread and wait for it."""
        return self._cpu.apply(fn, args)

    def close(self) -> None:
        self._writer.kill()
        self._cpu.kill()
