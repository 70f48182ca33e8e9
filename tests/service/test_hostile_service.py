"""Hostile use of the document service's promises (issue 13): stored op ids resent after a
restart, documents evicted while edited, memory of the recent-revision caches, corrupt
documents seen by viewers, health while writes fail, snapshots and disk.

The service runs for real on SQLite (and PostgreSQL where the case is about several
processes); figures are printed (`-s`), never asserted as timings.
"""
from __future__ import annotations

import secrets
import sqlite3

import gevent
import pytest

from collab.core.config import Settings
from collab.core.errors import CollabError
from collab.core.patches import Edit, make_patch, patch_from_edits
from collab.service.documents import DocumentService
from collab.storage import StoreError, open_store


def _doc() -> str:
    return "h-" + secrets.token_hex(6)


@pytest.fixture
def make_service(tmp_path):
    made: list[DocumentService] = []

    def make(url: str | None = None, **settings: object) -> DocumentService:
        s = DocumentService(open_store(url or f"sqlite:///{tmp_path}/svc.db"), Settings(**settings))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _write(service: DocumentService, doc: str, n: int, prefix: str) -> list[int]:
    """n revisions appending "<i>" to doc, op ids prefix-0..; their versions."""
    state = service.open(doc, create=True)
    versions = []
    for i in range(n):
        base, text = service.snapshot(state)
        versions.append(service.submit(state, base, make_patch(text, text + f"<{i}>"), f"{prefix}-{i}", "me").version)
    return versions


# -- item 1: a stored op id is a duplicate whatever the base -------------------------------------

def test_stored_op_id_resent_after_a_restart_is_a_duplicate_and_fails_nobody_else(make_service):
    """After a restart the op ids are only in the store: resending one with the current base
    must answer `duplicate` with its original version, and the revision of another document
    committed in the same group commit must be stored (before: both failed, 10 times)."""
    doc, other = _doc(), _doc()
    first = make_service()
    versions = _write(first, doc, 5, "op")
    _write(first, other, 1, "other")
    first.close()

    service = make_service()  # the restart
    state, honest = service.open(doc), service.open(other)
    results: dict[str, object] = {}

    def resend(i: int) -> None:
        base, text = service.snapshot(state)
        results[f"op-{i}"] = service.submit(state, base, make_patch(text, text + f"<{i}>"), f"op-{i}", "me")

    def edit() -> None:
        base, text = service.snapshot(honest)
        results["honest"] = service.submit(honest, base, make_patch(text, text + "!"), "honest-1", "me")

    # spawned together: all four land in one group commit
    gevent.joinall([gevent.spawn(resend, 1), gevent.spawn(resend, 3), gevent.spawn(edit)], raise_error=True)
    assert results["op-1"].duplicate and results["op-1"].version == versions[1]  # type: ignore[attr-defined]
    assert results["op-3"].duplicate and results["op-3"].version == versions[3]  # type: ignore[attr-defined]
    assert not results["honest"].duplicate and results["honest"].version == 2  # type: ignore[attr-defined]
    assert service.snapshot(state) == (5, "".join(f"<{i}>" for i in range(5)))
    assert service.snapshot(honest) == (2, "<0>!")
    # a second resend is answered from memory, the same way
    again = service.submit(state, 5, make_patch(service.snapshot(state)[1], "x"), "op-2", "me")
    assert again.duplicate and again.version == versions[2]


def test_resent_stored_op_ids_do_not_stop_an_honest_editor(make_service):
    """Four attackers resend stored op ids with a current base as fast as they can; an
    honest editor of another document sends 100 patches meanwhile: all are acknowledged."""
    doc, other = _doc(), _doc()
    first = make_service()
    _write(first, doc, 40, "op")
    first.close()
    service = make_service()
    state = service.open(doc)
    honest = service.open(other, create=True)
    answers = {"duplicate": 0, "other": 0}
    done = False

    def attacker(k: int) -> None:
        i = k
        while not done:
            base, text = service.snapshot(state)
            try:
                r = service.submit(state, base, make_patch(text, text + "x"), f"op-{i % 40}", "evil")
                answers["duplicate" if r.duplicate else "other"] += 1
            except CollabError:
                answers["other"] += 1
            i += 4
            gevent.sleep(0)

    acks, refusals = 0, 0
    attackers = [gevent.spawn(attacker, k) for k in range(4)]
    try:
        for i in range(100):
            base, text = service.snapshot(honest)
            try:
                service.submit(honest, base, make_patch(text, text + "."), f"h-{i}", "honest")
                acks += 1
            except CollabError:
                refusals += 1
    finally:
        done = True
        gevent.joinall(attackers)
    print(f"\nhonest editor: {acks} acks, {refusals} refusals; attackers: {answers}")
    assert (acks, refusals) == (100, 0)
    assert answers["other"] == 0 and answers["duplicate"] > 0
    assert service.snapshot(state)[0] == 40


