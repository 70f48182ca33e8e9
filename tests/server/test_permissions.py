"""The permission matrix (issue 14, per-document permissions): every HTTP route and every
socket event, for every person (owner, invited editor, invited viewer, signed-in stranger,
each by the edit link and by the view link; a guest with the edit link, with the view link,
without any link) and every combination of the edit and view policies, allowed or refused
as the rule says, and nothing changed when refused (the document's text, version, labels,
access and links compared before and after).

The rule is written here again, from the issue, as the oracle (`expected_role`): the server's
own (collab/service/access.py) is never asked. One app for the module (accounts cost an
Argon2 hash each), a fresh document per test and per route that changes links or access.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from collab.app import create_app
from collab.core.patches import make_patch
from imagekit import png

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery"
POLICIES = ("link", "signed_in", "invited")
PEOPLE = ("owner", "editor", "viewer", "stranger")  # the signed-in ones; "guest" has no account
TEXT = "first line\nsecond line\n"


# -- the rule, as the issue states it ---------------------------------------------------------


def expected_role(person: str, link: str, edit: str, view: str) -> str | None:
    """editor, viewer or None (refused). Owner and invited editors edit by either link; the
    edit link edits when the edit policy admits the person, else views when the view policy
    does; the view link views when the view policy admits the person."""
    if link == "none":
        return None
    if person in ("owner", "editor"):
        return "editor"
    signed_in = person != "guest"
    invited = person == "viewer"
    if link == "edit" and (edit == "link" or (edit == "signed_in" and signed_in)):
        return "editor"
    if view == "link" or (view == "signed_in" and signed_in) or (view == "invited" and invited):
        return "viewer"
    return None


def refusal(person: str, link: str) -> tuple[int, str]:
    """How a refusal is said: a guest is asked to sign in, a signed-in person is forbidden;
    no link at all is an unknown document."""
    if link == "none":
        return 404, "not_found"
    return (401, "sign_in_required") if person == "guest" else (403, "forbidden")


# -- the app, the people and a document ----------------------------------------------------------


@dataclass
class World:
    app: Any
    http: dict[str, Any]  # http[person] = a Flask test client signed in as them ("guest": none)
    ids: dict[str, str]  # ids[person] = account id


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("permissions")
    app = create_app({"database_url": f"sqlite:///{path}/collab.db", "sign_in": "local", "sign_up": 1,
                      "sign_in_burst": 1000, "lookup_burst": 1_000_000, "lookup_rate": 1000.0,
                      "history_burst": 1_000_000, "history_rate": 1000.0, "presence_interval": 0.01})
    app.config["TESTING"] = True
    http, ids = {"guest": app.test_client()}, {}
    for person in PEOPLE:
        client = app.test_client()
        r = client.post("/api/signup", json={"email": f"{person}@example.org", "name": person.title(),
                                             "password": PASSWORD}, headers=ORIGIN)
        assert r.status_code == 201, r.get_json()
        http[person], ids[person] = client, r.get_json()["account"]["id"]
    yield World(app, http, ids)
    app.extensions["collab"].close()


@dataclass
class Doc:
    id: str
    view: str


def make_doc(world: World, edit: str, view: str) -> Doc:
    """A document the owner made, with one revision, a label and an image, Editor invited as
    editor and Viewer as viewer, then the policies set: all through the owner's routes."""
    owner = world.http["owner"]
    r = owner.post("/api/docs", json={"text": TEXT}, headers=ORIGIN)
    assert r.status_code == 201, r.get_json()
    doc = r.get_json()["doc"]
    links = owner.get(f"/api/docs/{doc}/links").get_json()
    assert owner.post(f"/api/docs/{doc}/labels", json={"version": 1, "name": "v1"}, headers=ORIGIN).status_code == 201
    for person, role in (("editor", "editor"), ("viewer", "viewer")):
        r = owner.post(f"/api/docs/{doc}/members", json={"person": f"{person}@example.org", "role": role},
                       headers=ORIGIN)
        assert r.status_code == 201, r.get_json()
    r = owner.put(f"/api/docs/{doc}/access", json={"edit": edit, "view": view}, headers=ORIGIN)
    assert r.status_code == 200 and (r.get_json()["edit"], r.get_json()["view"]) == (edit, view)
    return Doc(doc, links["view_url"].rsplit("/", 1)[1])


