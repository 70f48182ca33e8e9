"""Backup and moving between stores: `collab dump`, `collab load`, `collab copy`.

Histories made by the real server (patches from two clients, a restore with its
attribution, labels, snapshots) go SQLite -> dump -> PostgreSQL -> dump, byte for byte the
same, and `collab check` passes on the result. Bad dumps - edited histories, clashing ids
and tokens, malformed lines - are refused before anything is written, in one line that
names the line, the document and the revision; a document that fails while it is written
leaves nothing of itself (each is written in one transaction)."""
from __future__ import annotations

import copy
import io
import json
import re
import secrets
import subprocess
import sys

import pytest

from collab.cli import main as collab_main
from collab.core.patches import make_patch, text_hash
from collab.core import errors
from collab.storage import DocumentRow, StoreConflict, StoreError, Tombstone, dump, open_store
from collab.storage.schema import LATEST

TEXTS = ["", "Ann's line.", "Ann's line. Bob's 😀 line.", "Ann's line, longer. Bob's 😀 line.", "short"]


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "collab.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


@pytest.fixture
def source(make_app, connect, tmp_path):
    """A SQLite database with two documents as the server stored them (snapshots every 2)."""
    url = f"sqlite:///{tmp_path}/source.db"
    app = make_app(database_url=url, snapshot_every=2)
    http = app.test_client()
    texts = TEXTS
    ann, bob = connect(app), connect(app)
    for c, name in ((ann, "Ann"), (bob, "Bob")):
        assert c.emit("join", {"doc": "dump-a", "name": name}, callback=True)["ok"]
    for v in range(1, len(texts)):
        who = ann if v % 2 else bob
        ack = who.emit("patch", {"doc": "dump-a", "base": v - 1, "patch": make_patch(texts[v - 1], texts[v]),
                                 "id": f"op-{v}"}, callback=True)
        assert ack["ok"], ack
    assert http.post("/api/docs/dump-a/restore", json={"version": 3, "name": "Cy"}).status_code == 201
    assert http.post("/api/docs/dump-a/labels", json={"version": 2, "name": "draft ✓"}).status_code in (200, 201)
    assert http.post("/api/docs", json={"doc": "dump-empty"}).status_code == 201
    app.extensions["collab"].close()
    return url


def delete_one(url):
    """A document made and deleted in the store: two tombstones ("dump-gone" and its view token)."""
    store = open_store(url)
    try:
        store.create_document("dump-gone", "dump-gone-view", 1.0)
        store.delete_document("dump-gone", 2.5)
    finally:
        store.close()