def test_op_id_older_than_the_op_cache_is_a_duplicate(make_service, monkeypatch):
    """The op-id cache forgets the oldest ops (10,000; 20 here so the test is short): a
    resend of one of those with a current base is still a duplicate (before: `conflict`)."""
    import collab.service.state

    monkeypatch.setattr(collab.service.state, "RECENT_OPS", 20)
    service = make_service()
    doc = _doc()
    versions = _write(service, doc, 30, "op")
    state = service.open(doc)
    base, text = service.snapshot(state)
    r = service.submit(state, base, make_patch(text, text + "<0>"), "op-0", "me")
    assert r.duplicate and r.version == versions[0]
    assert service.snapshot(state) == (base, text)


def test_stored_op_id_is_a_duplicate_even_when_its_patch_no_longer_applies(make_service):
    doc = _doc()
    first = make_service()
    versions = _write(first, doc, 3, "op")
    first.close()
    service = make_service()
    state = service.open(doc)
    # a patch whose context is not in the text: answered by the stored op, not `conflict`
    r = service.submit(state, 3, make_patch("nothing like it", "nothing like that"), "op-0", "me")
    assert r.duplicate and r.version == versions[0]
    assert service.snapshot(state)[0] == 3


def test_postgres_op_applied_by_another_process_is_a_duplicate_not_a_loop(make_service, pg_url):
    """Two processes on one PostgreSQL database: one applies op X; the other, behind, gets the
    same op X (a client resending to another process). Its append loses the race: it must
    catch up and answer `duplicate` with the first process's version, not retry to `conflict`."""
    doc = _doc()
    one, two = make_service(pg_url), make_service(pg_url)
    a = one.open(doc, create=True)
    b = two.open(doc)
    r1 = one.submit(a, 0, make_patch("", "hello"), "op-x", "me")
    r2 = two.submit(b, 0, make_patch("", "hello"), "op-x", "me")
    assert (r2.duplicate, r2.version, r2.hash) == (True, r1.version, r1.hash)
    # and once more after the other process has moved on by more revisions
    one.submit(a, 1, make_patch("hello", "hello world"), "op-y", "me")
    r3 = two.submit(b, 1, make_patch("hello", "hello world"), "op-y", "me")
    assert r3.duplicate and r3.version == 2
    # after a restart of the second process, with a current base
    fresh = make_service(pg_url)
    c = fresh.open(doc)
    r4 = fresh.submit(c, 2, make_patch("hello world", "hello world!"), "op-x", "me")
    assert r4.duplicate and r4.version == 1
    assert fresh.snapshot(c) == (2, "hello world")


# -- item 6: the recent-revision caches are bounded in bytes ---------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def test_large_revisions_do_not_fill_memory(make_service):
    """80 revisions that each replace 400,000 characters: the recent-revision cache and the
    op-id cache must stay bounded in bytes (before: 1,000 revisions of any size were kept,
    each with its patch and edits: here ~130 MB)."""
    import tracemalloc

    service = make_service()
    state = service.open(_doc(), create=True)
    size = 400_000
    text = "a" * size
    service.submit(state, 0, make_patch("", text), "big-0", "me")
    rss = _rss_mb()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for v in range(1, 81):
        new = chr(ord("a") + v % 26) * size
        # (a patch made from the edit directly: make_patch diffs for a second)
        service.submit(state, v, patch_from_edits(text, [Edit(0, text, new)]), f"big-{v}", "me")
        text = new
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"\n80 revisions of {size:,} characters replaced: {held / 1e6:.1f} MB still held, "
          f"RSS {rss:.0f} -> {_rss_mb():.0f} MB; {len(state.recent)} revisions in memory")
    assert service.snapshot(state) == (81, text)
    assert held < 40e6, f"{held / 1e6:.1f} MB held by the caches"
    # what left memory is still served: from the store
    assert [r.version for r in service.revisions(state, 0, 81)] == list(range(1, 82))
    assert service.text_at(state, 2) == "b" * size
    assert service.submit(state, 81, patch_from_edits(text, [Edit(0, text, "x")]), "big-3", "me").version == 4


