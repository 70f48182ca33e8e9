"""Text that a restore or a revert brings back keeps the author who wrote it (issue 13 item 8).

First the issue's scenario through the real HTTP API and socket; then seeded random
histories of edits by several authors, restores and reverts, checked against a plain
per-code-point model: every code point is a unique atom, so the text itself says who
wrote each part.
"""
from __future__ import annotations

import random

import pytest

from collab.patches import Edit, apply_patch, make_patch, parse_patch, patch_from_edits


@pytest.fixture
def http(app):
    return app.test_client()


def join(client, doc, **extra):
    ack = client.emit("join", {"doc": doc, **extra}, callback=True)
    assert ack["ok"], ack
    return ack


def write(client, doc, base, old, new, op):
    ack = client.emit("patch", {"doc": doc, "base": base, "patch": make_patch(old, new), "id": op}, callback=True)
    assert ack["ok"], ack
    return ack


def blamed(http, doc, version=None):
    """{text of each span: author} of a version, and the text it covers."""
    q = "" if version is None else f"?version={version}"
    spans = http.get(f"/api/docs/{doc}/blame{q}").get_json()["spans"]
    text = http.get(f"/api/docs/{doc}").get_json()["text"] if version is None else \
        http.get(f"/api/docs/{doc}/versions/{version}").get_json()["text"]
    return [(text[s["start"]:s["end"]], s["author"]) for s in spans]


def authors_of(pairs, needle):
    """The authors blame names for the code points of `needle` (which must occur once)."""
    text = "".join(t for t, _ in pairs)
    at = text.index(needle)
    assert text.find(needle, at + 1) == -1
    names, pos = set(), 0
    for t, who in pairs:
        if pos < at + len(needle) and at < pos + len(t):
            names.add(who)
        pos += len(t)
    return names


ANN = "Ann wrote this paragraph first. "
BOB_1 = "(Bob edit) Then Bob adds a sentence that ends the parag"
BOB_2 = "raph."


@pytest.fixture
def scenario(connect, doc_id, http):
    """Ann writes; Bob writes a sentence in two revisions (the first stops mid-word); Cy
    restores the version where it stops mid-word, then the later one (socket, then HTTP)."""
    ann, bob, cy = connect(), connect(), connect()
    join(ann, doc_id, name="Ann")
    join(bob, doc_id, name="Bob")
    join(cy, doc_id, name="Cy")
    texts = ["", ANN, ANN + BOB_1, ANN + BOB_1 + BOB_2]
    write(ann, doc_id, 0, texts[0], texts[1], "a-1")
    write(bob, doc_id, 1, texts[1], texts[2], "b-1")
    write(bob, doc_id, 2, texts[2], texts[3], "b-2")
    ack = cy.emit("restore", {"doc": doc_id, "version": 2}, callback=True)
    assert ack["ok"] and ack["version"] == 4, ack
    r = http.post(f"/api/docs/{doc_id}/restore", json={"version": 3, "name": "Cy"})
    assert r.status_code == 201 and r.get_json()["version"] == 5
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == texts[3]
    return doc_id, texts


def test_blame_names_bob_for_the_words_a_restore_brought_back(http, scenario):
    doc, _ = scenario
    pairs = blamed(http, doc)
    assert authors_of(pairs, "(Bob edit) ") == {"Bob"}
    assert authors_of(pairs, "ends the parag") == {"Bob"} and authors_of(pairs, "raph.") == {"Bob"}
    assert authors_of(pairs, ANN) == {"Ann"}
    assert "Cy" not in {who for _, who in pairs}
    # the restore of version 2 (Cy's version 4) gave Bob's half sentence back to Bob too
    assert "Cy" not in {who for _, who in blamed(http, doc, 4)}
    spans = http.get(f"/api/docs/{doc}/blame").get_json()["spans"]
    assert {s["version"] for s in spans} == {1, 2, 3}  # the versions that first wrote them


