"""The one schema of every backend, as numbered migrations, and the code that applies them.

A database records the migrations applied to it in `schema_migrations`. Opening a store
applies the missing ones, in order, in one transaction that processes starting together
take one at a time (`collab migrate` does the same and says what it did). A database made
before this table existed is recognised by its columns and recorded as such, without any
change to its rows. A database newer than this code is refused rather than written to.

The statements are written once; `{int}`, `{real}`, `{blob}`, `{table_end}`, `{probe_pad}` and
`{random_id}` (32 random hex digits) are filled in per dialect (SQLite keeps its tables WITHOUT ROWID, PostgreSQL uses BIGINT for
versions; only SQLite's write probe needs a padding column, to need real disk space).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .base import NoDatabase, StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "documents, revisions, snapshots, labels and the write probe", (
        """CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            view_token TEXT NOT NULL UNIQUE,
            head {int} NOT NULL DEFAULT 0,
            created {real} NOT NULL,
            updated {real} NOT NULL
        )""",
        """CREATE TABLE revisions (
            doc TEXT NOT NULL,
            version {int} NOT NULL,
            patch TEXT NOT NULL,
            author TEXT NOT NULL,
            op_id TEXT NOT NULL,
            ts {real} NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (doc, version),
            UNIQUE (doc, op_id)
        ){table_end}""",
        """CREATE TABLE snapshots (
            doc TEXT NOT NULL,
            version {int} NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (doc, version)
        ){table_end}""",
        """CREATE TABLE probe (
            id INTEGER PRIMARY KEY,
            ts {real} NOT NULL{probe_pad}
        )""",
        """CREATE TABLE labels (
            doc TEXT NOT NULL,
            name TEXT NOT NULL,
            version {int} NOT NULL,
            ts {real} NOT NULL,
            PRIMARY KEY (doc, name)
        ){table_end}""",
    )),
    # restores and reverts stored before it keep the restorer as author of what they brought
    # back (NULL: an ordinary revision); a plain ADD COLUMN rewrites no rows
    Migration(2, "revisions.attribution: who first wrote the text a restore or revert brings back", (
        "ALTER TABLE revisions ADD COLUMN attribution TEXT",
    )),
    # a deleted document's edit id and view token (and a rotated view token, a renamed edit
    # id) are kept here for good, so that an old link answers "deleted" instead of creating
    # the document again
    Migration(3, "tombstones: names of deleted documents and replaced links, never given out again", (
        """CREATE TABLE tombstones (
            name TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            ts {real} NOT NULL
        ){table_end}""",
    )),
    # processes sharing this database share a Redis channel and keys named by this id, and
    # no others do: Redis's publish/subscribe ignores the database number of its URL, so
    # two deployments on one Redis server saw each other's revisions (a copy made with
    # pg_dump or a file copy keeps the id: give a copy its own Redis, or `collab copy` it)
    Migration(4, "deployment: this database's random id, which names its processes' Redis channel", (
        "CREATE TABLE deployment (id TEXT PRIMARY KEY)",
        "INSERT INTO deployment (id) SELECT {random_id}",
    )),
    # a server without a message queue asks every second for the tombstones made since it
    # last looked (collab delete from another process): by time, so through an index
    Migration(5, "tombstones.ts indexed: a server without a queue polls for new tombstones", (
        "CREATE INDEX tombstones_ts ON tombstones (ts)",
    )),
    # images pasted or dropped into a document, stored beside its history and removed with
    # it; named by a random id of their own, never the document's, so that a viewer who sees
    # one learns no edit id and a rename breaks no image. A table with rowids in SQLite too:
    # WITHOUT ROWID suits small rows, not blobs of megabytes
    Migration(6, "images: uploaded images of documents, by a random id, with their bytes", (
        """CREATE TABLE images (
            id TEXT PRIMARY KEY,
            doc TEXT NOT NULL,
            type TEXT NOT NULL,
            size {int} NOT NULL,
            sha256 TEXT NOT NULL,
            created {real} NOT NULL,
            data {blob} NOT NULL
        )""",
        "CREATE INDEX images_doc ON images (doc)",
    )),
    # COLLAB_SIGN_IN=local (issue 14): accounts, their sessions, and the account of each
    # revision a signed-in person made (NULL: a guest's, or made before accounts). `email_key`
    # is the email folded to lower case: unique, so Ann@x and ann@x are one account. A session
    # is stored by the SHA-256 of its token only: a copy of the database signs nobody in
    Migration(7, "users, sessions and revisions.account: local accounts and who signed each revision", (
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            password TEXT NOT NULL,
            created {real} NOT NULL,
            disabled {int} NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            created {real} NOT NULL,
            expires {real} NOT NULL
        ){table_end}""",
        "CREATE INDEX sessions_user ON sessions (user_id)",
        "ALTER TABLE revisions ADD COLUMN account TEXT",
    )),
    # COLLAB_SIGN_IN=oidc and proxy (issue 14): a person signed in by someone else is the
    # pair (issuer, subject) -- an OpenID provider's issuer URL and its `sub`, or "proxy" and
    # the proxy's user header -- never their email, which a provider may let anyone claim.
    # Each pair names one `users` row (made at the first sign-in, with a password no password
    # verifies), so sessions, revisions and the CLI treat them as any account
    Migration(8, "identities: accounts signed in by an OpenID provider or a trusted proxy", (
        """CREATE TABLE identities (
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created {real} NOT NULL,
            PRIMARY KEY (issuer, subject)
        ){table_end}""",
        "CREATE INDEX identities_user ON identities (user_id)",
    )),
    # "my documents" (issue 14): what each signed-in person opened, by the link they used
    # (storage/visits.py says why not by the document), and each document's title as the
    # server last saw it (core/title.py), for the documents that are not open, and the one
    # its editors chose (`chosen`; NULL: its first heading is its title)
    Migration(9, "visits and titles: the documents each person opened, for \"my documents\"", (
        """CREATE TABLE visits (
            user_id TEXT NOT NULL,
            link TEXT NOT NULL,
            kind TEXT NOT NULL,
            ts {real} NOT NULL,
            PRIMARY KEY (user_id, link)
        ){table_end}""",
        """CREATE TABLE titles (
            doc TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            ts {real} NOT NULL,
            chosen TEXT
        ){table_end}""",
    )),
    # per-document permissions (issue 14): who owns a document (the signed-in person who made
    # it; NULL: a guest's, or made before this), who may edit and view it (`link`: anyone with
    # the link, as before; `signed_in`; `invited`), and the people invited, as editor or
    # viewer. A document without a `doc_access` row is `link`/`link` with no owner: every
    # document made before this behaves as it did. Both tables are DOCUMENT_TABLES
    Migration(10, "doc_access and doc_members: a document's owner, who may edit and view it, and who is invited", (
        """CREATE TABLE doc_access (
            doc TEXT PRIMARY KEY,
            owner TEXT,
            edit_policy TEXT NOT NULL DEFAULT 'link',
            view_policy TEXT NOT NULL DEFAULT 'link'
        ){table_end}""",
        """CREATE TABLE doc_members (
            doc TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL,
            added {real} NOT NULL,
            PRIMARY KEY (doc, user_id)
        ){table_end}""",
        "CREATE INDEX doc_members_user ON doc_members (user_id)",
        "CREATE INDEX doc_access_owner ON doc_access (owner)",  # "my documents": what a person owns
    )),
    # personal access tokens (issue 14; taken as 10 on its branch, 11 once per-document
    # permissions had landed as 10): `Authorization: Bearer` for the HTTP API and the
    # Python client, each a person's, named, with an optional expiry. Stored by the SHA-256
    # of the secret only, as sessions are; `id` is what lists and revocations name (never the
    # secret). `last_used` is coarse (written at most once an hour per token), so using a
    # token costs no write per request. Revoking deletes the row
    Migration(11, "tokens: personal access tokens (Bearer), by the SHA-256 of their secret", (
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created {real} NOT NULL,
            expires {real},
            last_used {real}
        ){table_end}""",
        "CREATE INDEX tokens_user ON tokens (user_id)",
    )),
    # picked colours (issue 15): the colour each author of a document last wrote in, so that
    # the history page shows a person who left, after any restart, in the colour the editor
    # showed them in. `who` is the person (storage/colors.py: "a:" and an account id, or "g:"
    # and a guest's name); a person who writes in the automatic colour has no row. A
    # DOCUMENT_TABLES table
    Migration(12, "colors: the colour each author of a document last wrote in", (
        """CREATE TABLE colors (
            doc TEXT NOT NULL,
            who TEXT NOT NULL,
            author TEXT NOT NULL,
            account TEXT,
            color TEXT NOT NULL,
            ts {real} NOT NULL,
            PRIMARY KEY (doc, who)
        ){table_end}""",
    )),
)
LATEST = MIGRATIONS[-1].version
# the tables whose rows belong to one document, by its edit id in their `doc` column: what
# deleting a document removes and renaming it moves (a test checks that every table with a
# `doc` column is listed, so that a new one is not forgotten)
DOCUMENT_TABLES = ("revisions", "snapshots", "labels", "images", "titles", "doc_access", "doc_members", "colors")
UNVERSIONED = 2  # the newest schema a collab made before schema_migrations existed

DIALECTS = {
    "sqlite": {"int": "INTEGER", "real": "REAL", "table_end": " WITHOUT ROWID", "probe_pad": ",\n pad BLOB",
               "random_id": "lower(hex(randomblob(16)))", "blob": "BLOB"},
    "postgres": {"int": "BIGINT", "real": "DOUBLE PRECISION", "table_end": "", "probe_pad": "",
                 "random_id": "md5(random()::text || clock_timestamp()::text)", "blob": "BYTEA"},
}
VERSIONS_TABLE = """CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied {real} NOT NULL
)"""


def statements(migration: Migration, dialect: str) -> list[str]:
    return [s.format(**DIALECTS[dialect]) for s in migration.statements]


@dataclass(frozen=True)
class Catalog:
    """What a migration run needs to know of a database, and how to change it, in the
    caller's transaction: `tables()` and `columns(table)` read the catalog, `execute` runs
    one statement with parameters in the dialect's style (`?` is rewritten for PostgreSQL)."""

    dialect: str
    tables: Callable[[], set[str]]
    columns: Callable[[str], set[str]]
    execute: Callable[[str, Sequence[object]], list[tuple[object, ...]]]


