"""Fixtures of every tier, and the tiers themselves.

The folders mirror the package (core/, storage/, service/, server/, client/; the top level
for collab/{app,serve,wsgi,cli}.py and checks of the whole package) and hold pure and
in-process tests. e2e/ holds the modules whose tests start the real server (run.py) or
another process, browser/ those that drive Chromium: every test under them is marked `e2e`
(and `browser`) here, as is any test elsewhere that takes the `live_server` fixture.
`make check` runs what is not `e2e` and not `slow`; `make test` runs everything.
"""
import os
import secrets
from pathlib import Path
from typing import Iterator

import pytest

from bench.liveserver import LiveServer
from collab import create_app
from skips import missing

# a PostgreSQL database we may create fresh databases from (trust auth on this machine)
PG_ADMIN = os.environ.get("COLLAB_TEST_POSTGRES", "postgresql://127.0.0.1/test")
REDIS = os.environ.get("COLLAB_TEST_REDIS", "redis://127.0.0.1:6379/0")
TESTS = Path(__file__).resolve().parent

# In-process tests of several seconds each (2.4-30 s on the 2-core machine under load), left
# out of `make check` (which must stay under a minute) and run by `make test`: test id: why.
SLOW = {
    "service/test_hostile_service.py::test_whole_rewrites_of_a_large_document_are_snapshotted_before_the_count":
        "rewrites a large document whole, again and again, through the real store",
    "service/test_hostile_service.py::test_keystrokes_on_a_large_document_do_not_multiply_the_disk":
        "types into a large document and measures the bytes written",
    "service/test_hostile_service.py::test_large_revisions_do_not_fill_memory":
        "commits large revisions until the memory bound shows",
    "server/test_hostile_limits.py::test_restore_of_a_2_5_M_character_version":
        "writes, then restores, a 2.5 M character version",
    "server/test_hostile_limits.py::test_import_of_2_8_M_code_points_of_mixed_text":
        "imports 2.8 M code points over HTTP",
    "server/test_hostile.py::test_a_fast_typist_is_never_limited_but_a_flood_is":
        "a typist at 20 keys/s for 3 s of real time",
    "core/test_js_patches.py::test_browser_client_patches_of_a_real_trace_apply_exactly_on_the_server":
        "runs the browser client's patch code (Node) over 260,000 transactions of a real trace",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(TESTS)
        tier = where.parts[0]
        if tier in ("e2e", "browser") or "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        if tier == "browser":
            item.add_marker(pytest.mark.browser)
        if f"{where.as_posix()}::{item.originalname}" in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A started LiveServer (run.py) with its own database in tmp_path; stopped after the test."""
    server = LiveServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        # shown by pytest only when the test failed (captured output of its teardown)
        print(f"server log {server.log_path} (last lines):\n{server.log_tail()}")


@pytest.fixture
def doc_id() -> str:
    return "t-" + secrets.token_hex(6)


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/collab.db"


@pytest.fixture
def make_app(db_url):
    apps = []

    def make(**config):
        config.setdefault("database_url", db_url)
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["collab"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def service(app):
    return app.extensions["collab"]


@pytest.fixture
def connect(app):
    """connect(**kw) -> an in-process Socket.IO test client of `app`."""
    socketio = app.extensions["socketio"]
    clients = []

    def make(target_app=None, **kwargs):
        target = target_app or app
        c = target.extensions["socketio"].test_client(target, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        if c.is_connected():
            c.disconnect()
    del socketio


@pytest.fixture
def pg_admin() -> str:
    """The URL of the PostgreSQL database the fresh ones are made from (COLLAB_TEST_POSTGRES)."""
    return PG_ADMIN


def _fresh_pg_database():
    """A fresh, empty PostgreSQL database (its URL); dropped when the generator closes."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:
        missing(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    name = "collab_t_" + secrets.token_hex(6)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    yield from _fresh_pg_database()


@pytest.fixture
def pg_url2():
    """A second one, for tests that compare two databases."""
    yield from _fresh_pg_database()


@pytest.fixture
def redis_url():
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as exc:
        missing(f"Redis is not reachable at {REDIS}: {exc}")
    return REDIS
