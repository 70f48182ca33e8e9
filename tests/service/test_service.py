"""The document service: versions without gaps under concurrency, snapshots, reloads."""
import random
import re
import sqlite3

import gevent
import pytest

from collab.core.config import Settings
from collab.core.errors import CollabError
from collab.core.patches import Edit, make_patch, patch_from_edits, text_hash
from collab.core.rope import _leaves
from collab.service.documents import DocumentService
from collab.storage import open_store


@pytest.fixture
def make_service(tmp_path):
    made = []

    def make(**settings):
        s = DocumentService(open_store(f"sqlite:///{tmp_path}/svc.db"), Settings(**settings))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_concurrent_writers_get_contiguous_versions(make_service):
    service = make_service()
    state = service.open("race", create=True)
    results = []

    def writer(n):
        text = f"[{n}]"
        for attempt in range(50):
            base, current = service.snapshot(state)
            try:
                r = service.submit(state, base, make_patch(current, current + text), f"w{n}-{attempt}", f"w{n}")
                results.append(r.version)
                return
            except CollabError as exc:
                assert exc.code == "conflict"
                gevent.sleep(random.random() * 0.001)
        raise AssertionError("writer never got through")

    gevent.joinall([gevent.spawn(writer, n) for n in range(30)], raise_error=True)
    assert sorted(results) == list(range(1, 31))
    final = service.snapshot(state)[1]
    assert sorted(final.replace("]", "] ").split()) == sorted(f"[{n}]" for n in range(30))


def test_group_commit_spans_documents(make_service, tmp_path):
    service = make_service()
    states = [service.open(f"g{i}", create=True) for i in range(20)]

    def write(state):
        for v in range(5):
            text = service.snapshot(state)[1]
            service.submit(state, v, make_patch(text, text + "x"), f"{state.id}-{v}", "me")

    gevent.joinall([gevent.spawn(write, s) for s in states], raise_error=True)
    db = sqlite3.connect(tmp_path / "svc.db")
    assert db.execute("SELECT COUNT(*), MAX(version) FROM revisions").fetchone() == (100, 5)


def test_snapshots_and_any_version(make_service, tmp_path):
    service = make_service(snapshot_every=10)
    state = service.open("snap", create=True)
    texts = [""]
    for v in range(1, 36):
        texts.append(texts[-1][: v % 7] + f"<{v}>" + texts[-1][v % 7:])
        service.submit(state, v - 1, make_patch(texts[-2], texts[-1]), f"s{v}", "me")
    db = sqlite3.connect(tmp_path / "svc.db")
    assert [r[0] for r in db.execute("SELECT version FROM snapshots ORDER BY version")] == [10, 20, 30]
    for v in range(36):
        assert service.text_at(state, v) == texts[v]
    with pytest.raises(CollabError):
        service.text_at(state, 36)
    # a fresh service loads from the snapshot and replays the rest
    again = make_service(snapshot_every=10)
    reloaded = again.open("snap")
    assert again.snapshot(reloaded) == (35, texts[35])


def test_stale_base_older_than_memory_is_moved_from_the_store(make_service):
    service = make_service()
    state = service.open("old", create=True)
    base_text = "".join(f"line {i}\n" for i in range(50))
    service.submit(state, 0, make_patch("", base_text), "o0", "me")
    text = base_text
    for v in range(2, 30):
        service.submit(state, v - 1, make_patch(text, "top\n" + text), f"o{v}", "me")
        text = "top\n" + text
    state.recent.clear()  # as if these revisions had left memory
    edited = base_text.replace("line 40\n", "line forty\n")
    r = service.submit(state, 1, make_patch(base_text, edited), "late", "me")
    assert r.rebased and service.snapshot(state)[1] == "top\n" * 28 + edited


def test_ops_and_views(make_service):
    service = make_service()
    state = service.open("views", create=True)
    assert service.open_view(state.view_token) is state
    with pytest.raises(CollabError) as exc:
        service.open("never")
    assert exc.value.code == "not_found"
    with pytest.raises(CollabError) as exc:
        service.open(state.view_token, create=True)  # an id may not shadow a view token
    assert exc.value.code == "bad_doc"


def test_memory_per_revision_does_not_grow_with_the_document(make_service):
    """Committed revisions in memory keep their edits, not a copy of the whole text each
    (a 1 MB document with 1,000 recent revisions would otherwise hold 1 GB)."""
    import tracemalloc

    service = make_service()
    state = service.open("big", create=True)
    text = "x" * 200_000
    service.submit(state, 0, make_patch("", text), "b0", "me")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for v in range(1, 201):
        service.submit(state, v, make_patch(text, text + "y"), f"b{v}", "me")
        text += "y"
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert service.snapshot(state) == (201, text)
    assert grown < 20 * len(text), f"{grown} bytes for 200 one-character revisions"


