"""Settings: every knob is a COLLAB_* environment variable over a documented default.

`Settings.from_env()` reads them; a bad value raises ConfigError naming the key and the
fix. docs/deploy.md lists the same table. This is the one module of the package that reads
the environment (tests/core/test_config.py keeps it so): the others are handed a Settings.
"""
from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from dataclasses import dataclass, fields
from typing import Mapping
from urllib.parse import urlsplit


class ConfigError(ValueError):
    pass


DURABILITY = ("disk", "process")
LOG_FORMATS = ("text", "json")
CREATE_MODES = ("anyone", "signed_in")  # COLLAB_CREATE: who may create documents
# COLLAB_SIGN_IN: "" = capability links only (no accounts); local accounts; OpenID Connect; a
# trusted reverse proxy's header
SIGN_IN_MODES = ("", "local", "oidc", "proxy")
# a header name (RFC 9110 token characters), as COLLAB_PROXY_USER_HEADER and _NAME_HEADER take it
HEADER_NAME_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # where an OIDC issuer may be plain http (a test provider)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
QUEUE_SCHEMES = ("redis://", "rediss://", "unix://")  # COLLAB_MESSAGE_QUEUE: what redis-py's from_url reads
_ZERO_MEANS_OFF = {"inline_commit_ms", "max_connections_per_address", "proxy_hops", "metrics",
                   "max_connections", "max_joined_per_address", "max_pinned_per_address", "tombstone_poll",
                   "remote_images", "sign_up", "session_check", "read_rate"}
_ZERO_MEANS_ANY = {"port"}  # 0: the kernel picks a free port
DATABASE_SCHEMES = ("sqlite:", "postgresql:", "postgres:")  # COLLAB_DATABASE_URL: what storage.open_store opens
MIN_PATCH_LINES = 4  # COLLAB_MAX_PATCH_LINES: one change alone in its hunk takes 4 lines
MESSAGE_SLACK = 1_048_576  # bytes a message may hold beyond its patch text: keys, op id, Socket.IO framing


