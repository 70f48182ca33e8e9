"""Checks at the HTTP edge, before any route or Socket.IO handshake runs.

- `EdgeGuard`, WSGI middleware around the whole app (Engine.IO included): the Host header
  must name this server (DNS rebinding otherwise walks past every same-origin check), and a
  state-changing request (anything but GET, HEAD, OPTIONS) from a browser must come from
  this origin or one listed in COLLAB_CORS_ORIGINS (cross-site request forgery). Requests
  without browser headers (curl, the Python client) pass: a page on another site cannot send
  a request without `Origin` or `Sec-Fetch-Site` in any current browser. With sign-in on, a
  request carrying `Authorization: Bearer` passes too (not Socket.IO's, which Engine.IO
  checks itself): it carries no ambient credential, its cookie is never read, and its token
  is checked before any route runs, a wrong one 401 (server/accounts.py says why in full).
- `Lookups`: per client address, a token bucket of lookups of documents that do not exist
  (and of documents created by name, and of documents whose access refused the client), so
  that names cannot be guessed at speed. Every HTTP route and socket `join` that names a
  document goes through it, and through its `admit`: the role the document's access gives
  the person (service/access.py), or the refusal.
- `Newcomer` and `settle`: whether a WebSocket connection has joined a document yet (the
  server reads a newcomer's messages in turns: serve.py, `NewcomerLane`).

An edge module: imports the core, werkzeug and the service's types; nothing imports it
but the other edges and `create_app`.
"""
from __future__ import annotations

import ipaddress
import json
import re
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..core.config import Settings
from ..core import wire
from ..core.errors import CollabError
from ..core.ratelimit import KeyedBuckets
from ..service.access import EDIT_LINK, VIEW_LINK, decide

if TYPE_CHECKING:
    from ..service.observer import Observer
    from .buckets import SharedBuckets
    from ..service.documents import DocState, DocumentService

Environ = dict[str, Any]  # a WSGI environ (PEP 3333): its values are whatever the server put there
WSGIApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sec-Fetch-Site values a browser sends for a request this site's own pages made (or the
# user typed); "same-site" is another port or subdomain, a different origin
OWN_SITE = frozenset({"same-origin", "none"})
MAX_ADDRESSES = 65_536  # client addresses whose buckets are kept (~150 bytes each)


def error_body(exc: CollabError) -> bytes:
    """The JSON of an HTTP error, as api.py answers it: {"error": {code, message}}."""
    return json.dumps(wire.http_error(exc.code, exc.message, exc.extra)).encode()


# -- Host and Origin ---------------------------------------------------------------


# a Host header: a name or an IPv4 address, or an IPv6 one in brackets, then an optional port
HOST_RE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?)(?::([0-9]{1,5}))?")


def _host_name(host: str) -> str | None:
    """`Host` without its port, lower case (IPv6 keeps its brackets); None when it is no
    host name at all (`example.com:1@evil.com`, `127.0.0.1:80/x`, a port over 65535): those
    were read as their part before the last colon, and served."""
    m = HOST_RE.fullmatch(host.strip().lower())
    if m is None or (m.group(2) is not None and int(m.group(2)) > 65_535):
        return None
    return m.group(1)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def machine_names() -> set[str]:
    """This machine's own names: a browser reaching one of them reaches this machine."""
    names = {"localhost"}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.add(name.lower())
    return names


class HostRule:
    """Which Host headers are this server's. Default: IP addresses (DNS rebinding needs a
    name the attacker controls), `localhost` and `*.localhost` (browsers resolve those to
    loopback themselves) and this machine's own names. COLLAB_ALLOWED_HOSTS replaces the
    names: `collab.example.com`, `.example.com` (it and its subdomains), `*` (any)."""

    def __init__(self, configured: list[str], defaults: set[str]) -> None:
        self.any = "*" in configured
        self.names = {_host_name(h) or h for h in configured if h != "*" and not h.startswith(".")} or defaults
        self.suffixes = tuple(h for h in configured if h.startswith("."))
        self.configured = bool(configured)

    def allows(self, host: str) -> bool:
        name = _host_name(host)
        if name is None:
            return False
        if self.any or name in self.names or _is_ip(name):
            return True
        if not self.configured and name.endswith(".localhost"):
            return True
        return any(name.endswith(s) or name == s[1:] for s in self.suffixes)


def _own_origins(environ: Environ) -> set[str]:
    """The origins of this request's own pages: the rule python-engineio applies to the
    Socket.IO handshake, so that pages and sockets agree."""
    scheme: str = environ.get("wsgi.url_scheme", "http")
    host: str = environ.get("HTTP_HOST", "")
    origins = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        fwd_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        fwd_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.add(f"{fwd_scheme}://{fwd_host}")
    return origins


