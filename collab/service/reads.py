"""Reads of the store done off the event loop, each thread (or the read worker process,
worker.py) on a connection of its own: the whole history that blame, revert and restore
read, an old version's snapshot and revisions, an image.

Read on the event loop, these held it for as long as the database driver took to return
a page of rows and Python to make objects of them (a page of 60 revisions of 2 MB: 120 MB
at once; PostgreSQL's driver yields while it waits for the server, but makes the rows on
the loop all the same), and the read worker's arguments were pickled there too (100,000
revisions: 0.4 s in one call). Here the reading, the computation and the pickling of
nothing but the answer happen where the computation runs. A store that cannot be opened
twice (`Store.reader_url()` None: an in-memory database) is read where it is asked.

Every function is module level and takes the store's reader URL, so that the worker
process can import it by name; the connection is opened at a thread's first call and
kept, so that there are as many as threads that read (the write lane's and the store
reads' threads, runtime.py, and the read worker process), and closed when its thread
ends (the read worker's, which is its process's main thread, when that process exits).
Imports the core, storage and this package; never gevent (it runs in the worker process
too) nor the edges.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any, Callable, TypeVar

from ..core.replay import text_at
from ..storage import Image, Reads, open_reader
from .catchup import stored_revisions

T = TypeVar("T")

PAGE = 1_000  # revisions read at a time (they are not held by anything else meanwhile)


class _Readers(dict[str, Reads]):
    """A thread's connections by store URL, closed when they are dropped: the thread-local
    that holds them is dropped when its thread ends (a pool's, at Runtime.close). Never in
    a child forked meanwhile, which drops every other thread's at once (the read worker's
    start: its fork, before the exec): closing a PostgreSQL connection there says goodbye
    on the parent's socket, and the server ends the parent's connection; a SQLite
    connection must not be used, nor closed, across a fork. There they are kept as they
    are until the exec."""

    def __init__(self) -> None:
        super().__init__()
        self.pid = os.getpid()

    def close(self) -> None:
        if os.getpid() != self.pid:
            _inherited.extend(self.values())
            return
        while self:
            self.popitem()[1].close()

    __del__ = close


_inherited: list[Reads] = []  # a forked child's: its parent's connections, left alone


def _thread_local() -> Any:
    """A thread-local of the OS thread's: in a monkey-patched process `threading.local` is
    gevent's, one per greenlet, and gevent keeps a pool thread's greenlet (with its locals
    and their connections) after the thread has ended. (Asked of gevent only if it patched.)"""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return monkey.get_original("_thread", "_local")()
    return threading.local()


_local = _thread_local()  # .readers = this thread's _Readers


def reader(url: str) -> Reads:
    """This thread's connection to the store at `url`, opened at its first use."""
    readers: _Readers | None = getattr(_local, "readers", None)
    if readers is None:
        readers = _local.readers = _Readers()
    found = readers.get(url)
    if found is None:
        found = readers[url] = open_reader(url)
    return found


@atexit.register
def close() -> None:
    """Close this thread's connections (the next read opens them again); at the process's
    exit, its main thread's."""
    readers: _Readers | None = getattr(_local, "readers", None)
    if readers is not None:
        readers.close()


def on_revisions(url: str, doc: str, since: int, until: int, fn: Callable[..., T], *args: Any) -> T:
    """`fn(revisions since+1..until, *args)`, the revisions read here; ReplayError if one
    is missing."""
    return fn(list(stored_revisions(reader(url), doc, since, until, PAGE)), *args)


def replay(url: str, doc: str, version: int) -> tuple[int, str, int, int]:
    """The text at `version` as DocumentService._replay makes it: (version, text, the
    snapshot's version, revision_cost of the revisions since), all read here."""
    store = reader(url)
    base, text = store.latest_snapshot(doc, version)
    at, text, written = text_at(text, base, stored_revisions(store, doc, base, version, PAGE))
    return at, text, base, written


def image(url: str, image_id: str) -> Image | None:
    """An image with its bytes (megabytes: one row, read whole)."""
    return reader(url).image(image_id)