@dataclass(frozen=True)
class Settings:
    # key: (unit) meaning
    database_url: str = ""  # URL; "" = sqlite file collab.db in the data folder
    secret_key: str = ""  # "" = generated once, kept in the data folder
    # folder of the default SQLite database (collab.db) and the generated secret key; "" = a
    # checkout's instance/, else the platform's user data folder (collab.data_dir, docs/deploy.md).
    # A folder named here must exist: only the folder collab picks itself is created
    data_dir: str = ""
    message_queue: str = ""  # redis:// URL of the Socket.IO message queue (several processes)
    cors_origins: str = ""  # comma-separated origins allowed to open sockets; "" = same origin only
    host: str = "127.0.0.1"  # address run.py listens on (the default of run.py --host)
    port: int = 5000  # TCP port run.py listens on (the default of run.py --port); 0 = a free one
    frontend_dist: str = ""  # folder of the built editor (app.js, app.css); "" = frontend/dist of this checkout
    # 1 = the preview shows images from other sites (https: only; each viewer's browser fetches
    # them, so their sites see who reads); 0 = only this server's own and data: images, and the
    # preview says why a remote one is not shown
    remote_images: int = 0
    max_image_bytes: int = 5_242_880  # bytes of one uploaded image (5 MiB)
    max_images_bytes: int = 52_428_800  # bytes of all the images of one document, its image quota (50 MiB)
    max_patch_chars: int = 4_194_304  # characters of one patch text
    max_hunks: int = 5_000  # hunks in one patch
    # lines in one patch text (its hunk headers and operations, one a line), counted before it
    # is parsed: what one message may cost a write-lane thread (~5 us a line: 10,000 ~50 ms).
    # Clients split a change by it; at 10,000, as many as the hunk limit already makes them split at
    max_patch_lines: int = 10_000
    max_doc_chars: int = 4_194_304  # code points in one document
    max_open_bytes: int = 536_870_912  # (code points) texts and caches of open documents; idle ones past it are dropped
    snapshot_every: int = 100  # revisions between full-text snapshots
    sync_limit: int = 1_000  # revisions in one sync answer (more: true beyond)
    max_rebase: int = 10_000  # how many revisions behind head a patch's base may be
    rate_limit: float = 200.0  # events per second per connection, sustained
    rate_burst: int = 400  # events per connection allowed in a burst
    history_rate: float = 20.0  # HTTP history requests per second per client address, sustained
    history_burst: int = 60  # HTTP history requests per client address allowed in a burst
    commit_batch: int = 512  # revisions committed in one transaction at most
    inline_commit_ms: float = 2.0  # SQLite: commit on the event loop while commits take less; 0 = always on a thread
    ping_interval: float = 25.0  # seconds between Engine.IO pings
    ping_timeout: float = 20.0  # seconds without a pong before a client counts as gone
    presence_interval: float = 1.0  # seconds: at most one presence update per document (joins, leaves, renames, seen)
    join_timeout: float = 30.0  # seconds a connection may stay without joining a document
    # seconds between two looks for tombstones another process made (`collab delete`, rename,
    # rotate-view), without COLLAB_MESSAGE_QUEUE only (server/tombstones.py); 0 = never look
    tombstone_poll: float = 1.0
    log_level: str = "INFO"
    header_timeout: float = 10.0  # seconds a connection has to send a request's line and headers (idle keep-alive included)
    body_timeout: float = 10.0  # seconds to send a request body, plus 1 s per body_min_rate bytes received
    body_min_rate: int = 32_768  # bytes/s: the slowest upload a request body is given time for
    max_connections_per_address: int = 256  # open connections from one client address; 0 = no limit (behind a proxy)
    allowed_hosts: str = ""  # comma-separated Host names served; "" = localhost, *.localhost, IP addresses, this machine's name
    lookup_rate: float = 0.5  # lookups of unknown documents per second per client address, sustained
    lookup_burst: int = 100  # lookups of unknown documents per client address allowed in a burst
    proxy_hops: int = 0  # reverse proxies in front (X-Forwarded-For/-Proto/-Host trusted from that many); 0 = none: the peer is the client
    presence_max_peers: int = 50  # editors listed in presence per document; more (and all viewers) are counted
    # what an acknowledged revision survives: "disk" (an ack waits for the fsync: power loss too) or
    # "process" (kill -9 of the server, not a power loss: SQLite synchronous=NORMAL, PostgreSQL
    # synchronous_commit=off); docs/deploy.md
    durability: str = "disk"
    # what hostile use can hold of one process (issue 13; docs/deploy.md, docs/reliability.md)
    max_connections: int = 10_000  # open connections in all; more answered 503 (at most the file limit - 128); 0 = only that
    max_joined_per_address: int = 100  # documents joined at once from one client address (joins refused past it); 0 = no limit
    max_pinned_per_address: int = 33_554_432  # (code points) held by the documents one address has joined: no join past it; 0 = no limit
    large_frame_bytes: int = 65_536  # bytes: a WebSocket message larger is read in slices, each yielding the event loop
    large_frames_budget: int = 16_777_216  # bytes of large WebSocket messages being read and handled at once; more wait
    # bytes/s read from one client address, all its connections together (WebSocket messages and
    # long-polling bodies), sustained, within a burst of one of the largest messages: past it the
    # address's readers wait (TCP back-pressure, nothing refused); 0 = no limit (serve.ReadRate)
    read_rate: int = 1_048_576
    # metrics and logs (issue 17; docs/deploy.md, "Metrics and logs")
    metrics: int = 0  # 1 = count, and serve Prometheus metrics at /metrics to metrics_allow; 0 = neither
    metrics_allow: str = "127.0.0.0/8,::1"  # comma-separated addresses or networks (CIDR) that may read /metrics
    log_format: str = "text"  # "text": one line per record; "json": one JSON object per line
    # accounts (issue 14; docs/deploy.md, "Sign-in"): "" = none, links are the only credential
    # (the default, unchanged); "local" = accounts of this server (email and password) may sign in
    sign_in: str = ""
    sign_up: int = 0  # 1 = anyone may make an account at /signup; 0 = only an admin, `collab user add`
    session_days: float = 30.0  # days a sign-in lasts (then the person signs in again)
    # seconds between two looks at whether the sessions of this process's sockets still exist
    # (ended by `collab user reset-password` or `disable`, or a sign-out, in another process); 0 = never
    session_check: float = 5.0
    sign_in_rate: float = 0.05  # failed sign-ins per second per client address and per account, sustained
    sign_in_burst: int = 10  # failed sign-ins per client address and per account allowed in a burst
    # comma-separated emails of the admins (with COLLAB_SIGN_IN): they may list every document
    # (GET /api/admin/docs) and delete any; "" = none
    admins: str = ""
    # who may create documents: "anyone" (whoever opens a new link; the default) or "signed_in"
    # (with COLLAB_SIGN_IN: a guest still opens existing documents by their links, but makes none)
    create: str = "anyone"
    # COLLAB_SIGN_IN=oidc: the OpenID provider (https URL; its /.well-known/openid-configuration is
    # read on the first sign-in), the client this server is registered as there, and what it asks for
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # "" = a public client (PKCE alone proves this server's requests)
    oidc_scopes: str = "openid email profile"  # space-separated; must hold openid
    # reverse proxies whose forwarded headers are believed, as addresses or networks (CIDR),
    # comma-separated: the peer must be one of them for X-Forwarded-For/-Proto/-Host
    # (COLLAB_PROXY_HOPS) and, with COLLAB_SIGN_IN=proxy, the user header to count; "" = any
    # peer for X-Forwarded-* (as before), and no user header at all
    trusted_proxies: str = ""
    # COLLAB_SIGN_IN=proxy: the header a trusted proxy names the signed-in person in (an
    # email or a user name), and the optional one with their display name ("" = none)
    proxy_user_header: str = "X-Forwarded-Email"
    proxy_name_header: str = "X-Forwarded-Preferred-Username"
    proxy_sign_out_url: str = ""  # where Sign out sends the browser after ending the session (the proxy's sign-out, e.g. /oauth2/sign_out); "" = the start page

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            key = _variable(f.name)
            if f.name in overrides:
                values[f.name] = overrides[f.name]
            elif key in env:
                values[f.name] = _parse(key, env[key], f.default)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, (int, float)):
                zero_ok = f.name in _ZERO_MEANS_OFF | _ZERO_MEANS_ANY
                # nan passes every comparison test (nan < 0 is False) and turned timeouts and
                # rate limits off; inf is no limit either: only finite numbers
                if (not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0
                        or (value == 0 and not zero_ok)):
                    kind = ("a number >= 0 (0 turns it off)" if f.name in _ZERO_MEANS_OFF
                            else "a number >= 0 (0 picks a free one)" if zero_ok else "a positive number")
                    raise ConfigError(f"COLLAB_{f.name.upper()} must be {kind}, got {value!r}")
        if self.message_queue and not self.message_queue.startswith(QUEUE_SCHEMES):
            raise ConfigError(f"COLLAB_MESSAGE_QUEUE must be a Redis URL (redis://host:6379/0, rediss:// for TLS), "
                              f"got {self.message_queue.split(':', 1)[0]!r}:...")
        if self.database_url and not self.database_url.startswith(DATABASE_SCHEMES):
            raise ConfigError(f"--database / COLLAB_DATABASE_URL: {not_a_database_url(self.database_url)}")
        if self.durability not in DURABILITY:
            raise ConfigError(f"COLLAB_DURABILITY must be disk or process, got {self.durability!r}")
        if self.max_patch_lines < MIN_PATCH_LINES:
            raise ConfigError(f"COLLAB_MAX_PATCH_LINES must be at least {MIN_PATCH_LINES} (the lines of one change: "
                              f"its hunk's header, context, the change, context), got {self.max_patch_lines!r}")
        if self.port > 65_535:
            raise ConfigError(f"COLLAB_PORT must be a TCP port, 0-65535, got {self.port!r}")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"COLLAB_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {self.log_level!r}")
        self._validate_observability()
        if self.sign_in not in SIGN_IN_MODES:
            raise ConfigError(f"COLLAB_SIGN_IN must be empty (links only), local (accounts of this server), "
                              f"oidc (an OpenID Connect provider) or proxy (a trusted reverse proxy's header), "
                              f"got {self.sign_in!r}")
        self._validate_people()
        _ = self.trusted_networks  # a bad entry raises ConfigError naming COLLAB_TRUSTED_PROXIES
        if self.sign_in == "oidc":
            self._validate_oidc()
        if self.sign_in == "proxy":
            self._validate_proxy()
        if self.sign_up not in (0, 1):
            raise ConfigError(f"COLLAB_SIGN_UP must be 1 (anyone may make an account) or 0 (only `collab user add`), "
                              f"got {self.sign_up!r}")

    def _validate_people(self) -> None:
        """COLLAB_ADMINS and COLLAB_CREATE: both name signed-in people, so need COLLAB_SIGN_IN."""
        for email in self.admin_emails:
            if email.count("@") != 1 or email.startswith("@") or email.endswith("@") or " " in email:
                raise ConfigError(f"COLLAB_ADMINS must be comma-separated emails of accounts "
                                  f"(ann@example.org,bo@example.org), got {email[:80]!r}")
        if self.admin_emails and not self.sign_in:
            raise ConfigError("COLLAB_ADMINS names accounts, but sign-in is off: set COLLAB_SIGN_IN (local, oidc or proxy) too")
        if self.create not in CREATE_MODES:
            raise ConfigError(f"COLLAB_CREATE must be anyone (the default) or signed_in (only signed-in people "
                              f"create documents), got {self.create!r}")
        if self.create == "signed_in" and not self.sign_in:
            raise ConfigError("COLLAB_CREATE=signed_in needs accounts to sign in with: set COLLAB_SIGN_IN (local, oidc or proxy) too")

    @property
    def admin_emails(self) -> frozenset[str]:
        """COLLAB_ADMINS, each email case folded (as accounts are matched)."""
        return frozenset(e.strip().casefold() for e in self.admins.split(",") if e.strip())
    def _validate_oidc(self) -> None:
        """COLLAB_OIDC_*: checked at start, so that a typo is not found at the first sign-in."""
        issuer = self.oidc_issuer.strip()
        if not issuer:
            raise ConfigError("COLLAB_SIGN_IN=oidc needs COLLAB_OIDC_ISSUER: the provider's issuer URL, "
                              "e.g. https://keycloak.example.org/realms/team")
        try:
            parts = urlsplit(issuer)
            host = parts.hostname or ""
        except ValueError:
            parts, host = urlsplit(""), ""
        loopback = host in LOOPBACK_HOSTS
        if not host or parts.query or parts.fragment or parts.scheme not in ("https", "http") or "@" in parts.netloc:
            raise ConfigError(f"COLLAB_OIDC_ISSUER must be the provider's issuer URL (https://host/path, no query), "
                              f"got {issuer[:100]!r}")
        if parts.scheme != "https" and not loopback:
            raise ConfigError(f"COLLAB_OIDC_ISSUER must be https (plain http only on 127.0.0.1 or localhost, "
                              f"for a provider on this machine), got {issuer[:100]!r}")
        if not self.oidc_client_id.strip():
            raise ConfigError("COLLAB_SIGN_IN=oidc needs COLLAB_OIDC_CLIENT_ID: the client id this server "
                              "is registered as at the provider")
        if "openid" not in self.oidc_scopes.split():
            raise ConfigError(f"COLLAB_OIDC_SCOPES must include openid (an OpenID Connect sign-in), "
                              f"got {self.oidc_scopes!r}")

    def _validate_proxy(self) -> None:
        """COLLAB_TRUSTED_PROXIES and the proxy headers."""
        networks = self.trusted_networks
        if not networks:
            raise ConfigError("COLLAB_SIGN_IN=proxy needs COLLAB_TRUSTED_PROXIES: the addresses of the proxies "
                              f"whose {self.proxy_user_header} header is believed, e.g. 127.0.0.1 or 10.0.0.0/24")
        wide = [n for n in networks if n.prefixlen == 0]
        if wide:
            raise ConfigError(f"COLLAB_TRUSTED_PROXIES {str(wide[0])!r} would believe the user header from anyone: "
                              "list the proxies' own addresses")
        for key, value, optional in (("COLLAB_PROXY_USER_HEADER", self.proxy_user_header, False),
                                     ("COLLAB_PROXY_NAME_HEADER", self.proxy_name_header, True)):
            if not (optional and not value) and not HEADER_NAME_RE.fullmatch(value):
                raise ConfigError(f"{key} must be a header name like X-Forwarded-Email, got {value[:80]!r}")
        if self.proxy_sign_out_url and not self.proxy_sign_out_url.startswith(("/", "https://", "http://")):
            raise ConfigError(f"COLLAB_PROXY_SIGN_OUT_URL must be a path (/oauth2/sign_out) or a URL, "
                              f"got {self.proxy_sign_out_url[:100]!r}")

    @property
    def trusted_networks(self) -> list[IPNetwork]:
        """COLLAB_TRUSTED_PROXIES as networks; an address alone is a network of one."""
        return _networks("COLLAB_TRUSTED_PROXIES", self.trusted_proxies)

    @property
    def oidc_issuer_url(self) -> str:
        """The issuer as identities are stored under it: without a trailing slash."""
        return self.oidc_issuer.strip().rstrip("/")

    def _validate_observability(self) -> None:
        """COLLAB_METRICS, COLLAB_METRICS_ALLOW, COLLAB_LOG_FORMAT."""
        if self.remote_images not in (0, 1):
            raise ConfigError(f"COLLAB_REMOTE_IMAGES must be 1 (show images from other sites) or 0 (off), got {self.remote_images!r}")
        if self.metrics not in (0, 1):
            raise ConfigError(f"COLLAB_METRICS must be 1 (serve /metrics) or 0 (off), got {self.metrics!r}")
        _ = self.metrics_networks  # a bad entry raises ConfigError naming COLLAB_METRICS_ALLOW
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"COLLAB_LOG_FORMAT must be text or json, got {self.log_format!r}")

    @property
    def metrics_networks(self) -> list[IPNetwork]:
        """COLLAB_METRICS_ALLOW as networks; an address alone is a network of one."""
        return _networks("COLLAB_METRICS_ALLOW", self.metrics_allow)

    @property
    def max_message_bytes(self) -> int:
        """The transport's limit for one message: a patch at max_patch_chars (%-escaped, so
        ASCII: a character is a byte) plus MESSAGE_SLACK, so that an oversized patch is
        answered `too_large` instead of its connection being dropped."""
        return self.max_patch_chars + MESSAGE_SLACK

    @property
    def max_body_bytes(self) -> int:
        """The largest HTTP request body: a patch, or an import that carries a whole document
        (up to 4 UTF-8 bytes for each of its max_doc_chars code points) or an image upload
        (max_image_bytes), plus MESSAGE_SLACK."""
        return max(self.max_patch_chars, 4 * self.max_doc_chars, self.max_image_bytes) + MESSAGE_SLACK

    def database(self, data_dir: str) -> str:
        """The database URL: COLLAB_DATABASE_URL, else the SQLite file collab.db in `data_dir`
        (the data folder, collab.data_dir: next to the generated secret key)."""
        return self.database_url or "sqlite:///" + os.path.join(data_dir, "collab.db")

    @property
    def allowed_origins(self) -> list[str] | str | None:
        """For python-engineio: None means same origin only."""
        value = self.cors_origins.strip()
        if not value:
            return None
        if value == "*":
            return "*"
        return [o.strip() for o in value.split(",") if o.strip()]

    @property
    def host_names(self) -> list[str]:
        """COLLAB_ALLOWED_HOSTS as lower-case names without ports; [] = the defaults."""
        return [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]


