"""The browser client's pages and its built assets (frontend/dist, made by `make frontend`).

Routes: `/` (start page), `/d/<doc>` (editor), `/v/<token>` (read-only viewer), their history
pages `/d/<doc>/history` and `/v/<token>/history`, `/assets/<file>` (the bundle) and `/sw.js`
(the service worker that lets an open document reload offline).
The viewer page names the document only by its view token: nothing here ever writes the edit
id into it. Every user string is escaped; pages load nothing from another origin (the CSP
says so too).

A page that cannot be shown is an HTML page saying why (`error_page`): an invalid name, a
view token used as an edit link, a read-only link that leads nowhere, too many unknown
links. api.py renders every HTTP error that a browser asked for as a page with it.

An edge module: it imports flask, the pure id rules and the lookups of collab/server/guard.py
(which open documents through the service it is given), and the one access decision
(service/access.py, pure); nothing else from the service layer.
"""
from __future__ import annotations

import html
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_from_directory

from urllib.parse import quote

from ..core.errors import CollabError
from ..service.access import EDIT_LINK, VIEW_LINK, decide
from .guard import CREATE_REFUSED, lookups_of
from ..core.ids import DOC_ID_RE

bp = Blueprint("pages", __name__)

# the editor an installed package carries (setup.py copies frontend/dist there), else the
# checkout's own build (`make frontend`, and editable installs)
PACKAGED_DIST = Path(__file__).resolve().parents[1] / "frontend_dist"
DEFAULT_DIST = PACKAGED_DIST if PACKAGED_DIST.is_dir() else Path(__file__).resolve().parents[2] / "frontend" / "dist"
NOT_BUILT = (
    "The editor is not built yet. In a checkout: run `make run` (builds it and starts the server) or "
    "`make frontend` (npm ci + esbuild into frontend/dist), then reload this page. An installed package "
    "carries its editor: reinstall it from a wheel built by `pip wheel .` (docs/deploy.md).\n"
)


def _dist() -> Path:
    configured = current_app.extensions["collab.settings"].frontend_dist  # COLLAB_FRONTEND_DIST
    return Path(configured) if configured else DEFAULT_DIST


def _built() -> bool:
    dist = _dist()
    return (dist / "app.js").is_file() and (dist / "app.css").is_file()


def _not_built() -> Response:
    return Response(NOT_BUILT, status=503, mimetype="text/plain")


def _remote_images() -> bool:
    return bool(current_app.extensions["collab.settings"].remote_images)


def _csp() -> str:
    # 'self' covers ws:/wss: to this host in CSP3 browsers; the explicit entries are for the others
    host = request.host
    images = "'self' data: blob: https:" if _remote_images() else "'self' data: blob:"  # COLLAB_REMOTE_IMAGES
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors 'none'; connect-src 'self' ws://{host} wss://{host}"
    )


def _head(title: str) -> str:
    """The start of every page, up to its stylesheet: the head is still open."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<script src="/assets/theme.js"></script>
<link rel="stylesheet" href="/assets/app.css">"""


