"""HTTP API for integrators (after Etherpad's): create with a text, set and append text, copy a
document at a version, who is here; 409 for a taken id, 415 for a body type a route does not
read. Every write is an ordinary revision through the socket patches' write path: versioned,
broadcast to open editors, within the document limit, refused cross-site."""
import pytest

from collab.core.patches import apply_patch, make_patch, parse_patch
from socketkit import join


@pytest.fixture
def http(app):
    return app.test_client()



def revisions(client):
    return [e["args"][0] for e in client.get_received() if e["name"] == "revision"]


def text_of(http, doc):
    return http.get(f"/api/docs/{doc}").get_json()["text"]


def test_create_with_a_text_as_json_or_plain_text(http, doc_id):
    r = http.post("/api/docs", json={"doc": doc_id, "text": "hello 😀", "name": "Bot"})
    assert r.status_code == 201 and r.get_json()["version"] == 1 and r.get_json()["doc"] == doc_id
    assert text_of(http, doc_id) == "hello 😀"
    [rev] = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Bot" and rev["id"].startswith("create-")
    plain = http.post("/api/docs?name=Cat", data="line 1\nline 2\n".encode(), content_type="text/plain; charset=utf-8")
    assert plain.status_code == 201
    made = plain.get_json()["doc"]
    assert text_of(http, made) == "line 1\nline 2\n"
    assert http.get(f"/api/docs/{made}/revisions").get_json()["revisions"][0]["author"] == "Cat"
    empty = http.post("/api/docs", json={"text": ""})
    assert empty.status_code == 201 and empty.get_json()["version"] == 0
    assert "version" not in http.post("/api/docs").get_json()  # as before: no text, no version


def test_a_taken_id_is_409_and_changes_nothing(http, doc_id):
    assert http.post("/api/docs", json={"doc": doc_id, "text": "first"}).status_code == 201
    r = http.post("/api/docs", json={"doc": doc_id, "text": "second"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert doc_id in r.get_json()["error"]["message"]
    assert text_of(http, doc_id) == "first"
    links = http.get(f"/api/docs/{doc_id}/links").get_json()  # what the editor page asks instead
    assert links["edit_url"].endswith("/d/" + doc_id) and "/v/" in links["view_url"]


@pytest.mark.parametrize("method,path", [("POST", "/api/docs"), ("PUT", "/api/docs/{doc}/text"),
                                         ("POST", "/api/docs/{doc}/append"), ("POST", "/api/docs/{doc}/copy")])
@pytest.mark.parametrize("content_type,body", [("application/x-www-form-urlencoded", b"text=x"),
                                               ("multipart/form-data; boundary=x", b"--x--"),
                                               ("application/xml", b"<text/>"),
                                               ("text/plain; charset=latin-1", b"caf\xe9")])
def test_a_body_type_a_route_does_not_read_is_415(http, doc_id, method, path, content_type, body):
    http.post("/api/docs", json={"doc": doc_id, "text": "keep"})
    r = http.open(path.format(doc=doc_id), method=method, data=body, content_type=content_type)
    assert r.status_code == 415, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "bad_request"
    assert text_of(http, doc_id) == "keep" and http.get(f"/api/docs/{doc_id}").get_json()["version"] == 1


def test_set_and_append_are_revisions_that_open_editors_receive(http, connect, doc_id):
    editor = connect()
    join(editor, doc=doc_id, name="Ann")
    editor.get_received()
    r = http.put(f"/api/docs/{doc_id}/text", json={"text": "one\n", "name": "Bot"})
    assert r.status_code == 201 and r.get_json() == {"doc": doc_id, "version": 1}
    r = http.post(f"/api/docs/{doc_id}/append?name=Bot", data="two 😀\n".encode(), content_type="text/plain")
    assert r.status_code == 201 and r.get_json()["version"] == 2
    text = ""
    for rev in revisions(editor):
        text = apply_patch(text, parse_patch(rev["patch"]))[0]
        assert rev["author"] == "Bot"
    assert text == text_of(http, doc_id) == "one\ntwo 😀\n"
    same = http.put(f"/api/docs/{doc_id}/text", json={"text": "one\ntwo 😀\n"})
    assert same.status_code == 200 and same.get_json() == {"doc": doc_id, "version": 2, "unchanged": True}


def test_append_lands_on_the_head_after_a_concurrent_edit(http, connect, doc_id):
    editor = connect()
    join(editor, doc=doc_id)
    ack = editor.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "typed"), "id": "t-1"},
                      callback=True)
    assert ack["ok"]
    http.post(f"/api/docs/{doc_id}/append", json={"text": " appended"})
    assert text_of(http, doc_id) == "typed appended"


