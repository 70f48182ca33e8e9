"""The Python client with a personal access token, against the real server with local
accounts: the token (argument or COLLAB_TOKEN) goes on the handshake and on HTTP, the
client is its person, and a wrong token fails the constructor instead of joining as a guest."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from bench.liveserver import LiveServer
from collab.client.document import CollabClientError, Document


def collab(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "collab.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


@pytest.fixture
def server(tmp_path):
    database = f"sqlite:///{tmp_path}/collab.db"
    collab("user", "add", "ann@example.org", "--name", "Ann", "--password-stdin", "--database", database,
           stdin="correct horse battery\n")
    secret = collab("user", "token", "add", "ann@example.org", "--name", "bot", "--database", database).strip()
    env = {**os.environ, "COLLAB_SIGN_IN": "local"}
    env.pop("COLLAB_TOKEN", None)
    s = LiveServer(tmp_path, env=env, database_url=database)
    s.start()
    s.token = secret  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        s.stop()


def test_the_client_is_its_tokens_person_on_the_socket(server, doc_id):
    with Document(server.url, doc_id, name="Mallory", token=server.token) as doc:
        assert [p["name"] for p in doc.peers] == ["Ann"]
        doc.insert(0, "from a bot")
        doc.wait_synced(10)
    (rev,) = requests.get(f"{server.url}/api/docs/{doc_id}/revisions", timeout=10).json()["revisions"]
    assert rev["author"] == "Ann" and rev["account"].startswith("u_")
    # and the same token on plain HTTP
    me = requests.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
    assert me.json()["account"]["name"] == "Ann"


def test_the_client_takes_the_token_from_collab_token(server, doc_id, monkeypatch):
    monkeypatch.setenv("COLLAB_TOKEN", server.token)
    with Document(server.url, doc_id, name="Mallory") as doc:
        assert doc._http.headers["Authorization"] == f"Bearer {server.token}"  # its HTTP requests carry it too
        assert [p["name"] for p in doc.peers] == ["Ann"]


def test_a_wrong_token_fails_the_client_instead_of_a_guest_join(server, doc_id):
    with pytest.raises(CollabClientError) as refused:
        Document(server.url, doc_id, name="guest?", token="collab_pat_" + "x" * 43, timeout=5)
    assert refused.value.error["code"] == "bad_token"
    assert requests.get(f"{server.url}/api/docs/{doc_id}", timeout=10).status_code == 404  # nothing was created


@pytest.mark.parametrize("size", [300, 8_000, 65_536, 1_000_000])
def test_a_huge_authorization_header_is_refused_and_the_server_goes_on(server, size):
    """Through the real HTTP server (gevent's): a long token is 401 `bad_token` without a
    lookup, a header past the server's own line limit is 400; never a guest, never a 500."""
    r = requests.get(f"{server.url}/api/me", headers={"Authorization": "Bearer " + "a" * size}, timeout=10)
    assert r.status_code in (400, 401), r.status_code
    if r.status_code == 401:
        assert r.json()["error"]["code"] == "bad_token" and "invalid_token" in r.headers["WWW-Authenticate"]
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
    me = requests.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
    assert me.json()["account"]["name"] == "Ann"
