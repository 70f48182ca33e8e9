"""Schema versions: every earlier schema is brought up to date on open (or by `collab
migrate`), keeping its rows; a newer one is refused; a PostgreSQL role that may not create
tables works on a migrated database. Run against SQLite and PostgreSQL alike."""
from __future__ import annotations

import secrets
import sqlite3
import subprocess
import sys

import pytest

from collab.core.patches import make_patch
from collab.storage import NewRevision, Revision, StoreError, open_store
from collab.storage.schema import LATEST, MIGRATIONS, UNVERSIONED, statements


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path}/m.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def raw(url):
    """A plain DB-API connection to the database, outside the store (autocommit)."""
    if url.startswith("sqlite:"):
        return sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
    import psycopg

    return psycopg.connect(url, autocommit=True)


def run(db, sql, params=()):
    if not isinstance(db, sqlite3.Connection):
        sql = sql.replace("?", "%s")
    cur = db.execute(sql, params)
    return cur.fetchall() if cur.description else []


def columns(url):
    """{table: [columns]} of the database, as a schema comparison needs it."""
    with_db = raw(url)
    try:
        if url.startswith("sqlite:"):
            tables = [r[0] for r in run(with_db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: sorted(r[1] for r in run(with_db, f"PRAGMA table_info({t})")) for t in tables}
        rows = run(with_db, "SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = current_schema()")
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(table, []).append(column)
        return {t: sorted(c) for t, c in out.items()}
    finally:
        with_db.close()


def upto(version):
    """The migrations up to `version` (numbers may skip: a branch keeps its own number)."""
    return [m for m in MIGRATIONS if m.version <= version]


def build_at(url, version, *, recorded=True):
    """A database as collab left it at `version`: its migrations applied, one document with
    one revision; `recorded=False`: as a collab from before schema_migrations made it."""
    dialect = "sqlite" if url.startswith("sqlite:") else "postgres"
    db = raw(url)
    try:
        for m in upto(version):
            for sql in statements(m, dialect):
                run(db, sql)
        if recorded:
            run(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                    "applied DOUBLE PRECISION NOT NULL)")
            for m in upto(version):
                run(db, "INSERT INTO schema_migrations VALUES (?, ?, 1.0)", (m.version, m.name))
        run(db, "INSERT INTO documents (id, view_token, head, created, updated) VALUES ('old', 'view', 1, 1.0, 1.0)")
        run(db, "INSERT INTO revisions (doc, version, patch, author, op_id, ts, hash) "
                "VALUES ('old', 1, ?, 'Ann', 'op-1', 1.0, '0')", (make_patch("", "x"),))
    finally:
        db.close()


def fresh_columns(tmp_path_factory_url):
    store = open_store(tmp_path_factory_url)
    store.close()
    return columns(tmp_path_factory_url)


def test_a_new_database_records_every_migration_and_opening_again_applies_none(url):
    store = open_store(url)
    try:
        assert [m.version for m in store.migrated] == [m.version for m in MIGRATIONS]
    finally:
        store.close()
    again = open_store(url)
    try:
        assert again.migrated == []
    finally:
        again.close()
    db = raw(url)
    try:
        assert [r[0] for r in run(db, "SELECT version FROM schema_migrations ORDER BY version")] == \
            [m.version for m in MIGRATIONS]
    finally:
        db.close()


# every schema a collab ever made: each version as recorded in schema_migrations, and each
# one a collab from before that table made (up to UNVERSIONED; the current schema, recorded,
# is the test above). By how many migrations it has (the numbers may have gaps: one a branch
# took that has not landed)
EARLIER = [(v, recorded) for v in range(1, len(MIGRATIONS) + 1) for recorded in (True, False)
           if not (recorded and v == len(MIGRATIONS)) and (recorded or v <= UNVERSIONED)]


@pytest.mark.parametrize(("version", "recorded"), EARLIER,
                         ids=[f"v{v}-{'versioned' if r else 'before-versions'}" for v, r in EARLIER])
def test_every_earlier_schema_is_brought_up_to_date_keeping_its_rows(url, request, tmp_path, version, recorded):
    build_at(url, version, recorded=recorded)
    store = open_store(url)
    try:
        assert [m.version for m in store.migrated] == [m.version for m in MIGRATIONS if m.version > version]
        assert store.get_document("old").head == 1
        [old] = store.revisions("old", 0, 10)
        assert (old.author, old.op_id, old.attribution) == ("Ann", "op-1", None)
        rev = Revision("old", 2, make_patch("x", "xy"), "Bo", "op-2", 2.0, "0", attribution="[1,0,2,0]")
        store.append([NewRevision(rev, None)])
        assert [r.attribution for r in store.revisions("old", 0, 10)] == [None, "[1,0,2,0]"]
        # deleting works on it, and leaves its names as tombstones (migration 3)
        assert store.delete_document("old", 3.0).view_token == "view"
        assert store.tombstone("old").reason == store.tombstone("view").reason == "deleted"
        assert store.get_document("old") is None and store.revisions("old", 0, 10) == []
    finally:
        store.close()
    # the same tables and columns as a database made new by this version
    other = f"sqlite:///{tmp_path}/fresh.db" if url.startswith("sqlite:") else request.getfixturevalue("pg_url2")
    assert columns(url) == fresh_columns(other)


def test_a_database_newer_than_this_collab_is_refused(url):
    open_store(url).close()
    db = raw(url)
    try:
        run(db, "INSERT INTO schema_migrations VALUES (?, 'from the future', 1.0)", (LATEST + 1,))
    finally:
        db.close()
    with pytest.raises(StoreError, match=f"version {LATEST + 1}, newer than this collab"):
        open_store(url)


def test_collab_migrate_says_what_it_applied(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    build_at(url, 1, recorded=False)
    cmd = [sys.executable, "-m", "collab.cli", "migrate", "--database", url]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"applied {m.version}: {m.name}" for m in MIGRATIONS[1:]] + \
        [f"schema at version {LATEST}"]
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert second.stdout.strip() == f"schema at version {LATEST}: up to date, nothing applied"


def test_a_postgres_role_that_may_not_create_tables_works_on_a_migrated_database(pg_url):
    import psycopg

    role = "collab_app_" + secrets.token_hex(4)
    app_url = pg_url.replace("://", f"://{role}@", 1)
    admin = psycopg.connect(pg_url, autocommit=True)
    try:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        # before the owner migrated it: a clear refusal, naming the fix
        with pytest.raises(StoreError, match="collab migrate"):
            open_store(app_url)
        open_store(pg_url).close()  # the owner migrates (as `collab migrate` does)
        # the grants docs/deploy.md lists
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        store = open_store(app_url)
        try:
            assert store.migrated == []
            store.create_document("d", "view-d", 1.0)
            store.append([NewRevision(Revision("d", 1, make_patch("", "hi"), "Al", "op", 1.0, "0"), None)])
            store.probe_write()
            assert [r.version for r in store.revisions("d", 0, 5)] == [1]
        finally:
            store.close()
    finally:
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


def test_migration_6_keeps_every_revision_a_guest_s(url):
    """Revisions made before accounts have no account; the new tables start empty."""
    build_at(url, 5)
    store = open_store(url)
    try:
        (only,) = store.revisions(store_doc(store), 0, 10)
        assert only.account is None and store.accounts.users() == []
    finally:
        store.close()


def store_doc(store):
    (doc,) = list(store.document_ids())
    return doc


def test_a_migration_missing_below_the_newest_recorded_is_applied(url, request, tmp_path):
    """Migration numbers are taken by branches that land in any order: a database that
    recorded a later migration but not an earlier one (it ran a collab without it) gets the
    earlier one too, not "up to date"."""
    dialect = "sqlite" if url.startswith("sqlite:") else "postgres"
    skipped = MIGRATIONS[-2]  # any but the newest
    db = raw(url)
    try:
        run(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied DOUBLE PRECISION NOT NULL)")
        for m in MIGRATIONS:
            if m is not skipped:
                for sql in statements(m, dialect):
                    run(db, sql)
                run(db, "INSERT INTO schema_migrations VALUES (?, ?, 1.0)", (m.version, m.name))
    finally:
        db.close()
    store = open_store(url)
    try:
        assert [m.version for m in store.migrated] == [skipped.version]
    finally:
        store.close()
    other = f"sqlite:///{tmp_path}/fresh.db" if url.startswith("sqlite:") else request.getfixturevalue("pg_url2")
    assert columns(url) == fresh_columns(other)
