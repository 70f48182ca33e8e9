"""\"My documents\" (COLLAB_SIGN_IN): the documents a signed-in person opened, with their
titles, searchable by title and sorted by last change; the person may take one off the
list (the document stays). The list is built by service/visits.py; this edge turns it
into JSON and never shows an edit id for a document its person opened by its view link, nor
a document whose access no longer admits them by the link they used (per-document
permissions: service/access.py; its title is not theirs to see).

An edge module: imports the core and the service; nothing imports it but `create_app`.
"""
from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from ..core.errors import CollabError
from ..core.ids import check_doc_id
from ..service.access import EDIT_LINK, VIEW_LINK, decide
from ..service.documents import DocumentService
from ..service.visits import Listed
from .accounts import current_user

bp = Blueprint("mydocs", __name__)
SORTS = ("changed", "opened", "title")
MAX_QUERY = 200  # characters of a search


def _service() -> DocumentService:
    return cast(DocumentService, current_app.extensions["collab"])


def _person_id() -> str:
    if "collab.accounts" not in current_app.extensions:
        raise CollabError("not_found", "sign-in is off on this server (COLLAB_SIGN_IN)")
    user = current_user()
    if user is None:
        raise CollabError("sign_in_required", "sign in to see your documents")
    return user.id


def _item(listed: Listed, role: str, manage: bool) -> dict[str, Any]:
    v = listed.visit
    edit = v.kind == "edit"
    return {"title": listed.title, "url": f"/d/{v.doc}" if edit else f"/v/{v.view_token}",
            "role": role, "relation": listed.relation, "manage": manage, "opened": v.opened or None, "changed": v.updated,
            "created": v.created, "version": v.head}


def _role(listed: Listed, person: str) -> tuple[str, bool] | None:
    """What the document's access gives the person by the link they opened it with, and
    whether they may rename and delete it (by its edit id: its owner, or anyone's editor of
    a document without one); None: refused (then it is not on their list)."""
    v = listed.visit
    access = _service().store.access.get(v.doc)
    try:
        role = decide(access, person, EDIT_LINK if v.kind == "edit" else VIEW_LINK)
    except CollabError:
        return None
    return role, v.kind == "edit" and role == "editor" and access.owner in (None, person)


@bp.get("/api/me/docs")
def my_documents() -> Response:
    """`{"docs": [{title, url, role, opened, changed, created, version}]}`: `q` keeps those
    whose title holds it (ignoring case), `sort` is `changed` (the default: the latest change
    first), `opened` (the latest opened first) or `title`."""
    person = _person_id()
    query = request.args.get("q", "")
    sort = request.args.get("sort", "changed")
    if len(query) > MAX_QUERY:
        raise CollabError("bad_request", f"a search is at most {MAX_QUERY} characters")
    if sort not in SORTS:
        raise CollabError("bad_request", f"sort must be one of {', '.join(SORTS)}, not {sort[:40]!r}")
    needle = query.strip().casefold()
    items = [_item(d, *given) for d in _service().visits.listing(person)
             if (given := _role(d, person)) is not None and needle in d.title.casefold()]
    if sort == "title":
        items.sort(key=lambda d: (d["title"].casefold() or "\uffff", -d["changed"]))
    elif sort == "changed":
        items.sort(key=lambda d: -d["changed"])
    resp = jsonify({"docs": items})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.delete("/api/me/docs/<kind>/<link>")
def forget_document(kind: str, link: str) -> tuple[str, int]:
    """Take a document off the person's list (`kind` d or v, as in its URL): 204; the
    document itself is not touched. 404 when it is not on the list."""
    person = _person_id()
    if kind not in ("d", "v"):
        raise CollabError("not_found", "no such list entry: the path is /api/me/docs/d/<id> or /v/<token>")
    if not _service().visits.forget(person, check_doc_id(link), "edit" if kind == "d" else "view"):
        raise CollabError("not_found", "that document is not on your list")
    return "", 204