# -- item 2: a document being edited is never evicted ----------------------------------------------

def _call(client, event: str, data: dict) -> dict:  # type: ignore[no-untyped-def]
    return client.emit(event, data, callback=True)


def test_a_joined_document_is_not_evicted_while_others_are_opened(make_app, connect):
    """An editor joined over a minute ago (simulated: its last use set back) keeps typing
    while 1,001 other documents are opened. Before: the document was dropped, re-opened as a
    second state, the next patch was `internal` after changing state, its resend never acked."""
    app = make_app()
    service: DocumentService = app.extensions["collab"]
    doc = _doc()
    c = connect(app)
    assert _call(c, "join", {"doc": doc, "name": "Ann"})["ok"]
    ack = _call(c, "patch", {"doc": doc, "base": 0, "patch": make_patch("", "hello"), "id": "e-1"})
    assert ack["ok"] and ack["version"] == 1
    service._docs[doc].last_used -= 120  # joined long ago, quiet for two minutes
    for i in range(1_001):
        service.open(f"{doc}-{i}", create=True)
    # someone else opens it now (before: a second state of the same document)
    c2 = connect(app)
    assert _call(c2, "join", {"doc": doc, "name": "Bob"})["text"] == "hello"
    ack = _call(c, "patch", {"doc": doc, "base": 1, "patch": make_patch("hello", "hello world"), "id": "e-2"})
    assert ack["ok"] and ack["version"] == 2, ack
    again = _call(c, "patch", {"doc": doc, "base": 1, "patch": make_patch("hello", "hello world"), "id": "e-2"})
    assert again["ok"] and again["version"] == 2 and again.get("duplicate"), again
    assert service.snapshot(service.open(doc)) == (2, "hello world")
    # after leaving, the document may go again (a reload reads the same text)
    assert _call(c, "leave", {"doc": doc})["ok"] and _call(c2, "leave", {"doc": doc})["ok"]
    assert service._docs[doc].pins == 0


def test_open_documents_are_bounded_by_memory_not_by_count(make_service):
    """With room for ~1 MB of open documents, 40 idle documents of 100,000 characters each:
    the idle ones are dropped (least recently used first), a pinned one never is."""
    service = make_service(max_open_bytes=1_000_000)
    pinned = service.open(_doc(), create=True)
    service.submit(pinned, 0, make_patch("", "p" * 100_000), "p-1", "me")
    service.pin(pinned)
    pinned.last_used -= 3600
    docs = []
    for i in range(40):
        state = service.open(_doc(), create=True)
        service.submit(state, 0, make_patch("", "x" * 100_000), f"x-{i}", "me")
        state.last_used -= 120  # idle for two minutes
        docs.append(state.id)
    held = service.open_bytes()
    print(f"\n41 documents of 100,000 characters opened: {len(service._docs)} open, "
          f"{held:,} bytes counted")
    assert service._docs[pinned.id] is pinned
    assert len(service._docs) < 15 and held <= 1_000_000 + 400_000
    # a dropped document reloads with its text
    assert service.snapshot(service.open(docs[0])) == (1, "x" * 100_000)
    service.unpin(pinned)


def test_a_state_dropped_meanwhile_is_taken_back_before_anything_changes(make_service):
    """A caller still holding a state the service dropped writes through it: the service takes
    it back (one state per document) instead of failing after changing it."""
    service = make_service()
    state = service.open(_doc(), create=True)
    service.submit(state, 0, make_patch("", "a"), "d-1", "me")
    del service._docs[state.id]  # dropped while a request held it
    r = service.submit(state, 1, make_patch("a", "ab"), "d-2", "me")
    assert r.version == 2 and service.open(state.id) is state
    assert service.snapshot(state) == (2, "ab")