def test_reverting_bob_after_the_restores_leaves_exactly_anns_text(http, scenario):
    doc, texts = scenario
    preview = http.get(f"/api/docs/{doc}/revert?author=Bob&since=0").get_json()
    assert preview["text"] == ANN
    # the preview's edits are what the revert does: it takes out Bob's text, brings back nothing
    assert preview["edits"] == [{"pos": len(ANN), "delete": BOB_1 + BOB_2, "insert": ""}]
    assert apply_patch(texts[3], parse_patch(preview["patch"]))[0] == ANN
    r = http.post(f"/api/docs/{doc}/revert", json={"author": "Bob", "since": 0, "name": "Dee"})
    assert r.status_code == 201
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == ANN
    assert {who for _, who in blamed(http, doc)} == {"Ann"}


def test_reverting_the_restorer_changes_nothing_they_did_not_write(http, scenario):
    doc, texts = scenario
    # Cy only restored: taking Cy's changes out goes back to before the first restore,
    # which is the same text (the second restore undid the first)
    preview = http.get(f"/api/docs/{doc}/revert?author=Cy&since=0").get_json()
    assert preview["text"] == texts[3] and preview["edits"] == []
    # reverting Cy's first restore alone (since 3: only the two restores) is the same
    assert http.get(f"/api/docs/{doc}/revert?author=Cy&since=3").get_json()["text"] == texts[3]


# -- storage: the attribution column, and databases made before it -----------------------

OLD_DOCUMENTS = """CREATE TABLE documents (id TEXT PRIMARY KEY, view_token TEXT NOT NULL UNIQUE,
    head INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL)"""
OLD_REVISIONS = """CREATE TABLE revisions (doc TEXT NOT NULL, version INTEGER NOT NULL, patch TEXT NOT NULL,
    author TEXT NOT NULL, op_id TEXT NOT NULL, ts REAL NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (doc, version), UNIQUE (doc, op_id))"""


def _stored_round_trip(store, doc):
    from collab.storage import NewRevision, Revision

    old = store.revisions(doc, 0, 10)
    restore = Revision(doc, len(old) + 1, make_patch("", "x"), "Cy", "restore-1", 2.0, "0", attribution="[1,0,1]")
    store.append([NewRevision(restore, None)])
    return old, store.revisions(doc, 0, 10)


def test_an_sqlite_database_from_before_gets_the_column_and_keeps_its_rows(tmp_path, doc_id):
    import sqlite3

    from collab.storage.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(OLD_DOCUMENTS)
    db.execute(OLD_REVISIONS)
    db.execute("INSERT INTO documents VALUES (?, 'view', 1, 1.0, 1.0)", (doc_id,))
    db.execute("INSERT INTO revisions VALUES (?, 1, ?, 'Ann', 'op-1', 1.0, '0')", (doc_id, make_patch("", "x")))
    db.commit()
    db.close()
    store = SQLiteStore(str(path))
    try:
        old, now = _stored_round_trip(store, doc_id)
        assert [(r.version, r.author, r.attribution) for r in old] == [(1, "Ann", None)]
        assert [(r.version, r.attribution) for r in now] == [(1, None), (2, "[1,0,1]")]
    finally:
        store.close()
    SQLiteStore(str(path)).close()  # opening it again migrates nothing twice


def test_a_postgres_database_from_before_gets_the_column_and_keeps_its_rows(pg_url, doc_id):
    import psycopg

    from collab.storage.postgres import PostgresStore

    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute(OLD_DOCUMENTS.replace("REAL", "DOUBLE PRECISION"))
        db.execute(OLD_REVISIONS.replace("REAL", "DOUBLE PRECISION"))
        db.execute("INSERT INTO documents VALUES (%s, 'view', 1, 1.0, 1.0)", (doc_id,))
        db.execute("INSERT INTO revisions VALUES (%s, 1, %s, 'Ann', 'op-1', 1.0, '0')", (doc_id, make_patch("", "x")))
    store = PostgresStore(pg_url)
    try:
        old, now = _stored_round_trip(store, doc_id)
        assert [(r.version, r.author, r.attribution) for r in old] == [(1, "Ann", None)]
        assert [(r.version, r.attribution) for r in now] == [(1, None), (2, "[1,0,1]")]
    finally:
        store.close()
    PostgresStore(pg_url).close()
