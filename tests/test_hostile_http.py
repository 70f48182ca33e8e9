"""The HTTP edge under hostile and careless use (issue 13, items 10, 13, 14, 20):

- an import sent form-encoded (curl -d) or empty never wipes the document;
- a page on another origin cannot change anything (import, restore, revert, labels,
  create), whatever the body type; a foreign Host header (DNS rebinding) is refused on every
  route and on the Socket.IO handshake; curl and the Python client keep working;
- names cannot be guessed at speed: lookups of unknown documents are throttled per client
  address, over HTTP and socket `join`, and a throttled address learns nothing about names;
- a browser asking for a page that cannot be shown gets an HTML page saying why; API
  clients keep JSON errors.

In-process (Flask and Socket.IO test clients) except where the real server and curl are
the point (liveserver.py). Figures are printed (-s), never asserted against a clock.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from collab.patches import make_patch
from liveserver import live_server  # noqa: F401  (a fixture)

BROWSER_PAGE = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
EVIL = "http://evil.example"


def _text(http, doc: str) -> tuple[int, str]:
    body = http.get(f"/api/docs/{doc}").get_json()
    return body["version"], body["text"]


@pytest.fixture
def written(app, doc_id):
    """A document holding one line of text, written over HTTP (curl-like: no browser headers)."""
    http = app.test_client()
    assert http.post("/api/docs", json={"doc": doc_id}).status_code == 201
    assert http.post(f"/api/docs/{doc_id}/import", data=b"keep me\nand me\n", content_type="text/plain").status_code == 201
    return http


# -- item 10: import ----------------------------------------------------------------------


def test_a_form_encoded_import_is_refused_and_changes_nothing(written, doc_id):
    """curl -d @notes.txt sends application/x-www-form-urlencoded: it was 201 with text ""."""
    resp = written.post(f"/api/docs/{doc_id}/import", data=b"new notes", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415, resp.get_data()
    error = resp.get_json()["error"]
    assert error["code"] == "bad_request" and "--data-binary" in error["message"]
    assert _text(written, doc_id) == (1, "keep me\nand me\n")


@pytest.mark.parametrize("body,content_type", [
    (b"", "text/plain"), (b"", None), (b"\xef\xbb\xbf", "text/plain"),
    ({"file": (__import__("io").BytesIO(b""), "empty.txt")}, "multipart/form-data"),
])
def test_an_empty_import_is_refused(written, doc_id, body, content_type):
    resp = written.post(f"/api/docs/{doc_id}/import", data=body, content_type=content_type)
    assert resp.status_code == 400 and "empty" in resp.get_json()["error"]["message"]
    assert _text(written, doc_id) == (1, "keep me\nand me\n")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=latin-1", "image/png"])
def test_an_import_of_another_type_is_415(written, doc_id, content_type):
    resp = written.post(f"/api/docs/{doc_id}/import", data=b"caf\xe9", content_type=content_type)
    assert resp.status_code == 415 and resp.get_json()["error"]["message"]
    assert _text(written, doc_id) == (1, "keep me\nand me\n")


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=UTF-8", "text/markdown",
                                          "application/octet-stream", None])
def test_raw_imports_keep_every_byte(written, doc_id, content_type):
    text = "line 1\r\nline 2\n\n# 文書 ✓\n"
    resp = written.post(f"/api/docs/{doc_id}/import", data=text.encode(), content_type=content_type)
    assert resp.status_code == 201, resp.get_data()
    assert _text(written, doc_id) == (2, text)


def test_curl_against_the_real_server(live_server, tmp_path: Path):  # noqa: F811
    """The commands a user types: `-d` is refused with the fix in the message, the
    documented ones keep the file byte for byte."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"first line\nsecond line\n")
    url = f"{live_server.url}/api/docs/curl-{tmp_path.name[-8:]}/import"

    def curl(*args: str) -> tuple[int, dict]:
        out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args, url], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        body, status = out.rsplit("\n", 1)
        return int(status), json.loads(body)

    doc = url.rsplit("/", 2)[-2]
    assert requests.post(f"{live_server.url}/api/docs", json={"doc": doc}, timeout=10).status_code == 201
    assert curl("-F", f"file=@{notes}")[0] == 201
    status, body = curl("-d", f"@{notes}")
    print(f"curl -d @notes.txt -> {status}: {body['error']['message']}")
    assert status == 415 and "--data-binary" in body["error"]["message"]
    notes.write_bytes(b"third\nfourth\n")
    assert curl("--data-binary", f"@{notes}", "-H", "Content-Type: text/plain")[0] == 201
    got = requests.get(f"{live_server.url}/api/docs/{doc}", timeout=10).json()
    assert (got["version"], got["text"]) == (2, "third\nfourth\n")
