"""SQLite store: WAL mode, synchronous=FULL, so an acknowledged revision survives kill -9
and power loss (durability "process": synchronous=NORMAL, kill -9 only).

One writer connection, used by one thread at a time (the service runs writes off the
event loop); one reader connection for the event loop's own short reads. WAL lets the
reader see committed data while a write is in progress. Reads whose rows can be
megabytes (a long history, an image) are done elsewhere, each thread or process on a
connection of its own: `SQLiteReader` (storage.open_reader of `reader_url()`).
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import parse_qs, quote, unquote, urlparse

from .access import AccessTable, load_statements
from .accounts import AccountTable
from .colors import LOAD_COLOR, ColorTable, load_color
from .visits import LOAD_CHOSEN, VisitTable
from .base import (Access, AccessRows, AuthorColor, ChosenTitle, Colors, Accounts, DocumentRow, Image, Label, NewRevision, NoDatabase, Revision, StoreBusy,
                   StoreConflict, StoreError, Tombstone, Visits)
from .schema import DOCUMENT_TABLES, Catalog, current_version, migrate


_DOC_COLUMNS = "id, view_token, head, created, updated"
# result codes that mean the file itself is damaged or gone: nothing will work until an
# operator acts, so ping() fails from then on
_BROKEN = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CANTOPEN}
PROBE_BYTES = 65_536  # written (and replaced) by probe_write: a write that needs real space
_REV_COLUMNS = "doc, version, patch, author, op_id, ts, hash, attribution, account"
_IMAGE_COLUMNS = "id, doc, type, size, sha256, created"  # and data


def _catalog(conn: sqlite3.Connection) -> Catalog:
    return Catalog(
        "sqlite",
        tables=lambda: {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")},
        columns=lambda table: {r[1] for r in conn.execute(f"PRAGMA table_info({table})")},
        execute=lambda sql, params: conn.execute(sql, params).fetchall())


def _insert_revision(cur: sqlite3.Cursor, item: NewRevision) -> None:
    """One revision's row, and its snapshot's when it has one (in the caller's transaction)."""
    r = item.revision
    cur.execute(f"INSERT INTO revisions ({_REV_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.doc, r.version, r.patch, r.author, r.op_id, r.ts, r.hash, r.attribution, r.account))
    if item.snapshot is not None:
        cur.execute("INSERT INTO snapshots (doc, version, text) VALUES (?, ?, ?)", (r.doc, r.version, item.snapshot))


def _insert_image(cur: sqlite3.Cursor, image: Image) -> None:
    cur.execute(f"INSERT INTO images ({_IMAGE_COLUMNS}, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (image.id, image.doc, image.type, image.size, image.sha256, image.created, image.data))


def _existing(path: str) -> None:
    """NoDatabase unless `path` is a SQLite file with collab's tables: looked at read-only,
    before the store's own connections, which would make the file (and turn it to WAL)."""
    if not os.path.isfile(path):
        raise NoDatabase(f"no SQLite database at {os.path.abspath(path)}")
    try:
        probe = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
        try:
            version = current_version(_catalog(probe))
        finally:
            probe.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from exc
    if version == 0:
        raise NoDatabase(f"no collab database at {os.path.abspath(path)}: it holds no collab tables "
                         "(a new database is made by `collab migrate`, `collab load` or the server)")


def _parse_url(url: str) -> tuple[str, float]:
    """(path, timeout in seconds) of a sqlite: URL."""
    parsed = urlparse(url)
    path = unquote(parsed.path)
    if url.startswith("sqlite:////"):
        path = "/" + path.lstrip("/")
    elif url.startswith("sqlite:///"):
        path = path[1:]  # sqlite:///relative.db
    if not path:
        raise ValueError("COLLAB_DATABASE_URL for SQLite needs a file: sqlite:///path/to/file.db")
    query = parse_qs(parsed.query)
    try:
        timeout = float(query.get("timeout", ["10"])[0])
    except ValueError:
        raise ValueError("COLLAB_DATABASE_URL: timeout must be a number of seconds, e.g. ?timeout=10") from None
    return path, timeout


class _Reads:
    """The reads `SQLiteStore` and `SQLiteReader` share, on `self._reader`."""

    _reader: sqlite3.Connection

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot {what}: {exc}")

    def revisions(self, doc: str, since: int, limit: int) -> list[Revision]:
        try:
            rows = self._reader.execute(
                f"SELECT {_REV_COLUMNS} FROM revisions WHERE doc = ? AND version > ? "
                "ORDER BY version LIMIT ?",
                (doc, since, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read revisions", exc) from exc
        return [Revision(*row) for row in rows]

    def latest_snapshot(self, doc: str, at_most: int) -> tuple[int, str]:
        try:
            row = self._reader.execute(
                "SELECT version, text FROM snapshots WHERE doc = ? AND version <= ? "
                "ORDER BY version DESC LIMIT 1",
                (doc, at_most),
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read snapshots", exc) from exc
        return (row[0], row[1]) if row else (0, "")

    def image(self, image_id: str) -> Image | None:
        try:
            row = self._reader.execute(f"SELECT {_IMAGE_COLUMNS}, data FROM images WHERE id = ?",
                                       (image_id,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read image", exc) from exc
        return Image(row[0], row[1], row[2], row[3], row[4], row[5], bytes(row[6])) if row else None


class SQLiteReader(_Reads):
    """Reads of a SQLite store (its `reader_url()`) on a connection of the caller's own:
    for a thread or process other than the event loop's (a connection is used by one
    thread at a time). Query-only: it never writes, nor makes a file."""

    def __init__(self, url: str) -> None:
        path, timeout = _parse_url(url)
        try:
            # mode=rw: an existing file only (rwc would make one); WAL needs to write its -shm
            self._reader = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=rw", uri=True, timeout=timeout,
                                           check_same_thread=False, isolation_level=None)
            self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {path!r} to read: {exc}") from exc

    def close(self) -> None:
        self._reader.close()


class SQLiteStore(_Reads):
    blocking = True

    def __init__(self, path: str, timeout: float = 10.0, durability: str = "disk", create: bool = True) -> None:
        self.path = path
        self.timeout = timeout  # seconds to wait for a lock held by another process
        # WAL with synchronous=FULL fsyncs the log at every commit; NORMAL only at checkpoints:
        # a commit is then in the OS's cache, safe from the process's death but not the machine's
        self.synchronous = "FULL" if durability == "disk" else "NORMAL"
        if path != ":memory:" and not create:
            _existing(path)
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            self._writer = self._connect()
            self._writer.execute("BEGIN IMMEDIATE")  # two processes starting together migrate once
            try:
                self.migrated = migrate(_catalog(self._writer), time.time(), create)
                self._writer.execute("COMMIT")
            except BaseException as exc:
                self._writer.execute("ROLLBACK")
                self._writer.close()
                if isinstance(exc, NoDatabase):
                    raise NoDatabase(f"no collab database at {os.path.abspath(path)}: {exc}") from None
                raise
            self._reader = self._connect()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from exc
        self._write_lock = threading.Lock()  # the writer connection is used by one thread at a time
        self._waits = True  # the writer's busy timeout is `timeout` (else 0: append(wait=False))
        self._broken: str | None = None  # why the file is damaged, once an operation found it
        self.accounts: Accounts = AccountTable(self._read_rows, self._write_rows)
        self.access: AccessRows = AccessTable(self._read_rows, self._write_rows)
        self.visits: Visits = VisitTable(self._read_rows, self._write_rows)
        self.colors: Colors = ColorTable(self._read_rows, self._write_rows)

    def _read_rows(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read accounts or access", exc) from exc

    def _write_rows(self, sql: str, params: Sequence[object]) -> int:
        """One statement in its own transaction: the rows it changed."""
        try:
            with self._write_lock:
                return self._writer.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(f"cannot store the row: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._error("write accounts or access", exc) from exc

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        message = f"cannot {what}: {exc}"
        if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in _BROKEN:
            self._broken = message
        return StoreError(message)

    @classmethod
    def from_url(cls, url: str, durability: str = "disk", create: bool = True) -> "SQLiteStore":
        path, timeout = _parse_url(url)
        return cls(path, timeout, durability, create)

    def reader_url(self) -> str | None:
        if self.path == ":memory:":  # another connection would see another, empty database
            return None
        return f"sqlite:///{quote(os.path.abspath(self.path))}?timeout={self.timeout}"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def ping(self) -> None:
        try:
            self._reader.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"database unreachable: {exc}") from exc
        if self._broken:
            raise StoreError(f"the database file is damaged ({self._broken}): restore it from a backup")

    def probe_write(self) -> None:
        """One small durable write that needs free space (PROBE_BYTES): raise StoreError if
        the database cannot take writes (disk full, file damaged, read-only)."""
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                with self._committed(cur):
                    cur.execute("BEGIN IMMEDIATE")
                    cur.execute("INSERT OR REPLACE INTO probe (id, ts, pad) VALUES (1, julianday('now'), zeroblob(?))",
                                (PROBE_BYTES,))
        except sqlite3.Error as exc:
            raise self._error("write", exc) from exc

    @contextlib.contextmanager
    def _committed(self, cur: sqlite3.Cursor) -> Iterator[None]:
        """The block's statements, in the transaction `cur` has begun: committed when the
        block ends, rolled back (keeping the real error) when anything in it raises."""
        try:
            yield
            cur.execute("COMMIT")
        except BaseException:
            self._rollback(cur)
            raise

    def _rollback(self, cur: sqlite3.Cursor) -> None:
        """Roll back after a failed statement, keeping the real error: SQLite rolls back by
        itself after some (a full disk: SQLITE_FULL), and ROLLBACK then fails with "cannot
        rollback - no transaction is active", which used to replace the cause in the log."""
        if self._writer.in_transaction:
            try:
                cur.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being raised says what went wrong

    def create_document(self, doc: str, view_token: str, now: float) -> DocumentRow:
        try:
            with self._write_lock:
                self._writer.execute(
                    "INSERT OR IGNORE INTO documents (id, view_token, head, created, updated) "
                    "VALUES (?, ?, 0, ?, ?)",
                    (doc, view_token, now, now),
                )
                row = self._writer.execute(
                    f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise self._error("create document", exc) from exc
        if row is None:  # OR IGNORE also ignored a clash of view tokens
            raise StoreConflict(f"cannot create document {doc!r}: its view token is another document's")
        return DocumentRow(*row)

    def load_document(self, row: DocumentRow,
                      history: Iterable[NewRevision | Label | Image | Access | ChosenTitle | AuthorColor]) -> None:
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                cur.execute("BEGIN IMMEDIATE")
                with self._committed(cur):
                    cur.execute(f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                                (row.id, row.view_token, row.head, row.created, row.updated))
                    version = 0
                    for item in history:
                        if isinstance(item, Label):
                            cur.execute("INSERT INTO labels (doc, name, version, ts) VALUES (?, ?, ?, ?)",
                                        (row.id, item.name, item.version, item.ts))
                            continue
                        if isinstance(item, Image):
                            assert item.doc == row.id and item.data is not None, (item.doc, row.id)
                            _insert_image(cur, item)
                            continue
                        if isinstance(item, Access):
                            for sql, params in load_statements(row.id, item):
                                cur.execute(sql, params)
                            continue
                        if isinstance(item, AuthorColor):
                            cur.execute(LOAD_COLOR, load_color(row.id, item))
                            continue
                        if isinstance(item, ChosenTitle):
                            cur.execute(LOAD_CHOSEN, (row.id, row.updated, item.title))
                            continue
                        r = item.revision
                        assert r.doc == row.id and r.version == version + 1, (r.doc, r.version, version)
                        _insert_revision(cur, item)
                        version = r.version
                    if version != row.head:
                        raise StoreError(f"document {row.id!r}: its history ends at version {version}, "
                                         f"its head is {row.head}")
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(f"cannot load document {row.id!r}: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._error("load document", exc) from exc

    def get_document(self, doc: str) -> DocumentRow | None:
        return self._one_doc(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", doc)

    def get_document_by_view(self, view_token: str) -> DocumentRow | None:
        return self._one_doc(f"SELECT {_DOC_COLUMNS} FROM documents WHERE view_token = ?", view_token)

    def _one_doc(self, sql: str, key: str) -> DocumentRow | None:
        try:
            row = self._reader.execute(sql, (key,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read document", exc) from exc
        return DocumentRow(*row) if row else None

    def append(self, batch: Sequence[NewRevision], wait: bool = True) -> None:
        heads: dict[str, tuple[int, int, float]] = {}  # doc -> (first version, last, ts)
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                if wait != self._waits:  # how long BEGIN waits for another process's lock
                    cur.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000) if wait else 0}")
                    self._waits = wait
                try:
                    cur.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                        raise StoreBusy("the database is locked by another writer") from None
                    raise
                with self._committed(cur):
                    for item in batch:
                        r = item.revision
                        _insert_revision(cur, item)
                        first, _, _ = heads.get(r.doc, (r.version, 0, 0.0))
                        heads[r.doc] = (first, r.version, r.ts)
                    for doc, (first, head, ts) in heads.items():
                        # compare-and-set: the head must be where this batch starts
                        cur.execute(
                            "UPDATE documents SET head = ?, updated = ? WHERE id = ? AND head = ?",
                            (head, ts, doc, first - 1),
                        )
                        if cur.rowcount != 1:
                            raise StoreConflict(f"document {doc!r} is missing or not at version {first - 1}")
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(f"cannot store revisions: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._error("store revisions", exc) from exc

    def find_op(self, doc: str, op_id: str) -> int | None:
        try:
            row = self._reader.execute(
                "SELECT version FROM revisions WHERE doc = ? AND op_id = ?", (doc, op_id)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read revisions", exc) from exc
        return row[0] if row else None

    def snapshot_versions(self, doc: str) -> list[int]:
        try:
            rows = self._reader.execute("SELECT version FROM snapshots WHERE doc = ? ORDER BY version",
                                        (doc,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read snapshots", exc) from exc
        return [r[0] for r in rows]

    def documents_page(self, after: str, limit: int) -> list[DocumentRow]:
        try:
            rows = self._reader.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id > ? ORDER BY id LIMIT ?",
                                        (after, limit)).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read documents", exc) from exc
        return [DocumentRow(*r) for r in rows]

    def document_ids(self) -> Iterator[str]:
        """Every document id. One that is not UTF-8 (a damaged row) comes back with its
        bad bytes as lone surrogates (errors="surrogateescape"), so a check can name it and
        go on; looking it up then fails."""
        try:
            rows = self._reader.execute("SELECT CAST(id AS BLOB) FROM documents ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            raise self._error("read documents", exc) from exc
        return iter([bytes(r[0]).decode("utf-8", "surrogateescape") for r in rows])

    def set_label(self, doc: str, version: int, name: str, ts: float) -> None:
        try:
            with self._write_lock:
                self._writer.execute(
                    "INSERT INTO labels (doc, name, version, ts) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (doc, name) DO UPDATE SET version = excluded.version, ts = excluded.ts",
                    (doc, name, version, ts),
                )
        except sqlite3.Error as exc:
            raise self._error("store label", exc) from exc

    def labels(self, doc: str) -> list[Label]:
        try:
            rows = self._reader.execute(
                "SELECT version, name, ts FROM labels WHERE doc = ? ORDER BY version, name", (doc,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read labels", exc) from exc
        return [Label(*row) for row in rows]

    def delete_label(self, doc: str, name: str) -> bool:
        try:
            with self._write_lock:
                cur = self._writer.execute("DELETE FROM labels WHERE doc = ? AND name = ?", (doc, name))
        except sqlite3.Error as exc:
            raise self._error("delete label", exc) from exc
        return cur.rowcount == 1

    def delete_document(self, doc: str, now: float) -> DocumentRow | None:
        def delete(cur: sqlite3.Cursor, row: DocumentRow) -> DocumentRow:
            cur.executemany("INSERT OR REPLACE INTO tombstones (name, reason, ts) VALUES (?, 'deleted', ?)",
                            [(row.id, now), (row.view_token, now)])
            for table in DOCUMENT_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE doc = ?", (doc,))
            cur.execute("DELETE FROM documents WHERE id = ?", (doc,))
            return row

        return self._with_row(doc, delete, "delete document")

    def rename_document(self, doc: str, new: str, now: float) -> DocumentRow | None:
        def rename(cur: sqlite3.Cursor, row: DocumentRow) -> None:
            cur.execute("UPDATE documents SET id = ? WHERE id = ?", (new, doc))
            for table in DOCUMENT_TABLES:
                cur.execute(f"UPDATE {table} SET doc = ? WHERE doc = ?", (new, doc))
            cur.execute("INSERT OR REPLACE INTO tombstones (name, reason, ts) VALUES (?, 'renamed', ?)", (doc, now))

        return self._change(doc, new, rename, "rename document")

    def rotate_view_token(self, doc: str, token: str, now: float) -> DocumentRow | None:
        def rotate(cur: sqlite3.Cursor, row: DocumentRow) -> None:
            cur.execute("UPDATE documents SET view_token = ? WHERE id = ?", (token, doc))
            cur.execute("INSERT OR REPLACE INTO tombstones (name, reason, ts) VALUES (?, 'rotated', ?)",
                        (row.view_token, now))

        return self._change(doc, token, rotate, "give the document a new view token")

    def _change(self, doc: str, name: str, change: Callable[[sqlite3.Cursor, DocumentRow], None],
                what: str) -> DocumentRow | None:
        """Give the document a new name by `change`, in one transaction (rename, rotate):
        StoreConflict if `name` is taken (a document's id or view token, a tombstone); the
        row after the change, or None when there is no document `doc`."""
        def renamed(cur: sqlite3.Cursor, row: DocumentRow) -> DocumentRow:
            if cur.execute("SELECT 1 FROM documents WHERE id = ? OR view_token = ? "
                           "UNION ALL SELECT 1 FROM tombstones WHERE name = ?", (name, name, name)).fetchone():
                raise StoreConflict(f"cannot {what}: {name!r} is taken")
            change(cur, row)
            return DocumentRow(*cur.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE view_token = ? OR id = ?",
                                            (name, name)).fetchone())

        return self._with_row(doc, renamed, what)

    def _with_row(self, doc: str, change: Callable[[sqlite3.Cursor, DocumentRow], DocumentRow],
                  what: str) -> DocumentRow | None:
        """`change(cursor, row)` of the document `doc`, in one write transaction (delete,
        rename, rotate); what it answers, or None when there is no such document."""
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                with self._committed(cur):
                    cur.execute("BEGIN IMMEDIATE")
                    found = cur.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc,)).fetchone()
                    return None if found is None else change(cur, DocumentRow(*found))
        except sqlite3.Error as exc:
            raise self._error(what, exc) from exc

    def add_image(self, image: Image, quota: int) -> int | None:
        assert image.data is not None and len(image.data) == image.size, image.id
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                cur.execute("BEGIN IMMEDIATE")
                with self._committed(cur):
                    if cur.execute("SELECT 1 FROM documents WHERE id = ?", (image.doc,)).fetchone() is None:
                        return None
                    used = int(cur.execute("SELECT COALESCE(SUM(size), 0) FROM images WHERE doc = ?",
                                           (image.doc,)).fetchone()[0])
                    if used + image.size <= quota:
                        _insert_image(cur, image)
                    return used
        except sqlite3.IntegrityError as exc:
            raise StoreConflict(f"cannot store image: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._error("store image", exc) from exc

    def images(self, doc: str) -> list[Image]:
        try:
            rows = self._reader.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE doc = ? ORDER BY id",
                                        (doc,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read images", exc) from exc
        return [Image(*row) for row in rows]

    def delete_images(self, ids: Sequence[str], created_before: float) -> list[Image]:
        gone: list[Image] = []
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                cur.execute("BEGIN IMMEDIATE")
                with self._committed(cur):
                    for image_id in sorted(set(ids)):
                        row = cur.execute(f"DELETE FROM images WHERE id = ? AND created < ? RETURNING {_IMAGE_COLUMNS}",
                                          (image_id, created_before)).fetchone()
                        if row is not None:
                            gone.append(Image(*row))
        except sqlite3.Error as exc:
            raise self._error("delete images", exc) from exc
        return gone

    def deployment_id(self) -> str:
        try:
            row = self._reader.execute("SELECT id FROM deployment").fetchone()
        except sqlite3.Error as exc:
            raise self._error("read the deployment id", exc) from exc
        return str(row[0])

    def tombstone(self, name: str) -> Tombstone | None:
        try:
            row = self._reader.execute("SELECT name, reason, ts FROM tombstones WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read tombstones", exc) from exc
        return Tombstone(*row) if row else None

    def tombstones(self) -> Iterator[Tombstone]:
        return iter(self._tombstones("SELECT name, reason, ts FROM tombstones ORDER BY name", ()))

    def tombstones_since(self, ts: float) -> list[Tombstone]:
        return self._tombstones("SELECT name, reason, ts FROM tombstones WHERE ts >= ? ORDER BY ts, name", (ts,))

    def _tombstones(self, sql: str, params: tuple[object, ...]) -> list[Tombstone]:
        try:
            rows = self._reader.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read tombstones", exc) from exc
        return [Tombstone(*row) for row in rows]

    def load_tombstones(self, rows: Iterable[Tombstone]) -> int:
        try:
            with self._write_lock:
                cur = self._writer.cursor()
                cur.execute("BEGIN IMMEDIATE")
                with self._committed(cur):
                    new = 0
                    for t in rows:
                        cur.execute("INSERT OR IGNORE INTO tombstones (name, reason, ts) VALUES (?, ?, ?)",
                                    (t.name, t.reason, t.ts))
                        new += cur.rowcount
        except sqlite3.Error as exc:
            raise self._error("load tombstones", exc) from exc
        return new

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
