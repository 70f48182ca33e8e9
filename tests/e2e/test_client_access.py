"""The Python client (collab/client/document.py) when a document's owner changes its access
while it is open (issue 14): made a viewer, it is read-only at once (`role` message: edit()
refuses `read_only`, nothing is sent), made an editor again it writes again; removed, it
stops as for a deleted document (`gone` with `forbidden`). Against the real server, with
local accounts on."""
from __future__ import annotations

import os
import secrets
from typing import Iterator

import pytest
import requests

from bench.liveserver import LiveServer
from collab.client.document import CollabClientError, Document, DocumentDeleted
from tests.e2e.test_client import wait_until



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "local", "COLLAB_SIGN_UP": "1"}
    with LiveServer(tmp_path_factory.mktemp("access-server"), env=env) as s:
        yield s


def owner_session(server: LiveServer) -> requests.Session:
    http = requests.Session()
    r = http.post(f"{server.url}/api/signup", json={"email": f"own-{secrets.token_hex(3)}@example.org",
                                                    "name": "Owner", "password": "a long enough password"},
                  timeout=10)
    assert r.status_code == 201, r.text
    return http


def test_a_client_made_a_viewer_then_an_editor_then_refused(server):
    owner = owner_session(server)
    doc = owner.post(f"{server.url}/api/docs", json={"text": "hello"}, timeout=10).json()["doc"]
    access = f"{server.url}/api/docs/{doc}/access"
    with Document(server.url, doc, name="guest") as d:
        assert d.role == "editor"
        d.insert(5, " world")
        d.wait_synced(10)
        assert owner.put(access, json={"edit": "invited"}, timeout=10).status_code == 200
        wait_until(lambda: d.role == "viewer", 10, "the client hearing it is a viewer")
        with pytest.raises(CollabClientError) as exc:
            d.insert(0, ">")
        assert exc.value.error["code"] == "read_only" and d.text == "hello world"
        assert owner.put(access, json={"edit": "link"}, timeout=10).status_code == 200
        wait_until(lambda: d.role == "editor", 10, "the client hearing it is an editor again")
        d.insert(0, ">")
        d.wait_synced(10)
        assert requests.get(f"{server.url}/api/docs/{doc}", timeout=10).json()["text"] == ">hello world"
        assert owner.put(access, json={"edit": "invited", "view": "invited"}, timeout=10).status_code == 200
        wait_until(lambda: d.deleted is not None, 10, "the client taken out of the document")
        assert d.deleted.error["code"] == "sign_in_required" and d.text == ">hello world"
    with pytest.raises(DocumentDeleted) as opened:
        Document(server.url, doc, timeout=10)
    assert opened.value.error["code"] == "sign_in_required"
