"""Backup and moving between stores: `collab dump`, `collab load`, `collab copy`.

Histories made by the real server (patches from two clients, a restore with its
attribution, labels, snapshots) go SQLite -> dump -> PostgreSQL -> dump, byte for byte the
same, and `collab check` passes on the result. Bad dumps are refused before anything is
written, naming the line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from collab.core.patches import make_patch
from collab.storage import open_store

pytestmark = pytest.mark.e2e  # runs the `collab` command in subprocesses


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "collab.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


@pytest.fixture
def source(make_app, connect, tmp_path):
    """A SQLite database with two documents as the server stored them (snapshots every 2)."""
    url = f"sqlite:///{tmp_path}/source.db"
    app = make_app(database_url=url, snapshot_every=2)
    http = app.test_client()
    texts = ["", "Ann's line.", "Ann's line. Bob's 😀 line.", "Ann's line, longer. Bob's 😀 line.", "short"]
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


def dumped(url, tmp_path, name):
    out = tmp_path / name
    r = cli("dump", "--database", url, "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_dump_load_into_postgres_and_dump_again_is_the_same(source, pg_url, tmp_path):
    first = dumped(source, tmp_path, "first.jsonl")
    lines = [json.loads(x) for x in first.read_text(encoding="utf-8").splitlines()]
    assert lines[-1] == {"end": {"documents": 2, "revisions": 5}}
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
    finally:
        store.close()


def test_copy_between_stores_and_load_from_standard_input(source, tmp_path):
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


def test_bad_dumps_are_refused_before_anything_is_written(source, tmp_path):
    lines = dumped(source, tmp_path, "good.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert_refused_and_nothing_written("".join(lines[:-1]), tmp_path, "truncated")
    broken = lines[:3] + ['{"revision": {"version": 3\n'] + lines[4:]
    assert_refused_and_nothing_written("".join(broken), tmp_path, "line 4: not JSON")
    skipped = lines[:2] + lines[3:]  # a revision missing: versions must follow each other
    assert_refused_and_nothing_written("".join(skipped), tmp_path, "line 3:")
    assert_refused_and_nothing_written("hello\n", tmp_path, "line 1: not JSON")
    assert_refused_and_nothing_written('{"document": {}}\n', tmp_path, "not a collab dump")


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