# COLLAB_* variables that are not settings, so not fields of Settings: COLLAB_TEST_FAULT
# (fault_spec below), COLLAB_TOKEN (the Python client's access token: client_token below) and those that the test suite and the benchmarks read (tests/, bench/;
# tests/core/test_config.py finds every one they read here). A server started by the tests
# inherits them and must not warn about them.
OTHER_VARIABLES = ("COLLAB_TEST_FAULT", "COLLAB_TOKEN", "COLLAB_TEST_POSTGRES", "COLLAB_TEST_REDIS", "COLLAB_TEST_SEEDS",
                   "COLLAB_FUZZ_EXAMPLES", "COLLAB_E2E_SEED", "COLLAB_CHROMIUM", "COLLAB_TEST_STALLS_DATABASE")
# what a COLLAB_ name that is not a setting may have meant: the transport limits follow from others
_DERIVED = {"COLLAB_MAX_MESSAGE_BYTES": "COLLAB_MAX_PATCH_CHARS (the WebSocket message limit is it + 1 MiB)",
            "COLLAB_MAX_BODY_BYTES": "COLLAB_MAX_PATCH_CHARS and COLLAB_MAX_DOC_CHARS (the HTTP body limit follows from them)"}


def _networks(key: str, value: str) -> list[IPNetwork]:
    networks = []
    for item in (i.strip() for i in value.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(f"{key} must be comma-separated addresses or networks "
                                  f"(127.0.0.1, 10.0.0.0/8, ::1), got {item[:60]!r}") from None
    return networks


def _variable(name: str) -> str:
    return "COLLAB_" + name.upper()


def variable_names() -> list[str]:
    """Every COLLAB_* variable the package knows: one per Settings field (the one list of the
    settings), then OTHER_VARIABLES."""
    return [_variable(f.name) for f in fields(Settings)] + list(OTHER_VARIABLES)


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """One warning per COLLAB_* variable of `env` that nothing reads (a typo, or a setting of
    another version), naming the closest known one: a misspelt COLLAB_DATABASE_URL would
    otherwise leave the server on its default database without a word."""
    env = os.environ if env is None else env
    known = variable_names()
    warnings = []
    for key in sorted(k for k in env if k.startswith("COLLAB_") and k not in known):
        # compared without the COLLAB_ that all share, which would make any name look close
        close = difflib.get_close_matches(key[7:], [k[7:] for k in known], n=1)
        hint = (f"it follows from {_DERIVED[key]}" if key in _DERIVED
                else f"did you mean COLLAB_{close[0]}?" if close else "no setting has this name (docs/deploy.md lists them)")
        warnings.append(f"{key} is not a setting and is ignored: {hint}")
    return warnings


def not_a_database_url(url: str) -> str:
    """What to say of a database URL of no scheme collab opens (for --database, --from, --to
    and COLLAB_DATABASE_URL alike: storage.open_store says the same)."""
    if "://" not in url:  # a bare path: say the URL it most likely means
        return (f"database {url[:200]!r} is not a URL: for a SQLite file write sqlite:///{url[:200]} (three "
                "slashes, then the path: four before an absolute one); for PostgreSQL postgresql://user@host/dbname")
    scheme = url.split(":", 1)[0]
    return (f"database URL scheme {scheme[:20]!r} is not supported: use sqlite:///path/to/file.db "
            "or postgresql://user@host/dbname")


def _parse(key: str, raw: str, default: object) -> object:
    if isinstance(default, int):
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    return raw


def fault_spec(env: Mapping[str, str] | None = None) -> str:
    """COLLAB_TEST_FAULT, the crash point of the fault-injection tests (collab/service/faults.py
    parses it). Not a Settings field: it belongs to the process, not to one app, is never set
    in production, and create_app's overrides must not be able to set it."""
    return (os.environ if env is None else env).get("COLLAB_TEST_FAULT", "")


def client_token(env: Mapping[str, str] | None = None) -> str | None:
    """COLLAB_TOKEN, the access token the Python client sends (`Authorization: Bearer`) when
    it is given none; None when unset or empty. Not a Settings field: it is a client's, not a
    server's."""
    return (os.environ if env is None else env).get("COLLAB_TOKEN") or None
