"""Imports point down only: the pure core imports no framework, server or database."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "collab"
PURE = ["errors", "ids", "patches", "operations", "history", "ratelimit", "sync", "config", "blame", "revert", "exports", "merge", "snapshots"]
FORBIDDEN = {"flask", "flask_socketio", "socketio", "engineio", "gevent", "geventwebsocket",
             "sqlite3", "psycopg", "psycopg2", "redis", "requests"}


def imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            yield "collab." + node.module
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            yield from ("collab." + a.name for a in node.names)


@pytest.mark.parametrize("module", PURE)
def test_pure_core_imports_no_io(module):
    found = {name.split(".")[0] for name in imports(PACKAGE / f"{module}.py")}
    assert not found & FORBIDDEN
    local = {name for name in imports(PACKAGE / f"{module}.py") if name.startswith("collab.")}
    assert {name.split(".")[1] for name in local} <= set(PURE), "the core imports only the core"


def test_storage_imports_no_framework():
    for path in (PACKAGE / "storage").glob("*.py"):
        found = {name.split(".")[0] for name in imports(path)}
        assert not found & {"flask", "flask_socketio", "socketio", "gevent"}, path.name


def test_service_imports_no_edge():
    found = {name.split(".")[0] for name in imports(PACKAGE / "service.py")}
    assert not found & {"flask", "flask_socketio", "socketio"}
    local = {name for name in imports(PACKAGE / "service.py") if name.startswith("collab.")}
    assert not local & {"collab.realtime", "collab.api", "collab.app", "collab.pages", "collab.cli"}
