"""OpenID Connect sign-in in a real browser (COLLAB_SIGN_IN=oidc) against a real OpenID provider
on 127.0.0.1 (tests/oidckit.py): the editor's Sign in link, the provider's own page, back to
the document signed in, typing as that person (the revisions carry the account), sign-out.
Screenshots at 1280 px."""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
import requests

from bench.liveserver import LiveServer
from browserkit import WAIT_MS, wait_all_equal
from conftest import DIST
from oidckit import Provider, run_provider
from skips import missing

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PROVIDER_CSS = "https://cdn.jsdelivr.net/npm/@picocss/"  # what oidc-provider-mock's page links


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    yield from run_provider()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: Provider) -> Iterator[LiveServer]:
    if not (DIST / "app.js").is_file():
        missing("the browser bundle is not built: run `make frontend`")
    env = {**os.environ, "COLLAB_SIGN_IN": "oidc", "COLLAB_OIDC_ISSUER": provider.issuer,
           "COLLAB_OIDC_CLIENT_ID": "collab-browser", "COLLAB_OIDC_CLIENT_SECRET": "browser-secret"}
    with LiveServer(tmp_path_factory.mktemp("oidc-server"), env=env) as s:
        yield s


def test_sign_in_by_the_provider_type_and_sign_out(browser: Any, server: LiveServer, provider: Provider,
                                                   doc: str, artifacts: Any) -> None:
    provider.set_user("olivia", name="Olivia Oidc", email="olivia@example.org", email_verified=True)
    # (not the new_context fixture: that one forbids requests to any other origin, and the
    # provider is one; here only the server and the provider may be asked)
    ctx = browser.new_context(base_url=server.url, bypass_csp=True, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    # the provider's own page asks a CDN for its stylesheet (PROVIDER_CSS): refused here, as is
    # anything else outside this machine; this server's pages may ask for nothing outside it
    local = (server.url, server.url.replace("http", "ws"), provider.issuer, "data:", PROVIDER_CSS)
    ctx.route("https://**/*", lambda route: route.abort())
    seen: list[str] = []
    ctx.on("request", lambda req: seen.append(req.url))
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"/d/{doc}")
        page.wait_for_function("window.collab && window.collab.conn.joined")
        page.click("#sign-in")
        page.wait_for_url(f"{provider.issuer}/oauth2/authorize?*")  # the provider's own page
        page.screenshot(path=str(artifacts / "signin-oidc-provider-1280.png"))
        page.fill("input[name=sub]", "olivia")
        page.click("button:has-text('Authorize')")
        page.wait_for_url(f"{server.url}/d/{doc}")  # back where the sign-in started
        page.wait_for_function("window.collab && window.collab.conn.joined")
        page.wait_for_selector("#name[readonly]")
        assert page.input_value("#name") == "Olivia Oidc"
        page.click(".cm-content")
        page.keyboard.type("written by Olivia. ")
        assert "written by Olivia." in wait_all_equal(server, doc, [page])
        page.screenshot(path=str(artifacts / "signin-oidc-editor-1280.png"))

        me = page.evaluate("fetch('/api/me').then((r) => r.json())")
        account = me["account"]
        assert account["name"] == "Olivia Oidc" and account["email"] == "olivia@example.org"
        revisions = requests.get(f"{server.url}/api/docs/{doc}/revisions", timeout=10).json()["revisions"]
        assert revisions and {(r["author"], r.get("account")) for r in revisions} == {("Olivia Oidc", account["id"])}

        page.click("#sign-out")
        page.wait_for_selector("#new-doc")  # the start page
        assert page.evaluate("fetch('/api/me').then((r) => r.json())")["account"] is None
        assert errors == []
        foreign = [u for u in seen if not u.startswith(local)]
        assert not foreign, f"pages requested other origins: {foreign[:5]}"
    finally:
        ctx.close()