# -- item 12: a viewer never learns the edit id, even from a corrupt document ----------------------

def test_doc_corrupt_never_names_the_edit_id(make_app, connect, tmp_path):
    doc = _doc()
    app = make_app()
    service: DocumentService = app.extensions["collab"]
    state = service.open(doc, create=True)
    service.submit(state, 0, make_patch("", "fine text"), "k1", "me")
    view = state.view_token
    app.extensions["collab"].close()
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE revisions SET patch = '@@ -5,1 +5,1 @@\n-q\n+r\n' WHERE doc = ?", (doc,))
    db.close()
    app2 = make_app()
    seen = []
    c = connect(app2)
    ack = _call(c, "join", {"view": view, "name": "V"})
    assert ack["ok"] is False and ack["error"]["code"] == "doc_corrupt", ack
    seen.append(str(ack))
    http = app2.test_client()
    for path in (f"/api/docs/{view}/versions/1", f"/api/docs/{view}/export", f"/api/docs/{view}"):
        r = http.get(path)
        assert r.status_code == 500 and r.get_json()["error"]["code"] == "doc_corrupt", (path, r.data)
        seen.append(r.get_data(as_text=True))
    print("\n" + "\n".join(seen))
    assert not [s for s in seen if doc in s]


# -- item 16: health says whether writes work --------------------------------------------------------

def test_health_fails_while_writes_fail_and_the_log_names_the_real_error(make_app, caplog, tmp_path):
    """A full disk (SQLite's own limit on the file's pages: the same SQLITE_FULL a full disk
    gives): the patch is refused, the log says "database or disk is full" (before: "cannot
    rollback - no transaction is active"), /healthz is 503 naming it (before: 200); once
    there is room again /healthz is 200 after the next write."""
    app = make_app()
    service: DocumentService = app.extensions["collab"]
    http = app.test_client()
    state = service.open(_doc(), create=True)
    service.submit(state, 0, make_patch("", "hello"), "f-1", "me")
    assert http.get("/healthz").status_code == 200
    writer = service.store._writer  # type: ignore[attr-defined]
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    with pytest.raises(CollabError) as exc:
        service.submit(state, 1, make_patch("hello", "hello" + "y" * 100_000), "f-2", "me")
    assert exc.value.code == "internal"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "database or disk is full" in logged and "cannot rollback" not in logged, logged
    r = http.get("/healthz")
    print(f"\nwhile full: {r.status_code} {r.get_json()}")
    assert r.status_code == 503 and "full" in r.get_json()["error"]["message"]
    assert service.snapshot(state) == (1, "hello")
    writer.execute("PRAGMA max_page_count = 1073741823")  # room again
    assert service.submit(state, 1, make_patch("hello", "hello" + "y" * 100_000), "f-2", "me").version == 2
    assert http.get("/healthz").status_code == 200


def test_health_fails_once_the_database_file_is_found_damaged(make_app, tmp_path):
    """The database file truncated under a running server: the first read that finds it
    damaged fails clearly, and from then on /healthz is 503 (before: 200 throughout)."""
    import os

    app = make_app()
    service: DocumentService = app.extensions["collab"]
    http = app.test_client()
    state = service.open(_doc(), create=True)
    for i in range(200):
        base, text = service.snapshot(state)
        service.submit(state, base, make_patch(text, text + "x" * 100), f"t-{i}", "me")
    service.store._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    os.truncate(tmp_path / "collab.db", 0)
    with pytest.raises(StoreError, match="not a database"):
        service.open(_doc(), create=True)  # reads the damaged file
    r = http.get("/healthz")
    print(f"\ntruncated: {r.status_code} {r.get_json()}")
    assert r.status_code == 503 and "damaged" in r.get_json()["error"]["message"]


# -- item 19: snapshots by bytes written, reads still bounded ----------------------------------------

