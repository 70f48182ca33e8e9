"""The storage contract: every backend passes these (SQLite here; PostgreSQL joins later)."""
import dataclasses

import pytest

from collab.storage import NewRevision, Revision, StoreConflict, StoreError, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/contract.db")
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def rev(doc, version, op=None, patch="@@ -0,0 +1,1 @@\n+x\n"):
    return Revision(doc, version, patch, "ann", op or f"op-{doc}-{version}", 1000.0 + version, "0000abcd")


def test_create_is_idempotent_and_keeps_the_first_token(store):
    first = store.create_document("d1", "tok1", 10.0)
    again = store.create_document("d1", "tok2", 20.0)
    assert first == again
    assert (first.id, first.view_token, first.head, first.created) == ("d1", "tok1", 0, 10.0)
    assert store.get_document_by_view("tok1") == first
    assert store.get_document("nope") is None and store.get_document_by_view("nope") is None


def test_append_and_read_back_in_order(store):
    store.create_document("d", "t", 1.0)
    store.append([NewRevision(rev("d", 1), None), NewRevision(rev("d", 2), None)])
    store.append([NewRevision(rev("d", 3), "snapshot text")])
    assert [r.version for r in store.revisions("d", 0, 10)] == [1, 2, 3]
    assert store.revisions("d", 1, 1) == [rev("d", 2)]
    assert store.revisions("d", 3, 10) == []
    row = store.get_document("d")
    assert row.head == 3 and row.updated == 1003.0
    assert store.latest_snapshot("d", 3) == (3, "snapshot text")
    assert store.latest_snapshot("d", 2) == (0, "")
    assert store.snapshot_versions("d") == [3] and store.snapshot_versions("nope") == []
    store.probe_write()  # a store that takes writes says so
    assert store.find_op("d", "op-d-2") == 2
    assert store.find_op("d", "other") is None


def test_a_batch_spans_documents(store):
    store.create_document("a", "ta", 1.0)
    store.create_document("b", "tb", 1.0)
    store.append([NewRevision(rev("a", 1), None), NewRevision(rev("b", 1), None), NewRevision(rev("a", 2), None)])
    assert store.get_document("a").head == 2 and store.get_document("b").head == 1
    assert sorted(store.document_ids()) == ["a", "b"]


@pytest.mark.parametrize("bad", [
    lambda: [NewRevision(rev("d", 1), None), NewRevision(rev("d", 1, op="other"), None)],  # version taken
    lambda: [NewRevision(rev("d", 1), None), NewRevision(rev("d", 2, op="op-d-1"), None)],  # op id taken
    lambda: [NewRevision(rev("missing", 1), None)],  # no such document
])
def test_a_failing_batch_stores_nothing(store, bad):
    store.create_document("d", "t", 1.0)
    with pytest.raises(StoreError):
        store.append(bad())
    assert store.revisions("d", 0, 10) == []
    assert store.get_document("d").head == 0


def test_a_version_already_stored_is_refused(store):
    store.create_document("d", "t", 1.0)
    store.append([NewRevision(rev("d", 1), None)])
    with pytest.raises(StoreError):
        store.append([NewRevision(rev("d", 1, op="again"), None)])
    assert [r.op_id for r in store.revisions("d", 0, 10)] == ["op-d-1"]


def test_unicode_round_trips(store):
    store.create_document("d", "t", 1.0)
    text = "😀😁 中文 e\u0301 שלום"
    store.append([NewRevision(Revision("d", 1, "p", "名前 😀", "op", 1.0, "h"), text)])
    assert store.latest_snapshot("d", 1) == (1, text)
    assert store.revisions("d", 0, 1)[0].author == "名前 😀"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_data_survives_reopening(request, tmp_path, backend):
    url = f"sqlite:///{tmp_path}/reopen.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    s = open_store(url)
    s.create_document("d", "t", 1.0)
    s.append([NewRevision(rev("d", 1), None)])
    s.close()
    s = open_store(url)
    assert s.get_document("d").head == 1 and s.find_op("d", "op-d-1") == 1
    s.close()


