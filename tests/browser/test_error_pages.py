"""What a person sees at a link that cannot be opened, and what another site's page can do,
in real Chromium against the real server (issue 13, items 13, 14 and 20).

- the start page says that a chosen name is guessable and points to generated ids;
- an invalid /d/ name, an edit link made from a view token, an unknown /v/ token and a
  path that is no page each show an HTML page saying what is wrong, with a way on (not
  raw JSON, not "id is taken", not the editor's buttons on an empty page);
- a page on another origin posting to import (fetch no-cors text/plain, form posts
  urlencoded and multipart) changes nothing.

Screenshots go to tests/browser/artifacts/error-*.png.
"""
from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any

import requests

import browserkit


def _create(server: Any, doc: str) -> str:
    """Creates `doc` with one line of text; returns its view token."""
    created = requests.post(f"{server.url}/api/docs", json={"doc": doc}, timeout=10).json()
    ok = requests.post(f"{server.url}/api/docs/{doc}/import", data="the real text\n".encode(),
                       headers={"Content-Type": "text/plain"}, timeout=10)
    assert ok.status_code == 201, ok.text
    return created["view_url"].rsplit("/", 1)[1]


def _shows(page: Any, path: str, heading: str, words: str, shot: str, artifacts: Any) -> None:
    resp = page.goto(path)
    assert resp is not None and resp.headers["content-type"].startswith("text/html"), (path, resp and resp.headers)
    assert page.locator("h1").inner_text() == heading
    message = page.locator("#error-message").inner_text()
    assert words in message, (path, message)
    assert page.locator(".cm-editor").count() == 0 and page.locator("button").count() == 0
    assert page.get_by_role("link", name="Start page").count() == 1
    page.screenshot(path=str(artifacts / f"error-{shot}.png"))
    print(f"{path} -> {resp.status} {heading!r}: {message}")


def test_the_start_page_says_a_chosen_name_is_guessable(new_context: Any, artifacts: Any) -> None:
    page = new_context().new_page()
    page.goto("/")
    warning = page.locator("#name-warning").inner_text()
    assert "guessed" in warning and "New document" in warning
    page.screenshot(path=str(artifacts / "error-start-page.png"))


def test_pages_for_links_that_cannot_open(new_context: Any, server: Any, doc: str, artifacts: Any) -> None:
    view = _create(server, doc)
    page = new_context().new_page()
    _shows(page, "/d/not%20a%20name", "Not a document name", "use 1-64 of", "invalid-name", artifacts)
    _shows(page, "/v/no-such-token-at-all-000000", "This read-only link leads nowhere", "No document has this",
           "unknown-view", artifacts)
    _shows(page, "/d/a/b", "Nothing here", "not found", "no-page", artifacts)
    _shows(page, f"/d/{view}", "This is a read-only link", "cannot edit", "view-token-as-edit", artifacts)
    assert doc not in page.content()
    page.get_by_role("link", name="Open it read-only").click()
    page.wait_for_url(f"**/v/{view}")
    page.locator(".cm-editor").wait_for()
    assert page.evaluate("document.body.dataset.page") == "viewer"


class _AttackerSite:
    """Another origin on this machine (http://localhost:<port>, while collab is at
    127.0.0.1): a one-page HTTP server, so the browser's requests are real cross-site ones."""

    def __init__(self, page_html: str) -> None:
        body = page_html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_page_on_another_origin_cannot_write(browser: Any, server: Any, doc: str, artifacts: Any) -> None:
    """The CSRF of the report: another site's page, open in the victim's browser, posts to
    import with a no-cors fetch and two forms. Its own context: this page is meant to be
    from elsewhere (new_context refuses pages that request other origins)."""
    _create(server, doc)
    target = f"{server.url}/api/docs/{doc}/import"
    attack = f"""<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="urlencoded" method="post" action="{target}" target="sink1"><input name="text" value="pwned form"></form>
<form id="multipart" method="post" action="{target}" enctype="multipart/form-data" target="sink2">
<input name="x" value="pwned multipart"></form>
<script>
fetch({json.dumps(target)}, {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}},
      body: 'pwned fetch'}});
document.getElementById('urlencoded').submit();
document.getElementById('multipart').submit();
</script></body></html>"""
    site = _AttackerSite(attack)
    seen: list[tuple[str, int]] = []
    try:
        ctx = browser.new_context()
        ctx.on("response", lambda r: seen.append((r.request.method + " " + r.url, r.status))
               if r.url.startswith(server.url) else None)
        page = ctx.new_page()
        page.goto(site.url)
        # until the server has answered all three posts (one response each), with a deadline
        deadline = time.monotonic() + browserkit.WAIT_MS / 1000
        while sum(1 for m, _ in seen if m.startswith("POST")) < 3 and time.monotonic() < deadline:
            page.wait_for_timeout(50)  # lets Playwright deliver events; not a wait for an outcome
        page.screenshot(path=str(artifacts / "error-csrf-attacker.png"))
        ctx.close()
    finally:
        site.close()
    print(f"responses to the attacker's requests: {seen}")
    posts = [status for m, status in seen if m.startswith("POST")]
    assert len(posts) == 3 and all(s == 403 for s in posts), seen
    got = requests.get(f"{server.url}/api/docs/{doc}", timeout=10).json()
    assert (got["version"], got["text"]) == (1, "the real text\n")
