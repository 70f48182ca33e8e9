""""My documents" (COLLAB_SIGN_IN): what a signed-in person opened, by the link they used,
with the documents' titles, searched and sorted; a withdrawn link leaves the list; a view
link never shows the edit id. In-process app on SQLite (tests/storage/test_storage.py runs the
store's part on PostgreSQL too)."""
from __future__ import annotations

import json

import pytest

from socketkit import patch
from tests.server.test_accounts import ORIGIN, sign_up, wait_until


@pytest.fixture
def signin_app(make_app):
    return make_app(sign_in="local", sign_up=1)


@pytest.fixture
def http(signin_app):
    return signin_app.test_client()


def listing(http, **args):
    r = http.get("/api/me/docs", query_string=args)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["docs"]


def titles(http, **args):
    return [d["title"] for d in listing(http, **args)]


def opened(app, connect, http, doc=None, view=None, text=None):
    """A signed-in socket of `http`'s person joins (and writes `text`, then leaves)."""
    s = connect(app, flask_test_client=http)
    ack = s.emit("join", {"view": view} if view else {"doc": doc, "name": "x"}, callback=True)
    assert "error" not in ack, ack
    if text is not None:
        assert patch(s, doc, ack["version"], ack["text"], text, f"op-{len(text)}")["ok"]
        s.emit("leave", {"doc": doc}, callback=True)
    return s, ack


def test_the_documents_a_person_opened_with_their_titles_and_never_an_edit_id_for_a_view_link(
        signin_app, connect, make_app, http, doc_id):
    writer = connect(signin_app)  # a guest writes the document the person will only view
    ack = writer.emit("join", {"doc": doc_id, "name": "Guest"}, callback=True)
    assert patch(writer, doc_id, 0, "", "Minutes\n=======\n\nsecret edit id inside", "w1")["ok"]
    view = ack["view"]
    sign_up(http)
    opened(signin_app, connect, http, doc=f"{doc_id}-mine", text="# Team *plan*\n\nfirst draft")
    opened(signin_app, connect, http, view=view)
    assert wait_until(lambda: len(listing(http)) == 2)
    docs = {d["title"]: d for d in listing(http)}
    assert set(docs) == {"Team plan", "Minutes"}
    assert docs["Team plan"]["url"] == f"/d/{doc_id}-mine" and docs["Team plan"]["role"] == "editor"
    assert docs["Minutes"]["url"] == f"/v/{view}" and docs["Minutes"]["role"] == "viewer"
    assert doc_id not in json.dumps(docs["Minutes"])  # the edit id of a view-only document is never shown
    # another person's list is their own; a guest's joins are nobody's
    other = signin_app.test_client()
    sign_up(other, email="bo@example.org", name="Bo")
    assert listing(other) == []
    assert signin_app.test_client().get("/api/me/docs").get_json()["error"]["code"] == "sign_in_required"


def test_a_title_typed_and_left_is_kept_by_the_server_for_a_document_no_longer_open(signin_app, connect, make_app,
                                                                                       http, doc_id, db_url):
    sign_up(http)
    s, ack = opened(signin_app, connect, http, doc=doc_id)
    assert patch(s, doc_id, 0, "", "# Budget 2027\n", "t1")["ok"]
    assert titles(http) == ["Budget 2027"]  # open: the live title
    s.emit("leave", {"doc": doc_id}, callback=True)
    store = signin_app.extensions["collab"].store
    assert wait_until(lambda: any(v.title == "Budget 2027" for v in store.visits.visits(listing_owner(store))))
    # a new process that never opened the document lists it with the stored title
    later = make_app(sign_in="local", sign_up=1)
    h2 = later.test_client()
    assert h2.post("/api/signin", json={"email": "ann@example.org", "password": "correct horse battery"},
                   headers=ORIGIN).status_code == 200
    assert later.extensions["collab"].loaded(doc_id) is None
    assert titles(h2) == ["Budget 2027"]


def listing_owner(store):
    (user,) = store.accounts.users()
    return user.id


def test_search_by_title_and_sort_by_change_opening_or_title(signin_app, connect, http, doc_id):
    sign_up(http)
    for i, text in enumerate(["# Zebra notes\n", "# alpha PLAN\n", "# Budget plan\n"]):
        opened(signin_app, connect, http, doc=f"{doc_id}-{i}", text=text)
    assert wait_until(lambda: len(listing(http)) == 3)
    # the last written is the last changed; a later write to the first makes it the latest
    s, ack = opened(signin_app, connect, http, doc=f"{doc_id}-0")
    assert patch(s, f"{doc_id}-0", ack["version"], ack["text"], ack["text"] + "more\n", "again")["ok"]
    assert titles(http) == ["Zebra notes", "Budget plan", "alpha PLAN"]
    assert titles(http, sort="title") == ["alpha PLAN", "Budget plan", "Zebra notes"]
    assert titles(http, sort="opened")[0] == "Zebra notes"
    assert titles(http, q="plan") == ["Budget plan", "alpha PLAN"]
    assert titles(http, q="  PLAN ", sort="title") == ["alpha PLAN", "Budget plan"]
    assert titles(http, q="nothing like it") == []
    for bad in ({"sort": "size"}, {"q": "x" * 201}):
        r = http.get("/api/me/docs", query_string=bad)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"