def state_of(world: World, doc: Doc) -> dict[str, Any]:
    """Everything a refused request must leave as it was, read as the owner and from the store."""
    owner = world.http["owner"]
    head = owner.get(f"/api/docs/{doc.id}")
    store = world.app.extensions["collab"].store
    row = store.get_document(doc.id)
    return {"status": head.status_code, "head": head.get_json(),
            "labels": owner.get(f"/api/docs/{doc.id}/labels").get_json(),
            "access": store.access.get(doc.id), "row": (row.id, row.view_token, row.head) if row else None,
            "images": [i.id for i in store.images(doc.id)]}


def key_of(doc: Doc, link: str) -> str:
    return {"edit": doc.id, "view": doc.view, "none": "no-such-document-" + doc.id[:8]}[link]


# -- the routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {key}: the document as the person names it; {image}: its image's id
    needs: str  # "viewer" (reads), "editor" (writes), "owner" (the owner's routes)
    kwargs: tuple[tuple[str, Any], ...] = ()
    fresh: bool = False  # changes links or access: on a document of its own

    def call(self, client: Any, key: str, image: str) -> Any:
        kwargs = dict(self.kwargs)
        if "data" in kwargs and isinstance(kwargs["data"], dict):  # a file: a new stream each time
            kwargs["data"] = {"file": (io.BytesIO(b"imported\n"), "notes.txt")}
        if "png" in kwargs:
            kwargs.pop("png")
            kwargs["data"], kwargs["content_type"] = png(), "image/png"
        return client.open(self.path.format(key=key, image=image), method=self.method, headers=ORIGIN, **kwargs)


def _r(method: str, path: str, needs: str, fresh: bool = False, **kwargs: Any) -> Route:
    return Route(method, path, needs, tuple(kwargs.items()), fresh)


ROUTES = [
    _r("GET", "/api/docs/{key}", "viewer"),
    _r("GET", "/api/docs/{key}/revisions", "viewer"),
    _r("GET", "/api/docs/{key}/versions/1", "viewer"),
    _r("GET", "/api/docs/{key}/people", "viewer"),
    _r("GET", "/api/docs/{key}/blame", "viewer"),
    _r("GET", "/api/docs/{key}/diff?from=0&to=1", "viewer"),
    _r("GET", "/api/docs/{key}/revert?author=Owner&since=0", "viewer"),
    _r("GET", "/api/docs/{key}/labels", "viewer"),
    _r("GET", "/api/docs/{key}/export?format=md", "viewer"),
    _r("GET", "/d/{key}", "viewer"),  # a page: shown when admitted by the link it names
    _r("GET", "/d/{key}/history", "viewer"),
    _r("GET", "/v/{key}", "viewer"),
    _r("GET", "/v/{key}/history", "viewer"),
    _r("GET", "/images/{image}", "viewer"),
    _r("GET", "/api/docs/{key}/links", "owner"),  # what hands out or changes the edit link: the owner's, by the edit id (an invited
    # editor by the view token renamed the document and learned an edit id: found from outside)
    _r("PUT", "/api/docs/{key}/text", "editor", json={"text": "replaced\n", "name": "X"}),
    _r("POST", "/api/docs/{key}/append", "editor", json={"text": "more\n", "name": "X"}),
    _r("POST", "/api/docs/{key}/copy", "editor", json={"name": "X"}),
    _r("POST", "/api/docs/{key}/restore", "editor", json={"version": 0, "name": "X"}),
    _r("POST", "/api/docs/{key}/revert", "editor", json={"author": "Owner", "since": 0, "name": "X"}),
    _r("POST", "/api/docs/{key}/labels", "editor", json={"version": 1, "name": "mine"}),
    _r("DELETE", "/api/docs/{key}/labels/v1", "editor"),
    _r("POST", "/api/docs/{key}/import", "editor", data={"file": None}, content_type="multipart/form-data"),
    _r("POST", "/api/docs/{key}/images", "editor", png=True),
    _r("PUT", "/api/docs/{key}/title", "editor", json={"title": "Chosen"}),
    _r("DELETE", "/api/docs/{key}", "owner", fresh=True),
    _r("POST", "/api/docs/{key}/rename", "owner", fresh=True, json={}),
    _r("POST", "/api/docs/{key}/view-token", "owner", fresh=True),
    _r("GET", "/api/docs/{key}/access", "owner"),
    _r("PUT", "/api/docs/{key}/access", "owner", fresh=True, json={"edit": "invited"}),
    _r("POST", "/api/docs/{key}/members", "owner", fresh=True, json={"person": "Stranger", "role": "viewer"}),
    _r("DELETE", "/api/docs/{key}/members/{image}", "owner", fresh=True),  # {image}: Editor's id, here
]
PERSONAS = [(p, link) for p in PEOPLE for link in ("edit", "view")] + [("guest", "edit"), ("guest", "view"),
                                                                         ("guest", "none")]
