"""A real OpenID provider for the tests: the `oidc-provider-mock` package's Flask app (Authlib's
authorization server: discovery, JWKS, authorization code, token endpoint, RS256 id tokens)
served over HTTP on 127.0.0.1 in a thread of the test process, and the steps a browser takes
there (the provider's own form: sign in as a `sub`, or deny).

The provider accepts any client id and secret; a person's claims are set with `PUT /users/<sub>`
and are copied into their id token over the standard ones, so a test can make the provider
sign a token for another audience, an expired one, or another nonce.
"""
from __future__ import annotations

import threading
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import oidc_provider_mock
import requests
import werkzeug.serving


class Provider:
    def __init__(self, server: werkzeug.serving.BaseWSGIServer) -> None:
        self.server = server
        self.issuer = f"http://127.0.0.1:{server.server_port}"

    def set_user(self, sub: str, **claims: object) -> None:
        r = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert r.status_code == 204, r.text

    def authorize(self, authorize_url: str, sub: str | None = None, deny: bool = False) -> str:
        """What the provider's form does (signing in as `sub`, or Deny): the URL it sends the
        browser back to (this server's callback, with `code` and `state`, or `error`)."""
        assert authorize_url.startswith(self.issuer + "/oauth2/authorize?"), authorize_url
        data = {"action": "deny"} if deny else {"sub": sub}
        r = requests.post(authorize_url, data=data, allow_redirects=False, timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        return r.headers["Location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def run_provider() -> Iterator[Provider]:
    """A fresh provider (its own keys and users) until the generator closes."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Provider(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