def test_unsupported_urls_name_the_fix():
    with pytest.raises(ValueError, match="use sqlite:///path/to/file.db or postgresql://"):
        open_store("mysql://localhost/x")
    with pytest.raises(ValueError, match="is not a URL: for a SQLite file write sqlite:///notes.db"):
        open_store("notes.db")


def test_labels_name_versions_per_document(store):
    store.create_document("d", "t", 1.0)
    store.create_document("e", "u", 1.0)
    assert store.labels("d") == []
    store.set_label("d", 5, "draft", 10.0)
    store.set_label("d", 2, "first 😀", 11.0)
    store.set_label("e", 1, "draft", 12.0)
    assert [(x.version, x.name, x.ts) for x in store.labels("d")] == [(2, "first 😀", 11.0), (5, "draft", 10.0)]
    store.set_label("d", 7, "draft", 13.0)  # a name used again moves to the new version
    assert [(x.version, x.name) for x in store.labels("d")] == [(2, "first 😀"), (7, "draft")]
    assert store.delete_label("d", "draft") is True
    assert store.delete_label("d", "draft") is False
    assert [x.name for x in store.labels("d")] == ["first 😀"]
    assert [(x.version, x.name) for x in store.labels("e")] == [(1, "draft")]


def test_appending_from_a_stale_head_is_a_conflict(store):
    """Two writers (processes) both think the head is 1: the second one loses, whole."""
    store.create_document("d", "t", 1.0)
    store.append([NewRevision(rev("d", 1), None)])
    store.append([NewRevision(rev("d", 2, op="first"), None)])
    with pytest.raises(StoreConflict):
        store.append([NewRevision(rev("d", 2, op="second"), None), NewRevision(rev("d", 3, op="third"), None)])
    with pytest.raises(StoreConflict):  # an op id another writer already stored
        store.append([NewRevision(rev("d", 3, op="first"), None)])
    assert [r.op_id for r in store.revisions("d", 0, 10)] == ["op-d-1", "first"]
    assert store.get_document("d").head == 2


def test_sqlite_append_without_waiting_refuses_a_locked_database(tmp_path):
    """append(wait=False) raises StoreBusy at once, storing nothing, while another writer
    holds the lock; the next append waits for it as usual."""
    import sqlite3

    from collab.storage import StoreBusy

    s = open_store(f"sqlite:///{tmp_path}/busy.db?timeout=5")
    s.create_document("d", "tok", 1.0)
    other = sqlite3.connect(str(tmp_path / "busy.db"), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreBusy):
        s.append([NewRevision(rev("d", 1), None)], wait=False)
    other.execute("ROLLBACK")
    s.append([NewRevision(rev("d", 1), None)], wait=False)
    assert [r.version for r in s.revisions("d", 0, 10)] == [1]
    # the default waits again (the busy timeout is restored): the lock is let go meanwhile
    import threading

    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, other.execute, ("ROLLBACK",)).start()
    s.append([NewRevision(rev("d", 2), None)])
    assert s.get_document("d").head == 2
    s.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_durability_process_trades_the_fsync_for_survival_of_the_process_only(request, tmp_path, backend):
    """"disk" (the default) fsyncs every commit; "process" leaves it to the OS (SQLite) or
    lets PostgreSQL acknowledge before its WAL is flushed. Both keep every row."""
    url = f"sqlite:///{tmp_path}/d.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    setting = {}
    for durability in ("disk", "process"):
        store = open_store(url, durability)
        try:
            if backend == "sqlite":
                setting[durability] = store._writer.execute("PRAGMA synchronous").fetchone()[0]
            else:
                setting[durability] = store._query("SHOW synchronous_commit")[0][0]
            store.create_document(f"doc-{durability}", f"view-{durability}", 1.0)
        finally:
            store.close()
    assert setting == ({"disk": 2, "process": 1} if backend == "sqlite" else {"disk": "on", "process": "off"})
    store = open_store(url)
    try:
        assert sorted(store.document_ids()) == ["doc-disk", "doc-process"]
    finally:
        store.close()
    with pytest.raises(ValueError, match="durability must be"):
        open_store(url, "memory")