COMBOS = list(itertools.product(POLICIES, POLICIES))


def _allowed(route: Route, person: str, link: str, role: str | None) -> bool:
    if link == "none" and route.path.startswith("/d/"):
        return True  # the page of a name no document has: joining it makes a new document, as before
    if role is None:
        return False
    if route.path.startswith(("/d/", "/v/")) and route.path[1] != {"edit": "d", "view": "v"}[link]:
        return False  # a page of the other kind of link (tested apart: a view token is no edit link)
    if route.needs == "owner":
        return person == "owner" and link == "edit"  # the owner's routes take the edit id
    return route.needs == "viewer" or role == "editor"


def _refused_as(route: Route, person: str, link: str, role: str | None) -> tuple[int, set[str]]:
    """The status (and codes) of a refused request."""
    if role is None:
        if route.path.startswith("/images/"):
            return 404, {"not_found"}  # an image not for this person is as no image at all
        status, code = refusal(person, link)
        if link == "view" and route.path.startswith("/d/"):
            return 403, {"read_only"}  # a view token made into an edit link, whoever asks
        if link == "edit" and route.path.startswith("/v/"):
            return 404, {"not_found"}
        return status, {code}
    if route.path.startswith("/d/"):
        return 403, {"read_only"}
    if route.path.startswith("/v/"):
        return 404, {"not_found"}
    if route.needs == "owner":
        return 403, {"forbidden", "read_only"}
    return 403, {"read_only"}


@pytest.mark.parametrize(("edit", "view"), COMBOS, ids=[f"edit={e}-view={v}" for e, v in COMBOS])
@pytest.mark.parametrize(("person", "link"), PERSONAS, ids=[f"{p}-by-{k}" for p, k in PERSONAS])
def test_every_http_route(world, person, link, edit, view):
    client = world.http[person]
    shared = make_doc(world, edit, view)
    image = world.http["owner"].post(f"/api/docs/{shared.id}/images", data=png(), content_type="image/png",
                                     headers=ORIGIN).get_json()["id"]
    for route in ROUTES:
        if route.path.startswith("/images/"):
            # the image's URL names no document and no link: it is shown to whoever some link
            # of its document would admit (the edit link admits the most)
            role = expected_role(person, "edit", edit, view)
        else:
            role = expected_role(person, link, edit, view)
        doc = make_doc(world, edit, view) if route.fresh else shared
        before = state_of(world, doc)
        extra = world.ids["editor"] if "members/" in route.path else image
        resp = route.call(client, key_of(doc, link), extra)
        what = (route.method, route.path, resp.status_code, resp.get_data()[:300])
        if _allowed(route, person, link, role):
            assert 200 <= resp.status_code < 300, what
            continue
        status, codes = _refused_as(route, person, link, role)
        assert resp.status_code == status, what
        if resp.mimetype == "application/json":
            assert resp.get_json()["error"]["code"] in codes, what
        else:
            assert resp.mimetype == "text/html", what
        assert state_of(world, doc) == before, what
        body = resp.get_data(as_text=True)
        if role is None:  # a refusal names nothing of the document
            for secret in (doc.id if link != "edit" else None, doc.view if link != "view" else None,
                           "Owner", "owner@example.org", "Editor", "Viewer", "first line"):
                if secret:
                    assert secret not in body, (what, secret)


# -- the socket events ---------------------------------------------------------------------


def _connect(world: World, person: str) -> Any:
    sio = world.app.extensions["socketio"]
    if person == "guest":
        return sio.test_client(world.app)
    return sio.test_client(world.app, flask_test_client=world.http[person])


def _events(client: Any, name: str) -> list[Any]:
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


