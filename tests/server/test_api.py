"""HTTP JSON API: documents, revisions, versions, creation, health, errors."""
import pytest

from collab.core.patches import apply_patch, make_patch, parse_patch


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def edited(connect, doc_id):
    c = connect()
    c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    texts = ["", "one", "one two", "one two 😀", "two 😀"]
    for v in range(1, len(texts)):
        ack = c.emit("patch", {"doc": doc_id, "base": v - 1, "patch": make_patch(texts[v - 1], texts[v]),
                               "id": f"api-{v}"}, callback=True)
        assert ack["ok"]
    return doc_id, texts


def test_healthz(http):
    r = http.get("/healthz")
    assert r.status_code == 200 and r.get_json()["ok"] is True


def test_document(http, edited):
    doc, texts = edited
    body = http.get(f"/api/docs/{doc}").get_json()
    assert body["doc"] == doc and body["version"] == 4 and body["text"] == texts[-1]
    assert body["created"] <= body["updated"]


def test_revisions_replay_to_every_version(http, edited):
    doc, texts = edited
    body = http.get(f"/api/docs/{doc}/revisions?since=0").get_json()
    assert body["version"] == 4 and [r["version"] for r in body["revisions"]] == [1, 2, 3, 4]
    assert {r["author"] for r in body["revisions"]} == {"Ann"}
    text = ""
    for r in body["revisions"]:
        text = apply_patch(text, parse_patch(r["patch"]))[0]
        assert text == texts[r["version"]]
        assert http.get(f"/api/docs/{doc}/versions/{r['version']}").get_json()["text"] == text
    page = http.get(f"/api/docs/{doc}/revisions?since=1&limit=2").get_json()
    assert [r["version"] for r in page["revisions"]] == [2, 3] and page["more"] is True
    assert http.get(f"/api/docs/{doc}/versions/0").get_json() == {"doc": doc, "version": 0, "text": ""}


def test_create_gives_unguessable_ids_and_links(http):
    r = http.post("/api/docs")
    assert r.status_code == 201
    body = r.get_json()
    assert len(body["doc"]) >= 12 and body["doc"].isalnum()
    assert body["edit_url"].endswith("/d/" + body["doc"])
    token = body["view_url"].rsplit("/v/", 1)[1]
    assert body["doc"] not in token
    viewed = http.get(f"/api/docs/{token}").get_json()
    assert viewed["doc"] == token and viewed["version"] == 0
    assert http.post("/api/docs").get_json()["doc"] != body["doc"]


def test_create_by_name(http, doc_id):
    r = http.post("/api/docs", json={"doc": doc_id})
    assert r.status_code == 201 and r.get_json()["doc"] == doc_id
    assert http.post("/api/docs", json={"doc": "no way!"}).status_code == 400  # a field, not the address


@pytest.mark.parametrize("path,status,code", [
    ("/api/docs/never-made", 404, "not_found"),
    ("/api/docs/bad%20id", 404, "bad_doc"),
    ("/api/docs/" + "x" * 65, 404, "bad_doc"),
    ("/api/docs/..%2F..%2Fetc", 404, None),
    ("/api/docs/never-made/revisions", 404, "not_found"),
    ("/api/docs/never-made/versions/0", 404, "not_found"),
    ("/api/nothing-here", 404, "not_found"),
])
def test_errors_are_json(http, path, status, code):
    r = http.get(path)
    assert r.status_code == status
    body = r.get_json()
    assert set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code


def test_bad_query_values(http, edited):
    doc, _ = edited
    assert http.get(f"/api/docs/{doc}/revisions?since=abc").get_json()["error"]["code"] == "bad_request"
    assert http.get(f"/api/docs/{doc}/revisions?since=-1").status_code == 400
    assert http.get(f"/api/docs/{doc}/revisions?limit=0").status_code == 400
    assert http.get(f"/api/docs/{doc}/versions/99").get_json()["error"]["code"] == "not_found"
    assert http.get(f"/api/docs/{doc}/versions/x").status_code == 400
    # not a version number at all (as ?since=-1 is): bad input, not a version that is missing
    assert http.get(f"/api/docs/{doc}/versions/-1").get_json()["error"]["code"] == "bad_request"
    assert http.post("/api/docs", data="[1]", content_type="application/json").status_code == 400


def test_readyz_writes_to_find_out_and_healthz_stays_cheap(make_app):
    """A disk that just filled up, before any patch found out: /healthz (no write) still
    says 200, /readyz (one small durable write) says 503 with the reason, and 200 again as
    soon as there is room."""
    from collab.core.patches import make_patch

    app = make_app()
    service = app.extensions["collab"]
    http = app.test_client()
    state = service.open("ready-doc", create=True)
    service.submit(state, 0, make_patch("", "hello"), "r-1", "me")
    writer = service.store._writer  # the store's own connection: SQLite's limit on the file's pages
    writer.execute(f"PRAGMA max_page_count = {writer.execute('PRAGMA page_count').fetchone()[0]}")
    assert http.get("/healthz").status_code == 200
    r = http.get("/readyz")
    assert r.status_code == 503 and "full" in r.get_json()["error"]["message"], r.get_json()
    writer.execute("PRAGMA max_page_count = 1073741823")
    again = http.get("/readyz")
    assert again.status_code == 200 and again.get_json()["database"] == "ok"