def test_delete_takes_everything_of_a_document_and_leaves_its_names_as_tombstones(store):
    store.create_document("d", "view-d", 1.0)
    store.create_document("keep", "view-k", 1.0)
    store.append([NewRevision(rev("d", 1), None), NewRevision(rev("d", 2), "snap"), NewRevision(rev("keep", 1), None)])
    store.set_label("d", 1, "first", 2.0)
    assert store.tombstone("d") is None and store.tombstone("view-d") is None
    row = store.delete_document("d", 50.0)
    assert (row.id, row.view_token, row.head) == ("d", "view-d", 2)
    assert store.get_document("d") is None and store.get_document_by_view("view-d") is None
    assert store.revisions("d", 0, 10) == [] and store.snapshot_versions("d") == [] and store.labels("d") == []
    assert store.find_op("d", "op-d-1") is None
    assert [(t.name, t.reason, t.ts) for t in (store.tombstone("d"), store.tombstone("view-d"))] == \
        [("d", "deleted", 50.0), ("view-d", "deleted", 50.0)]
    # the other document is untouched; deleting what is not there changes nothing
    assert store.get_document("keep").head == 1 and [r.version for r in store.revisions("keep", 0, 10)] == [1]
    assert sorted(store.document_ids()) == ["keep"]
    assert store.delete_document("d", 60.0) is None and store.delete_document("never", 60.0) is None
    assert store.tombstone("d").ts == 50.0 and store.tombstone("never") is None
    with pytest.raises(StoreConflict):  # a writer that still thinks it exists stores nothing
        store.append([NewRevision(rev("d", 3), None)])
    assert store.revisions("d", 0, 10) == []


def test_tombstones_are_listed_loaded_and_found_by_time(store):
    """What `collab dump` and `collab load` carry, and what a server without a queue polls."""
    from collab.storage import Tombstone

    store.create_document("d", "view-d", 1.0)
    store.delete_document("d", 50.0)
    assert list(store.tombstones()) == [Tombstone("d", "deleted", 50.0), Tombstone("view-d", "deleted", 50.0)]
    loaded = [Tombstone("B-old", "rotated", 10.0), Tombstone("a-renamed", "renamed", 70.0),
              Tombstone("d", "rotated", 99.0)]  # d is one already: it keeps its own
    assert store.load_tombstones(loaded) == 2
    assert [t.name for t in store.tombstones()] == ["B-old", "a-renamed", "d", "view-d"], "by code point"
    assert store.tombstone("d") == Tombstone("d", "deleted", 50.0)
    assert store.tombstones_since(50.0) == [Tombstone("d", "deleted", 50.0), Tombstone("view-d", "deleted", 50.0),
                                            Tombstone("a-renamed", "renamed", 70.0)]
    assert store.tombstones_since(70.5) == []
    assert store.load_tombstones([]) == 0