@pytest.mark.parametrize(("edit", "view"), COMBOS, ids=[f"edit={e}-view={v}" for e, v in COMBOS])
@pytest.mark.parametrize(("person", "link"), PERSONAS, ids=[f"{p}-by-{k}" for p, k in PERSONAS])
def test_every_socket_event(world, person, link, edit, view):
    role = expected_role(person, link, edit, view)
    doc = make_doc(world, edit, view)
    watcher = _connect(world, "owner")  # sees what reaches the others
    assert watcher.emit("join", {"doc": doc.id, "name": "W"}, callback=True)["role"] == "editor"
    client = _connect(world, person)
    key = key_of(doc, link)
    joined = client.emit("join", {"view": key} if link != "edit" else {"doc": key, "name": "P"}, callback=True)
    watcher.get_received()
    before = state_of(world, doc)
    if role is None:
        status, code = refusal(person, link)
        assert joined["ok"] is False and joined["error"]["code"] == (code if link != "none" else "bad_doc"), joined
        assert "first line" not in str(joined) and doc.id not in str(joined) and "Owner" not in str(joined)
    else:
        assert joined["ok"] is not False and joined["role"] == role and joined["text"] == TEXT, joined
        assert joined["doc"] == key and (doc.id in str(joined)) == (link == "edit")
    # the events of the contract, each: refused as the role says, nothing changed then
    patch = client.emit("patch", {"doc": key, "base": 1, "patch": make_patch(TEXT, TEXT + "x"), "id": "p-1"},
                        callback=True)
    restore = client.emit("restore", {"doc": key, "version": 0}, callback=True)
    sync = client.emit("sync", {"doc": key, "since": 0}, callback=True)
    client.emit("seen", {"doc": key, "version": 1})
    client.emit("cursor", {"doc": key, "anchor": 1, "head": 2})
    cursors = _events(watcher, "cursor")
    if role == "editor":
        assert patch["ok"] and restore["ok"] and sync["ok"], (patch, restore, sync)
        assert [c["name"] for c in cursors] == ["P" if person == "guest" else person.title()]
        assert state_of(world, doc)["head"]["version"] == 3  # the patch, then the restore
    else:
        expect = "read_only" if role == "viewer" else "not_joined"
        assert patch["error"]["code"] == expect and restore["error"]["code"] == expect, (patch, restore)
        assert sync["ok"] if role == "viewer" else sync["error"]["code"] == "not_joined", sync
        assert cursors == []
        assert state_of(world, doc) == before
    left = client.emit("leave", {"doc": key}, callback=True)
    assert left.get("ok") is True if role is not None else left["error"]["code"] == "not_joined"
    client.disconnect()
    watcher.disconnect()


# -- with no settings, nothing changes ------------------------------------------------------


def test_without_sign_in_every_document_is_open_by_its_links_as_before(make_app, connect, doc_id):
    app = make_app()
    ed = connect(app)
    ack = ed.emit("join", {"doc": doc_id, "name": "Ed"}, callback=True)
    assert ack["role"] == "editor"
    viewer = connect(app)
    assert viewer.emit("join", {"view": ack["view"]}, callback=True)["role"] == "viewer"
    http = app.test_client()
    assert http.get(f"/api/docs/{doc_id}/access").status_code == 403  # nobody owns it: nobody changes it
    assert app.extensions["collab"].store.access.get(doc_id).owner is None


# -- live changes ------------------------------------------------------------------------------


def test_an_editor_made_a_viewer_is_read_only_at_once_and_an_editor_again_after(world):
    """A guest editing by the edit link while the owner makes the document `invited` for
    editing: the guest gets `role: viewer` without joining again, its patches are refused
    `read_only`, presence says viewer; back to `link`, it writes again."""
    doc = make_doc(world, "link", "link")
    guest = _connect(world, "guest")
    assert guest.emit("join", {"doc": doc.id, "name": "Gus"}, callback=True)["role"] == "editor"
    owner = world.http["owner"]
    assert owner.put(f"/api/docs/{doc.id}/access", json={"edit": "invited"}, headers=ORIGIN).status_code == 200
    assert _events(guest, "role") == [{"doc": doc.id, "role": "viewer"}]
    refused = guest.emit("patch", {"doc": doc.id, "base": 1, "patch": make_patch(TEXT, TEXT + "x"), "id": "g-1"},
                         callback=True)
    assert refused["error"]["code"] == "read_only"
    people = owner.get(f"/api/docs/{doc.id}/people").get_json()
    assert (people["editors"], people["viewers"]) == (0, 1)
    assert owner.put(f"/api/docs/{doc.id}/access", json={"edit": "link"}, headers=ORIGIN).status_code == 200
    assert _events(guest, "role") == [{"doc": doc.id, "role": "editor"}]
    assert guest.emit("patch", {"doc": doc.id, "base": 1, "patch": make_patch(TEXT, TEXT + "x"), "id": "g-2"},
                      callback=True)["ok"]
    guest.disconnect()


