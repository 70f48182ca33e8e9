"""Durable storage of documents, revisions and snapshots behind one small interface.

It imports only the standard library and its database drivers: no framework, no gevent, nothing
else of collab (but dump.py, which checks a dump with the pure core's replay and id checks before
loading it, and open_store, which words a URL it cannot open as the settings do). `open_store(url)` picks the backend from the database URL; every backend passes
the same contract suite (tests/storage/test_storage.py).
"""
from __future__ import annotations

from .base import (POLICIES, ROLES, Access, AccessRows, Accounts, AuthorColor, Colors, DocumentRow, Member, Image, Label, NewRevision, NoDatabase,
                   Reads, Revision, Store, StoreBusy, StoreConflict,
                   StoreError, Token, Tombstone, User)


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
    from ..core.config import not_a_database_url  # the one wording, for the server's settings too

    raise ValueError(not_a_database_url(url))


def open_reader(url: str) -> Reads:
    """Reads on a connection of the caller's own, from a URL a store gave (Store.reader_url):
    for a thread or process that is not the event loop's. It never writes nor creates."""
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteReader

        return SQLiteReader(url)
    if url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresReader

        return PostgresReader(url)
    raise ValueError(f"no reader opens {url[:40]!r}: only a store's reader_url() does")




__all__ = ["POLICIES", "ROLES", "Access", "AccessRows", "Member", "Accounts", "AuthorColor", "Colors", "DocumentRow", "Image", "Label", "NewRevision",
           "NoDatabase", "Reads", "Revision", "Store", "StoreBusy", "StoreConflict", "StoreError", "Token", "Tombstone", "User",
           "open_reader", "open_store"]
