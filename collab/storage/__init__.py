"""Durable storage of documents, revisions and snapshots behind one small interface.

It imports only the standard library and its database drivers: no framework, no gevent, nothing
else of collab (but dump.py, which checks a dump with the pure core's replay and id checks before
loading it). `open_store(url)` picks the backend from the database URL; every backend passes
the same contract suite (tests/storage/test_storage.py).
"""
from __future__ import annotations

from .base import DocumentRow, Label, NewRevision, Revision, Store, StoreBusy, StoreConflict, StoreError, Tombstone


def open_store(url: str, durability: str = "disk") -> Store:
    """The store of a database URL. `durability` is what a committed append survives:
    "disk" (it was fsynced: power loss too) or "process" (the server's own crash, not the
    machine's: SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off)."""
    if durability not in ("disk", "process"):
        raise ValueError(f"durability must be 'disk' or 'process', got {durability!r}")
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(url, durability)
    if url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        return PostgresStore(url, durability=durability)
    scheme = url.split(":", 1)[0]
    raise ValueError(
        f"COLLAB_DATABASE_URL scheme {scheme!r} is not supported: use sqlite:///path/to/file.db "
        "or postgresql://user@host/dbname"
    )


__all__ = ["DocumentRow", "Label", "NewRevision", "Revision", "Store", "StoreBusy", "StoreConflict", "StoreError", "Tombstone", "open_store"]
