"""/api/openapi.json describes exactly the HTTP API: every /api route of Flask's url_map with
its methods, and nothing that does not exist."""
import re

from collab.server.openapi import SPEC

IGNORED = {"HEAD", "OPTIONS"}  # answered by Flask for every route


def served(app):
    """{path in OpenAPI's form: {methods}} of every /api route."""
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            out.setdefault(path, set()).update(m.lower() for m in rule.methods - IGNORED)
    return out


def test_every_api_route_is_described_with_its_methods_and_nothing_else(app):
    body = app.test_client().get("/api/openapi.json")
    assert body.status_code == 200 and body.is_json
    spec = body.get_json()
    assert spec == SPEC and spec["openapi"].startswith("3.")
    described = {path: set(ops) for path, ops in spec["paths"].items()}
    assert described == served(app)


def test_each_operation_is_complete(app):
    for path, ops in SPEC["paths"].items():
        placeholders = set(re.findall(r"{([a-z_]+)}", path))
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (method, path)
            assert all(code.isdigit() for code in op["responses"])
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert in_path == placeholders, (method, path)
            for ref in re.findall(r"#/components/schemas/(\w+)", repr(op)):
                assert ref in SPEC["components"]["schemas"], ref
