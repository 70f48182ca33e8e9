"""The tombstone watch of a server without a message queue (collab/server/tombstones.py): a
delete made by another process (`collab delete`) reaches the open editors and viewers as
`gone`, by the path a queued delete takes. The end-to-end test, with the real CLI and server
processes: tests/e2e/test_e2e.py::test_a_cli_delete_reaches_the_open_editors_of_a_server_without_a_queue."""
import gevent

from collab.server.tombstones import SLACK, TombstoneWatch
from collab.storage import Tombstone, open_store
from socketkit import events


def test_the_watch_finds_each_new_tombstone_once_also_one_committed_late(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/w.db")
    now = [1000.0]
    watch = TombstoneWatch(store, found=lambda t: None, sleep=lambda s: None, stopped=lambda: False,
                           clock=lambda: now[0])
    try:
        store.load_tombstones([Tombstone("old", "deleted", 1000.0 - SLACK - 1)])  # before the watch: old news
        assert watch.poll() == []
        store.load_tombstones([Tombstone("a", "deleted", 1001.0)])
        now[0] = 1002.0
        assert watch.poll() == [Tombstone("a", "deleted", 1001.0)]
        assert watch.poll() == [], "seen once"
        # a writer read its clock (999.5), then waited for the lock and committed after `a`
        store.load_tombstones([Tombstone("late", "deleted", 999.5), Tombstone("b", "rotated", 1002.0)])
        assert watch.poll() == [Tombstone("late", "deleted", 999.5), Tombstone("b", "rotated", 1002.0)]
        now[0] = 5000.0  # long after: the window follows the newest seen, and forgets what is behind it
        assert watch.poll() == [] and set(watch.seen) == {"a", "late", "b"}
        store.load_tombstones([Tombstone("c", "deleted", 5000.0)])
        assert watch.poll() == [Tombstone("c", "deleted", 5000.0)] and set(watch.seen) == {"c"}
    finally:
        store.close()



def test_a_delete_by_another_process_reaches_the_open_editor_and_viewer(make_app, connect, db_url, doc_id):
    """Before: with no queue, nothing told them; they kept typing into a deleted document."""
    app = make_app()
    assert app.extensions["collab.tombstones"] is not None
    editor, viewer = connect(), connect()
    view = editor.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)["view"]
    assert viewer.emit("join", {"view": view}, callback=True)["ok"]
    other = open_store(db_url)  # what `collab delete` does, in its own connection
    try:
        assert other.delete_document(doc_id, 1.0e10) is not None  # any time: the watch looks from now back
    finally:
        other.close()
    gone: dict = {}
    with gevent.Timeout(60, AssertionError("no `gone` within 60 s")):
        while len(gone) < 2:
            gevent.sleep(0.05)  # the watch runs on the event loop
            gone.update((c, m) for c in (editor, viewer) for m in events(c, "gone"))
    assert (gone[editor]["doc"], gone[viewer]["doc"]) == (doc_id, view)
    assert gone[editor]["error"]["code"] == gone[viewer]["error"]["code"] == "deleted"
    ack = editor.emit("patch", {"doc": doc_id, "base": 0, "patch": "@@ -0,0 +1,1 @@\n+x\n", "id": "x"}, callback=True)
    assert ack["error"]["code"] == "not_joined", ack
    assert app.test_client().get(f"/api/docs/{doc_id}").status_code == 410


def test_a_rename_or_a_rotation_by_another_process_reaches_the_clients_of_the_old_name(make_app, connect, db_url,
                                                                                        doc_id):
    """As the server's own routes do (tests/server/test_api_rename.py): a renamed id's editors
    get `gone` (renamed) and its viewers stay; a rotated token's viewers get `gone` (rotated)
    and its editors stay."""
    app = make_app()
    editor, viewer = connect(), connect()
    view = editor.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)["view"]
    assert viewer.emit("join", {"view": view}, callback=True)["ok"]
    other = open_store(db_url)
    try:
        assert other.rotate_view_token(doc_id, "fresh-" + doc_id, 1.0e10) is not None
        (message,) = wait_for_gone(viewer)
        assert message["doc"] == view and message["error"]["reason"] == "rotated"
        assert events(editor, "gone") == []
        assert other.rename_document(doc_id, doc_id + "-new", 1.0e10 + 1) is not None
        (message,) = wait_for_gone(editor)
        assert message["doc"] == doc_id and message["error"]["reason"] == "renamed"
    finally:
        other.close()
    http = app.test_client()
    assert http.get(f"/api/docs/{doc_id}").get_json()["error"]["reason"] == "renamed"
    assert http.get(f"/api/docs/{view}").get_json()["error"]["reason"] == "rotated"


def wait_for_gone(client):
    with gevent.Timeout(60, AssertionError("no `gone` within 60 s")):
        while True:
            gevent.sleep(0.05)  # the watch runs on the event loop
            found = events(client, "gone")
            if found:
                return found


def test_with_a_message_queue_or_a_poll_of_0_there_is_no_watch(make_app):
    """The queue tells every process (queue.py): no polling then."""
    assert make_app(message_queue="redis://127.0.0.1:1/0").extensions["collab.tombstones"] is None  # never reached
    assert make_app(tombstone_poll=0).extensions["collab.tombstones"] is None
    assert make_app(tombstone_poll=0.25).extensions["collab.tombstones"].interval == 0.25
