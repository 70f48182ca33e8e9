"""Revocable links: POST /api/docs/<edit id>/rename gives the document a new edit id (its whole
history, labels and view token move; the old id is a tombstone, reason `renamed`), and POST
/api/docs/<edit id>/view-token a new read-only link (the old token is a tombstone, reason
`rotated`). The clients of a dead name are told (`gone`, with the reason) and taken out;
the others go on."""
import time

import gevent
import pytest

from collab.core.patches import make_patch
from socketkit import editor_other_and_viewer, events, join, patch, written


@pytest.fixture
def http(app):
    return app.test_client()


def gone(response, reason):
    assert response.status_code == 410, (response.status_code, response.get_data(as_text=True))
    error = response.get_json()["error"]
    assert error["code"] == "deleted" and error["reason"] == reason, error
    return error


def token(url):
    return url.rsplit("/", 1)[1]


# -- rename ---------------------------------------------------------------------------------


def test_rename_moves_the_history_and_the_old_id_is_gone_for_every_route(http, connect, doc_id):
    _, view = written(connect, doc_id)
    assert http.post(f"/api/docs/{doc_id}/labels", json={"version": 1, "name": "first"}).status_code == 201
    new = doc_id + "-b"
    r = http.post(f"/api/docs/{doc_id}/rename", json={"id": new})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["doc"] == new and body["edit_url"].endswith(f"/d/{new}") and token(body["view_url"]) == view
    # everything went with it: text, history, labels, the read-only link
    assert http.get(f"/api/docs/{new}").get_json()["text"] == "some text 😀"
    assert [r["version"] for r in http.get(f"/api/docs/{new}/revisions").get_json()["revisions"]] == [1]
    assert [lab["name"] for lab in http.get(f"/api/docs/{new}/labels").get_json()["labels"]] == ["first"]
    assert http.get(f"/api/docs/{view}").get_json()["text"] == "some text 😀"
    for path in ("", "/revisions", "/versions/0", "/blame", "/labels", "/export", "/links"):
        error = gone(http.get(f"/api/docs/{doc_id}{path}"), "renamed")
        assert "renamed" in error["message"] and new not in error["message"]
    gone(http.post(f"/api/docs/{doc_id}/rename", json={}), "renamed")
    # the old link cannot make a document again, by HTTP or by socket
    gone(http.post("/api/docs", json={"doc": doc_id}), "renamed")
    ack = join(connect(), doc=doc_id)
    assert ack["ok"] is False and ack["error"]["code"] == "deleted" and ack["error"]["reason"] == "renamed"
    # and the new id takes writes
    c = connect()
    assert join(c, doc=new)["version"] == 1
    assert patch(c, new, 1, "some text 😀", "more", "op-2")["ok"]


def test_without_an_id_the_new_one_is_generated(http, connect, doc_id):
    written(connect, doc_id)
    body = http.post(f"/api/docs/{doc_id}/rename").get_json()
    assert body["doc"] != doc_id and len(body["doc"]) >= 16
    assert http.get(f"/api/docs/{body['doc']}").get_json()["text"] == "some text 😀"
    gone(http.get(f"/api/docs/{doc_id}"), "renamed")


def test_rename_refuses_taken_names_and_changes_nothing(http, connect, doc_id):
    _, view = written(connect, doc_id)
    other = http.post("/api/docs", json={"doc": doc_id + "-o"}).get_json()
    http.post("/api/docs", json={"doc": doc_id + "-del"})
    http.delete(f"/api/docs/{doc_id}-del")
    http.post("/api/docs", json={"doc": doc_id + "-x"})
    http.post(f"/api/docs/{doc_id}-x/rename", json={"id": doc_id + "-y"})
    for taken in (doc_id + "-o", token(other["view_url"]), view, doc_id + "-del", doc_id + "-x", doc_id):
        r = http.post(f"/api/docs/{doc_id}/rename", json={"id": taken})
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict", (taken, r.get_json())
    # a field of the body is a bad request (before: 404 bad_doc, and `7` was "id 'int'")
    for bad, message in (("not/valid", "id 'not/valid' is not valid: use 1-64 of A-Z a-z 0-9 _ -"),
                         ("x" * 90, "id of 90 characters is not valid: use 1-64 of A-Z a-z 0-9 _ -"),
                         (7, "id must be a string of 1-64 of A-Z a-z 0-9 _ -, not a number"),
                         (["a"], "id must be a string of 1-64 of A-Z a-z 0-9 _ -, not an array")):
        r = http.post(f"/api/docs/{doc_id}/rename", json={"id": bad})
        assert r.status_code == 400 and r.get_json()["error"] == {"code": "bad_request", "message": message}, bad
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == "some text 😀"
    assert http.post("/api/docs/never-was/rename", json={"id": doc_id + "-z"}).status_code == 404


@pytest.mark.parametrize("route", ["rename", "view-token"])
def test_a_view_token_or_another_site_cannot_change_the_links(http, connect, doc_id, route):
    _, view = written(connect, doc_id)
    r = http.post(f"/api/docs/{view}/{route}", json={})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = http.post(f"/api/docs/{doc_id}/{route}", json={}, headers=headers)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert http.get(f"/api/docs/{doc_id}/links").get_json()["view_url"].endswith(f"/v/{view}")