def test_a_database_locked_by_another_process_is_waited_for_off_the_event_loop(make_service, tmp_path):
    """Commits run on the event loop while they are fast, but one that finds SQLite locked
    by another writer waits for it on the writer thread: other clients keep being served."""
    service = make_service()
    state = service.open("locked", create=True)
    other = sqlite3.connect(str(tmp_path / "svc.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    beat = gevent.spawn(ticker)
    writer = gevent.spawn(service.submit, state, 0, make_patch("", "x"), "op-locked", "me")
    gevent.sleep(0.3)
    assert not writer.ready(), "the commit cannot be done while the other writer holds the lock"
    before = len(ticks)
    gevent.sleep(0.1)
    assert len(ticks) > before, "the event loop kept running while the commit waited"
    other.execute("ROLLBACK")
    assert writer.get(timeout=10).version == 1
    beat.kill()
    assert service.snapshot(state) == (1, "x")


def test_slow_commits_move_to_the_writer_thread_and_back(make_service, caplog, monkeypatch):
    """When recent commits take longer than COLLAB_INLINE_COMMIT_MS (median), later ones run
    on the writer thread (said once in the log); a commit on the event loop tries again
    every PROBE_EVERY seconds and brings them back once it is fast. Versions stay in order."""
    import dataclasses

    import collab.service.commits

    monkeypatch.setattr(collab.service.commits, "PROBE_EVERY", 0.0)  # probe at every commit
    service = make_service(inline_commit_ms=0.000001)  # every commit counts as slow
    state = service.open("slow", create=True)
    text = ""

    def type_one(n):
        nonlocal text
        r = service.submit(state, n, make_patch(text, text + str(n % 10)), f"slow-{n}", "me")
        text += str(n % 10)
        assert r.version == n + 1

    with caplog.at_level("INFO", logger="collab.service"):
        for n in range(20):
            type_one(n)
        moved = [r for r in caplog.records if "writer thread" in r.getMessage()]
        assert len(moved) == 1, [r.getMessage() for r in caplog.records]
        service.settings = dataclasses.replace(service.settings, inline_commit_ms=10_000.0)  # a fast disk now
        type_one(20)
        back = [r for r in caplog.records if "fast again" in r.getMessage()]
        assert len(back) == 1
    assert service.snapshot(state) == (21, text)


def test_a_probe_that_finds_the_database_locked_does_not_count_as_a_fast_commit(make_service, caplog,
                                                                                monkeypatch, tmp_path):
    """While commits run on the writer thread, each probe commits on the event loop to see
    whether the disk is fast again. A probe that finds another process holding the lock
    commits nothing there (it waits on the thread): it must not bring commits back."""
    import dataclasses

    import collab.service.commits

    monkeypatch.setattr(collab.service.commits, "PROBE_EVERY", 0.0)  # probe at every commit
    service = make_service(inline_commit_ms=0.000001)  # every commit counts as slow
    state = service.open("busy-probe", create=True)
    text = ""
    for n in range(10):
        service.submit(state, n, make_patch(text, text + "x"), f"bp-{n}", "me")
        text += "x"
    service.settings = dataclasses.replace(service.settings, inline_commit_ms=10_000.0)  # any commit is fast now
    other = sqlite3.connect(str(tmp_path / "svc.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with caplog.at_level("INFO", logger="collab.service"):
        writer = gevent.spawn(service.submit, state, 10, make_patch(text, text + "y"), "bp-locked", "me")
        gevent.sleep(0.3)
        assert not writer.ready()
        other.execute("ROLLBACK")
        assert writer.get(timeout=10).version == 11
        assert not [r for r in caplog.records if "fast again" in r.getMessage()], "a locked probe counted as fast"
        service.submit(state, 11, make_patch(text + "y", text + "yz"), "bp-after", "me")
        assert len([r for r in caplog.records if "fast again" in r.getMessage()]) == 1
    assert service.snapshot(state) == (12, text + "yz")


def test_a_lost_race_with_another_process_catches_up_and_retries(make_service):
    """Two services on one database: the one behind appends a version the other stored first.
    Its submit request catches up (the revision's edits included) and applies again, moved over
    it; both texts survive and the versions chain."""
    ours, theirs = make_service(), make_service()
    state = ours.open("race2", create=True)
    ours.submit(state, 0, make_patch("", "middle"), "o-1", "us")
    other = theirs.open("race2")
    theirs.submit(other, 1, make_patch("middle", "middle end"), "t-2", "them")
    r = ours.submit(state, 1, make_patch("middle", "start middle"), "o-2", "us")
    assert (r.version, r.rebased, r.duplicate) == (3, True, False)
    assert ours.snapshot(state) == (3, "start middle end")
    assert [rev.author for rev in ours.revisions(state, 0)] == ["us", "them", "us"]


def test_catching_up_checks_the_text_of_what_another_process_stored(make_service, tmp_path):
    """Revisions another process stored are replayed like every other read (core.replay):
    one whose text does not match its stored hash is `doc_corrupt`, and the open document
    stays at what it had (before: catch-up applied patches without looking at the hash)."""
    ours, theirs = make_service(), make_service()
    state = ours.open("behind", create=True)
    ours.submit(state, 0, make_patch("", "a"), "o-1", "me")
    other = theirs.open("behind")
    theirs.submit(other, 1, make_patch("a", "ab"), "t-2", "them")
    theirs.submit(other, 2, make_patch("ab", "abc"), "t-3", "them")
    db = sqlite3.connect(f"{tmp_path}/svc.db")
    db.execute("UPDATE revisions SET hash = '00000000' WHERE doc = 'behind' AND version = 3")
    db.commit()
    db.close()
    with pytest.raises(CollabError) as info:
        ours.refresh(state, force=True)
    assert info.value.code == "doc_corrupt" and "revision 3" in info.value.message
    assert (state.committed, state.committed_text, state.head) == (1, "a", 1)


def test_an_observer_sees_each_step_of_a_write_in_order(tmp_path):
    """The instruments' hooks (service/observer.py), given to the constructor like on_commit."""
    from collab.service.observer import Observer

    steps: list[tuple[str, object]] = []

    class Steps(Observer):
        def parsed(self, op_id):
            steps.append(("parsed", op_id))

        def revised(self, op_id):
            steps.append(("revised", op_id))

        def committing(self, revisions):
            steps.append(("committing", [r.version for r in revisions]))

        def stored(self, revisions):
            steps.append(("stored", [r.version for r in revisions]))

        def announced(self, revisions):
            steps.append(("announced", [r.version for r in revisions]))

    def on_commit(state, committed):
        steps.append(("on_commit", [(r.version, origin) for r, origin in committed]))

    service = DocumentService(open_store(f"sqlite:///{tmp_path}/obs.db"), Settings(), on_commit=on_commit,
                              observer=Steps())
    try:
        state = service.open("obs", create=True)
        service.submit(state, 0, make_patch("", "hi"), "op-1", "me", origin="sid-1")
    finally:
        service.close()
    assert steps == [("parsed", "op-1"), ("revised", "op-1"), ("committing", [1]), ("stored", [1]),
                     ("on_commit", [(1, "sid-1")]), ("announced", [1])]


def test_a_patch_over_the_message_limit_is_refused_in_the_users_units(make_app):
    """The too_large message counts the characters the patch spans (from its hunk headers,
    one scan) and the escaped length that is over the limit: a CJK paste says 2 x 500
    characters, not only the 9,000 escaped ones."""
    from collab.core.patches import make_patch

    service = make_app(max_patch_chars=5_000).extensions["collab"]
    state = service.open("big-paste", create=True)
    old, new = "start\n" + "x" * 200 + "\nmiddle\n" + "y" * 200, "start\n" + "中" * 500 + "\nmiddle\n" + "文" * 500
    service.submit(state, 0, make_patch("", old), "seed", "me")  # fits
    with pytest.raises(CollabError) as refused:
        service.submit(state, 1, make_patch(old, new), "paste", "me")
    assert refused.value.code == "too_large"
    escaped = len(make_patch(old, new))
    assert f"which take {escaped:,} once escaped" in str(refused.value)
    spans = re.findall(r"this patch spans ([\d,]+) characters", str(refused.value))
    assert spans and int(spans[0].replace(",", "")) >= 1_000, str(refused.value)


def test_a_keystroke_in_a_large_document_makes_one_chunk_again(make_service):
    """Issue 15: the head is a rope; a one-character patch copies the chunk it lands in (and
    the path to it), shares every other chunk with the text before, and its hash is the
    CRC-32 of the whole new text."""
    service = make_service()
    state = service.open("bigtext", create=True)
    text = "ab😀 日本\n" * 100_000
    service.rewrite(state, "me", "import", lambda _v, _t: text)
    before = state.committed_rope
    for n, pos in enumerate((400_000, 0, len(text))):
        result = service.submit(state, state.committed, patch_from_edits(state.committed_rope, [Edit(pos, "", "x")]),
                                f"key{n}", "me")
        text = text[:pos] + "x" + text[pos:]
        assert result.hash == text_hash(text) == state.committed_rope.hash()
    assert state.committed_text == text
    made_again = {id(c) for c in _leaves(state.committed_rope._root)} - {id(c) for c in _leaves(before._root)}
    assert len(made_again) == 3, "one chunk per keystroke"