def test_an_invited_editor_removed_is_taken_out_of_the_document(world):
    doc = make_doc(world, "invited", "invited")
    editor, viewer = _connect(world, "editor"), _connect(world, "viewer")
    assert editor.emit("join", {"doc": doc.id}, callback=True)["role"] == "editor"
    assert viewer.emit("join", {"view": doc.view}, callback=True)["role"] == "viewer"
    editor.get_received()
    owner = world.http["owner"]
    assert owner.delete(f"/api/docs/{doc.id}/members/{world.ids['editor']}", headers=ORIGIN).status_code == 200
    [gone] = _events(editor, "gone")
    assert gone["doc"] == doc.id and gone["error"]["code"] == "forbidden"
    assert "Owner" not in str(gone) and "owner@" not in str(gone)
    assert editor.emit("patch", {"doc": doc.id, "base": 1, "patch": make_patch(TEXT, "x"), "id": "e-1"},
                       callback=True)["error"]["code"] == "not_joined"
    assert editor.emit("join", {"doc": doc.id}, callback=True)["error"]["code"] == "forbidden"
    # the viewer, still invited, stays; made an editor by the owner, it may write by the view link
    assert _events(viewer, "gone") == []
    assert owner.post(f"/api/docs/{doc.id}/members", json={"person": "Viewer", "role": "editor"},
                      headers=ORIGIN).status_code == 201
    assert _events(viewer, "role") == [{"doc": doc.view, "role": "editor"}]
    ack = viewer.emit("patch", {"doc": doc.view, "base": 1, "patch": make_patch(TEXT, TEXT + "v"), "id": "v-1"},
                      callback=True)
    assert ack["ok"] and ack["version"] == 2
    # its own revision does not come back to it in the viewers' room (it has the ack)
    assert [r for r in _events(viewer, "revision") if r["version"] == 2] == []
    assert world.http["owner"].get(f"/api/docs/{doc.id}").get_json()["text"] == TEXT + "v"
    # a guest is asked to sign in; after a sign-out the person is a guest
    guest = _connect(world, "guest")
    assert guest.emit("join", {"view": doc.view}, callback=True)["error"]["code"] == "sign_in_required"
    for c in (editor, viewer, guest):
        c.disconnect()


