"""collab/server/pages.py without a browser: routes, escaping, the 503 when the bundle is missing, and
a viewer page that never carries the edit id."""
from __future__ import annotations

import pytest

from collab import create_app


@pytest.fixture
def client(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "app.js").write_text("console.log('app')")
    (dist / "app.css").write_text("body{}")
    (dist / "start.js").write_text("")
    (dist / "sw.js").write_text("")
    app = create_app({"database_url": f"sqlite:///{tmp_path}/c.db", "frontend_dist": str(dist)})
    app.config.update(TESTING=True)
    yield app.test_client(), dist


def test_editor_page_and_assets(client):
    c, _ = client
    r = c.get("/d/my-doc_1")
    assert r.status_code == 200
    assert 'data-doc="my-doc_1"' in r.text
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "http" not in r.text.replace("http-equiv", "")  # nothing loaded from elsewhere
    with c.get("/assets/app.js") as asset:
        assert asset.status_code == 200
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    with c.get("/assets/../pages.py") as outside:
        assert outside.status_code == 404
    assert c.get("/").status_code == 200


@pytest.mark.parametrize("bad", ["a b", "x" * 65, "<script>", "a.b", "%00"])
def test_bad_document_ids_are_404(client, bad):
    c, _ = client
    assert c.get(f"/d/{bad}").status_code == 404


def test_viewer_page_has_no_edit_id(client):
    c, _ = client
    created = c.post("/api/docs", json={"doc": "secret-edit-id"}).get_json()
    token = created["view_url"].rsplit("/", 1)[1]
    r = c.get(f"/v/{token}")
    assert r.status_code == 200
    assert "secret-edit-id" not in r.text
    assert f'data-view="{token}"' in r.text


def test_503_with_instructions_when_not_built(client):
    c, dist = client
    (dist / "app.js").unlink()
    r = c.get("/d/doc")
    assert r.status_code == 503
    assert "make run" in r.text and "make frontend" in r.text
    assert c.get("/assets/app.css").status_code == 503


def test_remote_images_are_admitted_by_the_csp_only_when_the_setting_says_so(tmp_path, client):
    c, dist = client
    r = c.get("/d/my-doc_1")
    assert "img-src 'self' data: blob:;" in r.headers["Content-Security-Policy"] and 'data-remote-images="0"' in r.text
    app = create_app({"database_url": f"sqlite:///{tmp_path}/r.db", "frontend_dist": str(dist), "remote_images": 1})
    r = app.test_client().get("/d/my-doc_1")
    assert "img-src 'self' data: blob: https:;" in r.headers["Content-Security-Policy"] and 'data-remote-images="1"' in r.text
