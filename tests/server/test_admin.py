"""COLLAB_ADMINS (who may list and delete every document) and COLLAB_CREATE=signed_in (only
signed-in people create documents): the settings checked at start, and every creating edge
refusing a guest clearly while existing documents still open by their links."""
import pytest

from collab.core.config import ConfigError, Settings

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}


def browser(app, email, name):
    http = app.test_client()
    assert http.post("/api/signup", json={"email": email, "name": name, "password": PASSWORD},
                     headers=ORIGIN).status_code == 201
    return http


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "says"), [
    ({"COLLAB_ADMINS": "root@example.org"}, "set COLLAB_SIGN_IN \\(local, oidc or proxy\\) too"),
    ({"COLLAB_SIGN_IN": "local", "COLLAB_ADMINS": "root"}, "COLLAB_ADMINS must be comma-separated emails"),
    ({"COLLAB_SIGN_IN": "local", "COLLAB_ADMINS": "a@b.c,@x"}, "COLLAB_ADMINS"),
    ({"COLLAB_CREATE": "signed_in"}, "set COLLAB_SIGN_IN \\(local, oidc or proxy\\) too"),
    ({"COLLAB_SIGN_IN": "local", "COLLAB_CREATE": "members"}, "COLLAB_CREATE must be anyone"),
])
def test_admins_and_create_are_checked_at_start(env, says):
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(env)


def test_admins_are_matched_ignoring_case():
    s = Settings.from_env({"COLLAB_SIGN_IN": "local", "COLLAB_ADMINS": " Root@Example.org , b@x.y,"})
    assert s.admin_emails == {"root@example.org", "b@x.y"} and Settings().create == "anyone"


# -- admins ---------------------------------------------------------------------------------


@pytest.fixture
def admin_app(make_app):
    return make_app(sign_in="local", sign_up=1, admins="root@example.org")


def test_an_admin_lists_every_document_a_page_at_a_time_and_deletes_any(admin_app):
    guest = admin_app.test_client()
    made = sorted(guest.post("/api/docs", json={"text": f"doc {i}"}).get_json()["doc"] for i in range(5))
    root = browser(admin_app, "ROOT@example.org", "Root")
    assert root.get("/api/me").get_json()["admin"] is True
    first = root.get("/api/admin/docs?limit=2").get_json()
    assert [d["id"] for d in first["docs"]] == made[:2] and first["next"] == made[1]
    assert set(first["docs"][0]) == {"id", "created", "updated", "head"} and first["docs"][0]["head"] == 1
    rest = root.get(f"/api/admin/docs?after={first['next']}&limit=1000").get_json()
    assert [d["id"] for d in rest["docs"]] == made[2:] and rest["next"] is None
    # deleting is the delete route, by the id the list gave
    assert root.delete(f"/api/docs/{made[0]}", headers=ORIGIN).status_code == 200
    assert [d["id"] for d in root.get("/api/admin/docs").get_json()["docs"]] == made[1:]


def test_an_admin_with_a_token_lists_too(admin_app):
    root = browser(admin_app, "root@example.org", "Root")
    secret = root.post("/api/me/tokens", json={"name": "audit"}, headers=ORIGIN).get_json()["token"]
    r = admin_app.test_client().get("/api/admin/docs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.get_json() == {"docs": [], "next": None}


def test_anyone_else_is_refused_the_list_clearly(admin_app, make_app):
    guest = admin_app.test_client()
    r = guest.get("/api/admin/docs")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign_in_required"
    ann = browser(admin_app, "ann@example.org", "Ann")
    r = ann.get("/api/admin/docs")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden" and "COLLAB_ADMINS" in r.get_json()["error"]["message"]
    assert "admin" not in ann.get("/api/me").get_json()
    off = make_app().test_client().get("/api/admin/docs")
    assert off.status_code == 404


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "limit=-1", "after=../x", "after=" + "a" * 65, "limit=" + "9" * 5000])
def test_a_bad_page_is_400(admin_app, query):
    root = browser(admin_app, "root@example.org", "Root")
    r = root.get(f"/api/admin/docs?{query}")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"


# -- only signed-in people create -------------------------------------------------------------