def dumped(url, tmp_path, name):
    out = tmp_path / name
    r = cli("dump", "--database", url, "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.e2e  # runs the `collab` command in subprocesses
def test_dump_load_into_postgres_and_dump_again_is_the_same(source, pg_url, tmp_path):
    delete_one(source)
    first = dumped(source, tmp_path, "first.jsonl")
    lines = [json.loads(x) for x in first.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"collab_dump": 3, "schema": LATEST}
    assert lines[-3:] == [{"tombstone": {"name": "dump-gone", "reason": "deleted", "ts": 2.5}},
                          {"tombstone": {"name": "dump-gone-view", "reason": "deleted", "ts": 2.5}},
                          {"end": {"documents": 2, "revisions": 5, "tombstones": 2, "images": 0}}]
    assert any("snapshot" in x for x in lines), "the dump carries the stored snapshots"
    assert any(x.get("revision", {}).get("attribution") for x in lines), "and the restore's attribution"
    loaded = cli("load", "--database", pg_url, str(first))
    assert loaded.returncode == 0, loaded.stderr
    assert "2 documents checked, 0 corrupt" in loaded.stdout
    again = dumped(pg_url, tmp_path, "again.jsonl")
    assert again.read_bytes() == first.read_bytes()
    store = open_store(pg_url)
    try:
        assert store.get_document("dump-a").head == 5
        assert [label.name for label in store.labels("dump-a")] == ["draft ✓"]
        assert store.tombstone("dump-gone").reason == "deleted" and store.get_document("dump-gone") is None
    finally:
        store.close()


@pytest.mark.e2e  # runs the `collab` command in subprocesses
def test_copy_between_stores_and_load_from_standard_input(source, tmp_path):
    delete_one(source)
    target = f"sqlite:///{tmp_path}/copy.db"
    r = cli("copy", "--from", source, "--to", target)
    assert r.returncode == 0, r.stderr
    assert dumped(target, tmp_path, "copy.jsonl").read_bytes() == dumped(source, tmp_path, "src.jsonl").read_bytes()
    piped = cli("load", "--database", f"sqlite:///{tmp_path}/piped.db", "-",
                stdin=(tmp_path / "src.jsonl").read_text(encoding="utf-8"))
    assert piped.returncode == 0, piped.stderr


def assert_refused_and_nothing_written(dump_text, tmp_path, message):
    target = f"sqlite:///{tmp_path}/target-{abs(hash(dump_text)) % 10**8}.db"
    r = cli("load", "--database", target, "-", stdin=dump_text)
    assert r.returncode == 1 and message in r.stderr, (r.returncode, r.stderr)
    store = open_store(target)
    try:
        assert list(store.document_ids()) == []
    finally:
        store.close()


@pytest.mark.e2e  # runs the `collab` command in subprocesses
def test_bad_dumps_are_refused_before_anything_is_written(source, tmp_path):
    lines = dumped(source, tmp_path, "good.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert_refused_and_nothing_written("".join(lines[:-1]), tmp_path, "truncated")
    broken = lines[:3] + ['{"revision": {"version": 3\n'] + lines[4:]
    assert_refused_and_nothing_written("".join(broken), tmp_path, "line 4: not JSON")
    skipped = lines[:2] + lines[3:]  # a revision missing: versions must follow each other
    assert_refused_and_nothing_written("".join(skipped), tmp_path, "line 3:")
    assert_refused_and_nothing_written("hello\n", tmp_path, "line 1: not JSON")
    assert_refused_and_nothing_written('{"document": {}}\n', tmp_path, "not a collab dump")


@pytest.mark.e2e  # runs the `collab` command in subprocesses
def test_a_document_already_in_the_target_is_never_overwritten(source, tmp_path):
    target = f"sqlite:///{tmp_path}/busy.db"
    store = open_store(target)
    store.create_document("dump-empty", "someone-elses-token", 1.0)
    store.close()
    good = dumped(source, tmp_path, "good.jsonl")
    r = cli("load", "--database", target, str(good))
    assert r.returncode == 1 and "'dump-empty' already exists in the target" in r.stderr
    store = open_store(target)
    try:
        assert list(store.document_ids()) == ["dump-empty"], "dump-a, before it in the dump, was not written"
        assert store.get_document("dump-empty").view_token == "someone-elses-token"
    finally:
        store.close()


# ---- in-process: what `collab load` refuses, and what it leaves behind ----

def dump_text(url):
    """What `collab dump` writes of the database at `url`."""
    store = open_store(url)
    try:
        out = io.StringIO()
        dump.write(dump.records(store), out)
    finally:
        store.close()
    return out.getvalue()


def records_of(url):
    return [json.loads(x) for x in dump_text(url).splitlines()]


@pytest.fixture
def good(source):
    """The source's dump as records: header, dump-a, its revisions 1-5 (good[1 + v] is
    version v), its label, dump-empty, end."""
    recs = records_of(source)
    assert [next(iter(r)) for r in recs] == ["collab_dump", "document", *["revision"] * 5, "label", "document", "end"]
    return recs


def lines_of(recs):
    return "".join(json.dumps(r) + "\n" for r in recs)  # ASCII: a lone surrogate stays an escape


def contents(url):
    """Every document of a store with its head, revisions, labels and snapshots."""
    store = open_store(url)
    try:
        return {doc: (store.get_document(doc), store.revisions(doc, 0, 100), store.labels(doc),
                      store.snapshot_versions(doc)) for doc in store.document_ids()}
    finally:
        store.close()


def load_cli(tmp_path, capsys, data, target):
    path = tmp_path / f"in-{secrets.token_hex(4)}.jsonl"
    path.write_bytes(data if isinstance(data, bytes) else (data if isinstance(data, str) else lines_of(data)).encode())
    code = collab_main(["load", "--database", target, str(path)])
    return code, capsys.readouterr()


def assert_refused(tmp_path, capsys, data, message, target=None):
    """`collab load` exits 1 with one line naming what is wrong; the target is as it was."""
    target = target or f"sqlite:///{tmp_path}/target-{secrets.token_hex(4)}.db"
    before = contents(target)
    code, out = load_cli(tmp_path, capsys, data, target)
    assert code == 1, (code, out.err)
    assert out.err.splitlines() == [out.err.strip()] and message in out.err, out.err
    assert "Traceback" not in out.err
    assert contents(target) == before, "a refused load wrote nothing"


def assert_record_refused(tmp_path, capsys, url, kind, bad, message):
    """The dump of `url` with its first `kind` record's body made `bad`: refused, naming the
    record's line and saying `message`."""
    recs = copy.deepcopy(records_of(url))
    at = [next(iter(r)) for r in recs].index(kind)
    recs[at] = {kind: bad}
    assert_refused(tmp_path, capsys, recs, f"line {at + 1}")
    assert_refused(tmp_path, capsys, recs, message)


def assert_doubled_record_refused(tmp_path, capsys, url, kind, message):
    """The dump of `url` with its first `kind` record twice: refused, saying `message`."""
    recs = records_of(url)
    at = [next(iter(r)) for r in recs].index(kind)
    recs.insert(at, copy.deepcopy(recs[at]))
    assert_refused(tmp_path, capsys, recs, message)


def edited(good, **changes):
    """A copy of the dump with fields of records changed: {index: {field: value}}, where a
    field "revision.patch" is a field of the record's body."""
    recs = copy.deepcopy(good)
    for where, value in changes.items():
        index, _, name = where.partition("_")
        body = recs[int(index[1:])]
        *path, last = name.split(".")
        for key in path:
            body = body[key]
        if value is DELETE:
            del body[last]
        else:
            body[last] = value
    return recs


DELETE = object()


def test_an_edited_patch_is_refused_naming_the_document_and_revision(good, tmp_path, capsys):
    patch = make_patch(TEXTS[2], TEXTS[2] + " edited")
    assert_refused(tmp_path, capsys, edited(good, r4_revision=dict(good[4]["revision"], patch=patch)),
                   "line 5: document 'dump-a' revision 3: text hash does not match")
    # edited with a hash to match: the next revision no longer applies to what it makes
    forged = dict(good[4]["revision"], patch=patch, hash=text_hash(TEXTS[2] + " edited"))
    assert_refused(tmp_path, capsys, edited(good, r4_revision=forged), "line 6: document 'dump-a' revision 4: ")
    # every revision is checked, the last one too
    assert_refused(tmp_path, capsys, edited(good, **{"r6_revision.hash": "00000000"}),
                   "line 7: document 'dump-a' revision 5: text hash does not match")


def test_an_edited_snapshot_or_attribution_is_refused(good, tmp_path, capsys):
    at = next(i for i, r in enumerate(good) if "snapshot" in r)
    assert_refused(tmp_path, capsys, edited(good, **{f"r{at}_snapshot": "forged"}),
                   f"line {at + 1}: document 'dump-a' revision {at - 1}: its snapshot differs from the replayed text")
    assert good[6]["revision"]["attribution"], "revision 5 is the restore"
    assert_refused(tmp_path, capsys, edited(good, **{"r6_revision.attribution": "[1,0,1]"}),
                   "line 7: document 'dump-a' revision 5: attribution covers 1 code points")
    assert_refused(tmp_path, capsys, edited(good, **{"r6_revision.attribution": "[9,0,1]"}),
                   "line 7: document 'dump-a' revision 5: attribution names code points")


def test_an_op_id_used_twice_in_a_document_is_refused_before_anything_is_written(good, tmp_path, capsys):
    assert_refused(tmp_path, capsys, edited(good, **{"r3_revision.op_id": "op-1"}),
                   "line 4: document 'dump-a' revision 2: op id 'op-1' is already revision 1's")


def test_ids_and_view_tokens_that_clash_are_refused(good, tmp_path, capsys):
    token = good[1]["document"]["view_token"]
    assert_refused(tmp_path, capsys, edited(good, **{"r8_document.view_token": token}),
                   f"line 9: document 'dump-empty': view token {token!r} is already document 'dump-a''s view token")
    assert_refused(tmp_path, capsys, edited(good, **{"r8_document.view_token": "dump-a"}),
                   "line 9: document 'dump-empty': view token 'dump-a' is already document 'dump-a''s id")
    assert_refused(tmp_path, capsys, edited(good, **{"r8_document.view_token": "dump-empty"}),
                   "line 9: document 'dump-empty': view token 'dump-empty' is already document 'dump-empty''s id")
    for key, row in (("token", DocumentRow("other", token, 0, 1.0, 1.0)),  # its token is taken
                     ("id", DocumentRow(token, "other-token", 0, 1.0, 1.0)),  # a document has its token as id
                     ("view", DocumentRow("other", "dump-empty", 0, 1.0, 1.0))):  # its id is a view token
        target = f"sqlite:///{tmp_path}/busy-{key}.db"
        store = open_store(target)
        store.create_document(row.id, row.view_token, 1.0)
        store.close()
        assert_refused(tmp_path, capsys, good, "already a document id or view token in the target database",
                       target)


def test_document_ids_and_view_tokens_are_checked_by_the_one_validator(good, tmp_path, capsys):
    assert_refused(tmp_path, capsys, edited(good, **{"r1_document.id": "../../etc"}),
                   "line 2: document id '../../etc' is not valid: use 1-64 of A-Z a-z 0-9 _ -")
    assert_refused(tmp_path, capsys, edited(good, **{"r1_document.view_token": "not a token"}),
                   "line 2: view token 'not a token' is not valid")
    assert_refused(tmp_path, capsys, edited(good, **{"r1_document.head": "5"}),
                   "line 2: head must be a whole number >= 0, got '5'")
    assert_refused(tmp_path, capsys, edited(good, **{"r2_revision.version": True}),
                   "line 3: version must be a whole number >= 1, got True")


@pytest.mark.parametrize("change, message", [
    ({"r0_collab_dump": True}, "line 1: not a collab dump of format 4"),
    ({"r0_collab_dump": 5}, "line 1: a collab dump of format 5: this collab reads formats 1, 2, 3, 4"),
    ({"r0_schema": DELETE}, "line 1: missing 'schema'"),
    ({"r0_schema": 0}, "line 1: schema must be a whole number >= 1"),
    ({"r0_schema": 99}, "line 1: made by a collab with schema 99"),
    ({"r8_document": ["dump-empty"]}, "line 9: 'document' must be an object, not list"),
    ({"r8_document.created": DELETE}, "line 9: missing 'created'"),
    ({"r8_document.owner": "x"}, "line 9: unknown fields ['owner']"),
    ({"r2_revision.extra": 1}, "line 3: unknown fields ['extra']"),
    ({"r2_revision.ts": "yesterday"}, "line 3: 'ts' must be a number, not str"),
    ({"r2_revision.author": "\ud800"}, "line 3: author contains U+D800"),
    ({"r2_revision.patch": "@@ -0,0 +1,1 @@\n+\u0000\n"}, "line 3: patch contains U+0000"),
    ({"r2_revision.op_id": "x" * 129}, "line 3: id must be a string of 1-128 characters"),
    ({"r2_revision.hash": 12}, "line 3: 'hash' must be a string, not int"),
    ({"r7_label.version": 9}, "line 8: document 'dump-a': label 'draft ✓' of version 9, which does not exist (0..5;"),
    ({"r7_label.name": "  "}, "line 8: document 'dump-a': label name '  ' is not valid"),
    ({"r7_label.name": "a\tb"}, "line 8: document 'dump-a': label name 'a\\tb' is not valid"),
    ({"r9_end.revisions": 4}, "line 10: the end record says"),
    ({"r8_revision": {}}, "line 9: one record a line: found ['document', 'revision']"),
])
def test_malformed_records_are_refused_naming_their_line(good, tmp_path, capsys, change, message):
    assert_refused(tmp_path, capsys, edited(good, **change), message)


def _dup_key(lines, good):
    doc = json.dumps(good[1]["document"])
    return lines[0] + f'{{"document": {doc}, "document": {doc}}}\n' + "".join(lines[2:])


def _ts(lines, good, value):
    rev = lines[2].replace(f'"ts": {good[2]["revision"]["ts"]}', f'"ts": {value}')
    assert value in rev
    return "".join(lines[:2]) + rev + "".join(lines[3:])


@pytest.mark.parametrize("make, message", [
    (lambda lines, good: "".join(lines[:2] + lines[3:]), "line 3: document 'dump-a' revision 1: missing (found 2 next)"),
    (lambda lines, good: "".join(lines + lines[-1:]), "line 11: data after the end record"),
    (lambda lines, good: "".join(lines[:8] + [lines[7]] + lines[8:]), "line 9: document 'dump-a': label 'draft ✓' is set twice"),
    (lambda lines, good: "".join(lines[:2]).encode() + b'{"revision": "\xff"}\n', "line 3: not UTF-8"),
    (lambda lines, good: "".join(lines[:2]) + "[" * 100_000 + "]" * 100_000 + "\n", "line 3: nested too deeply"),
    (_dup_key, "line 2: field 'document' appears twice"),
    (lambda lines, good: _ts(lines, good, "NaN"), "line 3: NaN is not a number a dump holds"),
    (lambda lines, good: _ts(lines, good, "1e999"), "line 3: 'ts' must be a finite number"),
], ids=["gap", "after end", "label twice", "not UTF-8", "nested", "key twice", "NaN", "infinite"])
def test_malformed_lines_are_refused_naming_their_line(good, tmp_path, capsys, make, message):
    assert_refused(tmp_path, capsys, make(lines_of(good).splitlines(keepends=True), good), message)


@pytest.fixture(params=["sqlite", "postgres"])
def target_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/target.db"
    return request.getfixturevalue("pg_url")


def test_a_document_that_fails_as_it_is_written_leaves_nothing_of_itself(good, target_url):
    """load checks every record again as it writes (the input may have changed since it was
    validated, or never was): dump-empty is loaded, dump-a, whose revision 4 was edited, not at all."""
    recs = [good[0], good[8], *good[1:8], good[9]]
    recs[6] = edited(recs, **{"r6_revision.hash": "00000000"})[6]
    store = open_store(target_url)
    try:
        with pytest.raises(StoreError, match=re.escape(
                "line 7: document 'dump-a' revision 4: text hash does not match; the load stopped there "
                "(documents loaded whole before it: 1; nothing of it or after it)")):
            dump.load(enumerate(recs, 1), store)
        assert list(store.document_ids()) == ["dump-empty"]
        assert (store.revisions("dump-a", 0, 10), store.labels("dump-a"), store.snapshot_versions("dump-a")) == ([], [], [])
    finally:
        store.close()


def test_a_view_token_taken_after_the_check_is_refused_before_its_document_is_written(good, target_url):
    store = open_store(target_url)
    try:
        assert dump.validate(enumerate(good, 1), store).ids == ["dump-a", "dump-empty"]
        token = good[8]["document"]["view_token"]
        store.create_document("late", token, 1.0)  # another writer, meanwhile
        with pytest.raises(StoreError, match=re.escape(
                f"line 9: document 'dump-empty': view token '{token}' is already a document id or view token in "
                "the target database; the load stopped there (documents loaded whole before it: 1;")):
            dump.load(enumerate(good, 1), store)
        assert list(store.document_ids()) == ["dump-a", "late"]
    finally:
        store.close()


def test_a_used_view_token_is_a_conflict_in_every_store(target_url):
    store = open_store(target_url)
    try:
        store.create_document("first", "token-1", 1.0)
        with pytest.raises(StoreConflict, match="view token"):
            store.create_document("second", "token-1", 1.0)  # was a TypeError from SQLite
        with pytest.raises(StoreConflict):
            store.load_document(DocumentRow("third", "token-1", 0, 1.0, 1.0), [])
        with pytest.raises(StoreConflict):
            store.load_document(DocumentRow("first", "token-2", 0, 1.0, 1.0), [])
        assert [store.get_document(d) for d in store.document_ids()] == [DocumentRow("first", "token-1", 0, 1.0, 1.0)]
    finally:
        store.close()


def test_loading_into_a_store_that_has_the_document_is_refused(good, tmp_path, capsys):
    target = f"sqlite:///{tmp_path}/busy.db"
    store = open_store(target)
    store.create_document("dump-empty", "someone-elses-token", 1.0)
    store.close()
    assert_refused(tmp_path, capsys, good, "line 9: document 'dump-empty' already exists in the target database",
                   target)


def test_a_long_load_shows_its_progress(tmp_path, capsys):
    docs = [{"document": {"id": f"doc-{i}", "view_token": f"view-{i}", "head": 0, "created": 1.0, "updated": 1.0}}
            for i in range(200)]
    recs = [{"collab_dump": 1, "schema": 2}, *docs, {"end": {"documents": 200, "revisions": 0}}]
    code, out = load_cli(tmp_path, capsys, recs, f"sqlite:///{tmp_path}/many.db")
    assert code == 0, out.err
    for line in ("verified 100 documents", "verified 200 documents", "loaded 100 documents", "loaded 200 documents"):
        assert line in out.err
    assert "200 documents checked, 0 corrupt" in out.out


def test_copy_checks_the_source_as_load_checks_a_dump(source, tmp_path, capsys):
    """A source whose stored history is damaged is not copied: the same checks, named by record."""
    import sqlite3

    db = sqlite3.connect(tmp_path / "source.db", isolation_level=None)
    db.execute("UPDATE revisions SET hash = '00000000' WHERE doc = 'dump-a' AND version = 2")
    db.close()
    target = f"sqlite:///{tmp_path}/copy.db"
    code = collab_main(["copy", "--from", source, "--to", target])
    err = capsys.readouterr().err
    assert code == 1 and err.splitlines() == ["collab: record 4: document 'dump-a' revision 2: text hash does not match"]
    assert contents(target) == {}


# ---- tombstones (format 2) ----

def with_tombstones(good, *tombs):
    """The dump with tombstone records (name, reason, ts) before its end record."""
    recs = copy.deepcopy(good)
    end = recs.pop()
    recs += [{"tombstone": {"name": n, "reason": r, "ts": ts}} for n, r, ts in tombs]
    return [*recs, {"end": dict(end["end"], tombstones=len(tombs))}]


def test_a_restored_dump_keeps_its_tombstones_so_an_old_link_stays_deleted(good, make_app, tmp_path, capsys):
    """Before: a dump had no tombstones, so a deleted document's old link, on a database loaded
    from it, made an empty document of that name again."""
    target = f"sqlite:///{tmp_path}/restored.db"
    code, out = load_cli(tmp_path, capsys, with_tombstones(good, ("gone-doc", "deleted", 7.0),
                                                           ("gone-view", "deleted", 7.0)), target)
    assert code == 0, out.err
    assert "2 documents, 5 revisions, 0 images, 2 tombstones" in out.err
    app = make_app(database_url=target)
    http = app.test_client()
    assert http.get("/api/docs/gone-doc").status_code == 410
    assert http.post("/api/docs", json={"doc": "gone-doc"}).status_code == 410
    assert http.get("/api/docs/dump-a").status_code == 200


def test_a_format_1_dump_still_loads_and_cannot_hold_tombstones(good, tmp_path, capsys):
    old = copy.deepcopy(good)
    old[0]["collab_dump"] = 1
    del old[-1]["end"]["tombstones"], old[-1]["end"]["images"]
    target = f"sqlite:///{tmp_path}/from-format-1.db"
    code, out = load_cli(tmp_path, capsys, old, target)
    assert code == 0 and "2 documents checked, 0 corrupt" in out.out, out.err
    tombstoned = with_tombstones(old, ("gone-doc", "deleted", 7.0))
    del tombstoned[-1]["end"]["tombstones"]
    assert_refused(tmp_path, capsys, tombstoned,
                   "line 10: a tombstone in a dump of format 1 (tombstones came with format 2)")


def test_every_known_reason_loads_and_one_added_to_the_messages_is_known_too(good, tmp_path, capsys, monkeypatch):
    """The reasons are core.errors.GONE_MESSAGES' keys: a reason added there (as `renamed` and
    `rotated` are being) loads with no change here."""
    reasons = sorted(errors.GONE_MESSAGES)
    monkeypatch.setitem(errors.GONE_MESSAGES, "archived", "this document was archived")
    tombs = [(f"t-{reason}", reason, 1.0) for reason in [*reasons, "archived"]]
    target = f"sqlite:///{tmp_path}/reasons.db"
    code, out = load_cli(tmp_path, capsys, with_tombstones(good, *tombs), target)
    assert code == 0, out.err
    store = open_store(target)
    try:
        assert list(store.tombstones()) == [Tombstone(*t) for t in sorted(tombs)]
    finally:
        store.close()


@pytest.mark.parametrize("tombs, message", [
    ([("x", "forgotten", 1.0)], "line 10: tombstone 'x': reason 'forgotten' is not one of deleted, "),
    ([("x", 3, 1.0)], "line 10: 'reason' must be a string, not int"),
    ([("../x", "deleted", 1.0)], "line 10: tombstone name '../x' is not valid"),
    ([("x", "deleted", "then")], "line 10: 'ts' must be a number, not str"),
    ([("x", "deleted", 1.0), ("x", "deleted", 2.0)], "line 11: tombstone 'x' appears twice"),
    ([("dump-a", "deleted", 1.0)], "line 10: tombstone 'dump-a' (deleted) is also document 'dump-a''s edit id in the dump"),
    ([("{view}", "rotated", 1.0)], "line 10: tombstone '{view}' (rotated) is also document 'dump-a''s view token"),
], ids=["unknown reason", "reason not a string", "bad name", "bad time", "twice", "clash id", "clash view"])
def test_bad_tombstones_are_refused_before_anything_is_written(good, tmp_path, capsys, tombs, message):
    view = good[1]["document"]["view_token"]
    tombs = [(n.format(view=view), r, ts) for n, r, ts in tombs]
    assert_refused(tmp_path, capsys, with_tombstones(good, *tombs), message.format(view=view))


def test_tombstones_come_after_the_documents_and_are_counted(good, tmp_path, capsys):
    recs = with_tombstones(good, ("x", "deleted", 1.0))
    assert_refused(tmp_path, capsys, [*recs[:8], recs[9], recs[8], recs[10]],
                   "line 10: a document after the tombstones (they come last, before the end record)")
    uncounted = copy.deepcopy(recs)
    del uncounted[-1]["end"]["tombstones"]
    assert_refused(tmp_path, capsys, uncounted, "line 11: the end record says")


def test_a_tombstone_that_names_a_live_document_of_the_target_is_refused(good, target_url):
    """Both ways: a tombstone of the dump that is a document in the target, and a document of
    the dump whose name is a tombstone in the target. Nothing is written."""
    store = open_store(target_url)
    try:
        store.create_document("alive", "alive-view", 1.0)
        with pytest.raises(dump.DumpError, match=re.escape(
                "line 10: tombstone 'alive-view' (deleted) is a live document's edit id or view token in the target")):
            dump.validate(enumerate(with_tombstones(good, ("alive-view", "deleted", 1.0)), 1), store)
        store.load_tombstones([Tombstone("dump-empty", "deleted", 1.0)])
        with pytest.raises(dump.DumpError, match=re.escape(
                "line 9: document 'dump-empty': id 'dump-empty' is a tombstone in the target database (deleted)")):
            dump.validate(enumerate(good, 1), store)
        assert list(store.document_ids()) == ["alive"]
    finally:
        store.close()


def test_check_reports_a_tombstone_that_is_also_a_live_document(good, tmp_path, capsys):
    target = f"sqlite:///{tmp_path}/clash.db"
    code, _ = load_cli(tmp_path, capsys, good, target)
    assert code == 0
    store = open_store(target)
    try:
        store.load_tombstones([Tombstone(good[8]["document"]["view_token"], "rotated", 1.0)])
    finally:
        store.close()
    assert collab_main(["check", "--database", target]) == 1
    out = capsys.readouterr().out
    assert f"CLASH   dump-empty: its view token {good[8]['document']['view_token']!r} is also a tombstone (rotated)" in out
    assert out.splitlines()[-1] == "2 documents checked, 0 corrupt, 1 clashing with a tombstone"


def test_a_revision_s_account_goes_through_a_dump_and_a_guest_s_has_none(make_app, connect, tmp_path):
    url = f"sqlite:///{tmp_path}/accounts.db"
    app = make_app(database_url=url, sign_in="local", sign_up=1)
    http = app.test_client()
    r = http.post("/api/signup", json={"email": "ann@example.org", "name": "Ann", "password": "long password"},
                  headers={"Origin": "http://localhost"})
    account = r.get_json()["account"]["id"]
    ann, guest = connect(app, flask_test_client=http), connect(app)
    for c in (ann, guest):
        assert c.emit("join", {"doc": "dump-acc", "name": "Bo"}, callback=True)["ok"]
    for v, who in ((1, ann), (2, guest)):
        ack = who.emit("patch", {"doc": "dump-acc", "base": v - 1, "patch": make_patch("x" * (v - 1), "x" * v),
                                 "id": f"op-{v}"}, callback=True)
        assert ack["ok"], ack
    app.extensions["collab"].close()
    store = open_store(url)
    try:
        recs = list(dump.records(store))
    finally:
        store.close()
    revs = [r["revision"] for r in recs if "revision" in r]
    assert revs[0]["account"] == account and "account" not in revs[1]
    target = open_store(f"sqlite:///{tmp_path}/loaded.db")
    try:
        dump.load(enumerate(recs, 1), target)
        assert [(r.author, r.account) for r in target.revisions("dump-acc", 0, 10)] == [("Ann", account),
                                                                                      ("Bo", None)]
    finally:
        target.close()
    bad = copy.deepcopy(recs)
    next(r for r in bad if "revision" in r)["revision"]["account"] = 7
    with pytest.raises(dump.DumpError, match="'account' must be an account id"):
        dump.validate(enumerate(bad, 1))


def test_a_documents_access_goes_through_dump_and_load(tmp_path, capsys):
    """Owner, policies and invited people (schema 10) are carried, whole; a document open by
    its links dumps as before (no access line), and a bad access line is refused."""
    from collab.storage import Access, Member

    url = f"sqlite:///{tmp_path}/src.db"
    store = open_store(url)
    try:
        for doc in ("kept", "open"):
            store.create_document(doc, "view-" + doc, 1.0)
        store.access.claim("kept", "u_owner")
        store.access.set_policies("kept", "invited", "signed_in")
        store.access.set_member("kept", "u_ed", "editor", 2.0)
        store.access.set_member("kept", "u_vi", "viewer", 3.0)
        wanted = store.access.get("kept")
    finally:
        store.close()
    assert wanted == Access("u_owner", "invited", "signed_in", (Member("u_ed", "editor", 2.0), Member("u_vi", "viewer", 3.0)))
    recs = records_of(url)
    assert [next(iter(r)) for r in recs] == ["collab_dump", "document", "access", "document", "end"]
    target = f"sqlite:///{tmp_path}/copy.db"
    code, _ = load_cli(tmp_path, capsys, recs, target)
    assert code == 0
    copy_store = open_store(target)
    try:
        assert copy_store.access.get("kept") == wanted and copy_store.access.get("open") == Access()
    finally:
        copy_store.close()
    bad = copy.deepcopy(recs)
    bad[2]["access"]["edit"] = "everyone"
    assert_refused(tmp_path, capsys, bad, "line 3: 'edit' must be one of link, signed_in, invited")
    bad = copy.deepcopy(recs)
    bad[2]["access"]["members"].append({"user": "u_ed", "role": "viewer", "added": 4.0})
    assert_refused(tmp_path, capsys, bad, "each once")