def test_keystrokes_on_a_large_document_do_not_multiply_the_disk(make_service, tmp_path):
    """A 300,000-character document, then 1,500 one-character revisions: the snapshots must
    not cost the whole text every 100 keystrokes (before: 15 x 300,000 = 3,000 code points a
    keystroke), and any version still reads back exactly (worst read time printed)."""
    import time

    size, keys = 300_000, 1_500
    service = make_service()
    doc = _doc()
    state = service.open(doc, create=True)
    text = "".join(chr(97 + i % 26) for i in range(size))
    service.submit(state, 0, patch_from_edits("", [Edit(0, "", text)]), "k-0", "me")
    texts = {1: text}
    for v in range(2, keys + 2):
        pos = (v * 7919) % len(text)
        patch = patch_from_edits(text, [Edit(pos, "", "#")])
        text = text[:pos] + "#" + text[pos:]
        service.submit(state, v - 1, patch, f"k-{v}", "me")
        if v % 97 == 0 or v == keys + 1:
            texts[v] = text
    db = sqlite3.connect(tmp_path / "svc.db")
    snap_bytes = db.execute("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM snapshots WHERE doc = ? AND version > 1",
                            (doc,)).fetchone()[0]
    rev_bytes = db.execute("SELECT SUM(LENGTH(patch)) FROM revisions WHERE doc = ? AND version > 1",
                           (doc,)).fetchone()[0]
    db.close()
    fresh = make_service()  # reads from the store, not memory
    reader = fresh.open(doc)
    worst = 0.0
    for v, expected in texts.items():
        start = time.perf_counter()
        got = fresh.text_at(reader, v)
        worst = max(worst, time.perf_counter() - start)
        assert got == expected, v
    print(f"\n{keys} keystrokes on {size:,} characters: snapshots {snap_bytes / keys:,.0f} B a keystroke, "
          f"patches {rev_bytes / keys:,.0f} B; worst read of a version {worst * 1000:.0f} ms")
    assert snap_bytes / keys <= size / 500


def test_whole_rewrites_of_a_large_document_are_snapshotted_before_the_count(make_service, tmp_path):
    """30 revisions each replacing all of a 200,000-character text: the next read must not
    replay all of them (a stranger's 99 rewrites of 1.5 M characters took a cold read 6 s,
    most of it holding up everyone). A snapshot comes once the revisions since the last add
    up to 4 texts, whatever COLLAB_SNAPSHOT_EVERY says; every version still reads exactly."""
    size, rewrites = 200_000, 30
    service = make_service()
    doc = _doc()
    state = service.open(doc, create=True)
    texts = {0: ""}
    for v in range(1, rewrites + 1):
        text = "".join(chr(97 + (i * v) % 26) for i in range(size))
        service.submit(state, v - 1, make_patch(texts[v - 1], text), f"w-{v}", "me")
        texts[v] = text
    db = sqlite3.connect(tmp_path / "svc.db")
    versions = [v for (v,) in db.execute("SELECT version FROM snapshots WHERE doc = ? ORDER BY version", (doc,))]
    db.close()
    print(f"\n{rewrites} rewrites of {size:,} characters: snapshots at {versions}")
    gaps = [b - a for a, b in zip([0] + versions, versions + [rewrites])]
    assert versions and max(gaps) <= 4, versions
    fresh = make_service()  # reads from the store, not memory
    reader = fresh.open(doc)
    for v in (1, 7, 15, rewrites):
        assert fresh.text_at(reader, v) == texts[v], v


def test_a_hunk_of_many_operations_is_costed_by_them_and_applied_off_the_event_loop():
    """A hunk of 10,000 alternating context and insert lines (within the line limit) was costed
    as one hunk, ~24,000 code points copied, under the offloading threshold: applied on the
    event loop, 66 ms each (gevent's monitor found the loop blocked in Rope.edit and
    patch_from_edits under it). A keystroke is still applied on the loop."""
    from collab.core.patches import parse_patch
    from collab.core.rope import Rope
    from collab.service.submit import OFFLOAD_OVER, _revise_cost

    n = 4_999
    many = parse_patch(f"@@ -1,{n} +1,{2 * n} @@\n" + " a\n+b\n" * n)
    assert _revise_cost(Rope("a" * n), many, None) > OFFLOAD_OVER
    text = "y" * 1_000_000
    keystroke = parse_patch(patch_from_edits(text, [Edit(500_000, "", "z")]))
    assert _revise_cost(Rope(text), keystroke, None) < OFFLOAD_OVER / 10
