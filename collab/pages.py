"""The browser client's pages and its built assets (frontend/dist, made by `make frontend`).

Routes: `/` (start page), `/d/<doc>` (editor), `/v/<token>` (read-only viewer), their history
pages `/d/<doc>/history` and `/v/<token>/history`, `/assets/<file>` (the bundle) and `/sw.js`
(the service worker that lets an open document reload offline).
The viewer page names the document only by its view token: nothing here ever writes the edit
id into it. Every user string is escaped; pages load nothing from another origin (the CSP
says so too).

An edge module: it imports flask and the pure id rules, nothing from the service layer.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, send_from_directory

from .ids import DOC_ID_RE

bp = Blueprint("pages", __name__)

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
NOT_BUILT = (
    "The editor is not built yet: run `make run` (builds it and starts the server) or "
    "`make frontend` (npm ci + esbuild into frontend/dist), then reload this page.\n"
)


def _dist() -> Path:
    configured = current_app.config.get("COLLAB_FRONTEND_DIST") or os.environ.get("COLLAB_FRONTEND_DIST")
    return Path(configured) if configured else DEFAULT_DIST


def _built() -> bool:
    dist = _dist()
    return (dist / "app.js").is_file() and (dist / "app.css").is_file()


def _not_built() -> Response:
    return Response(NOT_BUILT, status=503, mimetype="text/plain")


def _csp() -> str:
    # 'self' covers ws:/wss: to this host in CSP3 browsers; the explicit entries are for the others
    host = request.host
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors 'none'; connect-src 'self' ws://{host} wss://{host}"
    )


def _page(title: str, body_attrs: dict[str, str], entry: str) -> Response:
    if not _built():
        return _not_built()
    attrs = "".join(f' data-{k}="{html.escape(v, quote=True)}"' for k, v in body_attrs.items())
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/{entry}"></script>
</head>
<body{attrs}>
<noscript>collab needs JavaScript to edit documents.</noscript>
</body>
</html>
"""
    resp = Response(page, mimetype="text/html")
    _secure(resp)
    return resp


def _secure(resp: Response) -> None:
    resp.headers["Content-Security-Policy"] = _csp()
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # the edit link is the capability: never leak it to another site through Referer
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cache-Control"] = "no-cache"


@bp.get("/")
def start() -> Response:
    return _page("collab", {"page": "start"}, "start.js")


def _checked_doc(doc: str) -> str:
    if not DOC_ID_RE.fullmatch(doc):
        abort(404, description=f"document id {doc[:80]!r} is not valid: use 1-64 of A-Z a-z 0-9 _ -")
    return doc


def _checked_token(token: str) -> str:
    if not DOC_ID_RE.fullmatch(token):
        abort(404, description="this read-only link is not valid")
    return token


@bp.get("/d/<doc>")
def editor(doc: str) -> Response:
    return _page(f"{_checked_doc(doc)} · collab", {"page": "editor", "doc": doc}, "app.js")


@bp.get("/v/<token>")
def viewer(token: str) -> Response:
    return _page("Read-only · collab", {"page": "viewer", "view": _checked_token(token)}, "app.js")


@bp.get("/d/<doc>/history")
def history_page(doc: str) -> Response:
    return _page(f"History of {_checked_doc(doc)} · collab", {"page": "history", "doc": doc}, "history.js")


@bp.get("/v/<token>/history")
def viewer_history_page(token: str) -> Response:
    return _page("History (read-only) · collab", {"page": "history", "view": _checked_token(token)}, "history.js")


@bp.get("/assets/<path:name>")
def assets(name: str) -> Any:
    if not _built():
        return _not_built()
    resp = send_from_directory(_dist(), name, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-cache"  # revalidated by ETag: cheap, never stale
    return resp


@bp.get("/sw.js")
def service_worker() -> Any:
    if not (_dist() / "sw.js").is_file():
        return _not_built()
    resp = send_from_directory(_dist(), "sw.js", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp
