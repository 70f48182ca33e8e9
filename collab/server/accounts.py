"""Sign-in, sign-up and sign-out (COLLAB_SIGN_IN=local): pages, JSON routes and `/api/me`;
who a request or a socket is, whatever the mode (oidc.py and proxyauth.py add theirs).

Thin: the accounts and sessions are service/accounts.py's. This edge keeps the session's
token in Flask's signed session cookie (`SessionCookies`: HttpOnly, SameSite=Lax, Secure
when the request came by https, through ProxyFix behind a proxy), gives every sign-in a new
token (so a session id planted before it is worth nothing: no fixation), and throttles
failed sign-ins per client address and per account (KeyedBuckets). The Origin check of
every POST is guard.py's (EdgeGuard), before any route here runs.

A request may instead carry a personal access token, `Authorization: Bearer <token>` (the
HTTP API's scripts, the Python client's HTTP and Socket.IO handshake): then it is that
token's person and the cookie is not read at all, so a Bearer request can never act on the
browser's session. Every request with one is checked before its route runs (`_check_bearer`):
a malformed, unknown, revoked or expired token is 401 `bad_token` with `WWW-Authenticate`,
never a guest, and failures are throttled per address as failed sign-ins are. That is why
EdgeGuard lets a Bearer request through without the Origin check: a browser adds no
Authorization header by itself (no ambient credential for a forged request to ride), and a
page elsewhere cannot send one without a CORS preflight this server never grants. Any other
scheme (`Basic`: a proxy's own password prompt) is ignored. Tokens are made, listed and
revoked at /api/me/tokens (a token cannot make tokens: that needs a signed-in browser or
`collab user token add`).

With COLLAB_SIGN_IN empty (the default) every route here but `/api/me` is 404, no cookie is
ever set, `current_user()` is None without reading one, and `Authorization` is not read.

An edge module: flask, the core, the account service; pages.py for the page's head.
"""
from __future__ import annotations

import hashlib
import html
import math
import re
from typing import Any, cast
from urllib.parse import quote

from flask import (Blueprint, Flask, Request, Response, after_this_request, current_app, g, jsonify, redirect,
                   request, session)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse
from flask.sessions import SecureCookieSessionInterface

from ..core.config import Settings
from ..core.errors import CollabError
from ..core.ratelimit import KeyedBuckets
from .bodies import json_object
from ..service.accounts import AccountService, token_hash
from ..storage import Token, User
from ..storage.accounts import email_key
from . import pages
from .guard import MAX_ADDRESSES, Environ, client_address
from .proxyauth import ProxyHeader

bp = Blueprint("accounts", __name__)
COOKIE = "collab_session"
TOKEN = "t"  # the session cookie's key holding the session token


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure whenever the request itself is https (ProxyFix makes a
    proxied one so from X-Forwarded-Proto), so that one setting serves TLS and plain
    localhost alike."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class Throttle:
    """Failed sign-ins, per client address and per account (the email, case folded): both
    must have a token left, whatever the password, for a sign-in to be tried at all."""

    def __init__(self, settings: Settings) -> None:
        self.addresses = KeyedBuckets(settings.sign_in_rate, settings.sign_in_burst, MAX_ADDRESSES)
        self.accounts = KeyedBuckets(settings.sign_in_rate, settings.sign_in_burst, MAX_ADDRESSES)
        # sign-ups per address, at the same rate: every one costs a token (no accounts in bulk)
        self.sign_ups = KeyedBuckets(settings.sign_in_rate, settings.sign_in_burst, MAX_ADDRESSES)
        # wrong Bearer tokens per address, at the same rate (a token names no account to key on)
        self.bearers = KeyedBuckets(settings.sign_in_rate, settings.sign_in_burst, MAX_ADDRESSES)

    def check(self, address: str, email: object, known: bool = False) -> None:
        """`known`: this browser signed in to that account before (its device cookie): the
        account's bucket does not apply, so that a stranger's failures for an email cannot
        keep its person out (their own address's bucket still does)."""
        key = email_key(email) if isinstance(email, str) and not known else ""
        wait = max(self.addresses.wait(address), self.accounts.wait(key) if key else 0.0)
        if wait:
            raise CollabError("rate_limited", f"too many failed sign-ins; retry in {wait:.0f} s",
                              retry_after=round(wait, 3))

    def failed(self, address: str, email: object) -> None:
        self.addresses.spend(address)
        if isinstance(email, str):
            self.accounts.spend(email_key(email))


