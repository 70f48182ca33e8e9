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
from typing import cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from . import pages
from ..core import wire
from ..core.errors import CollabError, ErrorBody, ErrorExtra
from .guard import Lookups, lookups_of
from ..core.ids import check_doc_id, check_version, log_id, new_doc_id, redact
from ..service.documents import DocState, DocumentService
from .presence import LocalPresence

bp = Blueprint("api", __name__)


def _service() -> DocumentService:
    return cast(DocumentService, current_app.extensions["collab"])  # set by create_app


def _lookups() -> tuple[Lookups, str]:
    return lookups_of(request.environ)


def _resolve(key: str) -> tuple[DocState, str]:
    """A document by edit id or view token; (state, role)."""
    check_doc_id(key)
    lookups, address = _lookups()
    state, role = lookups.resolve(address, key)
    _service().refresh(state)  # other processes may have written since
    return state, role


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


@bp.get("/api/docs/<doc>")
def get_document(doc: str) -> Response:
    state, _ = _resolve(doc)
    version, text = _service().snapshot(state)
    return jsonify(wire.document_body(doc, version, text, state.created, state.updated))


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


@bp.post("/api/docs")
def create_document() -> tuple[Response, int]:
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise CollabError("bad_request", "body must be a JSON object (or empty)")
    if body.get("doc") is not None:  # a chosen name: a guess as much as a lookup
        doc = check_doc_id(body["doc"])
        lookups, address = _lookups()
        state = lookups.open(address, doc, create=True)
    else:
        doc = new_doc_id()
        state = _service().open(doc, create=True)
    # the page paths served by collab/server/pages.py
    return jsonify(wire.created(doc, f"{request.host_url}d/{doc}", f"{request.host_url}v/{state.view_token}")), 201


# what a browser sees as the title of an error page, by status
PAGE_TITLES = {
    400: "This address is not valid", 403: "Not allowed", 404: "Nothing here", 405: "Not allowed",
    413: "Too large", 429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable",
}
def _error_response(exc: CollabError) -> ErrorResponse:
    return _error(exc.http_status, exc.code, exc.message, exc.extra)


# a JSON error (body, status, headers), or for a browser an HTML page (page, headers)
ErrorResponse = tuple[Response, int, dict[str, str]] | tuple[Response, dict[str, str]]


def _error(status: int, code: str, message: str, extra: ErrorExtra | None = None) -> ErrorResponse:
    headers = {}
    if extra and "retry_after" in extra:  # rate_limited, unavailable: when to try again
        headers["Retry-After"] = str(max(1, math.ceil(extra["retry_after"])))
    if pages.wants_page():
        return pages.error_page(status, PAGE_TITLES.get(status, "Something went wrong"), message), headers
    return jsonify(wire.http_error(code, message, extra)), status, headers


def register_errors(app: Flask) -> None:
    app.register_error_handler(CollabError, _error_response)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ErrorResponse:
        status = exc.code or 500
        code = {404: "not_found", 405: "bad_request", 413: "too_large"}.get(status, "bad_request")
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
