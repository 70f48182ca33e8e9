"""Reads of the store done off the event loop, each thread (or the read worker process,
worker.py) on a connection of its own: the whole history that blame, revert and restore
read, an old version's snapshot and revisions, an image.

Read on the event loop, these held it for as long as SQLite took to return a page of
rows and Python to make objects of them (a page of 60 revisions of 2 MB: 120 MB at
once), and the read worker's arguments were pickled there too (100,000 revisions:
0.4 s in one call). Here the reading, the computation and the pickling of nothing but
the answer happen where the computation runs. A store that cannot be opened twice
(`Store.reader_url()` None: an in-memory database, PostgreSQL) is read where it is asked.

Every function is module level and takes the store's reader URL, so that the worker
process can import it by name; the connection is opened at a thread's first call and
kept. Imports the core, storage and this package; never gevent (it runs in the worker
process too) nor the edges.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

from ..core.replay import text_at
from ..storage import Image, Reads, open_reader
from .catchup import stored_revisions

T = TypeVar("T")

PAGE = 1_000  # revisions read at a time (they are not held by anything else meanwhile)

_local = threading.local()  # .readers[url] = this thread's Reads


def reader(url: str) -> Reads:
    """This thread's connection to the store at `url`, opened at its first use."""
    readers: dict[str, Reads] | None = getattr(_local, "readers", None)
    if readers is None:
        readers = _local.readers = {}
    found = readers.get(url)
    if found is None:
        found = readers[url] = open_reader(url)
    return found


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