def install(app: Flask, accounts: AccountService, settings: Settings) -> None:
    """What create_app adds when sign-in is on: the cookie's settings, the service, the throttle,
    and with COLLAB_SIGN_IN=proxy, the proxy's header (OpenID Connect's client: oidc.install)."""
    app.session_interface = SessionCookies()
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=int(settings.session_days * 86_400))
    app.extensions["collab.accounts"] = accounts
    app.extensions["collab.sign_in_throttle"] = Throttle(settings)
    if settings.sign_in == "proxy":
        app.extensions["collab.proxy_header"] = ProxyHeader(settings, accounts)
        app.before_request(_proxy_request)


# what each mode serves of the routes here (the others are 404): local, every one; oidc and proxy,
# sign-out, /signin (which sends the browser to the provider, or says the proxy signs in) and
# the access tokens (a script's, whoever signed its person in)
NOT_LOCAL = {"accounts.me", "accounts.api_sign_out", "accounts.sign_out_page", "accounts.sign_in_page",
             "accounts.api_add_token", "accounts.api_tokens", "accounts.api_revoke_token"}
SESSION_ROUTES = frozenset({"accounts.api_sign_in", "accounts.api_sign_up", "accounts.api_sign_out",
                            "accounts.sign_in_page", "accounts.sign_up_page", "accounts.sign_out_page"})


@bp.before_request
def _only_when_on() -> None:
    """Sign-in off (COLLAB_SIGN_IN empty): every route here is 404, but /api/me. Passwords are
    taken with COLLAB_SIGN_IN=local only: an account made before the server moved to another
    mode signs in that mode's way, or not at all. A Bearer request may not sign in, up or out:
    those routes are a browser's session's, and a Bearer request passed the Origin check on
    the promise that it uses no cookie."""
    if request.endpoint != "accounts.me":
        _accounts()
        mode = _settings().sign_in
        if mode != "local" and request.endpoint not in NOT_LOCAL:
            raise CollabError("not_found", f"this server signs people in by {MODES[mode]}, not by password "
                                           f"(COLLAB_SIGN_IN={mode})")
    if request.endpoint in SESSION_ROUTES and bearer(request.environ) is not None:
        raise CollabError("bad_request", "an access token signs nobody in or out: these routes are for a "
                                         "browser's session (send them without Authorization)")


MODES = {"local": "password", "oidc": "OpenID Connect", "proxy": "the proxy in front of it"}


def _proxy_request() -> Response | None:
    """COLLAB_SIGN_IN=proxy: every request is who the proxy's header names (current_user),
    so that a page's answer already carries that person's session cookie for its sockets. A
    malformed header is refused before any route runs: a page says so, an API call gets JSON."""
    try:
        current_user()
    except CollabError as exc:
        if request.path.startswith("/api/"):
            raise
        return pages.error_page(exc.http_status, "Sign-in refused", exc.message)
    return None


def _proxy_user() -> User | None:
    """The person the trusted proxy's header names, in a session of theirs: the cookie's, when
    it is that person's, else a new one (a new token on every sign-in)."""
    user = cast(ProxyHeader, current_app.extensions["collab.proxy_header"]).user(request.environ)
    if user is not None:
        held = _accounts().session_user(session.get(TOKEN))
        if held is None or held.id != user.id:
            _sign_in(user)
    return user


def _settings() -> Settings:
    return cast(Settings, current_app.extensions["collab.settings"])


def _accounts() -> AccountService:
    accounts = current_app.extensions.get("collab.accounts")
    if accounts is None:
        raise CollabError("not_found", "sign-in is off on this server (COLLAB_SIGN_IN)")
    return cast(AccountService, accounts)


def current_user() -> User | None:
    """The signed-in person of this request, or None (a guest; sign-in off: always). With a
    Bearer token, that token's person (bad_token when it is not valid), the cookie unread."""
    if "collab.accounts" not in current_app.extensions:
        return None
    if "user" not in g:
        secret = bearer(request.environ)
        if secret is not None:
            g.user = _bearer_user(current_app, request.environ, secret)
        elif "collab.proxy_header" in current_app.extensions:  # COLLAB_SIGN_IN=proxy: the header says
            g.user = _proxy_user()
        else:
            g.user = _accounts().session_user(session.get(TOKEN))
    return cast("User | None", g.user)


BEARER_REALM = 'Bearer realm="collab"'