def current_version(db: Catalog) -> int:
    """The schema version of the database: 0 for an empty one."""
    tables = db.tables()
    if "schema_migrations" in tables:
        rows = db.execute("SELECT MAX(version) FROM schema_migrations", ())
        value = rows[0][0]
        return value if isinstance(value, int) else 0
    if "revisions" not in tables:
        return 0
    # made before schema_migrations existed (at most UNVERSIONED): recognised by its columns
    return 2 if "attribution" in db.columns("revisions") else 1


def migrate(db: Catalog, now: float, create: bool = True) -> list[Migration]:
    """Apply what the database lacks, in order; the migrations applied (none: up to date).
    With `create` False an empty database (version 0) is NoDatabase, and left as it is.

    Runs no DDL at all when the database is up to date, so a role that may read and write
    rows but not create tables (see docs/deploy.md) opens a migrated database."""
    version = current_version(db)
    if version == 0 and not create:
        raise NoDatabase("it holds no collab tables (a new database is made by `collab migrate`, "
                         "`collab load` or the server)")
    if version > LATEST:
        raise StoreError(f"the database's schema is at version {version}, newer than this collab knows "
                         f"({LATEST}): upgrade collab, or open a copy made for this version")
    versioned = "schema_migrations" in db.tables()
    # every migration the database has not recorded, not only those above its newest: numbers
    # are taken by branches that land in any order, so a database can hold 10 without 8 and 9
    recorded = {r[0] for r in db.execute("SELECT version FROM schema_migrations", ())} if versioned else set()
    applied = ([m for m in MIGRATIONS if m.version not in recorded] if versioned
               else [m for m in MIGRATIONS if m.version > version])
    if versioned and not applied:
        return []
    if not versioned:
        if version:
            # an older collab created every table it knew with CREATE TABLE IF NOT EXISTS at
            # each start: one that predates a table lacks it
            tables = db.tables()
            for sql in statements(MIGRATIONS[0], db.dialect):
                if sql.split()[2] not in tables:
                    db.execute(sql, ())
        db.execute(VERSIONS_TABLE.format(**DIALECTS[db.dialect]), ())
        # what an older collab made: recorded as found, unchanged
        for m in MIGRATIONS[:version]:
            db.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                       (m.version, m.name + " (found)", now))
    for m in applied:
        for sql in statements(m, db.dialect):
            db.execute(sql, ())
        db.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)", (m.version, m.name, now))
    return applied
