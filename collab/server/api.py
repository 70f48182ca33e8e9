"""HTTP JSON API. Errors are `{"error": {"code", "message"}}` with a fitting status;
`_error_response` is the one place that turns a CollabError into one (and, for a browser
asking for a page, into an HTML page saying the same: pages.error_page).

Documents may be named by edit id or by view token; answers name them the same way, so
a view token never reveals the edit id. Every lookup goes through the client's address's
throttle of unknown names (guard.Lookups).
"""
from __future__ import annotations


import math
import time
import traceback
from typing import Mapping, NamedTuple, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from . import openapi, pages
from .bodies import json_object, raw_body
from ..core import wire
from ..core.errors import CollabError, ErrorBody, ErrorExtra
from .accounts import current_user
from .admin import is_admin
from .guard import Lookups, check_create, lookups_of
from ..core.ratelimit import KeyedBuckets
from ..core.title import check_chosen
from ..core.ids import check_doc_id, check_name, check_storable, check_version, log_id, new_doc_id, redact
from ..service.documents import DocState, DocumentService, PatchResult
from ..service.observer import Observer
from .presence import LocalPresence
from .realtime import DocumentNamespace

bp = Blueprint("api", __name__)


def _service() -> DocumentService:
    return cast(DocumentService, current_app.extensions["collab"])  # set by create_app


def _realtime() -> DocumentNamespace:
    """The Socket.IO edge (registered on the python-socketio server by create_app)."""
    return cast(DocumentNamespace, current_app.extensions["socketio"].server.namespace_handlers["/"])


def _lookups() -> tuple[Lookups, str]:
    return lookups_of(request.environ)


def _resolve(key: str) -> tuple[DocState, str]:
    """A document by edit id or view token; (state, role), the role as the document's access
    gives it to whoever asks (the signed-in person, or a guest): refused when it gives none."""
    check_doc_id(key)
    lookups, address = _lookups()
    user = current_user()
    state, role = lookups.resolve(address, key, user.id if user is not None else None)
    _service().refresh(state)  # other processes may have written since
    return state, role


def _edit(key: str) -> DocState:
    """A document by its edit id, for a write: a view token is 403 `read_only`."""
    state, role = _resolve(key)
    if role != "editor":
        raise CollabError("read_only", "this link is read-only: changing the document needs its edit link"
                          if key == state.view_token else "you may read this document, not change it")
    return state


def _capability(key: str) -> DocState:
    """A document by its edit id itself, for what hands out or changes the edit link (its
    links, rename, a new view token, delete): an editor who came by the view token (an
    invited one) is 403 `read_only` (before, such a person renamed the document and so
    learned an edit id, or deleted it: found from outside). A document with an owner: the
    owner's alone (403 `forbidden` for its other editors); an admin deletes any."""
    state = _edit(key)
    if key != state.id:
        raise CollabError("read_only", "this needs the document's edit link, not its read-only one")
    owner = _service().access(state).owner
    user = current_user()
    if owner is not None and (user is None or user.id != owner):
        raise CollabError("forbidden", "only the document's owner may do this")
    return state


def _admin_edit(key: str) -> DocState:
    """A document by its edit id for an admin (COLLAB_ADMINS), whatever its access says:
    what lets an admin delete any document (GET /api/admin/docs lists the ids)."""
    check_doc_id(key)
    lookups, address = _lookups()
    state = lookups.open(address, key)
    _service().refresh(state)
    return state


def _int_arg(name: str, default: int | None = None, minimum: int = 0) -> int:
    """A version number (or a count, with its minimum) from the query string."""
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise CollabError("bad_request", f"query parameter {name} is required")
        return default
    return check_version(raw, name, minimum=minimum, text=True)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 while the database answers, else 503. A message queue that is down is reported
    (`"queue": "down"`, `degraded`) without failing the check: the process still serves its
    own clients (collab/server/queue.py), and taking every process out of a load balancer
    would not."""
    return _health(write=False)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when this process can accept writes now: one small durable write (at most one a
    second while they work), else 503 with the reason (a full disk, a read-only database)."""
    return _health(write=True)