def cross_origin_refusal(environ: Environ, listed: list[str] | str | None) -> str | None:
    """Why a state-changing request must be refused, or None when it may go on.
    `listed` is Settings.allowed_origins (None = same origin only, "*" = any)."""
    if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
        return None
    origin = environ.get("HTTP_ORIGIN")
    site = environ.get("HTTP_SEC_FETCH_SITE", "").lower()
    is_listed = origin is not None and (listed == "*" or (isinstance(listed, list) and origin in listed))
    if origin is not None and origin not in _own_origins(environ) and not is_listed:
        return f"requests from the origin {origin[:100]!r} may not change anything here"
    if site and site not in OWN_SITE and not is_listed:
        return f"a {site} request may not change anything here"
    return None


def bearer_exempt(environ: Environ) -> bool:
    """A request that authenticates with `Authorization: Bearer` and nothing ambient: the
    Flask app reads no cookie for it and refuses it (401) unless its token is valid, before
    any route (server/accounts.py `_check_bearer`). Not a Socket.IO request: Flask's hooks do
    not run for those, and Engine.IO checks their Origin itself."""
    header = environ.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str) or str(environ.get("PATH_INFO", "")).startswith("/socket.io"):
        return False
    return header.strip()[:7].lower() == "bearer "


class EdgeGuard:
    """WSGI middleware: refuses a foreign Host (400) and a cross-origin write (403) with the
    API's JSON error, before Flask or Engine.IO see the request."""

    def __init__(self, app: WSGIApp, settings: Settings, observer: Observer | None = None) -> None:
        self.app = app
        self.hosts = HostRule(settings.host_names, machine_names())
        self.origins = settings.allowed_origins
        self.bearers = bool(settings.sign_in)  # Bearer requests skip the Origin check (bearer_exempt)
        self.observer = observer  # told of each refusal (`http_error`): /metrics counts them

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        # /healthz answers load balancers under whatever name they use, and tells nothing
        if host is not None and not self.hosts.allows(host) and environ.get("PATH_INFO") not in ("/healthz", "/readyz"):
            name = _host_name(host)
            return self._refuse(start_response, "400 BAD REQUEST", CollabError("bad_request", (
                f"this server does not answer to the host name {name[:100]!r}: add it to COLLAB_ALLOWED_HOSTS"
                if name is not None else f"the Host header {host[:100]!r} is not a host name (and port)")))
        why = None if self.bearers and bearer_exempt(environ) else cross_origin_refusal(environ, self.origins)
        if why is not None:
            return self._refuse(start_response, "403 FORBIDDEN", CollabError(
                "forbidden", f"{why}: send it from this site's own pages, or list the origin in COLLAB_CORS_ORIGINS"))
        return self.app(environ, start_response)

    def _refuse(self, start_response: Callable[..., Any], status: str, exc: CollabError) -> list[bytes]:
        if self.observer is not None:
            self.observer.http_error(exc.code, int(status.split()[0]))
        return _refuse(start_response, status, exc)


def _refuse(start_response: Callable[..., Any], status: str, exc: CollabError) -> list[bytes]:
    body = error_body(exc)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")])
    return [body]


# -- who may create --------------------------------------------------------------------


CREATE_REFUSED = ("only signed-in people may create documents on this server (COLLAB_CREATE=signed_in): "
                  "sign in, then try again; an existing document still opens by its link")


def check_create(settings: Settings, signed_in: bool) -> None:
    """Refuse a guest's creation of a document when COLLAB_CREATE=signed_in (401
    `sign_in_required`); every creating edge asks: socket `join` of a new name, `POST
    /api/docs`, `copy`, the editor page of a new name."""
    if settings.create == "signed_in" and not signed_in:
        raise CollabError("sign_in_required", CREATE_REFUSED)


# -- lookups of unknown documents ------------------------------------------------------


def client_address(environ: Environ) -> str:
    """Who is asking: the peer address (ProxyFix has put the client's there when
    COLLAB_PROXY_HOPS is set). IPv6 clients are grouped by /64, what one host usually has."""
    addr = str(environ.get("REMOTE_ADDR") or "unknown")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def peer_address(environ: Environ) -> str:
    """The address of whoever is connected to this server: the proxy in front, when there is
    one (ProxyFix keeps the peer's REMOTE_ADDR aside before putting the client's there)."""
    orig = environ.get("werkzeug.proxy_fix.orig")
    addr = orig.get("REMOTE_ADDR") if isinstance(orig, dict) else environ.get("REMOTE_ADDR")
    return str(addr or "")


# the proxies trusted when COLLAB_PROXY_HOPS is set and COLLAB_TRUSTED_PROXIES is not: this
# machine (deploy.md's nginx), as Gitea's and others' defaults
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


class TrustedProxies:
    """COLLAB_TRUSTED_PROXIES: the one notion of a proxy whose headers are believed. Its
    X-Forwarded-For/-Proto/-Host (COLLAB_PROXY_HOPS, `TrustedProxyFix`) and, with
    COLLAB_SIGN_IN=proxy, its user header count only when the peer is one of these."""

    def __init__(self, networks: "list[ipaddress.IPv4Network | ipaddress.IPv6Network]") -> None:
        self.networks = networks

    def trusts(self, environ: Environ) -> bool:
        try:
            ip = ipaddress.ip_address(peer_address(environ).split("%", 1)[0])
        except ValueError:  # a Unix socket, or no address: not a proxy we listed
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in self.networks)


