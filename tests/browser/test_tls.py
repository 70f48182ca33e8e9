"""collab behind nginx with TLS (deploy/nginx.conf, only ports, upstream and certificate
swapped in): two Chromium profiles edit one document over https:// and wss://, the share
box's links are https://, plain http redirects, the Python client verifies the certificate.
Before, deploy/nginx.conf had no TLS and passed no X-Forwarded-Proto: links came out http://."""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
import requests
import socketio

import browserkit
from collab.client import Document
from bench.liveserver import LiveServer
from nginxkit import Certificate, Site, nginx, tls_certificate


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Certificate, LiveServer]]:
    work = tmp_path_factory.mktemp("tls")
    cert = tls_certificate(work)
    env = {**os.environ, "COLLAB_PROXY_HOPS": "1"}
    with LiveServer(work / "server", env=env) as server, nginx(work, [server.port], cert) as site:
        yield site, cert, server


@pytest.fixture
def https_context(browser: Any, tls_site: tuple[Site, Certificate, LiveServer]) -> Iterator[Any]:
    site = tls_site[0]
    contexts: list[Any] = []
    seen: list[str] = []

    def make() -> Any:
        # the certificate is self-signed: Chromium is told to accept it, as a user would
        ctx = browser.new_context(base_url=site.url, ignore_https_errors=True, bypass_csp=True,
                                  permissions=["clipboard-read", "clipboard-write"],
                                  viewport={"width": 1000, "height": 560})
        ctx.set_default_timeout(browserkit.WAIT_MS)
        ctx.on("request", lambda req: seen.append(req.url))
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()
    insecure = [u for u in seen if not u.startswith((site.url, site.url.replace("https", "wss"), "data:"))]
    assert not insecure, f"pages made requests that are not https to this site: {insecure[:5]}"


def test_two_browsers_edit_over_https_and_the_links_are_https(tls_site, https_context, doc, artifacts):
    site, cert, server = tls_site
    alice = browserkit.open_editor(https_context(), f"/d/{doc}", name="Alice")
    bob = browserkit.open_editor(https_context(), f"/d/{doc}", name="Bob")
    assert alice.evaluate("window.collab.conn.socket.io.engine.transport.name") == "websocket"
    alice.click(".cm-content")
    alice.keyboard.type("over TLS ")
    bob.wait_for_function("window.collab.editor.text().includes('over TLS')")
    bob.click(".cm-content")
    bob.keyboard.press("End")
    bob.keyboard.type("both ways")
    alice.wait_for_function("window.collab.editor.text().includes('both ways')")
    assert browserkit.editor_text(alice) == browserkit.editor_text(bob) == "over TLS both ways"
    # the share box: both links as the browser copies them
    alice.click("#share summary")
    alice.click("#copy-edit")
    assert alice.evaluate("navigator.clipboard.readText()") == f"{site.url}/d/{doc}"
    alice.click("#copy-view")
    alice.wait_for_function("document.querySelector('#copy-view').textContent === 'Copied!'")
    view_link = alice.evaluate("navigator.clipboard.readText()")
    assert view_link.startswith(f"{site.url}/v/"), view_link
    alice.screenshot(path=str(artifacts / "tls-editor.png"))
    for page in (alice, bob):
        assert page.errors == []


def test_plain_http_redirects_and_the_api_names_https_links(tls_site, doc):
    site, cert, _ = tls_site
    moved = requests.get(f"{site.http_url}/d/{doc}", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == f"{site.url}/d/{doc}"
    created = requests.post(f"{site.url}/api/docs", json={"doc": doc}, verify=str(cert.cert), timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["edit_url"] == f"{site.url}/d/{doc}"
    assert created.json()["view_url"].startswith(f"{site.url}/v/")


def test_the_python_client_verifies_the_certificate(tls_site, doc):
    site, cert, _ = tls_site
    with Document.open(site.url, doc, name="bot", verify=str(cert.cert)) as d:
        d.insert(0, "verified ")
        d.wait_synced(10)
    with pytest.raises(socketio.exceptions.ConnectionError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        Document.open(site.url, doc, name="trusting", timeout=5)  # the system CAs do not know it
    with Document.open(site.url, doc, name="careless", verify=False) as d:
        assert d.text.startswith("verified ")