def test_a_store_asked_not_to_create_refuses_a_database_without_collab_tables(request, tmp_path):
    """open_store(create=False), for commands that only read: nothing is made."""
    from collab.storage import NoDatabase

    with pytest.raises(NoDatabase, match=f"no SQLite database at {tmp_path}/missing.db"):
        open_store(f"sqlite:///{tmp_path}/missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    url = request.getfixturevalue("pg_url")  # a fresh, empty database
    with pytest.raises(NoDatabase, match="no collab database at postgresql://.*: it holds no collab tables"):
        open_store(url, create=False)
    open_store(url).close()  # made, as the server or `collab migrate` makes it
    open_store(url, create=False).close()


def test_rename_moves_the_whole_history_and_leaves_the_old_id_as_a_tombstone(store):
    store.create_document("old", "view-o", 1.0)
    store.create_document("keep", "view-k", 1.0)
    store.append([NewRevision(rev("old", 1), None), NewRevision(rev("old", 2), "snap"), NewRevision(rev("keep", 1), None)])
    store.set_label("old", 1, "first", 2.0)
    before = store.revisions("old", 0, 10)
    row = store.rename_document("old", "new", 50.0)
    assert (row.id, row.view_token, row.head, row.created) == ("new", "view-o", 2, 1.0)
    assert store.get_document("new") == row == store.get_document_by_view("view-o")
    assert [r.version for r in store.revisions("new", 0, 10)] == [1, 2]
    assert [(r.patch, r.op_id, r.hash) for r in store.revisions("new", 0, 10)] == [(r.patch, r.op_id, r.hash) for r in before]
    assert store.snapshot_versions("new") == [2] and store.latest_snapshot("new", 2) == (2, "snap")
    assert [(lab.name, lab.version) for lab in store.labels("new")] == [("first", 1)]
    assert store.find_op("new", "op-old-1") == 1
    # nothing is left under the old id, which is a tombstone; the other document is untouched
    assert store.get_document("old") is None and store.revisions("old", 0, 10) == []
    assert store.snapshot_versions("old") == [] and store.labels("old") == [] and store.find_op("old", "op-old-1") is None
    tomb = store.tombstone("old")
    assert (tomb.name, tomb.reason, tomb.ts) == ("old", "renamed", 50.0) and store.tombstone("new") is None
    assert sorted(store.document_ids()) == ["keep", "new"] and store.get_document("keep").head == 1
    with pytest.raises(StoreConflict):  # a writer still using the old id stores nothing
        store.append([NewRevision(rev("old", 3), None)])
    store.append([NewRevision(rev("new", 3), None)])  # the new id takes writes
    assert store.rename_document("old", "other", 60.0) is None and store.get_document("other") is None


@pytest.mark.parametrize("taken", ["keep", "view-k", "view-o", "gone", "new"])
def test_rename_to_a_taken_name_changes_nothing(store, taken):
    """A document's id, any view token (its own too) and any tombstone are taken."""
    store.create_document("new", "view-o", 1.0)
    store.create_document("keep", "view-k", 1.0)
    store.create_document("gone", "view-g", 1.0)
    store.delete_document("gone", 2.0)
    store.append([NewRevision(rev("new", 1), None)])
    with pytest.raises(StoreConflict, match="taken"):
        store.rename_document("new", taken, 50.0)
    assert store.get_document("new").head == 1 and [r.version for r in store.revisions("new", 0, 10)] == [1]
    assert store.tombstone("new") is None


def test_rotating_the_view_token_keeps_the_document_and_retires_the_old_token(store):
    store.create_document("d", "view-1", 1.0)
    store.append([NewRevision(rev("d", 1), None)])
    row = store.rotate_view_token("d", "view-2", 50.0)
    assert (row.id, row.view_token, row.head) == ("d", "view-2", 1)
    assert store.get_document("d") == row == store.get_document_by_view("view-2")
    assert store.get_document_by_view("view-1") is None
    tomb = store.tombstone("view-1")
    assert (tomb.reason, tomb.ts) == ("rotated", 50.0) and store.tombstone("d") is None
    assert [r.version for r in store.revisions("d", 0, 10)] == [1]
    for taken in ("view-1", "view-2", "d"):  # the old token is a tombstone; the others are in use
        with pytest.raises(StoreConflict):
            store.rotate_view_token("d", taken, 60.0)
    assert store.get_document("d").view_token == "view-2"
    assert store.rotate_view_token("never", "view-3", 60.0) is None


def test_every_table_keyed_by_a_document_is_listed(store, tmp_path):
    """Delete and rename go through schema.DOCUMENT_TABLES: a table with a `doc` column that
    is not listed would keep a deleted document's rows, or lose a renamed one's."""
    from collab.storage.schema import DOCUMENT_TABLES

    if hasattr(store, "_reader"):
        tables = {r[0] for r in store._reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        keyed = {t for t in tables if "doc" in {c[1] for c in store._reader.execute(f"PRAGMA table_info({t})")}}
    else:
        keyed = {r[0] for r in store._query("SELECT table_name FROM information_schema.columns "
                                            "WHERE table_schema = current_schema() AND column_name = 'doc'")}
    assert keyed == set(DOCUMENT_TABLES)


# ---- images (schema migration 6) ----

def image(doc, image_id, data=b"\x89PNG\r\n\x1a\n-bytes-", created=5.0):
    import hashlib

    from collab.storage import Image

    return Image(image_id, doc, "image/png", len(data), hashlib.sha256(data).hexdigest(), created, data)


def test_images_are_stored_beside_their_document_within_its_quota(store):
    store.create_document("d", "view-d", 1.0)
    first, second = image("d", "img1", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), image("d", "img2")
    assert store.add_image(first, 2000) == 0
    assert store.add_image(second, 2000) == first.size
    assert store.image("img1") == first and isinstance(store.image("img1").data, bytes)
    described = [dataclasses.replace(first, data=None), dataclasses.replace(second, data=None)]
    assert store.images("d") == described  # by id, without their bytes
    assert store.image("nope") is None and store.images("nope") == []
    # one more would pass the quota: refused, nothing stored, and the total so far told
    third = image("d", "img3", b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
    assert store.add_image(third, 2000) == first.size + second.size
    assert store.image("img3") is None and [i.id for i in store.images("d")] == ["img1", "img2"]
    # no such document: nothing stored
    assert store.add_image(image("ghost", "img4"), 2000) is None and store.image("img4") is None
    with pytest.raises(StoreConflict):  # an id is one image's
        store.add_image(image("d", "img1"), 10_000)


def test_delete_images_removes_only_those_named_and_uploaded_before_and_frees_the_quota(store):
    store.create_document("d", "view-d", 1.0)
    old, young, kept = image("d", "img1", created=5.0), image("d", "img2", created=50.0), image("d", "img3", created=5.0)
    for i in (old, young, kept):
        store.add_image(i, 10_000)
    gone = store.delete_images(["img2", "img1", "img1", "nope"], created_before=10.0)
    assert gone == [dataclasses.replace(old, data=None)]  # the young one is not old enough
    assert store.image("img1") is None and store.image("img2") is not None
    assert [i.id for i in store.images("d")] == ["img2", "img3"]
    # the quota is what is left
    assert store.add_image(image("d", "img4"), 10_000) == young.size + kept.size
    assert store.delete_images([], created_before=10.0) == []


def test_deleting_a_document_removes_its_images_and_renaming_moves_them(store):
    store.create_document("d", "view-d", 1.0)
    store.create_document("keep", "view-k", 1.0)
    store.add_image(image("d", "img1"), 10_000)
    store.add_image(image("keep", "img2"), 10_000)
    store.rename_document("d", "new", 2.0)
    assert store.image("img1").doc == "new" and [i.id for i in store.images("new")] == ["img1"]
    assert store.images("d") == []
    store.delete_document("new", 3.0)
    assert store.image("img1") is None and store.images("new") == []
    assert store.image("img2").doc == "keep"  # another document's stay


def test_a_loaded_document_carries_its_images(store):
    from collab.storage import DocumentRow, Label

    row = DocumentRow("loaded", "view-l", 1, 1.0, 2.0)
    pic = image("loaded", "img9", created=1.5)
    store.load_document(row, [NewRevision(rev("loaded", 1), "x"), Label(1, "one", 1.0), pic])
    assert store.image("img9") == pic and [i.id for i in store.images("loaded")] == ["img9"]

    def failing():
        yield image("broken", "img10")
        raise StoreError("the dump went bad")

    with pytest.raises(StoreError):
        store.load_document(DocumentRow("broken", "view-b", 0, 1.0, 1.0), failing())
    assert store.image("img10") is None and store.get_document("broken") is None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_uploads_from_two_processes_never_pass_the_quota_together(request, tmp_path, backend):
    """Two stores (as two server processes) each add images of one document at once, with a
    quota for half of them: the quota holds exactly, whoever wins each race."""
    import threading

    url = f"sqlite:///{tmp_path}/race.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    stores = [open_store(url), open_store(url)]
    try:
        stores[0].create_document("d", "view-d", 1.0)
        one = image("d", "x").size
        start = threading.Barrier(2)

        def add(n):
            start.wait()
            for i in range(60):
                stores[n].add_image(image("d", f"img-{n}-{i}"), 60 * one)

        threads = [threading.Thread(target=add, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(stores[1].images("d")) == 60 and sum(i.size for i in stores[0].images("d")) == 60 * one
    finally:
        for s in stores:
            s.close()


def test_postgres_an_upload_waits_for_another_transaction_on_its_document_and_then_counts_its_images(pg_url):
    """Another process's upload holds the document's row with an image that fills the quota,
    not yet committed: this upload waits for it (the row lock), then sees the quota full and
    stores nothing. Without the lock it summed the committed images only and passed the quota."""
    import threading
    import time as clock

    import psycopg

    store = open_store(pg_url)
    try:
        store.create_document("d", "view-d", 1.0)
        filler, late = image("d", "filler"), image("d", "late")
        answers = []
        with psycopg.connect(pg_url) as other:
            other.execute("SELECT 1 FROM documents WHERE id = 'd' FOR UPDATE")
            other.execute("INSERT INTO images (id, doc, type, size, sha256, created, data) VALUES "
                          "(%s, %s, %s, %s, %s, %s, %s)", (filler.id, "d", filler.type, filler.size,
                                                           filler.sha256, filler.created, filler.data))
            t = threading.Thread(target=lambda: answers.append(store.add_image(late, filler.size)))
            t.start()
            while t.is_alive():  # until the upload waits for the row (or, unlocked, has finished)
                waiting = other.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND datname = current_database()").fetchone()[0]
                if waiting:
                    break
                clock.sleep(0.01)
            other.commit()
        t.join()
        assert answers == [filler.size]  # it counted the filler: nothing stored
        assert [i.id for i in store.images("d")] == ["filler"]
    finally:
        store.close()


# -- accounts (schema migration 7) ---------------------------------------------------------


def test_a_revision_keeps_its_account_and_a_guest_has_none(store):
    store.create_document("da", "tok-da", 1.0)
    signed = Revision("da", 1, "@@ -0,0 +1,1 @@\n+x\n", "Ann", "op-1", 2.0, "0000abcd", account="u_ann")
    store.append([NewRevision(signed, None), NewRevision(rev("da", 2), None)])
    assert [r.account for r in store.revisions("da", 0, 10)] == ["u_ann", None]


def test_users_are_one_per_email_whatever_its_case(store):
    from collab.storage import User

    ann = User("u_1", "Ann@Example.org", "Ann", "$argon2id$x", 5.0)
    store.accounts.add_user(ann)
    with pytest.raises(StoreConflict):
        store.accounts.add_user(User("u_2", "ann@example.ORG", "Other", "$argon2id$y", 6.0))
    assert store.accounts.user_by_email("ANN@example.org") == ann and store.accounts.user("u_1") == ann
    store.accounts.add_user(User("u_3", "bo@example.org", "Bo", "$argon2id$z", 7.0))
    assert [u.id for u in store.accounts.users()] == ["u_1", "u_3"]
    assert store.accounts.set_password("u_1", "$argon2id$new") and not store.accounts.set_password("u_9", "h")
    assert store.accounts.user("u_1").password == "$argon2id$new"


def test_sessions_live_until_ended_expired_or_their_account_disabled(store):
    from collab.storage import User

    for uid, email in (("u_1", "a@x.org"), ("u_2", "b@x.org")):
        store.accounts.add_user(User(uid, email, uid, "h", 1.0))
    accounts = store.accounts
    accounts.start_session("h1", "u_1", 10.0, 100.0)
    accounts.start_session("h2", "u_1", 10.0, 100.0)
    accounts.start_session("h3", "u_2", 10.0, 50.0)
    assert accounts.session_user("h1", 20.0).id == "u_1" and accounts.session_user("nope", 20.0) is None
    assert accounts.session_user("h3", 60.0) is None  # expired
    assert accounts.live_sessions(["h1", "h2", "h3", "nope"], 60.0) == {"h1", "h2"}
    accounts.end_session("h1")
    assert accounts.live_sessions(["h1", "h2"], 20.0) == {"h2"}
    assert accounts.set_disabled("u_2", True)
    assert accounts.session_user("h3", 20.0) is None and accounts.user("u_2").disabled
    assert accounts.end_sessions("u_1") == 1 and accounts.live_sessions(["h2"], 20.0) == set()


def test_documents_page_through_every_document_in_byte_order(store):
    """What an admin's list reads (GET /api/admin/docs): keyset pages by id, in byte order on
    every backend (a PostgreSQL database's own collation may sort a-B-c, or ignore - and _)."""
    names = ["b", "A", "a", "_x", "-y", "B9", "a-b", "ab"]
    for i, name in enumerate(names):
        store.create_document(name, f"view-{i}", float(i))
    assert [r.id for r in store.documents_page("", 100)] == sorted(names)  # Python sorts str by code point
    seen, after = [], ""
    while True:
        page = store.documents_page(after, 3)
        if not page:
            break
        seen += [r.id for r in page]
        after = page[-1].id
    assert seen == sorted(names)
    (row,) = store.documents_page("a-b", 1)
    assert (row.id, row.view_token, row.head, row.created) == ("ab", "view-7", 0, 7.0)
def test_access_defaults_claims_once_and_moves_and_goes_with_its_document(store):
    """Per-document permissions (schema 10): a document without a row is open by its links;
    the first claim makes its owner and a second changes nothing; policies and members are
    upserted; rename moves them, delete removes them."""
    from collab.storage import Access, Member

    store.create_document("acc", "acc-view", 1.0)
    assert store.access.get("acc") == Access()
    assert store.access.claim("acc", "u_a") is True
    assert store.access.claim("acc", "u_b") is False
    store.access.set_policies("acc", "invited", "signed_in")
    store.access.set_member("acc", "u_e", "viewer", 2.0)
    store.access.set_member("acc", "u_e", "editor", 3.0)  # a second invitation changes the role
    store.access.set_member("acc", "u_v", "viewer", 4.0)
    assert store.access.get("acc") == Access("u_a", "invited", "signed_in",
                                             (Member("u_e", "editor", 2.0), Member("u_v", "viewer", 4.0)))
    assert store.access.remove_member("acc", "u_v") is True and store.access.remove_member("acc", "u_v") is False
    store.rename_document("acc", "acc2", 5.0)
    assert store.access.get("acc") == Access()
    assert store.access.get("acc2") == Access("u_a", "invited", "signed_in", (Member("u_e", "editor", 2.0),))
    store.delete_document("acc2", 6.0)
    assert store.access.get("acc2") == Access()
def test_visits_list_a_document_while_the_link_used_still_names_it(store):
    """"My documents" (storage/visits.py), on both backends: by edit id and by view token,
    the latest opened first, with the stored title; a renamed id, a rotated token and a
    deleted document leave the list, and forget_gone forgets those rows."""
    store.create_document("a", "view-a", 1.0)
    store.create_document("b", "view-b", 2.0)
    store.create_document("c", "view-c", 3.0)
    v = store.visits
    v.visit("u1", "a", "edit", 10.0)
    v.visit("u1", "view-b", "view", 11.0)
    v.visit("u1", "c", "edit", 12.0)
    v.visit("u2", "a", "edit", 13.0)
    v.visit("u1", "a", "edit", 14.0)  # opened again: one row, the later time
    v.set_title("a", "First", 20.0)
    v.set_title("a", "Renamed title", 21.0)
    listed = v.visits("u1")
    assert [(x.link, x.kind, x.doc, x.view_token, x.title, x.opened) for x in listed] == [
        ("a", "edit", "a", "view-a", "Renamed title", 14.0), ("c", "edit", "c", "view-c", "", 12.0),
        ("view-b", "view", "b", "view-b", "", 11.0)]
    v.visit("u1", "b", "view", 15.0)  # an edit id recorded as a view link names nothing
    assert [x.link for x in v.visits("u1")] == ["a", "c", "view-b"]
    store.rename_document("a", "a2", 30.0)
    store.rotate_view_token("b", "view-b2", 30.0)
    store.delete_document("c", 30.0)
    assert v.visits("u1") == [] and v.visits("u2") == []
    assert v.forget_gone("u1") == 4 and v.forget_gone("u1") == 0
    v.visit("u1", "a2", "edit", 40.0)
    assert [(x.doc, x.title) for x in v.visits("u1")] == [("a2", "Renamed title")]  # the title moved with it
    assert not v.forget("u1", "a2", "view")  # the edit id is not the person's view link
    assert v.forget("u1", "a2", "edit") and not v.forget("u1", "a2", "edit")
    assert v.visits("u1") == []


def test_an_identity_names_one_account_made_once(store):
    """OpenID Connect and proxy sign-ins (migration 8): (issuer, subject) -> one account; a
    second first sign-in of the same identity (a race) gets the first one's account."""
    from collab.storage import User

    accounts = store.accounts
    ann = User("u_1", "ann@example.org", "Ann", "!external", 1.0)
    assert accounts.add_identity_user(ann, "https://id.example", "sub-1", "ann@example.org") == ann
    assert accounts.user_by_identity("https://id.example", "sub-1") == ann
    assert accounts.user_by_identity("https://other.example", "sub-1") is None
    late = User("u_2", "ann@example.org", "Ann again", "!external", 2.0)
    assert accounts.add_identity_user(late, "https://id.example", "sub-1", "https://id.example sub-1") == ann
    assert accounts.user("u_2") is None  # not kept
    assert accounts.identities("u_1") == [("https://id.example", "sub-1")]
    with pytest.raises(StoreConflict):  # the email key is taken
        accounts.add_identity_user(User("u_3", "ann@example.org", "X", "!external", 3.0), "proxy", "x", "ann@example.org")
    assert accounts.user("u_3") is None and accounts.user_by_identity("proxy", "x") is None


def test_a_reader_of_its_own_reads_what_is_committed_and_writes_nothing(store, tmp_path):
    """reader_url(): another thread's or process's connection (service/reads.py), or None
    where there can be none of the same data (an in-memory SQLite database)."""
    from collab.storage import Image, open_reader

    url = store.reader_url()
    assert url is not None
    store.create_document("d", "t", 1.0)
    store.append([NewRevision(rev("d", 1), None), NewRevision(rev("d", 2), "two")])
    image = Image("i" * 24, "d", "image/png", 3, "0" * 64, 1.0, b"png")
    store.add_image(image, 1 << 20)
    reader = open_reader(url)
    try:
        assert reader.revisions("d", 0, 10) == store.revisions("d", 0, 10)
        assert reader.latest_snapshot("d", 2) == (2, "two") and reader.image(image.id) == image
        assert reader.latest_snapshot("d", 1) == (0, "") and reader.image("j" * 24) is None
        store.append([NewRevision(rev("d", 3), None)])  # committed after the reader opened
        assert [r.version for r in reader.revisions("d", 2, 10)] == [3]
        raw = reader._reader if hasattr(reader, "_reader") else reader._connection()  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="readonly|read-only"):
            raw.execute("DELETE FROM revisions")
    finally:
        reader.close()
    assert len(store.revisions("d", 0, 10)) == 3
    if url.startswith("sqlite:"):
        with pytest.raises(StoreError, match="to read"):
            open_reader(f"sqlite:///{tmp_path}/no-such.db")  # never makes a file
        assert not (tmp_path / "no-such.db").exists()
    else:
        with pytest.raises(StoreError, match="to read, PostgreSQL postgresql://collab@127.0.0.1:1/x: "):
            open_reader("postgresql://collab:s3cret@127.0.0.1:1/x")  # (its password never said)
    assert open_store("sqlite:///:memory:").reader_url() is None


def test_a_postgresql_reader_opens_a_new_connection_when_its_own_was_dropped(pg_url, pg_admin):
    """A reader's connection ended under it (PostgreSQL restarted, or the connection killed,
    as here): the next read is made on a new one; while no connection can be made each read
    fails with the reason, and once one can the reads work again, none of them stuck."""
    import psycopg

    from collab.storage import open_reader
    from collab.storage.postgres import READER_NAME

    store = open_store(pg_url)
    admin = psycopg.connect(pg_admin, autocommit=True)
    name = pg_url.rsplit("/", 1)[1]

    def end_the_readers_connections() -> int:
        ended = admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "  # (waits for it)
                              "WHERE datname = %s AND application_name = %s", (name, READER_NAME)).fetchall()
        return len(ended)

    reader = open_reader(store.reader_url())
    try:
        store.create_document("d", "t", 1.0)
        store.append([NewRevision(rev("d", 1), "x")])
        assert reader.latest_snapshot("d", 1) == (1, "x")
        assert end_the_readers_connections() == 1
        assert [r.version for r in reader.revisions("d", 0, 10)] == [1]  # on a new connection
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # as if it were down
        assert end_the_readers_connections() == 1
        for _ in range(2):
            with pytest.raises(StoreError, match="not currently accepting connections"):
                reader.revisions("d", 0, 10)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert reader.latest_snapshot("d", 1) == (1, "x") and reader.image("i" * 24) is None
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        reader.close()
        store.close()
