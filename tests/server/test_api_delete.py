"""Deleting a document: DELETE /api/docs/<edit id>. Its history goes, its edit id and view
token are tombstones (410 `deleted` everywhere, for good, also after a restart), and its open
editors and viewers get `gone` and are taken out of it."""
import pytest

from collab.core.patches import make_patch
from socketkit import editor_other_and_viewer, events, join, patch, written


@pytest.fixture
def http(app):
    return app.test_client()


def gone(response):
    assert response.status_code == 410, (response.status_code, response.get_data(as_text=True))
    return response.get_json()["error"]


def test_delete_answers_and_every_name_is_gone_for_every_route(http, connect, doc_id):
    _, view = written(connect, doc_id)
    r = http.delete(f"/api/docs/{doc_id}")
    assert r.status_code == 200 and r.get_json()["doc"] == doc_id and isinstance(r.get_json()["deleted"], float)
    for name in (doc_id, view):
        for path in ("", "/revisions", "/versions/0", "/blame", "/labels", "/export"):
            error = gone(http.get(f"/api/docs/{name}{path}"))
            assert error["code"] == "deleted" and "deleted" in error["message"]
            assert doc_id not in error["message"]  # asked by view token: the edit id stays secret
    assert gone(http.delete(f"/api/docs/{doc_id}"))["code"] == "deleted"
    assert gone(http.post("/api/docs/" + doc_id + "/restore", json={"version": 0}))["code"] == "deleted"
    # an old link cannot make it again, by HTTP or by socket
    assert gone(http.post("/api/docs", json={"doc": doc_id}))["code"] == "deleted"
    c = connect()
    for what in ({"doc": doc_id}, {"view": view}):
        ack = join(c, **what)
        assert ack["ok"] is False and ack["error"]["code"] == "deleted", ack
    assert gone(http.get(f"/d/{doc_id}"))["code"] == "deleted"
    page = http.get(f"/v/{view}", headers={"Accept": "text/html"})
    assert page.status_code == 410 and "deleted" in page.get_data(as_text=True)


def test_the_history_is_gone_from_the_database_and_the_tombstones_survive_a_restart(make_app, db_url, doc_id):
    app = make_app()
    http = app.test_client()
    view = http.post("/api/docs", json={"doc": doc_id}).get_json()["view_url"].rsplit("/", 1)[1]
    connect = app.extensions["socketio"].test_client
    c = connect(app)
    join(c, doc=doc_id)
    assert patch(c, doc_id, 0, "", "secret", "op-1")["ok"]
    http.post(f"/api/docs/{doc_id}/labels", json={"version": 1, "name": "v1"})
    assert http.delete(f"/api/docs/{doc_id}").status_code == 200
    store = app.extensions["collab"].store
    assert store.get_document(doc_id) is None and store.revisions(doc_id, 0, 10) == []
    assert store.labels(doc_id) == [] and store.snapshot_versions(doc_id) == []
    assert doc_id not in list(store.document_ids())
    again = make_app().test_client()  # a new process on the same database: nothing in memory
    for name in (doc_id, view):
        assert gone(again.get(f"/api/docs/{name}"))["code"] == "deleted"
    assert gone(again.post("/api/docs", json={"doc": doc_id}))["code"] == "deleted"


def test_open_editors_and_viewers_are_told_and_taken_out(connect, http, doc_id):
    editor, other, viewer, view = editor_other_and_viewer(connect, doc_id)
    assert http.delete(f"/api/docs/{doc_id}").status_code == 200
    for c, name in ((editor, doc_id), (other, doc_id), (viewer, view)):
        (message,) = events(c, "gone")
        assert message["doc"] == name and message["error"]["code"] == "deleted"
    # taken out: nothing more is sent to them, and writing needs a join, which is refused
    ack = patch(other, doc_id, 1, "some text 😀", "more", "op-2")
    assert ack["ok"] is False and ack["error"]["code"] == "not_joined"
    assert join(other, doc=doc_id)["error"]["code"] == "deleted"
    assert other.is_connected() and editor.is_connected()  # the connections stay (other documents)


def test_a_viewer_is_never_told_the_edit_id(connect, http, doc_id):
    _, view = written(connect, doc_id)
    viewer = connect()
    join(viewer, view=view)
    viewer.get_received()
    http.delete(f"/api/docs/{doc_id}")
    received = viewer.get_received()
    assert [e["name"] for e in received] == ["gone"] and doc_id not in repr(received)


def test_a_view_token_cannot_delete(connect, http, doc_id):
    _, view = written(connect, doc_id)
    r = http.delete(f"/api/docs/{view}")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == "some text 😀"


def test_a_cross_site_delete_is_refused(connect, http, doc_id):
    written(connect, doc_id)
    r = http.delete(f"/api/docs/{doc_id}", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = http.delete(f"/api/docs/{doc_id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert http.get(f"/api/docs/{doc_id}").status_code == 200


def test_a_writer_holding_the_document_when_it_goes_gets_deleted(service, connect, doc_id):
    """A caller that took the state before the delete (a patch on its way) is refused,
    and the document is not brought back into memory."""
    written(connect, doc_id)
    state = service.open(doc_id)
    service.delete(state)
    with pytest.raises(Exception) as exc:
        service.submit(state, 1, make_patch("some text 😀", "x"), "late-op", "Ann")
    assert getattr(exc.value, "code", None) == "deleted"
    assert not service.is_current(state)
    assert service.store.get_document(doc_id) is None


def test_another_process_deleting_is_found_by_the_next_write(make_app, doc_id):
    """Two processes on one database without a queue: the one that did not delete finds out
    at its editors' next patch (its append finds no document), and answers `deleted`, not a
    conflict after ten retries."""
    one, two = make_app(), make_app()
    c = two.extensions["socketio"].test_client(two)
    join(c, doc=doc_id)
    assert patch(c, doc_id, 0, "", "x", "op-1")["ok"]
    assert one.test_client().delete(f"/api/docs/{doc_id}").status_code == 200
    ack = patch(c, doc_id, 1, "x", "xy", "op-2")
    assert ack["ok"] is False and ack["error"]["code"] == "deleted", ack
    assert two.test_client().get(f"/api/docs/{doc_id}").status_code == 410
    c.disconnect()
