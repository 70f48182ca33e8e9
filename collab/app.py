"""The app factory: settings, store, document service, Socket.IO and HTTP edges."""
from __future__ import annotations

import logging
import os
import secrets
from typing import Any, Mapping
from urllib.parse import unquote, urlparse

from flask import Flask
from pythonjsonlogger.json import JsonFormatter
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from .server import accounts as accounts_edge
from .server import admin
from .server import api
from .server import pages
from .server import access_api, history_api
from .server import images
from .server import mydocs
from . import data_dir
from .core.config import ConfigError, Settings, unknown_variables
from .server.buckets import SharedBuckets
from .server.guard import LOOPBACK, EdgeGuard, Lookups, TrustedProxies, TrustedProxyFix
from .core.ids import random_base62
from .server.presence import LocalPresence, RedisPresence
from .server.queue import Outage, RedisQueue, SlicedDelivery, channel
from .server.realtime import DocumentNamespace
from .server.tombstones import TombstoneWatch
from .service.accounts import AccountService
from .service.runtime import Runtime
from .service.documents import DocState, DocumentService
from .service.observer import Observer, compose
from .server.metrics import Metrics, bp as metrics_bp
from .storage import Revision, StoreError, open_store
from .server.transport import PacketGuard, PollingGuard


log = logging.getLogger("collab.app")