def bearer(environ: Environ) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one, or for
    another scheme (Basic: a proxy's password, not ours). A Bearer header that holds no
    single token is bad_token, not a guest."""
    header = environ.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str):
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    secret = rest.strip()
    if not secret or " " in secret:
        raise CollabError("bad_token", "the Authorization header must be `Bearer <token>`: one token, "
                                       "as `collab user token add` or POST /api/me/tokens made it")
    return secret


def _bearer_user(app: Flask, environ: Environ, secret: str) -> User:
    """The person of a Bearer token, throttled per client address: while the address has
    had too many wrong ones, every token from it is refused (rate_limited), right or not."""
    accounts: AccountService = app.extensions["collab.accounts"]
    throttle: Throttle = app.extensions["collab.sign_in_throttle"]
    address = client_address(environ)
    wait = throttle.bearers.wait(address)
    if wait:
        raise CollabError("rate_limited", f"too many wrong access tokens from this address; retry in {wait:.0f} s",
                          retry_after=round(wait, 3))
    try:
        return accounts.token_user(secret)
    except CollabError:
        throttle.bearers.spend(address)
        raise


def _check_bearer() -> None:
    """Before every route (sign-in on): a request carrying a Bearer token is that token's
    person or is refused here, whatever its route reads. EdgeGuard let it pass without the
    Origin check on this promise."""
    if "collab.accounts" in current_app.extensions and bearer(request.environ) is not None:
        current_user()


bp.before_app_request(_check_bearer)


def socket_user(environ: Environ) -> tuple[User, str | None] | None:
    """The signed-in person of a Socket.IO connection's handshake and their session's token
    hash, from the same cookie (or the access token's person and its hash, from an
    `Authorization: Bearer` header: bad_token when it is not valid): None for a guest.
    StoreError when it cannot be known. COLLAB_SIGN_IN=proxy: the person the proxy's headers
    on the handshake name (CollabError when malformed), with the cookie's session if it is
    theirs (None: a client without one)."""
    app: Flask = environ["flask.app"]
    accounts: AccountService | None = app.extensions.get("collab.accounts")
    if accounts is None:
        return None
    secret = bearer(environ)
    if secret is not None:
        return _bearer_user(app, environ, secret), token_hash(secret)
    cookie = app.session_interface.open_session(app, Request(environ))  # (the handshake as a request: its cookies)
    token = cookie.get(TOKEN) if cookie is not None else None
    header: ProxyHeader | None = app.extensions.get("collab.proxy_header")
    if header is not None:
        named = header.user(environ)
        if named is None:
            return None
        held = accounts.session_user(token)
        return named, token_hash(token) if held is not None and held.id == named.id and isinstance(token, str) else None
    user = accounts.session_user(token)
    return (user, token_hash(token)) if user is not None and isinstance(token, str) else None


def account_body(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name, "email": user.email}


def _sign_in(user: User) -> None:
    """A fresh session for `user`: whatever the cookie held before (a planted id, another
    person's session) is dropped, and its session ended."""
    accounts = _accounts()
    accounts.end_session(session.get(TOKEN))
    session.clear()
    session[TOKEN] = accounts.start_session(user)
    session.permanent = True
    g.user = user


def _sign_out() -> None:
    token = session.get(TOKEN)
    _accounts().end_session(token)
    session.clear()
    g.user = None
    if isinstance(token, str):  # every socket of this session, on this process now (others: session_check)
        realtime = current_app.extensions["socketio"].server.namespace_handlers["/"]
        realtime.end_sessions(session=token_hash(token))


# the browsers that signed in to an account before: a signed cookie of the accounts' hashed
# email keys (OWASP's "device cookie"), so that failed sign-ins spent on an email by someone
# else (one every 20 s kept its person out for good: found from outside) do not lock out
# the person on a browser they used before
DEVICE_COOKIE = "collab_device"
DEVICE_DAYS = 365
DEVICE_ACCOUNTS = 8  # accounts a browser is remembered for, the latest


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="collab-device")


def _device_key(email: str) -> str:
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:32]


def _known_devices() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        keys = _devices().loads(raw, max_age=DEVICE_DAYS * 86_400)
    except BadSignature:  # forged, altered, expired or from another server's key: none
        return []
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _remember_device(email: str) -> None:
    keys = [_device_key(email)] + [k for k in _known_devices() if k != _device_key(email)]
    value = _devices().dumps(keys[:DEVICE_ACCOUNTS])

    @after_this_request
    def _set(resp: Response) -> Response:
        resp.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86_400, httponly=True, samesite="Lax",
                        secure=current_app.session_interface.get_cookie_secure(current_app))
        return resp