PROBE_EVERY = 1.0  # seconds: after a probe write worked, /readyz answers from it this long


def _probe_write() -> None:
    """One small durable write, at most one a second while they work (so asking often costs
    no fsyncs); while they fail every ask tries again, so readiness returns at once."""
    last: dict[str, float] = current_app.extensions.setdefault("collab.readyz", {"worked": -PROBE_EVERY})
    now = time.monotonic()
    if now - last["worked"] < PROBE_EVERY:
        return
    _service().probe_write()
    last["worked"] = now


def _health(write: bool) -> tuple[Response, int]:
    error: ErrorBody | None = None
    degraded: str | None = None
    try:
        if write:
            _probe_write()
        else:
            _service().ping()
        database = "ok"
    except Exception as exc:  # CollabError from the store
        database, error = "down", wire.error_body("unavailable", f"database: {str(exc)[:200]}")
    presence: LocalPresence = current_app.extensions["collab.presence"]
    try:
        queue = presence.ping()  # "none" without a queue
    except Exception as exc:  # RedisError
        queue, degraded = "down", f"message queue: {str(exc)[:200]}; this process serves its own clients only"
    status = wire.health(database, queue, error, degraded)
    return jsonify(status), 200 if status["ok"] else 503


@bp.get("/api/openapi.json")
def get_openapi() -> Response:
    """The OpenAPI 3 description of these routes (collab/server/openapi.py)."""
    return jsonify(openapi.SPEC)


@bp.get("/api/docs/<doc>")
def get_document(doc: str) -> Response:
    state, _ = _resolve(doc)
    version, text = _service().snapshot(state)
    return jsonify(wire.document_body(doc, version, text, state.created, state.updated, state.chosen_title))


@bp.get("/api/docs/<doc>/revisions")
def get_revisions(doc: str) -> Response:
    state, _ = _resolve(doc)
    service = _service()
    since = _int_arg("since", 0)
    limit = _int_arg("limit", service.settings.sync_limit, minimum=1)
    head = state.committed
    revs = service.revisions(state, since, limit)
    return jsonify(wire.revisions_body(doc, head, [wire.revision(doc, r) for r in revs]))


@bp.get("/api/docs/<doc>/versions/<version>")
def get_version(doc: str, version: str) -> Response:
    state, _ = _resolve(doc)
    v = check_version(version, text=True)
    return jsonify(wire.version_body(doc, v, _service().text_at(state, v)))


def _links(doc: str, state: DocState) -> wire.Created:
    """The document's edit and view links (the page paths served by collab/server/pages.py)."""
    return wire.created(doc, *_urls(doc, state))


@bp.get("/api/docs/<doc>/links")
def get_links(doc: str) -> Response:
    """An existing document's links, by its edit id (a viewer is never told the edit id)."""
    return jsonify(_links(doc, _capability(doc)))


def _body() -> dict[str, object]:
    """The request's fields: a JSON object, or a text/plain body as `text` (with `name` and
    the other fields from the query string); nothing at all is {}. Any other type is 415,
    read as nothing (a form's parser would swallow the body)."""
    kind = request.mimetype
    if not request.content_length and not request.data and kind in ("", "application/json", "text/plain"):
        return dict(request.args)
    if kind == "application/json":
        return json_object()
    if kind == "text/plain":
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"the body says charset={charset[:40]}: send UTF-8 text")
        raw = raw_body()
        try:
            return {**request.args, "text": raw.decode("utf-8")}
        except UnicodeDecodeError as exc:
            raise CollabError("bad_request", f"the body is not UTF-8 (invalid byte at offset {exc.start})") from None
    raise UnsupportedMediaType(f"this route reads a JSON object or text/plain, not {kind[:80]!r}")


def _text(body: dict[str, object], required: bool = True) -> str | None:
    """The `text` field: a string the store can hold, within the document limit."""
    text = body.get("text")
    if text is None and not required:
        return None
    if not isinstance(text, str):
        raise CollabError("bad_request", "text must be a string (the JSON field `text`, or a text/plain body)")
    check_storable(text)
    limit = _service().settings.max_doc_chars
    if len(text) > limit:
        raise CollabError("too_large", f"the text has {len(text):,} code points; a document holds at most {limit:,}")
    return text


