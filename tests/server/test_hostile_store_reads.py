"""Reads of the store whose rows can be megabytes are not done on the event loop's
connection (issue 13, item 3): a whole history (blame, revert, restore), an old version's
snapshot and revisions (versions, export, diff), the revisions a stale patch is moved
over, an image.

On the event loop they held it for as long as the driver and Python took to make the rows
(100,000 revisions for a blame: read, then pickled for the read worker in one call, 0.4 s;
60 revisions of 2 MB for an old version: 1.2 s for four at once; PostgreSQL's driver yields
while it waits, but makes the rows there all the same). What is counted here is where they
ran, with either store: the statements of the loop's own connection, seen by SQLite's trace
callback; with PostgreSQL, those psycopg's cursors execute on the loop's thread (its pool's
connections). tests/e2e/test_hostile_reads.py measures the stall another client sees.
"""
from __future__ import annotations

import threading
import time

import gevent
import psycopg
import pytest

from collab.core.errors import CollabError
from collab.core.ids import new_view_token
from collab.core.patches import Edit, patch_from_edits, text_hash
from collab.storage import NewRevision, Revision, open_store
from imagekit import png


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Each test with either store (the app fixture's database)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path}/collab.db"


class LoopReads:
    """The SQL the event loop's own connection runs while the block runs: SQLite's reader
    connection, traced; or, with PostgreSQL, any connection used on this thread (the
    loop's), seen as psycopg's cursors execute."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.store = app.extensions["collab"].store
        self.statements: list[str] = []
        self._execute = psycopg.Cursor.execute

    def __enter__(self) -> "LoopReads":
        if hasattr(self.store, "_reader"):  # SQLite
            self.store._reader.set_trace_callback(self.statements.append)
            return self
        loop, seen, execute = threading.get_ident(), self.statements, self._execute

        def traced(cursor, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            if threading.get_ident() == loop:
                seen.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        psycopg.Cursor.execute = traced  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        if hasattr(self.store, "_reader"):
            self.store._reader.set_trace_callback(None)
        psycopg.Cursor.execute = self._execute  # type: ignore[method-assign]

    def of(self, table: str) -> list[str]:
        """The statements that read rows of `table` (an op id's version is not one)."""
        return [s for s in self.statements if f"FROM {table} " in s + " " and not s.startswith("SELECT version FROM")]


def _seed(db_url: str, doc: str, n: int) -> list[str]:
    """`doc` with n revisions of one appended character each, by three authors in turn, a
    snapshot every 1,000 (written straight into the store); texts[v] is the text at v."""
    store = open_store(db_url)
    store.create_document(doc, new_view_token(), time.time())
    texts, batch = [""], []
    for v in range(1, n + 1):
        old = texts[-1]
        new = old + "abcdefghij"[v % 10]
        rev = Revision(doc, v, patch_from_edits(old, [Edit(len(old), "", new[-1])]), f"seed{v % 3}", f"op-{v}",
                       time.time(), text_hash(new))
        batch.append(NewRevision(rev, new if v % 1_000 == 0 else None))
        texts.append(new)
    store.append(batch)
    store.close()
    return texts


@pytest.fixture
def http(app):
    return app.test_client()


def test_history_reads_are_not_made_on_the_event_loops_connection(app, http, db_url, doc_id):
    texts = _seed(db_url, doc_id, 2_500)
    assert http.get(f"/api/docs/{doc_id}").get_json()["version"] == 2_500  # opened (read here: a writer's load)
    with LoopReads(app) as loop:
        blame = http.get(f"/api/docs/{doc_id}/blame").get_json()
        old_blame = http.get(f"/api/docs/{doc_id}/blame?version=1500").get_json()
        version = http.get(f"/api/docs/{doc_id}/versions/1700").get_json()
        export = http.get(f"/api/docs/{doc_id}/export?version=900")
        diff = http.get(f"/api/docs/{doc_id}/diff?from=10&to=1999").get_json()
        revert = http.get(f"/api/docs/{doc_id}/revert?author=seed1&since=2000").get_json()
    assert [(s["start"], s["end"], s["version"], s["author"]) for s in blame["spans"]] == [
        (k, k + 1, k + 1, f"seed{(k + 1) % 3}") for k in range(2_500)]
    assert old_blame["spans"][-1] == {"start": 1_499, "end": 1_500, "version": 1_500, "author": "seed0"}
    assert version["text"] == texts[1_700]
    assert export.status_code == 200 and export.data.decode() == texts[900]
    assert diff["edits"] == [{"pos": 10, "delete": "", "insert": texts[1_999][10:]}]
    assert revert["text"] == "".join(c for k, c in enumerate(texts[2_500]) if k < 2_000 or (k + 1) % 3 != 1)
    # before: every page of revisions (and the snapshot under version 1,700) was read here
    assert loop.of("revisions") == [] and loop.of("snapshots") == [], loop.statements


def test_a_restore_of_a_long_history_reads_it_off_the_event_loops_connection(app, http, db_url, doc_id):
    texts = _seed(db_url, doc_id, 1_500)
    http.get(f"/api/docs/{doc_id}")
    with LoopReads(app) as loop:
        r = http.post(f"/api/docs/{doc_id}/restore", json={"version": 1_200, "name": "Ann"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == texts[1_200]
    # the restore keeps who first wrote each code point
    spans = http.get(f"/api/docs/{doc_id}/blame").get_json()["spans"]
    assert spans[-1] == {"start": 1_199, "end": 1_200, "version": 1_200, "author": "seed0"}
    assert loop.of("revisions") == [] and loop.of("snapshots") == [], loop.statements


def test_a_stale_patch_older_than_memory_reads_its_revisions_off_the_event_loops_connection(
        app, connect, db_url, doc_id):
    """A patch whose base is 2,490 revisions behind, on a document just loaded (memory holds
    none of them): they are read to move the patch over their edits."""
    texts = _seed(db_url, doc_id, 2_500)
    client = connect()
    assert client.emit("join", {"doc": doc_id}, callback=True)["version"] == 2_500
    patch = patch_from_edits(texts[10], [Edit(0, "", "Z")])
    with LoopReads(app) as loop:
        ack = client.emit("patch", {"doc": doc_id, "base": 10, "patch": patch, "id": "stale-z"}, callback=True)
    assert ack["ok"] and ack["version"] == 2_501, ack
    assert app.extensions["collab"].text_at(app.extensions["collab"].open(doc_id), 2_501) == "Z" + texts[2_500]
    assert loop.of("revisions") == [], loop.statements


def test_an_image_is_read_off_the_event_loops_connection(app, http):
    http.post("/api/docs", json={"doc": "imgreads"})
    data = png(300, 300, (9, 8, 7))
    url = http.post("/api/docs/imgreads/images", data=data, content_type="image/png").get_json()["url"]
    with LoopReads(app) as loop:
        got = http.get(url)
        missing = http.get("/images/" + "A" * 24)
    assert got.status_code == 200 and got.data == data and got.headers["Content-Type"] == "image/png"
    assert missing.status_code == 404
    assert loop.of("images") == [], loop.statements


def test_reads_of_large_rows_wait_in_a_bounded_queue():
    """However many image reads are asked for at once, STORE_READS_AT_ONCE run on their
    threads, STORE_READS_WAITING wait, and the next is told to retry: `unavailable` with
    retry_after (HTTP 503 with Retry-After), not a queue without end."""
    from collab.service.runtime import STORE_READS_AT_ONCE, STORE_READS_WAITING, Runtime

    runtime = Runtime()
    release = threading.Event()
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def read(n: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running)
        release.wait(30)
        with lock:
            running[0] -= 1
        return n

    asked = STORE_READS_AT_ONCE + STORE_READS_WAITING
    try:
        readers = [gevent.spawn(runtime.run_store_read, read, n) for n in range(asked)]
        gevent.sleep(0)
        with pytest.raises(CollabError) as exc:
            runtime.run_store_read(read, -1)
        assert exc.value.code == "unavailable" and exc.value.extra["retry_after"] > 0
        release.set()
        gevent.joinall(readers, timeout=30, raise_error=True)
        assert sorted(r.value for r in readers) == list(range(asked))
        assert running[1] <= STORE_READS_AT_ONCE
        assert runtime.run_store_read(read, 7) == 7  # the queue is free again
    finally:
        release.set()
        runtime.close()