def test_only_the_owner_changes_access_and_bad_input_is_refused_clearly(world):
    doc = make_doc(world, "link", "link")
    owner, editor = world.http["owner"], world.http["editor"]
    r = editor.put(f"/api/docs/{doc.id}/access", json={"edit": "link"}, headers=ORIGIN)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert "Owner" not in r.get_data(as_text=True)
    bad = [
        (owner.put, "access", {"edit": "everyone"}, 400, "edit must be one of"),
        (owner.put, "access", {"owner": "me"}, 400, "access reads only"),
        (owner.post, "members", {"person": "nobody@example.org", "role": "editor"}, 404, "no account has"),
        (owner.post, "members", {"person": "Editor", "role": "admin"}, 400, "role must be"),
        (owner.post, "members", {"person": "Owner", "role": "viewer"}, 400, "the owner may always edit"),
        (owner.post, "members", {"role": "viewer"}, 400, "person must be"),
    ]
    for method, what, body, status, words in bad:
        r = method(f"/api/docs/{doc.id}/{what}", json=body, headers=ORIGIN)
        assert r.status_code == status and words in r.get_json()["error"]["message"], (body, r.get_json())
    r = owner.delete(f"/api/docs/{doc.id}/members/{world.ids['stranger']}", headers=ORIGIN)
    assert r.status_code == 404
    # from another origin: refused before anything runs
    r = owner.put(f"/api/docs/{doc.id}/access", json={"edit": "invited"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and world.app.extensions["collab"].store.access.get(doc.id).edit == "link"
    # the owner's view: policies, members with names and roles, the links
    body = owner.get(f"/api/docs/{doc.id}/access").get_json()
    assert body["owner"]["name"] == "Owner" and (body["edit"], body["view"]) == ("link", "link")
    assert [(m["name"], m["role"]) for m in body["members"]] == [("Editor", "editor"), ("Viewer", "viewer")]
    assert body["links"]["edit"].endswith(f"/d/{doc.id}") and body["links"]["view"].endswith(f"/v/{doc.view}")


def test_a_document_made_by_joining_is_owned_by_its_signed_in_maker(world):
    ann = _connect(world, "stranger")
    assert ann.emit("join", {"doc": "made-by-joining-" + world.ids["stranger"][-6:]}, callback=True)["role"] == "editor"
    doc = "made-by-joining-" + world.ids["stranger"][-6:]
    assert world.app.extensions["collab"].store.access.get(doc).owner == world.ids["stranger"]
    assert world.http["stranger"].get(f"/api/docs/{doc}/access").status_code == 200
    ann.disconnect()


def test_rename_and_delete_take_the_access_along(world):
    doc = make_doc(world, "invited", "signed_in")
    owner = world.http["owner"]
    new = owner.post(f"/api/docs/{doc.id}/rename", json={"id": "renamed-" + doc.id[:10]}, headers=ORIGIN).get_json()["doc"]
    store = world.app.extensions["collab"].store
    moved = store.access.get(new)
    assert (moved.owner, moved.edit, moved.view, len(moved.members)) == (world.ids["owner"], "invited", "signed_in", 2)
    assert store.access.get(doc.id).owner is None
    assert owner.delete(f"/api/docs/{new}", headers=ORIGIN).status_code == 200
    assert store.access.get(new).owner is None and store.access.get(new).members == ()


def test_my_documents_lists_only_what_the_access_still_admits(world):
    """A person taken out of a document no longer finds it (nor its title) on their list."""
    import time

    import gevent

    doc = make_doc(world, "invited", "invited")
    editor = _connect(world, "editor")
    assert editor.emit("join", {"doc": doc.id}, callback=True)["role"] == "editor"
    mine = world.http["editor"]

    def listed() -> list[str]:
        return [d["url"] for d in mine.get("/api/me/docs").get_json()["docs"]]

    deadline = time.monotonic() + 10
    while f"/d/{doc.id}" not in listed() and time.monotonic() < deadline:
        gevent.sleep(0.05)  # the visit is written in the background
    assert f"/d/{doc.id}" in listed()
    owner = world.http["owner"]
    assert owner.post(f"/api/docs/{doc.id}/members", json={"person": "Editor", "role": "viewer"},
                      headers=ORIGIN).status_code == 201
    [entry] = [d for d in mine.get("/api/me/docs").get_json()["docs"] if d["url"] == f"/d/{doc.id}"]
    assert entry["role"] == "viewer"
    assert owner.delete(f"/api/docs/{doc.id}/members/{world.ids['editor']}", headers=ORIGIN).status_code == 200
    assert f"/d/{doc.id}" not in listed()
    editor.disconnect()


def test_inviting_by_name_tells_no_email_and_probing_for_accounts_is_throttled(make_app):
    """An invitation by display name answered the person's email, so anyone who made a
    document could turn names into emails; and 404 against 201 told which emails have
    accounts, unthrottled (found from outside). Now members are shown by name, and every
    invitation that finds nobody costs a lookup token."""
    app = make_app(sign_in="local", sign_up=1, lookup_burst=3, lookup_rate=0.001)
    people = {}
    for name in ("Owner", "Admin"):
        http = app.test_client()
        assert http.post("/api/signup", json={"email": f"{name.lower()}@example.org", "name": name,
                                              "password": PASSWORD}, headers=ORIGIN).status_code == 201
        people[name] = http
    owner = people["Owner"]
    assert owner.post("/api/docs", json={"doc": "probe-doc"}, headers=ORIGIN).status_code == 201
    r = owner.post("/api/docs/probe-doc/members", json={"person": "Admin", "role": "viewer"}, headers=ORIGIN)
    assert r.status_code == 201
    assert "admin@example.org" not in r.get_data(as_text=True)
    assert r.get_json()["members"][0]["name"] == "Admin" and r.get_json()["owner"]["email"] == "owner@example.org"
    codes = [owner.post("/api/docs/probe-doc/members", json={"person": f"ghost{i}@example.org"},
                        headers=ORIGIN).status_code for i in range(5)]
    assert codes[:2] == [404, 404] and codes[-1] == 429, codes  # the burst (one spent creating the document)