def _page(title: str, body_attrs: dict[str, str], entry: str) -> Response:
    if not _built():
        return _not_built()
    # the preview says why it does not show an image from another site (preview.js)
    body_attrs = {**body_attrs, "remote-images": "1" if _remote_images() else "0"}
    sign_in = current_app.extensions["collab.settings"].sign_in  # COLLAB_SIGN_IN: the page asks /api/me who is here
    if sign_in:
        body_attrs["sign-in"] = sign_in
    attrs = "".join(f' data-{k}="{html.escape(v, quote=True)}"' for k, v in body_attrs.items())
    page = f"""{_head(title)}
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


# paths whose answers are data for programs, never pages, whatever the client accepts
DATA_PATHS = ("/api/", "/healthz", "/readyz", "/socket.io", "/assets/", "/sw.js")


def wants_page() -> bool:
    """A browser navigating to a page: its Accept prefers text/html over JSON. fetch() and
    curl send */* (a tie) and get JSON, as every API client does."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(DATA_PATHS):
        return False
    return request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def error_page(status: int, title: str, message: str, links: list[tuple[str, str]] | None = None) -> Response:
    """A page that says what is wrong and where to go instead. Its only script is theme.js (the
    theme chosen); it needs none, so it shows even when the bundle is not built (then unstyled)."""
    shown = links if links is not None else [("/", "Start page")]
    items = "".join(
        f'<a class="button" href="{html.escape(href, quote=True)}">{html.escape(label)}</a> ' for href, label in shown
    )
    page = f"""{_head(f"{title} · collab")}
</head>
<body data-page="error" data-status="{status}">
<main class="start">
<h1>{html.escape(title)}</h1>
<p id="error-message">{html.escape(message[:1].upper() + message[1:])}</p>
<p>{items}</p>
</main>
</body>
</html>
"""
    resp = Response(page, status=status, mimetype="text/html")
    _secure(resp)
    return resp


def _secure(resp: Response) -> None:
    resp.headers["Content-Security-Policy"] = _csp()
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # the edit link is the capability: never leak it to another site through Referer
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cache-Control"] = "no-cache"


def _guest() -> bool:
    """Whether this request is no signed-in person's (sign-in off: everyone is a guest)."""
    from .accounts import current_user  # (accounts.py imports this module for its pages)

    return current_user() is None


def _creates() -> bool:
    """Whether this request's person may create documents (COLLAB_CREATE)."""
    return current_app.extensions["collab.settings"].create != "signed_in" or not _guest()


@bp.get("/")
def start() -> Response:
    # a guest where only signed-in people create: the page offers "Sign in" instead of "New document"
    attrs = {"page": "start"} if _creates() else {"page": "start", "create": "signed_in"}
    return _page("collab", attrs, "start.js")


def _creatable(doc: str) -> str:
    """An edit link's name that a guest may open under COLLAB_CREATE=signed_in: one of a
    document that exists (asked through the lookups, which charge a miss as `join` does).
    Anything else the lookup says (deleted, rate limited) the editor's join says as before."""
    if _creates():
        return doc
    lookups, address = lookups_of(request.environ)
    try:
        lookups.open(address, doc)
    except CollabError as exc:
        if exc.code == "not_found":
            raise _unshowable(401, "Sign in to create a document", CollabError("sign_in_required", CREATE_REFUSED),
                              [(f"/signin?next=/d/{doc}", "Sign in"), ("/", "Start page")]) from None
    return doc


class _Unshowable(Exception):
    """A page route that cannot show its page, said for a browser (`error_page`); API
    clients get `error` instead, through api.py's one translation."""

    def __init__(self, status: int, title: str, error: CollabError, links: list[tuple[str, str]]) -> None:
        self.status, self.title, self.error, self.links = status, title, error, links


def _unshowable(status: int, title: str, error: CollabError, links: list[tuple[str, str]] | None = None) -> Exception:
    return _Unshowable(status, title, error, links or [("/", "Start page")]) if wants_page() else error


@bp.errorhandler(_Unshowable)
def _unshowable_page(exc: _Unshowable) -> Response:
    return error_page(exc.status, exc.title, exc.error.message, exc.links)


def _checked_doc(doc: str) -> str:
    """An edit link's name, valid and not a view token. An unknown name is fine: opening
    it creates the document (and costs the client a lookup, in `join`)."""
    if not DOC_ID_RE.fullmatch(doc):
        raise _unshowable(404, "Not a document name", CollabError(
            "bad_doc", f"{doc[:80]!r} is not a document name: use 1-64 of A-Z a-z 0-9 _ -"))
    try:
        current_app.extensions["collab"].open_view(doc)  # a view token is never an edit id (creation refuses it)
    except CollabError as exc:
        if exc.code != "bad_doc":
            raise
        if current_app.extensions["collab"].store.get_document(doc) is not None:  # (else: made by joining)
            _check_admitted(doc, EDIT_LINK)
        return doc
    # someone turned a read-only link into an edit link by hand
    raise _unshowable(403, "This is a read-only link", CollabError(
        "read_only", "This address holds the token of a read-only link, so it cannot edit the document. "
        "You can read it, or ask its owner for the edit link."), [(f"/v/{doc}", "Open it read-only"), ("/", "Start page")])


def _checked_token(token: str) -> str:
    """A read-only link's token that leads to a document (each miss costs a lookup)."""
    if not DOC_ID_RE.fullmatch(token):
        raise _unshowable(404, "Not a read-only link", CollabError(
            "bad_doc", "This read-only link is not valid: it was cut short or changed."))
    lookups, address = lookups_of(request.environ)
    try:
        state = lookups.open_view(address, token)
    except CollabError as exc:
        if exc.code == "bad_doc":
            raise _unshowable(404, "This read-only link leads nowhere", CollabError(
                "not_found", "No document has this read-only link: it was mistyped, or cut short.")) from None
        raise
    _check_admitted(state.id, VIEW_LINK)
    return token


def _check_admitted(doc: str, link: str) -> None:
    """The page of a document its access does not admit the person to is a page saying so
    (and offering to sign in), naming nothing of the document."""
    from .accounts import current_user  # (accounts.py imports this module)

    user = current_user()
    try:
        decide(current_app.extensions["collab"].store.access.get(doc), user.id if user is not None else None, link)
    except CollabError as exc:
        links = [("/", "Start page")]
        if exc.code == "sign_in_required" and current_app.extensions["collab.settings"].sign_in:
            links.insert(0, (f"/signin?next={quote(request.path)}", "Sign in"))
        raise _unshowable(exc.http_status, "Not for everyone", exc, links) from None


@bp.get("/d/<doc>")
def editor(doc: str) -> Response:
    # the largest image an upload may be: the editor refuses a larger one before sending it
    limit = str(current_app.extensions["collab.settings"].max_image_bytes)  # COLLAB_MAX_IMAGE_BYTES
    return _page(f"{_creatable(_checked_doc(doc))} · collab", {"page": "editor", "doc": doc, "max-image-bytes": limit},
                 "app.js")


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
def assets(name: str) -> Response:
    if not _built():
        return _not_built()
    resp = send_from_directory(_dist(), name, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-cache"  # revalidated by ETag: cheap, never stale
    return resp


@bp.get("/sw.js")
def service_worker() -> Response:
    if not (_dist() / "sw.js").is_file():
        return _not_built()
    resp = send_from_directory(_dist(), "sw.js", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp
