"""Imports point down only: each folder of `collab/` is a layer with a written rule.

core -> storage -> service -> server -> app/serve/wsgi/cli; the client stands beside the service,
on the core alone. A folder may import its own modules and the layers below it, never above.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "collab"
FRAMEWORKS = {"flask", "flask_socketio", "socketio", "engineio", "werkzeug", "gevent", "geventwebsocket"}
DATABASES = {"sqlite3", "psycopg", "psycopg2", "psycopg_pool", "redis"}

# folder: (the collab folders it may import, the third-party packages it must not import)
RULES = {
    "core": ({"core"}, FRAMEWORKS | DATABASES | {"requests"}),
    "storage": ({"storage"}, FRAMEWORKS),
    "service": ({"core", "storage", "service"}, {"flask", "flask_socketio", "socketio", "engineio", "werkzeug"}),
    "server": ({"core", "storage", "service", "server"}, set()),
    "client": ({"core", "client"}, {"flask", "flask_socketio", "gevent"} | DATABASES),
}
# modules that may also import a layer their folder may not: module: (folders, why)
ALSO = {
    "storage/dump.py": ({"core"}, "a load checks what it writes with the one replay and the one id validator"),
    "storage/__init__.py": ({"core"}, "open_store words a URL it cannot open as the settings do (config.not_a_database_url)"),
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path):
    """Every module `path` imports, relative imports resolved to absolute names."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                yield ".".join(base + [node.module])
            else:
                yield from (".".join(base + [a.name]) for a in node.names)


def modules(folder):
    return sorted((PACKAGE / folder).glob("*.py"))


def test_every_module_lives_in_a_layer():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == {"__init__", "app", "serve", "wsgi", "cli"}, "the top level is assembly only"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(RULES)


@pytest.mark.parametrize("folder", sorted(RULES))
def test_folder_docstring_states_its_rule(folder):
    doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text(encoding="utf-8")))
    assert doc and "import" in doc, f"collab/{folder}/__init__.py must say what it may import"


@pytest.mark.parametrize("folder", sorted(RULES))
def test_folder_imports_point_down(folder):
    allowed, forbidden = RULES[folder]
    for path in modules(folder):
        names = set(imports(path))
        third = {n.split(".")[0] for n in names} & forbidden
        assert not third, f"collab/{folder}/{path.name} imports {sorted(third)}"
        local = {n.split(".")[1] for n in names if n.startswith("collab.") and n.count(".") >= 1}
        local -= ALSO.get(path.relative_to(PACKAGE).as_posix(), (set(), ""))[0]
        assert local <= allowed, f"collab/{folder}/{path.name} reaches {sorted(local - allowed)}"
        assert "collab" not in names, f"collab/{folder}/{path.name} imports the package top"


def test_edges_use_the_service_through_its_methods():
    """No reaching in from the edges: the service offloads its own work by its own costs, and
    `on_commit` is a constructor argument (create_app), not set on the service from outside."""
    for path in modules("server"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"offload", "offload_read", "on_commit"}, \
                    f"collab/server/{path.name}:{node.lineno} uses service.{node.attr}"
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("documents"):
                names = {a.name for a in node.names}
                assert not {n for n in names if n.isupper()}, \
                    f"collab/server/{path.name}:{node.lineno} imports the service's constants {sorted(names)}"