def test_writes_respect_the_limits_roles_and_origin(make_app, connect, doc_id):
    app = make_app(max_doc_chars=10)
    http = app.test_client()
    assert http.post("/api/docs", json={"doc": doc_id, "text": "x" * 11}).status_code == 413
    assert http.get(f"/api/docs/{doc_id}").status_code == 404  # refused before it was created
    view = http.post("/api/docs", json={"doc": doc_id, "text": "12345"}).get_json()["view_url"].rsplit("/", 1)[1]
    assert http.post(f"/api/docs/{doc_id}/append", json={"text": "678901"}).status_code == 413
    assert http.put(f"/api/docs/{doc_id}/text", json={"text": "bad \ud800"}).status_code == 400
    assert http.put(f"/api/docs/{doc_id}/text", json={"text": 5}).status_code == 400
    assert http.post(f"/api/docs/{doc_id}/append", json={"text": ""}).status_code == 400
    for method, path in (("PUT", "text"), ("POST", "append"), ("POST", "copy")):
        r = http.open(f"/api/docs/{view}/{path}", method=method, json={"text": "no"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"
        r = http.open(f"/api/docs/{doc_id}/{path}", method=method, json={"text": "no"},
                      headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert text_of(http, doc_id) == "12345"


def test_copy_at_a_version_makes_a_new_document(http, connect, doc_id):
    http.post("/api/docs", json={"doc": doc_id, "text": "v1"})
    http.put(f"/api/docs/{doc_id}/text", json={"text": "v2"})
    r = http.post(f"/api/docs/{doc_id}/copy", json={"version": 1, "name": "Cop"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["copied_from"] == 1 and body["version"] == 1 and body["doc"] != doc_id
    assert text_of(http, body["doc"]) == "v1" and text_of(http, doc_id) == "v2"
    named = http.post(f"/api/docs/{doc_id}/copy", json={"to": doc_id + "-c"})
    assert named.status_code == 201 and named.get_json()["copied_from"] == 2
    assert text_of(http, doc_id + "-c") == "v2"
    taken = http.post(f"/api/docs/{doc_id}/copy", json={"to": doc_id})
    assert taken.status_code == 409
    assert http.post(f"/api/docs/{doc_id}/copy", json={"version": 9}).status_code == 404
    assert http.post(f"/api/docs/{doc_id}/copy", json={"version": "x"}).status_code == 400


def test_who_is_here_names_editors_and_counts_viewers(http, connect, doc_id):
    view = http.post("/api/docs", json={"doc": doc_id}).get_json()["view_url"].rsplit("/", 1)[1]
    ann, bob, viewer = connect(), connect(), connect()
    join(ann, doc=doc_id, name="Ann")
    join(bob, doc=doc_id, name="Bob")
    join(viewer, view=view, name="Secret viewer")
    for name in (doc_id, view):
        body = http.get(f"/api/docs/{name}/people").get_json()
        assert (body["doc"], body["editors"], body["viewers"], sorted(body["names"])) == (name, 2, 1, ["Ann", "Bob"])
        assert "Secret viewer" not in str(body)
        you = join(ann, doc=doc_id, name="Ann")["you"]
        assert you not in str(body)  # no peer or connection ids
    bob.emit("leave", {"doc": doc_id}, callback=True)
    assert http.get(f"/api/docs/{doc_id}/people").get_json()["names"] == ["Ann"]
    assert http.get("/api/docs/never-made/people").status_code == 404
