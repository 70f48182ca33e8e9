import os
import secrets

import pytest

from collab import create_app
from skips import missing

# a PostgreSQL database we may create fresh databases from (trust auth on this machine)
PG_ADMIN = os.environ.get("COLLAB_TEST_POSTGRES", "postgresql://127.0.0.1/test")
REDIS = os.environ.get("COLLAB_TEST_REDIS", "redis://127.0.0.1:6379/0")


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
