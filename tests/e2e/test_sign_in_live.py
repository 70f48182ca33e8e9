"""OpenID Connect and proxy sign-in through the real server (run.py under gevent, as a user
starts it): the OIDC redirect dance with a real HTTP client between the server and a real
provider on 127.0.0.1, then a real Socket.IO client editing as that person with the session
cookie; the proxy's header over real TCP, where gevent's server joins a second header line to
the first (refused) and drops a header spelled with underscores, from a trusted address and
from another one (127.0.0.2), and on the Socket.IO handshake."""
from __future__ import annotations

import http.client
import json
import os
import secrets
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests
import socketio

from bench.liveserver import LiveServer
from collab.core.patches import make_patch
from oidckit import Provider, run_provider

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    yield from run_provider()


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory: pytest.TempPathFactory, provider: Provider) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "oidc", "COLLAB_OIDC_ISSUER": provider.issuer,
           "COLLAB_OIDC_CLIENT_ID": "collab-live", "COLLAB_OIDC_CLIENT_SECRET": "live-secret"}
    with LiveServer(tmp_path_factory.mktemp("oidc-live"), env=env) as s:
        yield s


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**os.environ, "COLLAB_SIGN_IN": "proxy", "COLLAB_TRUSTED_PROXIES": "127.0.0.1"}
    with LiveServer(tmp_path_factory.mktemp("proxy-live"), env=env) as s:
        yield s


def socket_of(url: str, headers: dict[str, str]) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    sio.connect(url, headers=headers, transports=["websocket"], wait_timeout=20)
    return sio


def edit_as(url: str, headers: dict[str, str], doc: str, text: str) -> dict:
    """Join `doc` claiming another name, write `text`: the revision the server stored."""
    sio = socket_of(url, headers)
    try:
        ack = sio.call("join", {"doc": doc, "name": "Someone Else"}, timeout=30)
        assert ack["ok"], ack
        done = sio.call("patch", {"doc": doc, "base": 0, "patch": make_patch("", text), "id": "op-1"}, timeout=30)
        assert done["ok"], done
    finally:
        sio.disconnect()
    (rev,) = requests.get(f"{url}/api/docs/{doc}/revisions", timeout=10).json()["revisions"]
    return rev


def test_oidc_redirect_dance_then_editing_as_that_person(oidc_server: LiveServer, provider: Provider) -> None:
    provider.set_user("ivy", name="Ivy Live", email="ivy@example.org", email_verified=True)
    browser = requests.Session()
    r = browser.get(f"{oidc_server.url}/signin?next=/d/abc", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/sign-in/oidc?next=/d/abc"
    r = browser.get(oidc_server.url + r.headers["Location"], allow_redirects=False)
    assert r.status_code == 302
    callback = provider.authorize(r.headers["Location"], "ivy")
    assert callback.startswith(f"{oidc_server.url}/sign-in/oidc/callback?")
    r = browser.get(callback, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/d/abc", r.text[:300]
    account = browser.get(f"{oidc_server.url}/api/me", timeout=10).json()["account"]
    assert account["name"] == "Ivy Live"
    # the callback again (a replay): refused with a page, and the replayer is nobody
    replayer = requests.Session()
    r = replayer.get(callback, allow_redirects=False)
    assert r.status_code == 400 and "text/html" in r.headers["Content-Type"]
    assert replayer.get(f"{oidc_server.url}/api/me", timeout=10).json()["account"] is None

    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    rev = edit_as(oidc_server.url, {"Cookie": cookie}, "live-" + secrets.token_hex(4), "by Ivy")
    assert rev["author"] == "Ivy Live" and rev["account"] == account["id"]


def raw_get(url: str, path: str, headers: list[tuple[str, str]], source: str = "127.0.0.1") -> tuple[int, dict]:
    """A GET whose header lines are sent exactly as given (repeated ones too), from `source`."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10, source_address=(source, 0))
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def test_the_proxy_header_over_real_tcp(proxy_server: LiveServer) -> None:
    url = proxy_server.url
    status, body = raw_get(url, "/api/me", [("X-Forwarded-Email", "kim@example.org")])
    assert status == 200 and body["account"]["email"] == "kim@example.org"
    # a client's own header line beside the proxy's: joined by the server, refused
    status, body = raw_get(url, "/api/me", [("X-Forwarded-Email", "eve@example.org"),
                                            ("X-Forwarded-Email", "kim@example.org")])
    assert status == 400 and body["error"]["code"] == "bad_request"
    # the same name spelled with underscores is not the header (gevent drops it)
    status, body = raw_get(url, "/api/me", [("X_Forwarded_Email", "eve@example.org")])
    assert status == 200 and body["account"] is None
    # from an address that is not a trusted proxy: a guest
    status, body = raw_get(url, "/api/me", [("X-Forwarded-Email", "eve@example.org")], source="127.0.0.2")
    assert status == 200 and body["account"] is None
    assert "ignoring X-Forwarded-Email from 127.0.0.2" in proxy_server.log_text()


def test_the_proxy_header_on_the_socket_handshake(proxy_server: LiveServer) -> None:
    rev = edit_as(proxy_server.url, {"X-Forwarded-Email": "lou@example.org", "X-Forwarded-Preferred-Username": "Lou"},
                  "live-" + secrets.token_hex(4), "by Lou")
    assert rev["author"] == "Lou" and rev["account"].startswith("u_")
    with pytest.raises(socketio.exceptions.ConnectionError):
        socket_of(proxy_server.url, {"X-Forwarded-Email": "eve@example.org, lou@example.org"})
