"""HTTP JSON API. Errors are `{"error": {"code", "message"}}` with a fitting status;
`_error_response` is the one place that turns a CollabError into one.

Documents may be named by edit id or by view token; answers name them the same way, so
a view token never reveals the edit id.
"""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .errors import CollabError
from .ids import check_doc_id, new_doc_id
from .service import DocState, DocumentService

bp = Blueprint("api", __name__)


def _service() -> DocumentService:
    return current_app.extensions["collab"]


def _resolve(key: str) -> tuple[DocState, str]:
    """A document by edit id or view token; (state, role)."""
    service = _service()
    check_doc_id(key)
    try:
        state, role = service.open(key), "editor"
    except CollabError as exc:
        if exc.code != "not_found":
            raise
        try:
            state, role = service.open_view(key), "viewer"
        except CollabError as exc:
            if exc.code != "bad_doc":  # e.g. doc_corrupt: say so, not "does not exist"
                raise
            raise CollabError("not_found", f"document {key!r} does not exist") from None
    service.refresh(state)  # other processes may have written since
    return state, role


def _int_arg(name: str, default: int | None = None, minimum: int = 0) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise CollabError("bad_request", f"query parameter {name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CollabError("bad_request", f"{name} must be a whole number, got {raw[:40]!r}") from None
    if value < minimum:
        raise CollabError("bad_request", f"{name} must be >= {minimum}")
    return value


@bp.get("/healthz")
def healthz() -> Any:
    """200 when the database (and the message queue, if one is used) answers; else 503."""
    def database() -> str:
        _service().ping()
        return "ok"

    def queue() -> str:
        return current_app.extensions["collab.presence"].ping()  # "none" without a queue

    status: dict[str, Any] = {"ok": True}
    for part, check in (("database", database), ("queue", queue)):
        try:
            status[part] = check()
        except Exception as exc:  # CollabError from the store, RedisError from the queue
            status["ok"] = False
            status[part] = "down"
            status.setdefault("error", {"code": "unavailable", "message": f"{part}: {str(exc)[:200]}"})
    return jsonify(status), 200 if status["ok"] else 503


@bp.get("/api/docs/<doc>")
def get_document(doc: str) -> Any:
    state, _ = _resolve(doc)
    version, text = _service().snapshot(state)
    return jsonify(doc=doc, version=version, text=text, created=state.created, updated=state.updated)


@bp.get("/api/docs/<doc>/revisions")
def get_revisions(doc: str) -> Any:
    state, _ = _resolve(doc)
    service = _service()
    since = _int_arg("since", 0)
    limit = _int_arg("limit", service.settings.sync_limit, minimum=1)
    head = state.committed
    revs = service.revisions(state, since, limit)
    body: dict[str, Any] = {
        "doc": doc, "version": head,
        "revisions": [
            {"doc": doc, "version": r.version, "patch": r.patch, "author": r.author,
             "id": r.op_id, "ts": r.ts, "hash": r.hash}
            for r in revs
        ],
    }
    if revs and revs[-1].version < head:
        body["more"] = True
    return jsonify(body)


@bp.get("/api/docs/<doc>/versions/<version>")
def get_version(doc: str, version: str) -> Any:
    state, _ = _resolve(doc)
    try:
        v = int(version)
    except ValueError:
        raise CollabError("bad_request", f"version must be a whole number, got {version[:40]!r}") from None
    return jsonify(doc=doc, version=v, text=_service().text_at(state, v))


@bp.post("/api/docs")
def create_document() -> Any:
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise CollabError("bad_request", "body must be a JSON object (or empty)")
    service = _service()
    doc = check_doc_id(body["doc"]) if body.get("doc") is not None else new_doc_id()
    state = service.open(doc, create=True)
    # the page paths served by collab/pages.py
    return jsonify(
        doc=doc,
        edit_url=f"{request.host_url}d/{doc}",
        view_url=f"{request.host_url}v/{state.view_token}",
    ), 201


def _error_response(exc: CollabError) -> Any:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    headers = {}
    if "retry_after" in exc.extra:  # rate_limited, unavailable: when to try again
        error["retry_after"] = exc.extra["retry_after"]
        headers["Retry-After"] = str(max(1, math.ceil(exc.extra["retry_after"])))
    return jsonify(error=error), exc.http_status, headers


def register_errors(app: Any) -> None:
    app.register_error_handler(CollabError, _error_response)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = {404: "not_found", 405: "bad_request", 413: "too_large"}.get(exc.code or 500, "bad_request")
        if (exc.code or 500) >= 500:
            code = "internal"
        return jsonify(error={"code": code, "message": exc.description}), exc.code

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error={"code": "internal", "message": "internal server error"}), 500