def test_a_chosen_name_costs_a_lookup_as_creating_by_name_does(make_app, doc_id):
    app = make_app(lookup_burst=3, lookup_rate=0.001)  # no refill during the test
    http = app.test_client()
    http.post("/api/docs", json={"doc": doc_id})  # 1 token
    assert http.post(f"/api/docs/{doc_id}/rename", json={"id": doc_id + "-1"}).status_code == 200  # 2
    assert http.post(f"/api/docs/{doc_id}-1/rename", json={"id": doc_id + "-2"}).status_code == 200  # 3
    r = http.post(f"/api/docs/{doc_id}-2/rename", json={"id": doc_id + "-3"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"


def test_open_editors_are_told_and_taken_out_and_viewers_stay(http, connect, doc_id):
    editor, other, viewer, view = editor_other_and_viewer(connect, doc_id)
    new = doc_id + "-b"
    assert http.post(f"/api/docs/{doc_id}/rename", json={"id": new}).status_code == 200
    for c in (editor, other):
        (message,) = events(c, "gone")
        assert message["doc"] == doc_id and message["error"]["code"] == "deleted"
        assert message["error"]["reason"] == "renamed" and new not in repr(message)  # they hold the old link
    ack = patch(other, doc_id, 1, "some text 😀", "more", "op-2")
    assert ack["ok"] is False and ack["error"]["code"] == "not_joined"
    assert join(other, doc=doc_id)["error"]["reason"] == "renamed"
    assert other.is_connected() and editor.is_connected()
    # the viewer's link still works: it stays, and sees what is written under the new id
    assert events(viewer, "gone") == []
    writer = connect()
    join(writer, doc=new)
    assert patch(writer, new, 1, "some text 😀", "more", "op-3")["ok"]
    received = viewer.get_received()
    revisions = [e["args"][0] for e in received if e["name"] == "revision"]
    assert [(r["doc"], r["version"]) for r in revisions] == [(view, 2)]
    assert doc_id not in repr(received) and new not in repr(received)
    sync = viewer.emit("sync", {"doc": view, "since": 0}, callback=True)
    assert sync["version"] == 2 and len(sync["revisions"]) == 2


# -- a new view token ------------------------------------------------------------------------


def test_a_new_view_token_retires_the_old_read_only_link(http, connect, doc_id):
    _, view = written(connect, doc_id)
    r = http.post(f"/api/docs/{doc_id}/view-token")
    assert r.status_code == 200
    body = r.get_json()
    new = token(body["view_url"])
    assert new != view and body["doc"] == doc_id and body["edit_url"].endswith(f"/d/{doc_id}")
    assert http.get(f"/api/docs/{doc_id}/links").get_json()["view_url"] == body["view_url"]
    assert http.get(f"/api/docs/{new}").get_json()["text"] == "some text 😀"
    error = gone(http.get(f"/api/docs/{view}"), "rotated")
    assert "replaced by a new one" in error["message"] and doc_id not in error["message"]
    ack = join(connect(), view=view)
    assert ack["ok"] is False and ack["error"]["reason"] == "rotated"
    assert join(connect(), view=new)["text"] == "some text 😀"
    gone(http.post("/api/docs", json={"doc": view}), "rotated")  # never a document's name either
    # a second rotation retires the second token; the edit id never changed
    third = token(http.post(f"/api/docs/{doc_id}/view-token").get_json()["view_url"])
    gone(http.get(f"/api/docs/{new}"), "rotated")
    assert third not in (view, new) and http.get(f"/api/docs/{third}").status_code == 200


def test_viewers_of_the_old_token_are_told_and_editors_keep_editing(http, connect, doc_id):
    editor, view = written(connect, doc_id)
    viewer = connect()
    join(viewer, view=view)
    for c in (editor, viewer):
        c.get_received()
    new = token(http.post(f"/api/docs/{doc_id}/view-token").get_json()["view_url"])
    (message,) = events(viewer, "gone")
    assert message["doc"] == view and message["error"]["reason"] == "rotated" and new not in repr(message)
    assert viewer.emit("sync", {"doc": view, "since": 0}, callback=True)["error"]["code"] == "not_joined"
    assert events(editor, "gone") == []
    late = connect()
    assert join(late, view=new)["version"] == 1
    late.get_received()
    # the editor goes on; its join answer names the new read-only link; viewers get it by the new token
    assert patch(editor, doc_id, 1, "some text 😀", "more", "op-2")["ok"]
    assert join(connect(), doc=doc_id)["view"] == new
    assert [(r["doc"], r["version"]) for r in events(late, "revision")] == [(new, 2)]
    assert events(viewer, "revision") == []


def test_the_tombstones_and_the_new_names_survive_a_restart(make_app, doc_id):
    app = make_app()
    http = app.test_client()
    view = token(http.post("/api/docs", json={"doc": doc_id, "text": "x"}).get_json()["view_url"])
    rotated = token(http.post(f"/api/docs/{doc_id}/view-token").get_json()["view_url"])
    assert http.post(f"/api/docs/{doc_id}/rename", json={"id": doc_id + "-b"}).status_code == 200
    again = make_app().test_client()  # a new process on the same database: nothing in memory
    gone(again.get(f"/api/docs/{doc_id}"), "renamed")
    gone(again.get(f"/api/docs/{view}"), "rotated")
    assert again.get(f"/api/docs/{rotated}").get_json()["text"] == "x"
    assert again.get(f"/api/docs/{doc_id}-b/links").get_json()["view_url"].endswith(f"/v/{rotated}")


def test_the_pages_of_old_links_say_they_no_longer_work(http, connect, doc_id):
    _, view = written(connect, doc_id)
    http.post(f"/api/docs/{doc_id}/view-token")
    http.post(f"/api/docs/{doc_id}/rename", json={"id": doc_id + "-b"})
    html = {"Accept": "text/html"}
    for path, why in ((f"/d/{doc_id}", "renamed"), (f"/v/{view}", "replaced by a new one"),
                      (f"/d/{doc_id}/history", "renamed")):
        page = http.get(path, headers=html)
        text = page.get_data(as_text=True)
        assert page.status_code == 410 and "This link no longer works" in text and why in text, (path, text)
        assert "This document was deleted" not in text
    http.delete(f"/api/docs/{doc_id}-b")
    page = http.get(f"/d/{doc_id}-b", headers=html).get_data(as_text=True)
    assert "This document was deleted" in page and "This link no longer works" not in page


# -- races -----------------------------------------------------------------------------------


def test_a_write_waiting_for_the_lock_during_a_rename_answers_deleted(service, connect, doc_id):
    """A patch that passed every check, then waited for the document's lock while the
    rename (here: another process's, told to this one through the queue) moved the rows,
    must answer `deleted`, not land under the old name (nor fail an assertion: internal)."""
    written(connect, doc_id)
    state = service.open(doc_id)
    state.lock.acquire()
    writing = gevent.spawn(service.submit, state, 1, make_patch("some text 😀", "late"), "late-op", "Ann")
    gevent.sleep(0)
    gevent.sleep(0)
    assert not writing.ready()  # past adopt(), waiting for the lock
    assert service.store.rename_document(doc_id, doc_id + "-b", time.time()) is not None
    service.forget(doc_id, "renamed")  # what the queue's `gone` does on this process
    state.lock.release()
    writing.join()
    error = writing.exception
    assert getattr(error, "code", None) == "deleted" and error.extra["reason"] == "renamed", repr(error)
    assert service.store.get_document(doc_id) is None and service.store.revisions(doc_id, 0, 10) == []
    assert [r.op_id for r in service.store.revisions(doc_id + "-b", 0, 10)] == ["op-1"]


def test_a_writer_holding_the_document_when_it_is_renamed_gets_deleted(service, connect, doc_id):
    written(connect, doc_id)
    state = service.open(doc_id)
    service.rename(state, doc_id + "-b")
    with pytest.raises(Exception) as exc:
        service.submit(state, 1, make_patch("some text 😀", "x"), "late-op", "Ann")
    assert getattr(exc.value, "code", None) == "deleted" and exc.value.extra["reason"] == "renamed"
    assert not service.is_current(state) and service.store.find_op(doc_id + "-b", "late-op") is None


def test_another_process_renaming_is_found_by_the_next_write(make_app, doc_id):
    """Two processes on one database without a queue: the one that did not rename finds out
    at its editors' next patch, and answers `deleted` with the reason (even without its
    tombstone watch, which tests/server/test_tombstones.py tests)."""
    one, two = make_app(), make_app(tombstone_poll=0)
    c = two.extensions["socketio"].test_client(two)
    join(c, doc=doc_id)
    assert patch(c, doc_id, 0, "", "x", "op-1")["ok"]
    assert one.test_client().post(f"/api/docs/{doc_id}/rename", json={"id": doc_id + "-b"}).status_code == 200
    ack = patch(c, doc_id, 1, "x", "xy", "op-2")
    assert ack["ok"] is False and ack["error"]["code"] == "deleted" and ack["error"]["reason"] == "renamed", ack
    assert two.test_client().get(f"/api/docs/{doc_id}").get_json()["error"]["reason"] == "renamed"
    assert two.test_client().get(f"/api/docs/{doc_id}-b").get_json()["text"] == "x"
    c.disconnect()


def test_another_process_rotating_is_found_by_a_join(make_app, doc_id):
    """Without a queue, a process that has the document open learns the new token from the
    store when a viewer joins by it, and refuses the old one (even without its tombstone watch)."""
    one, two = make_app(), make_app(tombstone_poll=0)
    c = two.extensions["socketio"].test_client(two)
    view = join(c, doc=doc_id)["view"]
    new = token(one.test_client().post(f"/api/docs/{doc_id}/view-token").get_json()["view_url"])
    viewer = two.extensions["socketio"].test_client(two)
    assert join(viewer, view=new)["ok"] is True
    assert join(viewer, view=view)["error"]["reason"] == "rotated"
    assert join(c, doc=doc_id)["view"] == new
    c.disconnect()
    viewer.disconnect()
