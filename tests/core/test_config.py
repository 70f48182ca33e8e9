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
    ("COLLAB_LOG_LEVEL", "LOUD"), ("COLLAB_DURABILITY", "memory"), ("COLLAB_DATABASE_URL", "mysql://db/collab"),
    ("COLLAB_METRICS", "2"), ("COLLAB_METRICS", "yes"), ("COLLAB_METRICS_ALLOW", "10.0.0.0/8, everyone"),
    ("COLLAB_LOG_FORMAT", "xml"),
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


def test_only_config_reads_the_environment():
    """Every COLLAB_* variable is read in collab/core/config.py (one table, one parser): any
    other module of the package is handed a Settings (or config.fault_spec())."""
    import ast
    from pathlib import Path

    import collab

    package = Path(collab.__file__).resolve().parent
    readers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            reads = (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                     and node.attr in {"environ", "environb", "getenv", "getenvb"})
            reads = reads or (isinstance(node, ast.ImportFrom) and node.module == "os"
                              and any(a.name in {"environ", "environb", "getenv", "getenvb"} for a in node.names))
            if reads:
                readers.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert readers and all(r.startswith("collab/core/config.py:") for r in readers), readers


def test_serve_address_and_frontend_folder_are_settings():
    s = Settings.from_env({"COLLAB_HOST": "0.0.0.0", "COLLAB_PORT": "0", "COLLAB_FRONTEND_DIST": "/srv/dist"})
    assert (s.host, s.port, s.frontend_dist) == ("0.0.0.0", 0, "/srv/dist")  # port 0: a free one
    assert (Settings().host, Settings().port) == ("127.0.0.1", 5000)
    with pytest.raises(ConfigError, match="COLLAB_PORT"):
        Settings.from_env({"COLLAB_PORT": "70000"})


def test_database_defaults_to_the_data_folder():
    assert Settings().database("/srv/instance") == "sqlite:////srv/instance/collab.db"
    url = "postgresql://db/collab"
    assert Settings.from_env({"COLLAB_DATABASE_URL": url}).database("/srv/instance") == url


def test_message_limits_follow_the_patch_and_document_limits(make_app):
    s = Settings.from_env({"COLLAB_MAX_PATCH_CHARS": "1000", "COLLAB_MAX_DOC_CHARS": "3000"})
    assert s.max_message_bytes == 1000 + 1_048_576
    assert s.max_body_bytes == 5 * 1_048_576 + 1_048_576  # an image upload's limit is the larger here
    small = Settings.from_env({"COLLAB_MAX_DOC_CHARS": "3000", "COLLAB_MAX_IMAGE_BYTES": "1000"})
    assert small.max_body_bytes == 4_194_304 + 1_048_576  # the patch limit's default is then the largest
    s = Settings.from_env({"COLLAB_MAX_PATCH_CHARS": "1000", "COLLAB_MAX_DOC_CHARS": "3000000"})
    assert s.max_body_bytes == 4 * 3_000_000 + 1_048_576  # an import of the whole document
    app = make_app(max_patch_chars=1000, max_doc_chars=3000000)
    assert app.config["MAX_CONTENT_LENGTH"] == s.max_body_bytes
    assert app.extensions["socketio"].server.eio.max_http_buffer_size == s.max_message_bytes
    from collab.serve import max_message

    assert max_message(app) == s.max_message_bytes


def test_every_setting_has_its_row_in_docs_deploy():
    """docs/deploy.md's table lists exactly the settings, each with its default, unit and meaning."""
    import re
    from dataclasses import fields
    from pathlib import Path

    import collab

    doc = (Path(collab.__file__).resolve().parents[1] / "docs" / "deploy.md").read_text(encoding="utf-8")
    rows = {m[0]: m[1:] for m in re.findall(r"^\| `(COLLAB_[A-Z_]+)` \|([^|]*)\|([^|]*)\|([^|]*)\|$", doc, re.M)}
    assert set(rows) == {"COLLAB_" + f.name.upper() for f in fields(Settings)}
    assert all(meaning.strip() for _, _, meaning in rows.values()), "every row says what its setting means"


def test_a_message_queue_that_is_not_redis_is_refused_by_name(tmp_path):
    """Before: any other scheme went to python-socketio's Kombu manager and failed with an
    ImportError traceback (kombu is not a dependency)."""
    from collab import create_app

    with pytest.raises(ConfigError, match="COLLAB_MESSAGE_QUEUE must be a Redis URL"):
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db", "message_queue": "amqp://guest@127.0.0.1//"})


def test_an_unknown_variable_is_named_with_the_closest_setting():
    """Before: a misspelt variable was ignored without a word (COLLAB_DATABSE_URL left the
    server on its default database)."""
    from collab.core.config import unknown_variables

    warnings = unknown_variables({"COLLAB_DATABSE_URL": "postgresql://db/x", "COLLAB_PORT": "5001",
                                  "COLLAB_MAX_MESSAGE_BYTES": "abc", "COLLAB_ZZZZ": "1", "HOME": "/root"})
    assert warnings == [
        "COLLAB_DATABSE_URL is not a setting and is ignored: did you mean COLLAB_DATABASE_URL?",
        "COLLAB_MAX_MESSAGE_BYTES is not a setting and is ignored: it follows from COLLAB_MAX_PATCH_CHARS "
        "(the WebSocket message limit is it + 1 MiB)",
        "COLLAB_ZZZZ is not a setting and is ignored: no setting has this name (docs/deploy.md lists them)",
    ]


