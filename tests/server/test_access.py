"""Access: the read-only link never writes and never learns the edit id; a client joined to
one document cannot touch another; foreign origins are refused; the secret key stays secret;
cookies (if any) are HttpOnly and SameSite. In-process app (Flask and Socket.IO test clients).
"""
from __future__ import annotations

import io
import json
import logging

import pytest

from collab.core.patches import make_patch

SECRET = "s3cr3t-key-for-the-access-tests-0123456789"


@pytest.fixture
def doc_and_view(make_app, connect, doc_id):
    app = make_app(secret_key=SECRET, presence_interval=0.01)
    editor = connect(app)
    ack = editor.emit("join", {"doc": doc_id, "name": "Ed"}, callback=True)
    text = "first line\nsecond line\n"
    assert editor.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", text), "id": "a1"},
                       callback=True)["ok"]
    http = app.test_client()
    assert http.post(f"/api/docs/{doc_id}/labels", json={"version": 1, "name": "v1"}).status_code == 201
    return app, editor, ack["view"], text


def test_the_view_link_never_writes_over_http(doc_and_view, doc_id):
    app, _, view, text = doc_and_view
    http = app.test_client()
    writes = [
        ("POST", f"/api/docs/{view}/restore", {"json": {"version": 0}}),
        ("POST", f"/api/docs/{view}/revert", {"json": {"author": "Ed", "since": 0}}),
        ("POST", f"/api/docs/{view}/labels", {"json": {"version": 0, "name": "mine"}}),
        ("DELETE", f"/api/docs/{view}/labels/v1", {}),
        ("POST", f"/api/docs/{view}/import", {"data": b"overwritten", "content_type": "text/plain"}),
        ("POST", f"/api/docs/{view}/import", {"data": {"file": (io.BytesIO(b"overwritten"), "f.txt")},
                                              "content_type": "multipart/form-data"}),
        ("POST", "/api/docs", {"json": {"doc": view}}),
    ]
    for method, path, kwargs in writes:
        resp = http.open(path, method=method, **kwargs)
        assert resp.status_code in (400, 403, 404, 405, 409), (method, path, resp.status_code, resp.get_data())
        assert resp.mimetype == "application/json"
    body = http.get(f"/api/docs/{doc_id}").get_json()
    assert body["version"] == 1 and body["text"] == text
    assert [lab["name"] for lab in http.get(f"/api/docs/{doc_id}/labels").get_json()["labels"]] == ["v1"]


def test_the_view_link_never_writes_over_the_socket(doc_and_view, connect, doc_id):
    app, _, view, text = doc_and_view
    viewer = connect(app)
    assert viewer.emit("join", {"view": view}, callback=True)["role"] == "viewer"
    attempts = [
        ("patch", {"doc": view, "base": 1, "patch": make_patch(text, "x"), "id": "v1"}),
        ("patch", {"doc": doc_id, "base": 1, "patch": make_patch(text, "x"), "id": "v2"}),  # not joined by edit id
        ("restore", {"doc": view, "version": 0}),
        ("restore", {"doc": doc_id, "version": 0}),
    ]
    for event, payload in attempts:
        ack = viewer.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] in {"read_only", "not_joined"}, (event, ack)
    # joining by the view token never upgrades; joining "doc": <view token> names another document
    again = viewer.emit("join", {"doc": view}, callback=True)
    assert again["ok"] is False or again["text"] == "", again
    assert app.test_client().get(f"/api/docs/{doc_id}").get_json()["version"] == 1


def test_no_byte_a_viewer_receives_contains_the_edit_id(doc_and_view, connect, doc_id):
    app, editor, view, text = doc_and_view
    viewer = connect(app)
    received = [viewer.emit("join", {"view": view, "name": "Vi"}, callback=True)]
    new = text + "third\n"
    editor.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch(text, new), "id": "a2"}, callback=True)
    editor.emit("cursor", {"doc": doc_id, "anchor": 1, "head": 2})
    editor.emit("seen", {"doc": doc_id, "version": 2})
    app.extensions["socketio"].sleep(0.05)  # let the throttled presence update go out (its content is checked)
    received.append(viewer.emit("sync", {"doc": view, "since": 0}, callback=True))
    received.append(viewer.get_received())
    frames = json.dumps(received)
    assert "revision" in frames and "presence" in frames and "cursor" in frames
    assert doc_id not in frames
    http = app.test_client()
    paths = ["", "/revisions", "/versions/1", "/blame", "/diff?from=0", "/labels", "/revert?author=Ed&since=0",
             "/colors", "/export", "/export?format=md", "/export?format=html"]
    for path in paths:
        resp = http.get(f"/api/docs/{view}{path}")
        assert resp.status_code == 200, (path, resp.get_data())
        assert doc_id.encode() not in resp.data, path
        assert all(doc_id not in v for _, v in resp.headers.items()), (path, resp.headers)
    page = http.get(f"/v/{view}")
    assert doc_id.encode() not in page.data and all(doc_id not in v for _, v in page.headers.items())
    for bad in ("/restore", "/import"):  # even the refusals
        resp = http.post(f"/api/docs/{view}{bad}", json={"version": 0})
        assert doc_id.encode() not in resp.data


