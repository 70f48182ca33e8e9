"""Settings from COLLAB_* variables; bad values name the key."""
import pytest

from collab.core.config import ConfigError, Settings


def test_defaults_and_overrides():
    s = Settings.from_env({"COLLAB_MAX_HUNKS": "10", "COLLAB_RATE_LIMIT": "2.5"})
    assert s.max_hunks == 10 and s.rate_limit == 2.5 and s.snapshot_every == 100
    assert s.allowed_origins is None  # same origin only by default


def test_origins():
    assert Settings.from_env({"COLLAB_CORS_ORIGINS": "https://a.example, https://b.example"}).allowed_origins == [
        "https://a.example", "https://b.example"]


@pytest.mark.parametrize("key,value", [
    ("COLLAB_MAX_HUNKS", "many"), ("COLLAB_MAX_HUNKS", "0"), ("COLLAB_RATE_LIMIT", "fast"),
    ("COLLAB_LOG_LEVEL", "LOUD"), ("COLLAB_DURABILITY", "memory"),
])
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


def test_app_refuses_a_bad_setting(monkeypatch, tmp_path):
    from collab import create_app

    monkeypatch.setenv("COLLAB_SNAPSHOT_EVERY", "-3")
    with pytest.raises(ConfigError, match="COLLAB_SNAPSHOT_EVERY"):
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db"})


def test_secret_key_is_generated_once(tmp_path, monkeypatch):
    from collab.app import _instance_secret

    first = _instance_secret(str(tmp_path))
    assert len(first) >= 32 and _instance_secret(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_message_queue_that_is_not_redis_is_refused_by_name(tmp_path):
    """Before: any other scheme went to python-socketio's Kombu manager and failed with an
    ImportError traceback (kombu is not a dependency)."""
    from collab import create_app

    with pytest.raises(ConfigError, match="COLLAB_MESSAGE_QUEUE must be a Redis URL"):
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db", "message_queue": "amqp://guest@127.0.0.1//"})