def _authenticate(email: object, password: object) -> User:
    throttle: Throttle = current_app.extensions["collab.sign_in_throttle"]
    address = client_address(request.environ)
    known = isinstance(email, str) and _device_key(email) in _known_devices()
    throttle.check(address, email, known)
    try:
        user = _accounts().authenticate(email, password)
    except CollabError:
        throttle.failed(address, email)
        raise
    _remember_device(user.email)
    return user


def _sign_up(email: object, name: object, password: object) -> User:
    if not _settings().sign_up:
        raise CollabError("forbidden", "sign-up is off on this server: an admin makes accounts (`collab user add`)")
    throttle: Throttle = current_app.extensions["collab.sign_in_throttle"]
    address = client_address(request.environ)
    wait = throttle.sign_ups.take(address)
    if wait:
        raise CollabError("rate_limited", f"too many accounts made from this address; retry in {wait:.0f} s",
                          retry_after=round(wait, 3))
    return _accounts().add(email, name, password)


# -- JSON ------------------------------------------------------------------------


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CollabError("bad_request", "body must be a JSON object")
    return body


@bp.get("/api/me")
def me() -> Response:
    """Who this browser is signed in as (`account`: null for a guest), and what the server offers."""
    settings = _settings()
    user = current_user()
    resp = jsonify({"sign_in": settings.sign_in, "sign_up": bool(settings.sign_in == "local" and settings.sign_up),
                    "account": account_body(user),
                    **({"admin": True} if user is not None and user.email.casefold() in settings.admin_emails else {})})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/api/signin")
def api_sign_in() -> Response:
    body = _json_body()
    user = _authenticate(body.get("email"), body.get("password"))
    _sign_in(user)
    return jsonify({"account": account_body(user)})


@bp.post("/api/signup")
def api_sign_up() -> tuple[Response, int]:
    body = _json_body()
    user = _sign_up(body.get("email"), body.get("name"), body.get("password"))
    _sign_in(user)
    return jsonify({"account": account_body(user)}), 201


@bp.post("/api/signout")
def api_sign_out() -> Response:
    """Ends this session and its sockets; `next`, when the browser should not just go to the
    start page: where it goes (COLLAB_SIGN_IN=proxy: the proxy's own sign-out, without which
    the proxy would sign it in again at the next request)."""
    _sign_out()
    after = _after_sign_out()
    return jsonify({"account": None, **({"next": after} if after != "/" else {})})


def _after_sign_out() -> str:
    settings = _settings()
    return settings.proxy_sign_out_url if settings.sign_in == "proxy" and settings.proxy_sign_out_url else "/"


# -- access tokens -------------------------------------------------------------------


def _signed_in() -> User:
    user = current_user()
    if user is None:
        raise CollabError("sign_in_required", "sign in first: access tokens are a signed-in person's")
    return user


def token_body(token: Token, now: float) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "created": token.created, "last_used": token.last_used,
            "expires": token.expires, "expired": token.expires is not None and token.expires <= now}


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/api/me/tokens")
def api_add_token() -> tuple[Response, int]:
    """A new access token of the signed-in person: its secret is in this answer only. Not
    with a token: a leaked token must not be able to make itself a successor."""
    user = _signed_in()
    if bearer(request.environ) is not None:
        raise CollabError("forbidden", "an access token cannot make tokens: sign in (or use `collab user token add`)")
    body = json_object()
    secret, token = _accounts().add_token(user, body.get("name"), body.get("expires_days"))
    return _no_store(jsonify({"token": secret, **token_body(token, token.created)})), 201


@bp.get("/api/me/tokens")
def api_tokens() -> Response:
    user = _signed_in()
    now = _accounts().clock()
    return _no_store(jsonify({"tokens": [token_body(t, now) for t in _accounts().tokens(user)]}))


@bp.delete("/api/me/tokens/<token_id>")
def api_revoke_token(token_id: str) -> Response:
    """Revoke a token: it is refused from now on, and its sockets on this process end now
    (on the others within COLLAB_SESSION_CHECK)."""
    user = _signed_in()
    secret = bearer(request.environ)
    if secret is not None and not any(t.id == token_id and t.token_hash == token_hash(secret)
                                      for t in _accounts().tokens(user)):
        # a leaked token could otherwise revoke every other script of its person
        raise CollabError("forbidden", "an access token may revoke itself only: sign in to revoke others "
                                       "(or use `collab user token revoke`)")
    token = _accounts().revoke_token(user, token_id)
    realtime = current_app.extensions["socketio"].server.namespace_handlers["/"]
    realtime.end_sessions(session=token.token_hash)
    return _no_store(jsonify({"id": token.id, "revoked": True}))