def test_a_client_joined_to_one_document_cannot_touch_another(make_app, connect, doc_id):
    app = make_app(presence_interval=0.01)
    owner, intruder = connect(app), connect(app)
    other = doc_id + "-other"
    owner.emit("join", {"doc": other}, callback=True)
    owner.emit("patch", {"doc": other, "base": 0, "patch": make_patch("", "private"), "id": "o1"}, callback=True)
    intruder.emit("join", {"doc": doc_id}, callback=True)
    intruder.get_received()
    for event, payload in [
        ("patch", {"doc": other, "base": 1, "patch": make_patch("private", "x"), "id": "i1"}),
        ("sync", {"doc": other, "since": 0}),
        ("restore", {"doc": other, "version": 0}),
        ("leave", {"doc": other}),
    ]:
        ack = intruder.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "not_joined", (event, ack)
    intruder.emit("seen", {"doc": other, "version": 1})
    intruder.emit("cursor", {"doc": other, "anchor": 0, "head": 0})
    # the intruder's own document's messages never carry the other's content
    owner.emit("patch", {"doc": other, "base": 1, "patch": make_patch("private", "private 2"), "id": "o2"},
               callback=True)
    app.extensions["socketio"].sleep(0.05)
    got = json.dumps(intruder.get_received())
    assert "private" not in got and other not in got
    assert [e for e in owner.get_received() if e["name"] == "cursor"] == []
    assert app.test_client().get(f"/api/docs/{other}").get_json()["text"] == "private 2"


def test_cross_origin_socket_connections_are_refused_and_the_default_is_never_star(make_app, monkeypatch):
    monkeypatch.delenv("COLLAB_CORS_ORIGINS", raising=False)
    app = make_app()
    assert app.extensions["collab.settings"].allowed_origins is None  # same origin only
    assert app.extensions["socketio"].server.eio.cors_allowed_origins != "*"
    http = app.test_client()
    for origin in ("http://evil.example", "null", "http://localhost.evil.example", "https://localhost"):
        r = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
        assert r.status_code == 400, origin
        assert "Access-Control-Allow-Origin" not in r.headers
    assert http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"}).status_code == 200
    listed = make_app(cors_origins="https://app.example")
    h2 = listed.test_client()
    assert h2.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://app.example"}).status_code == 200
    assert h2.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://evil.example"}).status_code == 400


def test_the_secret_key_never_appears_in_logs_or_responses(make_app, connect, doc_id, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(secret_key=SECRET)
    http = app.test_client()
    bodies = []
    for method, path in [("GET", "/"), ("GET", "/healthz"), ("POST", "/api/docs"), ("GET", f"/d/{doc_id}"),
                         ("GET", f"/api/docs/{doc_id}"), ("GET", "/api/docs/%00"), ("POST", f"/api/docs/{doc_id}/import"),
                         ("GET", "/nosuch"), ("PATCH", "/api/docs")]:
        r = http.open(path, method=method)
        bodies.append(r.get_data(as_text=True) + json.dumps(dict(r.headers)))
    c = connect(app)
    bodies.append(json.dumps([c.emit("join", {"doc": doc_id}, callback=True), c.emit("join", "x", callback=True),
                              c.emit("patch", {"doc": doc_id, "base": 0, "patch": 5, "id": "z"}, callback=True),
                              c.get_received()]))
    assert SECRET not in "".join(bodies)
    assert SECRET not in caplog.text


def test_session_cookies_are_httponly_and_samesite(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    http = app.test_client()
    cookies = []
    for path in ("/", "/healthz", "/socket.io/?EIO=4&transport=polling"):
        cookies += http.get(path, headers={"Origin": "http://localhost"}).headers.getlist("Set-Cookie")
    for cookie in cookies:
        low = cookie.lower()
        assert "httponly" in low and "samesite" in low, cookie