class Author(NamedTuple):
    name: str  # the display name the revision carries
    account: str | None  # the signed-in person's account id; None: a guest


def _author(body: Mapping[str, object]) -> Author:
    """Whoever makes the change: the signed-in person (their account's name, whatever `name`
    says), else a guest by the `name` they give, as in `join`."""
    user = current_user()
    if user is not None:
        return Author(user.name, user.id)
    return Author(check_name(body.get("name")), None)


def _new_document(body: dict[str, object], field: str = "doc") -> tuple[str, DocState]:
    """A new document: by the chosen name in `field` (409 `conflict` when it is taken), or
    by a generated id. Only by a signed-in person under COLLAB_CREATE=signed_in."""
    check_create(_service().settings, current_user() is not None)
    doc = _new_name(body, field)
    user = current_user()
    try:
        return doc, _service().open(doc, create=True, owner=user.id if user is not None else None)
    except CollabError as exc:
        if exc.code != "bad_doc":  # the name is a document's view token: taken, as rename says
            raise
        raise CollabError("conflict", exc.message) from None


def _new_name(body: dict[str, object], field: str) -> str:
    """A name for a new document (or a renamed one): the chosen one in `field`, valid and
    free (409 `conflict` when a document has it; 410 when it is a tombstone), else a
    generated id. A chosen name is a guess as much as a lookup: it costs a token."""
    if body.get(field) is None:  # absent or null: none chosen
        return new_doc_id()
    try:
        doc = check_doc_id(body[field], field)
    except CollabError as exc:  # a field of the body, not the address: 400, not 404
        raise CollabError("bad_request", exc.message) from None
    lookups, address = _lookups()
    try:
        lookups.open(address, doc)
    except CollabError as exc:
        if exc.code != "not_found":
            raise
        return doc
    raise CollabError("conflict", f"document id {doc!r} is taken: choose another (GET /api/docs/{doc}/links "
                                  "answers an existing document's links)")


def _set(state: DocState, author: Author, kind: str, text: str) -> PatchResult | None:
    """Make `text` the document's text: one ordinary revision through the socket patches'
    write path (service.rewrite -> submit), broadcast to the open editors; None: unchanged."""
    return _service().rewrite(state, author.name, kind, lambda _v, _t: text, account=author.account)


@bp.post("/api/docs")
def create_document() -> tuple[Response, int]:
    body = _body()
    text = _text(body, required=False)
    doc, state = _new_document(body)
    version = None
    if text is not None:
        result = _set(state, _author(body), "create", text) if text else None
        version = result.version if result else 0
    return jsonify(wire.created(doc, *_urls(doc, state), version=version)), 201


def _urls(doc: str, state: DocState) -> tuple[str, str]:
    return f"{request.host_url}d/{doc}", f"{request.host_url}v/{state.view_token}"


def _written(doc: str, result: PatchResult | None, state: DocState,
             restored_from: int | None = None) -> tuple[Response, int]:
    """The answer of a write (here and in history_api.py): 201 with the new version; 200
    `unchanged` (the head) when it would have changed nothing."""
    if result is None:
        return jsonify(wire.written(doc, state.committed, unchanged=True, restored_from=restored_from)), 200
    return jsonify(wire.written(doc, result.version, restored_from=restored_from)), 201


@bp.put("/api/docs/<doc>/text")
def put_text(doc: str) -> tuple[Response, int]:
    """Replace the text (Etherpad's setText) as one revision."""
    state = _edit(doc)
    body = _body()
    text = _text(body)
    assert text is not None
    return _written(doc, _set(state, _author(body), "set", text), state)


@bp.post("/api/docs/<doc>/append")
def post_append(doc: str) -> tuple[Response, int]:
    """Add text at the end (Etherpad's appendText) as one revision, on whatever the head is
    when it applies."""
    state = _edit(doc)
    body = _body()
    text = _text(body)
    assert text is not None
    if not text:
        raise CollabError("bad_request", "text is empty: nothing to append")
    author = _author(body)
    result = _service().rewrite(state, author.name, "append", lambda _v, head: head + text, account=author.account)
    return _written(doc, result, state)