def test_known_names_are_the_fields_and_the_variables_the_tests_read():
    """The known names come from Settings' fields; the COLLAB_* variables that the test suite
    and the benchmarks read are in OTHER_VARIABLES, so a server they start warns of none."""
    import re
    from pathlib import Path

    import collab
    from collab.core.config import unknown_variables, variable_names

    root = Path(collab.__file__).resolve().parents[1]
    read = set()
    for path in [*root.glob("tests/**/*.py"), *root.glob("bench/*.py")]:
        read |= set(re.findall(r"environ(?:\.get\(|\[)\"(COLLAB_[A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    assert "COLLAB_TEST_POSTGRES" in read and "COLLAB_FUZZ_EXAMPLES" in read  # the scan finds them
    assert read <= set(variable_names()), sorted(read - set(variable_names()))
    assert "COLLAB_DATA_DIR" in variable_names() and "COLLAB_TEST_FAULT" in variable_names()
    assert unknown_variables({name: "1" for name in variable_names()}) == []


def test_data_folder_named_checkout_or_the_users(tmp_path, monkeypatch):
    """COLLAB_DATA_DIR; else a checkout's instance/ (where `make run` always kept its
    database); else the platform's user data folder, not one inside the Python environment."""
    from pathlib import Path

    import collab
    from collab import data_dir

    assert data_dir("rel/dir")[0] == str(Path("rel/dir").resolve()) and data_dir("/srv/c")[1] == "COLLAB_DATA_DIR"
    checkout = Path(collab.__file__).resolve().parents[1]
    assert data_dir()[0] == str(checkout / "instance")
    site = tmp_path / "site"  # an installed package: no run.py or pyproject.toml beside it
    (site / "collab").mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    folder, why = data_dir(package=str(site / "collab"))
    assert folder == str(tmp_path / "xdg" / "collab-editor") and why.startswith("the user data folder")
    # a database that an earlier version kept in Flask's instance folder stays in use
    (site / "instance").mkdir()
    (site / "instance" / "collab.db").write_bytes(b"")
    folder, why = data_dir(package=str(site / "collab"))
    assert folder == str(site / "instance") and str(tmp_path / "xdg" / "collab-editor") in why
    (tmp_path / "xdg" / "collab-editor").mkdir(parents=True)
    (tmp_path / "xdg" / "collab-editor" / "collab.db").write_bytes(b"")  # once moved, the new one
    assert data_dir(package=str(site / "collab"))[0] == str(tmp_path / "xdg" / "collab-editor")


def test_a_named_folder_that_does_not_exist_is_refused_not_created(tmp_path, monkeypatch):
    """Before: SQLite's parent folder was created whatever it was, so a typo in the path
    started a new, empty database somewhere else."""
    from collab import create_app

    with pytest.raises(ConfigError, match="in a folder that does not exist"):
        create_app({"database_url": f"sqlite:///{tmp_path}/tpyo/collab.db"})
    assert not (tmp_path / "tpyo").exists()
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="COLLAB_DATA_DIR .*nowhere is not a folder that exists"):
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db"})  # the secret key would go there
    assert not (tmp_path / "nowhere").exists()


def test_the_data_folder_holds_the_database_and_the_secret(tmp_path, monkeypatch):
    from collab import create_app

    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path))
    app = create_app()
    try:
        assert (tmp_path / "collab.db").is_file() and (tmp_path / "secret_key").is_file()
        assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    finally:
        app.extensions["collab"].close()


@pytest.mark.parametrize("key,value,fix", [
    ("COLLAB_SIGN_IN", "ldap", "empty \\(links only\\), local .* or proxy"), ("COLLAB_SIGN_UP", "2", "1 \\(anyone"),
    ("COLLAB_SIGN_IN_RATE", "0", "a positive number"), ("COLLAB_SESSION_DAYS", "0", "a positive number"),
])
def test_bad_sign_in_settings_name_the_key_and_the_fix(key, value, fix):
    with pytest.raises(ConfigError, match=f"{key} must be {fix}"):
        Settings.from_env({key: value})


def test_sign_in_is_off_by_default():
    s = Settings.from_env({})
    assert (s.sign_in, s.sign_up) == ("", 0)


def test_a_patch_line_limit_below_one_change_is_refused():
    """One change alone in its hunk takes 4 lines (header, context, itself, context): a limit
    below that would refuse every patch the clients can split a change into."""
    assert Settings.from_env({"COLLAB_MAX_PATCH_LINES": "4"}).max_patch_lines == 4
    with pytest.raises(ConfigError, match="COLLAB_MAX_PATCH_LINES must be at least 4"):
        Settings.from_env({"COLLAB_MAX_PATCH_LINES": "3"})