# -- pages -------------------------------------------------------------------------


# a path of this site: printable URL characters only, never a second slash or a backslash
# after the first (//host); browsers drop tabs and newlines from a URL, and werkzeug's
# redirect did too, so "/\t/evil.example" left as "//evil.example"
NEXT_RE = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#]*")


def _next() -> str:
    """Where to go after signing in: a path of this site only (never //host or a URL)."""
    target = request.values.get("next", "/")
    return target if NEXT_RE.fullmatch(target) else "/"


def _form_failed(kind: str, exc: CollabError, email: str, name: str = "") -> Response:
    """The form again, saying why (and when to retry, after too many failures)."""
    resp = _form_page(kind, exc.http_status, exc.message, email=email, name=name)
    if "retry_after" in exc.extra:
        resp.headers["Retry-After"] = str(max(1, math.ceil(exc.extra["retry_after"])))
    return resp


def _form_page(kind: str, status: int = 200, message: str = "", email: str = "", name: str = "") -> Response:
    """The sign-in or sign-up page: a plain form (no script), posted to itself."""
    sign_up = kind == "signup"
    title = "Create an account" if sign_up else "Sign in"
    nxt = html.escape(_next(), quote=True)
    name_field = (f'<label for="name">Display name</label>\n<input id="name" name="name" autocomplete="name" '
                  f'maxlength="64" value="{html.escape(name, quote=True)}">\n') if sign_up else ""
    other = (f'<p>Have an account? <a href="/signin?next={quote(_next())}">Sign in</a></p>' if sign_up
             else f'<p>No account yet? <a href="/signup?next={quote(_next())}">Create one</a></p>'
             if _settings().sign_up else "")
    error = f'<p id="form-error" class="form-error" role="alert">{html.escape(message)}</p>' if message else ""
    # Referrer-Policy same-origin, not the other pages' no-referrer: under no-referrer a browser
    # sends `Origin: null` with a form's POST, which the Origin check (guard.py) refuses. Nothing
    # leaves the site either way (`next`, which may hold an edit link, goes to no other origin)
    head = pages._head(f"{title} · collab").replace('content="no-referrer"', 'content="same-origin"')
    page = f"""{head}
</head>
<body data-page="{kind}">
<main class="start account-form">
<h1>{title}</h1>
{error}
<form method="post" action="/{kind}">
<input type="hidden" name="next" value="{nxt}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required value="{html.escape(email, quote=True)}">
{name_field}<label for="password">Password</label>
<input id="password" name="password" type="password" required minlength="{8 if sign_up else 1}"
 autocomplete="{"new-password" if sign_up else "current-password"}">
<p><button class="primary" type="submit" id="submit">{title}</button></p>
</form>
{other}
<p><a href="/">Start page</a></p>
</main>
</body>
</html>
"""
    resp = Response(page, status=status, mimetype="text/html")
    pages._secure(resp)
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/signin", methods=["GET", "POST"])
def sign_in_page() -> BaseResponse:
    mode = _settings().sign_in
    if mode == "oidc":  # the editor's Sign in link, whatever the mode: to the provider
        return redirect(f"/sign-in/oidc?next={quote(_next())}", 303)
    if mode == "proxy":
        return pages.error_page(404, "Sign-in is by the proxy", "this server is signed in to through the proxy "
                                "in front of it: open this site by its public address, and the proxy signs you in")
    if request.method == "GET":
        return _form_page("signin")
    email = request.form.get("email", "")
    try:
        _sign_in(_authenticate(email, request.form.get("password", "")))
    except CollabError as exc:
        return _form_failed("signin", exc, email)
    return redirect(_next(), 303)


@bp.route("/signup", methods=["GET", "POST"])
def sign_up_page() -> BaseResponse:
    if not _settings().sign_up:
        return pages.error_page(403, "Sign-up is off", "accounts on this server are made by an admin",
                                [("/signin", "Sign in"), ("/", "Start page")])
    if request.method == "GET":
        return _form_page("signup")
    email, name = request.form.get("email", ""), request.form.get("name", "")
    try:
        _sign_in(_sign_up(email, name, request.form.get("password", "")))
    except CollabError as exc:
        return _form_failed("signup", exc, email, name)
    return redirect(_next(), 303)


@bp.post("/signout")
def sign_out_page() -> BaseResponse:
    _sign_out()
    return redirect(_after_sign_out(), 303)