@bp.post("/api/docs/<doc>/copy")
def post_copy(doc: str) -> tuple[Response, int]:
    """A new document whose first revision is the text of `version` (default: the head),
    named `to` or generated; the original is unchanged. 201 with the copy's links."""
    state = _edit(doc)
    body = _body()
    version = check_version(body["version"], "version") if body.get("version") is not None else state.committed
    text = _service().text_at(state, version)
    new, copy = _new_document(body, "to")
    result = _set(copy, _author(body), "copy", text) if text else None
    return jsonify(wire.created(new, *_urls(new, copy), version=result.version if result else 0,
                                copied_from=version)), 201


@bp.get("/api/docs/<doc>/people")
def get_people(doc: str) -> Response:
    """Who is here, on every process: the counts, and the listed editors' names (no peer or
    connection ids; viewers are counted, never named)."""
    state, _ = _resolve(doc)
    presence: LocalPresence = current_app.extensions["collab.presence"]
    peers = presence.peers(state.id)
    editors = [p for p in peers if p["role"] == "editor"]
    listed = editors[: _service().settings.presence_max_peers]
    return jsonify(wire.people(doc, len(editors), len(peers) - len(editors), [p["name"] for p in listed]))


@bp.delete("/api/docs/<doc>")
def delete_document(doc: str) -> Response:
    """Delete the document for good (edit id only): its history goes, its edit id and view
    token answer 410 `deleted` from now on, and its open editors and viewers, on every
    process, get `gone` and are taken out of it."""
    state = _admin_edit(doc) if is_admin(current_user()) else _capability(doc)
    ts = _service().delete(state)
    _realtime().announce_gone(state.id, state.view_token, "deleted")
    return jsonify(wire.document_deleted(doc, ts))


TITLE_RATE, TITLE_BURST = 1.0, 10  # title changes per second per document, sustained, and in a burst


def _title_limits() -> KeyedBuckets:
    limits = current_app.extensions.get("collab.title_limits")
    if limits is None:
        limits = current_app.extensions["collab.title_limits"] = KeyedBuckets(TITLE_RATE, TITLE_BURST)
    return cast(KeyedBuckets, limits)


@bp.put("/api/docs/<doc>/title")
def choose_title(doc: str) -> Response:
    """The title its editors chose (body `{"title": "..."}`; null or "" gives it back its
    first heading): stored, then told to everyone in the document. Edit id only."""
    state = _edit(doc)
    body = _body()
    unknown = sorted(set(body) - {"title"})
    if "title" not in body or unknown:
        raise CollabError("bad_request", "the body is {\"title\": \"...\"} (or null for the document's first heading)")
    check_chosen(body["title"])  # bad input costs nothing
    wait = _title_limits().take(state.id)
    if wait:  # every change goes to everyone in the document
        raise CollabError("rate_limited", f"the title of this document changed too often; retry in {wait:.2f} s",
                          retry_after=round(wait, 3))
    chosen = _service().visits.choose(state, body["title"])
    _realtime().announce_title(state, chosen)
    return jsonify({"doc": doc, "title": chosen})


@bp.post("/api/docs/<doc>/rename")
def rename_document(doc: str) -> Response:
    """A new edit id for the document (edit id only), `id` or generated: its history,
    labels and view token move to it, and the old id answers 410 `deleted` (reason
    `renamed`) from now on. Its open editors, on every process, get `gone` and are taken
    out of it (they hold the old link); its viewers stay. Answers its links, as creation."""
    state = _capability(doc)
    body = _body()
    # a rename cannot be undone: a body it does not understand (`{"doc": ...}`, a text/plain
    # name) is refused, not read as "a generated id"
    unknown = sorted(set(body) - {"id"})
    if unknown:
        raise CollabError("bad_request", f"a rename reads only the field `id` (the new edit id), not "
                                         f"{', '.join(repr(k[:40]) for k in unknown[:5])}: nothing was changed")
    try:
        new = _new_name(body, "id")
    except CollabError as exc:
        if exc.code != "deleted":
            raise
        raise CollabError("conflict", f"document id {body['id']!r} named a document before: choose another") from None
    row, _ = _service().rename(state, new)
    _realtime().announce_gone(state.id, row.view_token, "renamed")
    user = current_user()
    if user is not None:  # the renamer's list follows to the new link ("my documents")
        _service().visits.opened(_service().open(new), user.id, new, "edit", wait=True)
    return jsonify(wire.created(new, f"{request.host_url}d/{new}", f"{request.host_url}v/{row.view_token}"))


