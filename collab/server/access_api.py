"""The owner's routes of per-document permissions (issue 14): who may edit and view a
document, and who is invited.

    GET    /api/docs/<edit id>/access            the policies, the owner, the members, the links
    PUT    /api/docs/<edit id>/access            {edit?, view?}: change the policies
    POST   /api/docs/<edit id>/members           {person, role}: invite by email or display name
    DELETE /api/docs/<edit id>/members/<user id> no longer invited

Only the document's owner (the signed-in person who made it) may use them: anyone else,
whatever their role, is 403 `forbidden` (told nothing of the owner or the members). Every
change is followed by `realtime.access_changed`: each process re-checks its clients of the
document at once (an editor made a viewer is read-only live; one no longer admitted is taken
out). The Origin check of these writes is the EdgeGuard's (guard.py), as for every write.

Thin: the rule is service/access.py's, the rows the store's. An edge module.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..core.errors import CollabError
from ..core.ids import check_doc_id
from ..service.access import check_policy, check_role
from ..service.documents import DocState
from ..storage import Access, User
from .accounts import current_user
from .api import _realtime, _resolve, _service
from .bodies import json_object
from .guard import lookups_of

bp = Blueprint("access", __name__)
NOT_OWNER = "only the document's owner may see or change who may open it"
MAX_PERSON = 254  # characters of an email (RFC 5321) or a display name


def _owned(doc: str) -> tuple[DocState, Access, User]:
    """The document named by its edit id, its access and its owner, who is asking; 403
    otherwise (a view token, any other person), naming nobody."""
    state, _ = _resolve(doc)
    user = current_user()
    access = _service().access(state)
    if user is None or user.id != access.owner:
        raise CollabError("forbidden", NOT_OWNER)
    if doc != state.id:
        raise CollabError("read_only", "the owner's routes take the edit link's id, not the view token")
    return state, access, user


def _person(user_id: str, email: bool = False) -> dict[str, Any]:
    """Someone as the owner's dialog shows them: id and name; the email only of the owner
    themselves. An invitation by display name answered the invited person's email, which
    made the invite route a name-to-email lookup for anyone with a document (found from
    outside): who invited by email knows it already."""
    user = _service().store.accounts.user(user_id)
    shown: dict[str, Any] = {"id": user_id, "name": user.name if user else "(account removed)"}
    if email:
        shown["email"] = user.email if user else None
    return shown


def _body(doc: str, state: DocState, access: Access) -> dict[str, Any]:
    return {"doc": doc, "owner": _person(access.owner, email=True) if access.owner else None,
            "edit": access.edit, "view": access.view,
            "members": [{**_person(m.user), "role": m.role} for m in access.members],
            "links": {"edit": f"{request.host_url}d/{state.id}", "view": f"{request.host_url}v/{state.view_token}"}}


def _find(person: object) -> User:
    """The account of an email (ignoring case) or, failing that, of a display name that
    exactly one account has; 404 when none, 400 when several share the name."""
    if not isinstance(person, str) or not person.strip() or len(person) > MAX_PERSON:
        raise CollabError("bad_request", "person must be the email or display name of an account")
    person = person.strip()
    # who has an account is asked of the lookup throttle: each invitation that finds nobody
    # costs the address a token, as an unknown document name does (probing emails)
    lookups, address = lookups_of(request.environ)
    lookups.check(address)
    store = _service().store
    if "@" in person:
        user = store.accounts.user_by_email(person)
        if user is not None and not user.disabled:
            return user
    else:
        named = [u for u in store.accounts.users() if u.name == person and not u.disabled]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise CollabError("bad_request", f"{len(named)} accounts are named {person[:64]!r}: invite by email")
    lookups.miss(address)
    raise CollabError("not_found", f"no account has the email or name {person[:64]!r}: ask them to sign up first")


@bp.get("/api/docs/<doc>/access")
def get_access(doc: str) -> Response:
    state, access, _ = _owned(doc)
    return _answer(doc, state, access)


@bp.put("/api/docs/<doc>/access")
def put_access(doc: str) -> Response:
    state, access, _ = _owned(doc)
    body = json_object()
    unknown = sorted(set(body) - {"edit", "view"})
    if unknown:
        raise CollabError("bad_request", f"access reads only `edit` and `view`, not {', '.join(repr(k[:40]) for k in unknown[:5])}")
    edit = check_policy(body["edit"], "edit") if "edit" in body else access.edit
    view = check_policy(body["view"], "view") if "view" in body else access.view
    if (edit, view) != (access.edit, access.view):
        access = _service().set_policies(state, edit, view)
        _realtime().access_changed(state.id)
    return _answer(doc, state, access)


@bp.post("/api/docs/<doc>/members")
def post_member(doc: str) -> tuple[Response, int]:
    state, access, owner = _owned(doc)
    body = json_object()
    role = check_role(body.get("role", "editor"))
    user = _find(body.get("person"))
    if user.id == owner.id:
        raise CollabError("bad_request", "the owner may always edit: invite someone else")
    if access.role_of(user.id) != role:
        access = _service().set_member(state, user.id, role)
        _realtime().access_changed(state.id)
    return _answer(doc, state, access), 201


@bp.delete("/api/docs/<doc>/members/<user_id>")
def delete_member(doc: str, user_id: str) -> Response:
    state, _, _ = _owned(doc)
    check_doc_id(user_id, "user id")
    access = _service().remove_member(state, user_id)
    if access is None:
        raise CollabError("not_found", "this person is not invited to the document")
    _realtime().access_changed(state.id)
    return _answer(doc, state, access)


def _answer(doc: str, state: DocState, access: Access) -> Response:
    resp = jsonify(_body(doc, state, access))
    resp.headers["Cache-Control"] = "no-store"
    return resp
