"""A title chosen by a document's editors (PUT /api/docs/<edit id>/title): stored, told to
everyone in the document by the name each used, given with every later join and GET, kept
by a rename and a restart (tests/e2e/test_scaleout.py: on every process); null gives the first heading back. Refused
from a view token, from another site, and for anything that is not a fit title."""
from __future__ import annotations

import pytest

from socketkit import events, patch
from tests.server.test_accounts import ORIGIN, wait_until


def choose(http, doc, title, **kw):
    return http.put(f"/api/docs/{doc}/title", json={"title": title}, **kw)


@pytest.fixture
def joined(app, connect, doc_id):
    editor = connect(app)
    ack = editor.emit("join", {"doc": doc_id, "name": "Ed"}, callback=True)
    assert patch(editor, doc_id, 0, "", "# Its heading\n\ntext", "h1")["ok"]
    viewer = connect(app)
    assert viewer.emit("join", {"view": ack["view"]}, callback=True)["ok"]
    editor.get_received(), viewer.get_received()
    return editor, viewer, ack["view"]


def test_a_chosen_title_reaches_everyone_by_their_name_for_it_and_every_later_join(app, connect, joined, doc_id):
    editor, viewer, view = joined
    http = app.test_client()
    r = choose(http, doc_id, "  Quarterly plan  ")
    assert r.status_code == 200 and r.get_json() == {"doc": doc_id, "title": "Quarterly plan"}
    assert events(editor, "title") == [{"doc": doc_id, "title": "Quarterly plan"}]
    assert events(viewer, "title") == [{"doc": view, "title": "Quarterly plan"}]  # never the edit id
    later = connect(app).emit("join", {"view": view}, callback=True)
    assert later["title"] == "Quarterly plan"
    assert http.get(f"/api/docs/{view}").get_json()["title"] == "Quarterly plan"
    # null (or only spaces) gives the document its first heading back
    assert choose(http, doc_id, "   ").get_json() == {"doc": doc_id, "title": None}
    assert events(editor, "title") == [{"doc": doc_id, "title": None}]
    assert "title" not in connect(app).emit("join", {"doc": doc_id, "name": "x"}, callback=True)
    assert "title" not in http.get(f"/api/docs/{doc_id}").get_json()


def test_a_chosen_title_outlives_a_rename_and_a_restart(make_app, connect, doc_id, db_url):
    app = make_app()
    http = app.test_client()
    assert http.post("/api/docs", json={"doc": doc_id, "text": "# heading\n"}).status_code == 201
    assert choose(http, doc_id, "Kept").status_code == 200
    assert http.post(f"/api/docs/{doc_id}/rename", json={"id": f"{doc_id}-b"}).status_code == 200
    restarted = make_app()
    ack = connect(restarted).emit("join", {"doc": f"{doc_id}-b", "name": "x"}, callback=True)
    assert ack["title"] == "Kept"


def test_only_a_fit_title_by_an_editor_of_this_site_is_taken(app, joined, doc_id):
    editor, viewer, view = joined
    http = app.test_client()
    refused = [
        (choose(http, view, "from a viewer"), 403, "read_only"),
        (choose(http, doc_id, "forged", headers={"Origin": "https://evil.example"}), 403, "forbidden"),
        (choose(http, doc_id, 42), 400, "bad_request"),
        (choose(http, doc_id, "x" * 81), 400, "bad_request"),
        (choose(http, doc_id, "line\nbreak"), 400, "bad_request"),
        (choose(http, doc_id, "bell\x07"), 400, "bad_request"),
        (choose(http, doc_id, "next line\x85"), 400, "bad_request"),  # C1 too (found from outside)
        (choose(http, doc_id, "report\u202etxt.exe"), 400, "bad_request"),  # shown as "reportexe.txt"
        (choose(http, doc_id, "isolate\u2066x\u2069"), 400, "bad_request"),
        (http.put(f"/api/docs/{doc_id}/title", json={"title": "ok", "doc": "other"}), 400, "bad_request"),
        (http.put(f"/api/docs/{doc_id}/title", json={}), 400, "bad_request"),
        (http.put(f"/api/docs/{doc_id}/title", data="plain", content_type="text/plain"), 400, "bad_request"),
        (http.put(f"/api/docs/{doc_id}/title", data="title=x", content_type="application/x-www-form-urlencoded"),
         415, "bad_request"),
        (choose(http, "no-such-doc-here", "t"), 404, "not_found"),
    ]
    for r, status, code in refused:
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), r.get_json()
    assert events(editor, "title") == [] and events(viewer, "title") == []
    assert "title" not in http.get(f"/api/docs/{doc_id}").get_json()
    assert choose(http, doc_id, "x" * 80 + "  ").get_json()["title"] == "x" * 80  # 80 code points fit
    assert choose(http, doc_id, "😀" * 80).status_code == 200  # code points, not UTF-16 units
    # nothing visible (a zero-width space) is no title: the first heading again
    assert choose(http, doc_id, "\u200b\u00a0\u200b").get_json()["title"] is None
    assert choose(http, doc_id, "שלום world").get_json()["title"] == "שלום world"  # right-to-left text is fine


def test_a_flood_of_title_changes_is_throttled_per_document(app, joined, doc_id):
    """Every change goes to everyone in the document: 600 in 1.3 s reached each of them
    (found from outside). A burst of 10, then 429 with retry_after; other documents unaffected."""
    editor, viewer, view = joined
    http = app.test_client()
    codes = [choose(http, doc_id, f"title {i}").status_code for i in range(15)]
    assert codes == [200] * 10 + [429] * 5
    r = choose(http, doc_id, "one more")
    assert r.get_json()["error"]["code"] == "rate_limited" and r.get_json()["error"]["retry_after"] > 0
    assert len(events(viewer, "title")) == 10
    assert http.post("/api/docs", json={"doc": doc_id + "-2"}).status_code == 201
    assert choose(http, doc_id + "-2", "elsewhere").status_code == 200


def test_my_documents_lists_the_chosen_title(make_app, connect, doc_id):
    app = make_app(sign_in="local", sign_up=1)
    http = app.test_client()
    assert http.post("/api/signup", json={"email": "t@example.org", "name": "T", "password": "long enough pw"},
                     headers=ORIGIN).status_code == 201
    s = connect(app, flask_test_client=http)
    assert s.emit("join", {"doc": doc_id, "name": "x"}, callback=True)["ok"]
    assert patch(s, doc_id, 0, "", "# heading\n", "p1")["ok"]
    assert choose(http, doc_id, "Chosen", headers=ORIGIN).status_code == 200
    assert wait_until(lambda: [d["title"] for d in http.get("/api/me/docs").get_json()["docs"]] == ["Chosen"])
    assert choose(http, doc_id, None, headers=ORIGIN).status_code == 200
    assert [d["title"] for d in http.get("/api/me/docs").get_json()["docs"]] == ["heading"]
