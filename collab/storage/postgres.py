"""PostgreSQL store, for several server processes sharing one history.

psycopg 3 (>= 3.1.14 cooperates with gevent by itself once the process is monkey-patched)
with a connection pool. Ordering between processes comes from here: an append is a
compare-and-set on the document's head plus UNIQUE (doc, version) and (doc, op_id); the
loser gets StoreConflict and the service reloads and retries.

Reads whose rows can be megabytes (a long history, an image) are done elsewhere, each
thread or process on a connection of its own: `PostgresReader` (storage.open_reader of
`reader_url()`). psycopg yields to gevent while it waits for the server, but the rows are
made into Python objects where they are read: 100,000 revisions read for a blame on the
event loop held it for 0.5 s.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import urlparse

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from .access import AccessTable, load_statements
from .accounts import AccountTable
from .colors import LOAD_COLOR, ColorTable, load_color
from .visits import LOAD_CHOSEN, VisitTable
from .base import (Access, AccessRows, AuthorColor, ChosenTitle, Colors, Accounts, DocumentRow, Image, Label, NewRevision, NoDatabase, Revision, StoreConflict,
                   StoreError, Tombstone, Visits)
from .schema import DOCUMENT_TABLES, Catalog, migrate

_SCHEMA_LOCK = 0x636F6C6C  # advisory lock id: processes starting together create the schema once

_DOC_COLUMNS = "id, view_token, head, created, updated"
_REV_COLUMNS = "doc, version, patch, author, op_id, ts, hash, attribution, account"
_IMAGE_COLUMNS = "id, doc, type, size, sha256, created"  # and data
_INSERT_IMAGE = f"INSERT INTO images ({_IMAGE_COLUMNS}, data) VALUES (%s, %s, %s, %s, %s, %s, %s)"
# the reads PostgresStore and PostgresReader share
_REVISIONS = f"SELECT {_REV_COLUMNS} FROM revisions WHERE doc = %s AND version > %s ORDER BY version LIMIT %s"
_LATEST_SNAPSHOT = ("SELECT version, text FROM snapshots WHERE doc = %s AND version <= %s "
                    "ORDER BY version DESC LIMIT 1")
_IMAGE = f"SELECT {_IMAGE_COLUMNS}, data FROM images WHERE id = %s"
READER_NAME = "collab reads"  # a reader's application_name (pg_stat_activity), unless its URL names one


def _image_row(image: Image) -> tuple[Any, ...]:
    return (image.id, image.doc, image.type, image.size, image.sha256, image.created, image.data)


def _catalog(conn: psycopg.Connection[Any]) -> Catalog:
    def execute(sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        cur = conn.execute(sql.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []

    return Catalog(
        "postgres",
        tables=lambda: {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()},
        columns=lambda table: {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s", (table,)).fetchall()},
        execute=execute)


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    user, at, host = parsed.netloc.rpartition("@")
    return parsed._replace(netloc=f"{user.split(':', 1)[0]}{at}{host}").geturl()


class PostgresStore:
    blocking = False

    def __init__(self, url: str, pool_size: int = 10, durability: str = "disk", create: bool = True) -> None:
        self.url = url
        # "process": a commit returns before PostgreSQL flushed its WAL (safe from this process's
        # death, which PostgreSQL outlives; not from PostgreSQL's own crash or a power loss)
        options = {} if durability == "disk" else {"options": "-c synchronous_commit=off"}
        # one plain connection before the pool: a server that cannot be reached stops the
        # server's start or a command in a moment with its own reason (refused, unknown host,
        # authentication failed), where the pool retries for 10 s, logs a warning per try and
        # then says only that it timed out
        try:
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the database, PostgreSQL {_without_password(url)}: {exc}") from exc
        try:
            self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True,
                                        kwargs={"autocommit": True, **options}, timeout=10, name="collab")
        except (psycopg.Error, Exception) as exc:
            raise StoreError(f"cannot open PostgreSQL database: {exc}") from exc
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                self.migrated = migrate(_catalog(conn), time.time(), create)
        except BaseException as exc:
            self._pool.close()
            if isinstance(exc, pg_errors.InsufficientPrivilege):
                raise StoreError(f"cannot open PostgreSQL database: {exc}: this role may not change the schema; "
                                 "run `collab migrate` once as the database's owner (docs/deploy.md)") from exc
            if isinstance(exc, NoDatabase):
                raise NoDatabase(f"no collab database at {_without_password(url)}: {exc}") from None
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, Exception):
                raise StoreError(f"cannot open PostgreSQL database: {exc}") from exc
            raise
        self.accounts: Accounts = AccountTable(self._read_rows, self._write_rows)
        self.access: AccessRows = AccessTable(self._read_rows, self._write_rows)
        self.visits: Visits = VisitTable(self._read_rows, self._write_rows)
        self.colors: Colors = ColorTable(self._read_rows, self._write_rows)

    def _read_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._query(sql.replace("?", "%s"), params, "read accounts or access")

    def _write_rows(self, sql: str, params: Sequence[Any]) -> int:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql.replace("?", "%s"), params).rowcount
        except pg_errors.UniqueViolation as exc:
            raise StoreConflict(f"cannot store the row: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot write accounts or access: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] = (), what: str = "read") -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"cannot {what}: {exc}") from exc

    def _write(self, sql: str, params: Sequence[Any], what: str) -> int:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, params).rowcount
        except psycopg.Error as exc:
            raise StoreError(f"cannot {what}: {exc}") from exc

    def ping(self) -> None:
        self._query("SELECT 1", what="reach the database")

    def probe_write(self) -> None:
        self._write("INSERT INTO probe (id, ts) VALUES (1, extract(epoch from now())) "
                    "ON CONFLICT (id) DO UPDATE SET ts = excluded.ts", (), "write")

    def create_document(self, doc: str, view_token: str, now: float) -> DocumentRow:
        try:
            self._write(
                "INSERT INTO documents (id, view_token, head, created, updated) VALUES (%s, %s, 0, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (doc, view_token, now, now), "create document",
            )
        except StoreError as exc:
            if isinstance(exc.__cause__, pg_errors.UniqueViolation):  # the id was free: the token is not
                raise StoreConflict(f"cannot create document {doc!r}: its view token is another document's") from exc
            raise
        row = self.get_document(doc)
        assert row is not None
        return row

    def load_document(self, row: DocumentRow,
                      history: Iterable[NewRevision | Label | Image | Access | ChosenTitle | AuthorColor]) -> None:
        revisions: list[tuple[Any, ...]] = []
        snapshots: list[tuple[str, int, str]] = []
        labels: list[tuple[str, str, int, float]] = []

        def flush(cur: psycopg.Cursor[Any]) -> None:
            for sql, rows in ((f"INSERT INTO revisions ({_REV_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                               revisions),
                              ("INSERT INTO snapshots (doc, version, text) VALUES (%s, %s, %s)", snapshots),
                              ("INSERT INTO labels (doc, name, version, ts) VALUES (%s, %s, %s, %s)", labels)):
                if rows:
                    cur.executemany(sql, rows)
                    rows.clear()

        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES (%s, %s, %s, %s, %s)",
                            (row.id, row.view_token, row.head, row.created, row.updated))
                version = 0
                for item in history:
                    if isinstance(item, Label):
                        labels.append((row.id, item.name, item.version, item.ts))
                        continue
                    if isinstance(item, Image):  # megabytes each: one at a time, never held
                        assert item.doc == row.id and item.data is not None, (item.doc, row.id)
                        cur.execute(_INSERT_IMAGE, _image_row(item))
                        continue
                    if isinstance(item, Access):
                        for sql, params in load_statements(row.id, item):
                            cur.execute(sql.replace("?", "%s"), params)
                        continue
                    if isinstance(item, AuthorColor):
                        cur.execute(LOAD_COLOR.replace("?", "%s"), load_color(row.id, item))
                        continue
                    if isinstance(item, ChosenTitle):
                        cur.execute(LOAD_CHOSEN.replace("?", "%s"), (row.id, row.updated, item.title))
                        continue
                    r = item.revision
                    assert r.doc == row.id and r.version == version + 1, (r.doc, r.version, version)
                    revisions.append((r.doc, r.version, r.patch, r.author, r.op_id, r.ts, r.hash, r.attribution, r.account))
                    if item.snapshot is not None:
                        snapshots.append((r.doc, r.version, item.snapshot))
                    version = r.version
                    if len(revisions) >= 1000:  # a page of rows a round trip, in constant memory
                        flush(cur)
                flush(cur)
                if version != row.head:
                    raise StoreError(f"document {row.id!r}: its history ends at version {version}, its head is {row.head}")
        except pg_errors.UniqueViolation as exc:
            raise StoreConflict(f"cannot load document {row.id!r}: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot load document {row.id!r}: {exc}") from exc

    def get_document(self, doc: str) -> DocumentRow | None:
        rows = self._query(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = %s", (doc,))
        return DocumentRow(*rows[0]) if rows else None

    def get_document_by_view(self, view_token: str) -> DocumentRow | None:
        rows = self._query(f"SELECT {_DOC_COLUMNS} FROM documents WHERE view_token = %s", (view_token,))
        return DocumentRow(*rows[0]) if rows else None

    def append(self, batch: Sequence[NewRevision], wait: bool = True) -> None:
        heads: dict[str, tuple[int, int, float]] = {}  # doc -> (first version, last, ts)
        for item in batch:
            r = item.revision
            first = heads[r.doc][0] if r.doc in heads else r.version
            heads[r.doc] = (first, r.version, r.ts)
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                # the compare-and-set first: the head must be where this batch starts. Rows are
                # locked in one order (by id) in every process, or two batches that share
                # documents deadlock.
                for doc, (first, head, ts) in sorted(heads.items()):
                    cur.execute("UPDATE documents SET head = %s, updated = %s WHERE id = %s AND head = %s",
                                (head, ts, doc, first - 1))
                    if cur.rowcount != 1:
                        raise StoreConflict(f"document {doc!r} is missing or not at version {first - 1}")
                cur.executemany(
                    f"INSERT INTO revisions ({_REV_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(r.doc, r.version, r.patch, r.author, r.op_id, r.ts, r.hash, r.attribution, r.account)
                     for r in (item.revision for item in batch)],
                )
                snapshots = [(i.revision.doc, i.revision.version, i.snapshot) for i in batch if i.snapshot is not None]
                if snapshots:
                    cur.executemany("INSERT INTO snapshots (doc, version, text) VALUES (%s, %s, %s)", snapshots)
        except (pg_errors.UniqueViolation, pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as exc:
            raise StoreConflict(f"cannot store revisions: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot store revisions: {exc}") from exc

    def reader_url(self) -> str | None:
        return self.url

    def revisions(self, doc: str, since: int, limit: int) -> list[Revision]:
        return [Revision(*row) for row in self._query(_REVISIONS, (doc, since, limit))]

    def find_op(self, doc: str, op_id: str) -> int | None:
        rows = self._query("SELECT version FROM revisions WHERE doc = %s AND op_id = %s", (doc, op_id))
        return rows[0][0] if rows else None

    def latest_snapshot(self, doc: str, at_most: int) -> tuple[int, str]:
        rows = self._query(_LATEST_SNAPSHOT, (doc, at_most))
        return (rows[0][0], rows[0][1]) if rows else (0, "")

    def snapshot_versions(self, doc: str) -> list[int]:
        return [r[0] for r in self._query("SELECT version FROM snapshots WHERE doc = %s ORDER BY version", (doc,))]

    def documents_page(self, after: str, limit: int) -> list[DocumentRow]:
        # byte order (COLLATE "C"), as SQLite's: the database's collation may sort a-B-c
        rows = self._query(f'SELECT {_DOC_COLUMNS} FROM documents WHERE id > %s COLLATE "C" '
                           'ORDER BY id COLLATE "C" LIMIT %s', (after, limit))
        return [DocumentRow(*r) for r in rows]

    def document_ids(self) -> Iterator[str]:
        return iter([r[0] for r in self._query("SELECT id FROM documents ORDER BY id")])

    def set_label(self, doc: str, version: int, name: str, ts: float) -> None:
        self._write(
            "INSERT INTO labels (doc, name, version, ts) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (doc, name) DO UPDATE SET version = excluded.version, ts = excluded.ts",
            (doc, name, version, ts), "store label",
        )

    def labels(self, doc: str) -> list[Label]:
        rows = self._query("SELECT version, name, ts FROM labels WHERE doc = %s ORDER BY version, name", (doc,))
        return [Label(*row) for row in rows]

    def delete_label(self, doc: str, name: str) -> bool:
        return self._write("DELETE FROM labels WHERE doc = %s AND name = %s", (doc, name), "delete label") == 1

    def delete_document(self, doc: str, now: float) -> DocumentRow | None:
        def delete(cur: psycopg.Cursor[Any], row: DocumentRow) -> DocumentRow:
            cur.executemany("INSERT INTO tombstones (name, reason, ts) VALUES (%s, 'deleted', %s) "
                            "ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, ts = excluded.ts",
                            [(row.id, now), (row.view_token, now)])
            for table in DOCUMENT_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE doc = %s", (doc,))
            cur.execute("DELETE FROM documents WHERE id = %s", (doc,))
            return row

        return self._with_row(doc, delete, "delete document")

    def rename_document(self, doc: str, new: str, now: float) -> DocumentRow | None:
        def rename(cur: psycopg.Cursor[Any], row: DocumentRow) -> None:
            cur.execute("UPDATE documents SET id = %s WHERE id = %s", (new, doc))
            for table in DOCUMENT_TABLES:
                cur.execute(f"UPDATE {table} SET doc = %s WHERE doc = %s", (new, doc))
            cur.execute("INSERT INTO tombstones (name, reason, ts) VALUES (%s, 'renamed', %s) "
                        "ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, ts = excluded.ts", (doc, now))

        return self._change(doc, new, rename, "rename document")

    def rotate_view_token(self, doc: str, token: str, now: float) -> DocumentRow | None:
        def rotate(cur: psycopg.Cursor[Any], row: DocumentRow) -> None:
            cur.execute("UPDATE documents SET view_token = %s WHERE id = %s", (token, doc))
            cur.execute("INSERT INTO tombstones (name, reason, ts) VALUES (%s, 'rotated', %s) "
                        "ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, ts = excluded.ts",
                        (row.view_token, now))

        return self._change(doc, token, rotate, "give the document a new view token")

    def _change(self, doc: str, name: str, change: Callable[[psycopg.Cursor[Any], DocumentRow], None],
                what: str) -> DocumentRow | None:
        """Give the document a new name by `change`, in one transaction (rename, rotate):
        StoreConflict if `name` is taken (a document's id or view token, a tombstone); the
        row after the change, or None when there is no document `doc`."""
        def renamed(cur: psycopg.Cursor[Any], row: DocumentRow) -> DocumentRow:
            cur.execute("SELECT 1 FROM documents WHERE id = %s OR view_token = %s "
                        "UNION ALL SELECT 1 FROM tombstones WHERE name = %s", (name, name, name))
            if cur.fetchone() is not None:
                raise StoreConflict(f"cannot {what}: {name!r} is taken")
            change(cur, row)
            cur.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = %s OR view_token = %s", (name, name))
            changed = cur.fetchone()
            assert changed is not None
            return DocumentRow(*changed)

        try:
            return self._with_row(doc, renamed, what)
        except pg_errors.UniqueViolation as exc:  # taken meanwhile by another transaction
            raise StoreConflict(f"cannot {what}: {name!r} is taken") from exc

    def _with_row(self, doc: str, change: Callable[[psycopg.Cursor[Any], DocumentRow], DocumentRow],
                  what: str) -> DocumentRow | None:
        """`change(cursor, row)` of the document `doc`, its row locked first (an append racing
        with a delete or rename waits, then finds no document of that id and retries), in one
        transaction; what it answers, or None when there is no such document."""
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = %s FOR UPDATE", (doc,))
                found = cur.fetchone()
                return None if found is None else change(cur, DocumentRow(*found))
        except pg_errors.UniqueViolation:
            raise
        except psycopg.Error as exc:
            raise StoreError(f"cannot {what}: {exc}") from exc

    def add_image(self, image: Image, quota: int) -> int | None:
        assert image.data is not None and len(image.data) == image.size, image.id
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                # the document's row locked first: concurrent uploads count one after the other,
                # and a delete or rename (which lock it too) comes before or after, never between
                cur.execute("SELECT 1 FROM documents WHERE id = %s FOR UPDATE", (image.doc,))
                if cur.fetchone() is None:
                    return None
                cur.execute("SELECT COALESCE(SUM(size), 0) FROM images WHERE doc = %s", (image.doc,))
                found = cur.fetchone()
                used = int(found[0]) if found else 0
                if used + image.size <= quota:
                    cur.execute(_INSERT_IMAGE, _image_row(image))
                return used
        except pg_errors.UniqueViolation as exc:
            raise StoreConflict(f"cannot store image: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot store image: {exc}") from exc

    def image(self, image_id: str) -> Image | None:
        rows = self._query(_IMAGE, (image_id,), "read image")
        if not rows:
            return None
        r = rows[0]
        return Image(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]))

    def images(self, doc: str) -> list[Image]:
        # by code point, as SQLite orders: a dump of either store is the same
        rows = self._query(f'SELECT {_IMAGE_COLUMNS} FROM images WHERE doc = %s ORDER BY id COLLATE "C"', (doc,),
                           "read images")
        return [Image(*row) for row in rows]

    def delete_images(self, ids: Sequence[str], created_before: float) -> list[Image]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(f"DELETE FROM images WHERE id = ANY(%s) AND created < %s RETURNING {_IMAGE_COLUMNS}",
                            (sorted(set(ids)), created_before))
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"cannot delete images: {exc}") from exc
        return sorted((Image(*row) for row in rows), key=lambda i: i.id)

    def deployment_id(self) -> str:
        return str(self._query("SELECT id FROM deployment", ())[0][0])

    def tombstone(self, name: str) -> Tombstone | None:
        rows = self._query("SELECT name, reason, ts FROM tombstones WHERE name = %s", (name,))
        return Tombstone(*rows[0]) if rows else None

    def tombstones(self) -> Iterator[Tombstone]:
        # by code point, as SQLite orders: a dump of either store is the same, byte for byte
        rows = self._query('SELECT name, reason, ts FROM tombstones ORDER BY name COLLATE "C"')
        return iter([Tombstone(*r) for r in rows])

    def tombstones_since(self, ts: float) -> list[Tombstone]:
        rows = self._query("SELECT name, reason, ts FROM tombstones WHERE ts >= %s ORDER BY ts, name", (ts,))
        return [Tombstone(*r) for r in rows]

    def load_tombstones(self, rows: Iterable[Tombstone]) -> int:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                new = 0
                for t in rows:
                    cur.execute("INSERT INTO tombstones (name, reason, ts) VALUES (%s, %s, %s) "
                                "ON CONFLICT (name) DO NOTHING", (t.name, t.reason, t.ts))
                    new += cur.rowcount
                return new
        except psycopg.Error as exc:
            raise StoreError(f"cannot load tombstones: {exc}") from exc

    def close(self) -> None:
        self._pool.close()


class PostgresReader:
    """Reads of a PostgreSQL store (its `reader_url()`) on a connection of the caller's own,
    for a thread or process other than the event loop's (one thread at a time: reads.py
    keeps one per thread). In autocommit, so that each statement sees what was committed
    before it began, and read-only. A connection found broken (PostgreSQL restarted, the
    connection dropped or ended by an administrator) is opened anew and the statement asked
    once more; if that fails too the read is a StoreError, and the next read tries again.

    Rows are made one at a time, not by fetchall: 60 revisions of 2 MB made in one call
    held the interpreter lock for 60-80 ms, which the event loop's thread waited for (a
    thread of this process shares it); and read in binary (an image's bytes as they are
    stored, not twice as many hex digits). In a monkey-patched process psycopg waits with
    gevent's poll, which on a worker thread runs a hub of that thread's own; in the read
    worker process (not patched) it blocks in C."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._connection()  # one that cannot be reached fails here, with its reason

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        self._conn = None
        given = conninfo_to_dict(self.url)
        defaults: dict[str, Any] = {"connect_timeout": 10, "application_name": READER_NAME}
        where = f"PostgreSQL {_without_password(self.url)}"
        try:
            conn = psycopg.connect(make_conninfo(self.url, **{k: v for k, v in defaults.items() if k not in given}),
                                   autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the database to read, {where}: {exc}") from exc
        try:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"cannot read the database, {where}: {exc}") from exc
        self._conn = conn
        return conn

    def _execute(self, sql: str, params: Sequence[Any], what: str) -> psycopg.Cursor[Any]:
        """The cursor of `sql`, its rows received (they are made as they are taken)."""
        for last in (False, True):
            conn = self._connection()
            try:
                return conn.execute(sql, params, binary=True)
            except psycopg.Error as exc:
                if not conn.broken or last:
                    raise StoreError(f"cannot {what}: {exc}") from exc
                conn.close()  # (psycopg counts it closed already; this frees libpq's side now)
        raise AssertionError("unreachable")

    def revisions(self, doc: str, since: int, limit: int) -> list[Revision]:
        with self._execute(_REVISIONS, (doc, since, limit), "read revisions") as cur:
            return [Revision(*row) for row in cur]

    def latest_snapshot(self, doc: str, at_most: int) -> tuple[int, str]:
        with self._execute(_LATEST_SNAPSHOT, (doc, at_most), "read snapshots") as cur:
            row = cur.fetchone()
        return (row[0], row[1]) if row else (0, "")

    def image(self, image_id: str) -> Image | None:
        with self._execute(_IMAGE, (image_id,), "read image") as cur:
            r = cur.fetchone()
        return Image(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6])) if r else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