class TrustedProxyFix:
    """ProxyFix (X-Forwarded-* from COLLAB_PROXY_HOPS proxies) for requests whose peer is a
    trusted proxy only; anyone else reaching the server directly is taken as they are, so a
    forged X-Forwarded-For names no other address and a forged -Host or -Proto no other site."""

    def __init__(self, app: WSGIApp, fixed: WSGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.fixed = fixed
        self.trusted = trusted

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        return (self.fixed if self.trusted.trusts(environ) else self.app)(environ, start_response)


class Lookups:
    """Opens documents by the name a client gave, charging the client's address one token
    for each name that leads nowhere (or is created by this lookup). While an address has
    no token left, every lookup from it is refused, found or not: refusing only the misses
    would tell a guesser which names exist by the answers that are not refused."""

    def __init__(self, service: "DocumentService", rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic, buckets: "SharedBuckets | None" = None) -> None:
        self.service = service
        # buckets[address]: this process's, or with a message queue the deployment's (buckets.py)
        self.buckets: "KeyedBuckets | SharedBuckets" = buckets or KeyedBuckets(rate, burst, MAX_ADDRESSES, clock)

    def check(self, address: str) -> None:
        """Refuse (rate_limited, with retry_after) while `address` has no token left."""
        wait = self.buckets.wait(address)
        if wait:
            raise CollabError(
                "rate_limited",
                # said of every lookup, the answer the same whether this one exists or not: so it
                # names what was spent (names that led nowhere, access refused, invitations of
                # nobody), not this document
                f"too many lookups that led nowhere or were refused came from your address; retry in {wait:.0f} s",
                retry_after=round(wait, 3),
            )

    def miss(self, address: str) -> None:
        """Charge one token, even below zero: a lookup that yielded after check() (a
        database read) is charged all the same, so a burst of them cannot slip through."""
        self.buckets.spend(address)

    def open(self, address: str, doc: str, create: bool = False, owner: str | None = None) -> "DocState":
        """A document by edit id; created when asked (which also costs a token: a guesser
        that joins a name learns whether it existed), owned by `owner` (a signed-in creator)."""
        self.check(address)
        try:
            return self.service.open(doc)
        except CollabError as exc:
            if exc.code != "not_found":
                raise
            self.miss(address)
            if not create:
                raise
        return self.service.open(doc, create=True, owner=owner)

    def open_view(self, address: str, token: str) -> "DocState":
        """A document by view token."""
        self.check(address)
        try:
            return self.service.open_view(token)
        except CollabError as exc:
            if exc.code == "bad_doc":
                self.miss(address)
            raise

    def admit(self, address: str, state: "DocState", user: str | None, link: str) -> str:
        """The role the document's access gives `user` (an account id; None: a guest) coming
        by `link` (access.EDIT_LINK or VIEW_LINK): the one decision, service/access.py's.
        A refusal costs the address a token, as a name that leads nowhere does: probing which
        links lead to documents one may not open is throttled alike."""
        try:
            return decide(self.service.access(state), user, link)
        except CollabError:
            self.miss(address)
            raise

    def resolve(self, address: str, key: str, user: str | None = None) -> "tuple[DocState, str]":
        """A document by edit id or view token: (state, "editor" or "viewer"), the role
        as the document's access gives it to `user` (admit)."""
        self.check(address)
        try:
            state = self.service.open(key)
            return state, self.admit(address, state, user, EDIT_LINK)
        except CollabError as exc:
            if exc.code != "not_found":
                raise
        try:
            state = self.service.open_view(key)
        except CollabError as exc:
            if exc.code != "bad_doc":
                raise
        else:
            return state, self.admit(address, state, user, VIEW_LINK)
        self.miss(address)
        raise CollabError("not_found", f"document {key!r} does not exist")


NEWCOMER = "collab.newcomer"  # the environ key of a WebSocket connection's `Newcomer`


class Newcomer:
    """A WebSocket connection that has not joined a document yet: the server (serve.py,
    `NewcomerLane`) reads its messages in the newcomers' turns until realtime's join
    settles it. Kept in the connection's environ, which Flask-SocketIO copies (shallowly)
    for Socket.IO: both copies hold this one object."""

    __slots__ = ("settled",)

    def __init__(self) -> None:
        self.settled = False


def settle(environ: Environ) -> None:
    """The connection whose environ this is has joined a document: from now on its
    messages are an established client's, read at once."""
    newcomer = environ.get(NEWCOMER)
    if newcomer is not None:
        newcomer.settled = True


def lookups_of(environ: Environ) -> tuple[Lookups, str]:
    """The app's `Lookups` and the client's address, from a request's (or a Socket.IO
    connection's) WSGI environ; Flask-SocketIO puts the app there."""
    return environ["flask.app"].extensions["collab.lookups"], client_address(environ)
