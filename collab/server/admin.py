"""What an admin (COLLAB_ADMINS: emails of accounts) may do that nobody else may: list every
document of the server, a page at a time. Deleting any document needs nothing more: the
existing `DELETE /api/docs/<edit id>` takes the ids this list gives (and `is_admin` is what
a permission check lets through when documents have owners).

Refused clearly: 404 while sign-in is off (no admins without accounts), 401
`sign_in_required` for a guest, 403 `forbidden` for a signed-in person who is not an admin.

An edge module: flask, the core, the accounts edge.
"""
from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, current_app, jsonify, request

from ..core.config import Settings
from ..core.errors import CollabError
from ..core.ids import DOC_ID_RE, check_version
from ..storage import User
from .accounts import current_user

bp = Blueprint("admin", __name__)
PAGE = 100  # documents per page by default
MAX_PAGE = 1_000  # ... and at most


def _settings() -> Settings:
    return cast(Settings, current_app.extensions["collab.settings"])


def is_admin(user: User | None) -> bool:
    """Whether a signed-in person is one of COLLAB_ADMINS (matched by email, case folded)."""
    return user is not None and not user.disabled and user.email.strip().casefold() in _settings().admin_emails


def _admin() -> User:
    if not _settings().sign_in:
        raise CollabError("not_found", "sign-in is off on this server (COLLAB_SIGN_IN): there are no admins")
    user = current_user()
    if user is None:
        raise CollabError("sign_in_required", "sign in as an admin (COLLAB_ADMINS) to list every document")
    if not is_admin(user):
        raise CollabError("forbidden", "only an admin (an account listed in COLLAB_ADMINS) may list every document")
    return user


@bp.get("/api/admin/docs")
def list_documents() -> Response:
    """Every document, by id, `limit` at a time (default 100, at most 1,000) after the id
    `after`: `{docs: [{id, created, updated, head}], next}`, `next` the `after` of the next
    page (null on the last)."""
    _admin()
    after = request.args.get("after", "")
    if after and not DOC_ID_RE.fullmatch(after):
        raise CollabError("bad_request", "after must be a document id (the `next` of the page before)")
    limit = check_version(request.args.get("limit", str(PAGE)), "limit", minimum=1, text=True)
    limit = min(limit, MAX_PAGE)
    store = current_app.extensions["collab"].store
    rows = store.documents_page(after, limit + 1)  # one more: whether there is a next page
    page = rows[:limit]
    resp = jsonify({"docs": [{"id": r.id, "created": r.created, "updated": r.updated, "head": r.head} for r in page],
                    "next": page[-1].id if len(rows) > limit else None})
    resp.headers["Cache-Control"] = "no-store"
    return resp