@pytest.fixture
def closed_app(make_app):
    return make_app(sign_in="local", sign_up=1, create="signed_in")


def test_a_guest_creates_nothing_over_http(closed_app, doc_id):
    guest = closed_app.test_client()
    for r in (guest.post("/api/docs", json={}), guest.post("/api/docs", json={"doc": doc_id, "text": "x"})):
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign_in_required"
        assert "sign in" in r.get_json()["error"]["message"]
    assert guest.get(f"/api/docs/{doc_id}").status_code == 404
    ann = browser(closed_app, "ann@example.org", "Ann")
    assert ann.post("/api/docs", json={"doc": doc_id, "text": "x"}, headers=ORIGIN).status_code == 201
    # the guest still reads and edits what exists, by its link, but copies nothing into a new one
    assert guest.put(f"/api/docs/{doc_id}/text", json={"text": "y"}).status_code == 201
    r = guest.post(f"/api/docs/{doc_id}/copy", json={})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign_in_required"


def test_a_guest_joins_what_exists_and_creates_nothing_by_joining(closed_app, connect, doc_id):
    guest = connect(closed_app)
    ack = guest.emit("join", {"doc": doc_id, "name": "Cy"}, callback=True)
    assert not ack["ok"] and ack["error"]["code"] == "sign_in_required"
    assert closed_app.test_client().get(f"/api/docs/{doc_id}").status_code == 404  # nothing was created
    ann = browser(closed_app, "ann@example.org", "Ann")
    signed = connect(closed_app, flask_test_client=ann)
    assert signed.emit("join", {"doc": doc_id}, callback=True)["ok"]  # a signed-in person creates it
    assert guest.emit("join", {"doc": doc_id, "name": "Cy"}, callback=True)["ok"]


def test_the_pages_offer_a_guest_sign_in_instead_of_new_documents(closed_app, make_app, doc_id):
    guest = closed_app.test_client()
    start = guest.get("/")
    if start.status_code == 503:
        pytest.skip("the frontend is not built")
    assert b'data-create="signed_in"' in start.data
    page = guest.get(f"/d/{doc_id}", headers=HTML)
    assert page.status_code == 401 and b"Sign in" in page.data and f"/signin?next=/d/{doc_id}".encode() in page.data
    api = guest.get(f"/d/{doc_id}")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "sign_in_required"
    ann = browser(closed_app, "ann@example.org", "Ann")
    assert b"data-create" not in ann.get("/").data and ann.get(f"/d/{doc_id}", headers=HTML).status_code == 200
    ann.post("/api/docs", json={"doc": doc_id}, headers=ORIGIN)
    assert guest.get(f"/d/{doc_id}", headers=HTML).status_code == 200  # it exists now: a guest opens it
    assert b"data-create" not in make_app().test_client().get("/").data  # the default: anyone creates


def test_an_admin_without_an_account_is_warned_of_at_start(make_app, caplog):
    with caplog.at_level("WARNING", logger="collab.app"):
        make_app(sign_in="local", admins="ghost@example.org")
    assert any("COLLAB_ADMINS names ghost@example.org, which has no account" in r.getMessage() for r in caplog.records)


def test_an_admin_deletes_a_document_whose_access_does_not_admit_them(admin_app):
    """Per-document permissions keep a document to its invited people; an admin deletes it
    all the same (anyone else it does not admit is refused, and it stays)."""
    ann = browser(admin_app, "ann@example.org", "Ann")
    doc = ann.post("/api/docs", json={"text": "Ann's"}, headers=ORIGIN).get_json()["doc"]
    r = ann.put(f"/api/docs/{doc}/access", json={"edit": "invited", "view": "invited"}, headers=ORIGIN)
    assert r.status_code == 200, r.get_json()
    bo = browser(admin_app, "bo@example.org", "Bo")
    assert bo.delete(f"/api/docs/{doc}", headers=ORIGIN).status_code in (403, 404)
    root = browser(admin_app, "root@example.org", "Root")
    assert doc in [d["id"] for d in root.get("/api/admin/docs").get_json()["docs"]]
    r = root.delete(f"/api/docs/{doc}", headers=ORIGIN)
    assert r.status_code == 200, r.get_json()
    assert ann.get(f"/api/docs/{doc}").status_code == 410