def test_a_withdrawn_link_leaves_the_list_and_the_renamer_follows_the_new_one(signin_app, connect, http, doc_id):
    sign_up(http)
    owner = signin_app.test_client()  # a guest holding the edit links
    for name in ("viewed", "renamed", "deleted"):
        assert owner.post("/api/docs", json={"doc": f"{doc_id}-{name}", "text": f"# {name}\n"}).status_code == 201
    token = signin_app.extensions["collab"].open(f"{doc_id}-viewed").view_token
    opened(signin_app, connect, http, view=token)
    opened(signin_app, connect, http, doc=f"{doc_id}-renamed")
    opened(signin_app, connect, http, doc=f"{doc_id}-deleted")
    assert wait_until(lambda: len(listing(http)) == 3)
    assert owner.post(f"/api/docs/{doc_id}-viewed/view-token", headers=ORIGIN).status_code == 200
    assert owner.post(f"/api/docs/{doc_id}-renamed/rename", json={"id": f"{doc_id}-new"}).status_code == 200
    assert owner.delete(f"/api/docs/{doc_id}-deleted").status_code == 200
    assert listing(http) == []  # the old view token, the old edit id and a deleted document name nothing
    # a rename by the signed-in person takes their list along
    opened(signin_app, connect, http, doc=f"{doc_id}-mine", text="# mine\n")
    assert wait_until(lambda: len(listing(http)) == 1)
    assert http.post(f"/api/docs/{doc_id}-mine/rename", json={"id": f"{doc_id}-moved"}, headers=ORIGIN).status_code == 200
    assert [d["url"] for d in listing(http)] == [f"/d/{doc_id}-moved"]  # at once: the renamer's next look
    assert titles(http) == ["mine"]


def test_taking_a_document_off_the_list_leaves_the_document(signin_app, connect, http, doc_id):
    # a guest's document, only opened by the person (their own would stay: it is theirs)
    assert signin_app.test_client().post("/api/docs", json={"doc": doc_id, "text": "# keep me\n"}).status_code == 201
    sign_up(http)
    opened(signin_app, connect, http, doc=doc_id)
    assert wait_until(lambda: len(listing(http)) == 1)
    foreign = http.delete(f"/api/me/docs/d/{doc_id}", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and len(listing(http)) == 1
    assert http.delete(f"/api/me/docs/v/{doc_id}", headers=ORIGIN).status_code == 404  # it is no view link
    assert http.delete(f"/api/me/docs/d/{doc_id}", headers=ORIGIN).status_code == 204
    assert listing(http) == []
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == "# keep me\n"
    assert http.delete(f"/api/me/docs/d/{doc_id}", headers=ORIGIN).status_code == 404
    assert http.delete("/api/me/docs/x/abc", headers=ORIGIN).status_code == 404
    assert http.delete("/api/me/docs/d/bad%20id", headers=ORIGIN).status_code in (400, 404)


def test_without_sign_in_there_is_no_list_and_joins_record_nothing(app, connect, doc_id):
    c = connect(app)
    c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    assert app.test_client().get("/api/me/docs").status_code == 404
    store = app.extensions["collab"].store
    assert store.visits.visits("anyone") == []


def test_what_a_person_owns_or_is_invited_to_is_listed_unopened_and_leaves_when_they_are_removed(
        signin_app, connect, http, doc_id):
    """"My documents" is what they own, what is shared with them and what they opened: a
    document made over HTTP (no visit) is its owner's; an invitation lists it for the invited
    person before they ever open it, by the link it admits them by (a viewer's never the edit
    id); removed, it is gone from their list."""
    sign_up(http)  # Ann
    bo = signin_app.test_client()
    sign_up(bo, email="bo@example.org", name="Bo")
    cy = signin_app.test_client()
    sign_up(cy, email="cy@example.org", name="Cy")
    for name in ("edit", "view"):
        assert http.post("/api/docs", json={"doc": f"{doc_id}-{name}", "text": f"# For {name}\n"},
                         headers=ORIGIN).status_code == 201
    assert [(d["relation"], d["opened"]) for d in listing(http)] == [("owned", None)] * 2
    assert http.post(f"/api/docs/{doc_id}-edit/members", json={"person": "bo@example.org", "role": "editor"},
                     headers=ORIGIN).status_code in (200, 201)
    assert http.post(f"/api/docs/{doc_id}-view/members", json={"person": "bo@example.org", "role": "viewer"},
                     headers=ORIGIN).status_code in (200, 201)
    shared = {d["title"]: d for d in listing(bo)}
    assert set(shared) == {"For edit", "For view"}
    assert shared["For edit"]["url"] == f"/d/{doc_id}-edit" and shared["For edit"]["relation"] == "shared"
    assert shared["For view"]["url"].startswith("/v/") and shared["For view"]["role"] == "viewer"
    assert f"{doc_id}-view" not in json.dumps(shared["For view"])  # an invited viewer never sees the edit id
    assert listing(cy) == []  # a stranger's list has none of it
    # opened by the view link after being invited as editor: listed once, by the edit link
    opened(signin_app, connect, bo, view=signin_app.extensions["collab"].open(f"{doc_id}-edit").view_token)
    assert wait_until(lambda: [d["url"] for d in listing(bo) if d["title"] == "For edit"] == [f"/d/{doc_id}-edit"])
    assert len(listing(bo)) == 2
    user = next(u for u in signin_app.extensions["collab"].store.accounts.users() if u.email == "bo@example.org")
    assert http.delete(f"/api/docs/{doc_id}-view/members/{user.id}", headers=ORIGIN).status_code in (200, 204)
    assert [d["title"] for d in listing(bo)] == ["For edit"]