def create_app(config: Mapping[str, Any] | None = None, observer: Observer | None = None) -> Flask:
    """Build the app. `config` overrides COLLAB_* settings by field name, e.g.
    {"database_url": "sqlite:////tmp/x.db", "max_patch_chars": 1000}; `observer` hooks an
    instrument into the path of every message: the WebSocket, the Socket.IO handlers and the
    write path (collab/service/observer.py; bench/timeline.py)."""
    app = Flask("collab", instance_relative_config=True)
    settings = Settings.from_env(**dict(config or {}))
    _configure_logging(settings)
    for warning in unknown_variables():
        log.warning("%s", warning)
    folder, why = data_dir(settings.data_dir)
    database_url = settings.database(folder)
    _check_folders(settings, folder, database_url)
    app.config.update(
        SECRET_KEY=settings.secret_key or _instance_secret(folder),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,  # an import may carry a whole document
        JSON_SORT_KEYS=False,
    )
    store = open_store(database_url, settings.durability)
    log.info("database: %s", _describe(database_url, "--database / COLLAB_DATABASE_URL" if settings.database_url else why))
    # the processes of this database, and only they, share a channel (server/queue.py)
    deployment = channel(store.deployment_id()) if settings.message_queue else ""
    outage = Outage()  # the message queue's reachability, logged once per change (server/queue.py)
    queue: dict[str, Any] = {}
    if settings.message_queue:
        queue["client_manager"] = RedisQueue(settings.message_queue, outage, deployment)
    else:  # presence to a crowd in slices (server/queue.py)
        queue["client_manager"] = SlicedDelivery()
    socketio = SocketIO(
        app,
        async_mode="gevent",
        cors_allowed_origins=settings.allowed_origins,
        **queue,
        # above our own patch limit, so an oversized patch gets `too_large`, not a dropped socket
        max_http_buffer_size=settings.max_message_bytes,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        # their errors only, through the root logger's handler (COLLAB_LOG_FORMAT): given
        # False, each library adds a plain StreamHandler of its own to its logger, and a
        # record came out twice, once unformatted (not JSON)
        logger=_library_logger(),
        engineio_logger=_library_logger(),
        # a client's events run one after another on its connection's reader greenlet
        # instead of a new greenlet each: ~0.2 ms and 12 % of the CPU less per keystroke
        # (docs/performance.md), events of one client handled in the order sent, and a
        # flooding client slowed by TCP back-pressure instead of spawning greenlets
        async_handlers=False,
    )
    # binary packets capped before python-socketio buffers them (collab/server/transport.py)
    PacketGuard(socketio.server, max_packet_bytes=socketio.server.eio.max_http_buffer_size)
    # long-polling POSTs that are no valid payload: 400 and the session closed (ibid.)
    app.wsgi_app = PollingGuard(app.wsgi_app, socketio.server)  # type: ignore[method-assign]

    def on_commit(state: DocState, committed: list[tuple[Revision, object]]) -> None:
        realtime.broadcast_revisions(state, committed)  # (the namespace is made just below)

    metrics = Metrics() if settings.metrics else None  # /metrics (collab/server/metrics.py)
    observer = compose(observer, metrics)
    # history computations in a child process (service/worker.py): off this interpreter's lock
    runtime = Runtime(socketio.start_background_task, read_process=True)
    service = DocumentService(store, settings, runtime,
                              on_commit=on_commit, observer=observer)
    if settings.message_queue:
        presence: LocalPresence = RedisPresence(settings.message_queue, socketio.start_background_task,
                                                socketio.sleep, process_id=random_base62(12), outage=outage,
                                                namespace=deployment)
    else:
        presence = LocalPresence()
    realtime = DocumentNamespace(socketio, service, settings, presence, observer)
    socketio.server.register_namespace(realtime)
    # no queue to hear of `collab delete` through: look for its tombstones (server/tombstones.py)
    polls = settings.tombstone_poll > 0 and not settings.message_queue
    watch = TombstoneWatch(store, realtime.tombstoned, socketio.sleep, stopped=lambda: service.closed,
                           interval=settings.tombstone_poll) if polls else None
    if watch is not None:
        socketio.start_background_task(watch.run)
    if settings.sign_in:  # accounts (server/accounts.py); off: no cookie, no route but /api/me
        accounts_edge.install(app, AccountService(store.accounts, settings.session_days, runtime.run_hash), settings)
        for email in sorted(settings.admin_emails):  # a typo here would leave nobody an admin, silently
            if store.accounts.user_by_email(email) is None:
                log.warning("COLLAB_ADMINS names %s, which has no account (yet): `collab user add %s`", email, email)
        if settings.sign_in == "oidc":  # the provider's client and its routes (server/oidc.py)
            from .server import oidc as oidc_edge  # Authlib: imported by the servers that use it only

            oidc_edge.install(app, settings)
            app.register_blueprint(oidc_edge.bp)
        if settings.session_check > 0:
            socketio.start_background_task(realtime.watch_sessions)
    app.extensions["collab.tombstones"] = watch
    app.extensions["collab.presence"] = presence
    app.extensions["collab.queue"] = outage
    app.extensions["collab"] = service
    app.extensions["collab.settings"] = settings
    app.extensions["collab.observer"] = observer  # the WebSocket's hooks find it here (serve.py)
    app.register_blueprint(api.bp)
    app.register_blueprint(history_api.bp)
    app.register_blueprint(access_api.bp)
    app.register_blueprint(images.bp)
    api.register_errors(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(accounts_edge.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(mydocs.bp)
    if metrics is not None:
        metrics.watch(realtime, outage if settings.message_queue else None)
        app.extensions["collab.metrics"] = metrics
        app.register_blueprint(metrics_bp)
    # with a queue, one bucket per address for every process (a guesser spread over N processes
    # by nginx got N bursts); without, this process's
    shared = (SharedBuckets(settings.message_queue, settings.lookup_rate, settings.lookup_burst, deployment, outage)
              if settings.message_queue else None)
    app.extensions["collab.lookups"] = Lookups(service, settings.lookup_rate, settings.lookup_burst, buckets=shared)
    _guard_edges(app, settings)
    return app


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"  # the keys of each JSON record


def _configure_logging(settings: Settings) -> None:
    """The root logger's level and format, once per process (logging.basicConfig does
    nothing when the root logger has a handler already): COLLAB_LOG_FORMAT=text, one line
    per record; json, one JSON object per line (python-json-logger), with `exc_info` for a
    traceback. Log lines name documents only by a hash (core/ids.py `log_id`)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                       "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])


def _library_logger() -> logging.Logger:
    """The logger python-socketio and python-engineio write to: errors only."""
    logger = logging.getLogger("collab.socketio")
    logger.setLevel(logging.ERROR)
    return logger


def _guard_edges(app: Flask, settings: Settings) -> None:
    """The HTTP edge's checks (collab/server/guard.py). Wrapped around `app.wsgi_app` after
    Flask-SocketIO wrapped it, so Engine.IO's handshakes and polling pass through them too."""
    app.wsgi_app = EdgeGuard(app.wsgi_app, settings, app.extensions["collab.observer"])  # type: ignore[method-assign]
    if settings.proxy_hops:
        # what the client asked for, from the proxies' X-Forwarded-For/-Proto/-Host: its address
        # (the per-address limits), the scheme and host (links come out https://, Host checks
        # see the public name); outermost, so the guard and Engine.IO see it too
        # from the COLLAB_TRUSTED_PROXIES only (guard.TrustedProxyFix); none listed: from this
        # machine's own addresses, where deploy.md's nginx runs. Before, from anyone: a client
        # reaching collab directly sent its own X-Forwarded-For and walked past every
        # per-address throttle (found from outside)
        hops = settings.proxy_hops
        fixed = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        networks = settings.trusted_networks or LOOPBACK
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, fixed, TrustedProxies(networks))  # type: ignore[method-assign]


def _check_folders(settings: Settings, folder: str, database_url: str) -> None:
    """Create the data folder when collab chose it (collab.data_dir) and needs it (the default
    database, or the generated secret key); refuse a folder that was named but does not exist,
    COLLAB_DATA_DIR's or an explicit SQLite file's: a typo there would otherwise start an empty
    database somewhere new, and the documents would seem lost."""
    if not settings.database_url or not settings.secret_key:
        if not settings.data_dir:
            os.makedirs(folder, exist_ok=True)
        elif not os.path.isdir(folder):
            raise ConfigError(f"COLLAB_DATA_DIR {folder} is not a folder that exists: create it, or fix the path")
    dist = settings.frontend_dist
    if dist and not (os.path.isfile(os.path.join(dist, "app.js")) and os.path.isfile(os.path.join(dist, "app.css"))):
        # before: the server started, /healthz said 200, and every page answered 503 "run make run"
        what = "is not a folder that exists" if not os.path.isdir(dist) else "holds no built editor (app.js, app.css)"
        raise ConfigError(f"COLLAB_FRONTEND_DIST {os.path.abspath(dist)} {what}: point it at the folder "
                          "`make frontend` builds (frontend/dist), or leave it unset for the editor the package carries")
    path = _sqlite_path(settings.database_url) if settings.database_url.startswith("sqlite:") else ""
    if path and path != ":memory:" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ConfigError(f"the SQLite database {os.path.abspath(path)} would be in a folder that does not exist: "
                          "create the folder, or fix the path in --database / COLLAB_DATABASE_URL")


def _sqlite_path(url: str) -> str:
    """The file of a sqlite: URL, as storage.sqlite.SQLiteStore.from_url reads it."""
    path = unquote(urlparse(url).path)
    if url.startswith("sqlite:////"):
        return "/" + path.lstrip("/")
    return path[1:] if url.startswith("sqlite:///") else path


def _describe(url: str, why: str) -> str:
    """The database for the start-up line: the SQLite file, or the PostgreSQL URL without its
    password."""
    if url.startswith("sqlite:"):
        path = _sqlite_path(url)
        where = f"SQLite file {os.path.abspath(path) if path != ':memory:' else path}"
    else:
        parsed = urlparse(url)
        netloc = parsed.netloc.rpartition("@")
        user = netloc[0].split(":", 1)[0]
        where = f"PostgreSQL {parsed.scheme}://{user + '@' if user else ''}{netloc[2]}{parsed.path}"
    return f"{where} ({why})" if why else where


def _instance_secret(folder: str) -> str:
    """COLLAB_SECRET_KEY unset: generate one once and keep it in the data folder (mode 0600)."""
    path = os.path.join(folder, "secret_key")
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key
