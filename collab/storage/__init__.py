"""Durable storage of documents, revisions and snapshots behind one small interface.

It imports only the standard library and its database drivers: no framework, no gevent, nothing
else of collab (but dump.py, which checks a dump with the pure core's replay and id checks before
loading it). `open_store(url)` picks the backend from the database URL; every backend passes
the same contract suite (tests/storage/test_storage.py).
"""
from __future__ import annotations

from .base import (Accounts, DocumentRow, Label, NewRevision, NoDatabase, Revision, Store, StoreBusy, StoreConflict, StoreError,
                   Tombstone, User)


def open_store(url: str, durability: str = "disk", create: bool = True) -> Store:
    """The store of a database URL. `durability` is what a committed append survives:
    "disk" (it was fsynced: power loss too) or "process" (the server's own crash, not the
    machine's: SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off).

    `create=False` is for what only reads or changes what exists (`collab dump`, `export`,
    `check`, `delete`, ...): a URL that names no collab database is NoDatabase, and nothing
    is made (a mistyped SQLite path used to become a new, empty database). The server,
    `collab migrate`, `collab load` and `collab copy --to` create."""
    if durability not in ("disk", "process"):
        raise ValueError(f"durability must be 'disk' or 'process', got {durability!r}")
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(url, durability, create)
    if url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        return PostgresStore(url, durability=durability, create=create)
    raise ValueError(_not_a_url(url))


def _not_a_url(url: str) -> str:
    """What to say of a database URL of no scheme collab opens (whichever of --database,
    --from, --to or COLLAB_DATABASE_URL it came from: the message names the value only)."""
    if "://" not in url:  # a bare path: say the URL it most likely means
        return (f"database {url!r} is not a URL: for a SQLite file write sqlite:///{url} (three slashes, "
                "then the path: four before an absolute one); for PostgreSQL postgresql://user@host/dbname")
    scheme = url.split(":", 1)[0]
    return (f"database URL scheme {scheme[:20]!r} is not supported: use sqlite:///path/to/file.db "
            "or postgresql://user@host/dbname")


__all__ = ["Accounts", "DocumentRow", "Label", "NewRevision", "NoDatabase", "Revision", "Store", "StoreBusy", "StoreConflict", "StoreError", "Tombstone", "User", "open_store"]