@bp.post("/api/docs/<doc>/view-token")
def rotate_view_token(doc: str) -> Response:
    """A new view token for the document (edit id only): the old read-only link answers 410
    `deleted` (reason `rotated`) from now on, and its open viewers, on every process, get
    `gone` and are taken out of it; the editors go on. Answers its links."""
    state = _capability(doc)
    old, _ = _service().rotate_view(state)
    _realtime().announce_gone(state.id, old, "rotated")
    return jsonify(_links(doc, state))


# what a browser sees as the title of an error page, by status
PAGE_TITLES = {
    400: "This address is not valid", 401: "Sign in first", 403: "Not allowed", 404: "Nothing here", 405: "Not allowed",
    410: "This document was deleted",
    413: "Too large", 429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable",
}
# ... and of a 410 whose name died another way: the document lives on under other links
GONE_TITLES = {"renamed": "This link no longer works", "rotated": "This link no longer works"}


def _error_response(exc: CollabError) -> ErrorResponse:
    return _error(exc.http_status, exc.code, exc.message, exc.extra)


# a JSON error (body, status, headers), or for a browser an HTML page (page, headers)
ErrorResponse = tuple[Response, int, dict[str, str]] | tuple[Response, dict[str, str]]


def _error(status: int, code: str, message: str, extra: ErrorExtra | None = None) -> ErrorResponse:
    headers = {}
    if extra and "retry_after" in extra:  # rate_limited, unavailable: when to try again
        headers["Retry-After"] = str(max(1, math.ceil(extra["retry_after"])))
    if status == 401 and code in ("bad_token", "sign_in_required"):  # RFC 6750: how to authenticate
        headers["WWW-Authenticate"] = _challenge(code, message)
    if pages.wants_page():
        title = GONE_TITLES.get(extra.get("reason", "") if extra else "") or PAGE_TITLES.get(status, "Something went wrong")
        return pages.error_page(status, title, message), headers
    observer: Observer | None = current_app.extensions.get("collab.observer")
    if observer is not None:
        observer.http_error(code, status)
    return jsonify(wire.http_error(code, message, extra)), status, headers


def _challenge(code: str, message: str) -> str:
    """The `WWW-Authenticate` of a 401 (RFC 6750, section 3): a wrong token is
    `invalid_token` with the reason; a request that brought none is told the scheme only."""
    if code != "bad_token":
        return 'Bearer realm="collab"'
    why = "".join(c for c in message[:200] if c.isascii() and c.isprintable() and c not in '"\\')
    return f'Bearer realm="collab", error="invalid_token", error_description="{why}"'


def register_errors(app: Flask) -> None:
    app.register_error_handler(CollabError, _error_response)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ErrorResponse:
        status = exc.code or 500
        code = {404: "not_found", 405: "bad_request", 413: "too_large"}.get(status, "bad_request")  # 415 too
        if status >= 500:
            code = "internal"
        return _error(status, code, exc.description or "")

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> ErrorResponse:
        # the path names the document (/api/docs/<doc>/...): its route and the id's hash instead
        named = [v for k, v in (request.view_args or {}).items() if k in ("doc", "token")]
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        app.logger.error("unhandled error on %s %s doc=%s\n%s", request.method, route,
                         log_id(named[0] if named else None), redact(traceback.format_exc(), named))
        return _error(500, "internal", "internal server error")
