"""Helpers for the browser tests: open a page on the editor, read its text, wait for
convergence with the server. Waits poll with a deadline; there are no fixed sleeps."""
from __future__ import annotations

import time
from typing import Any

import requests

from bench.liveserver import LiveServer

WAIT_MS = 10_000  # how long a page may take to show what the server has


def open_editor(ctx: Any, path: str, name: str | None = None) -> Any:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    if name is not None:
        page.add_init_script(f"localStorage.setItem('collab:name', {name!r})")
    page.goto(path)
    page.wait_for_selector(".cm-content")
    page.wait_for_function("window.collab && window.collab.conn.joined")
    return page


def editor_text(page: Any) -> str:
    return page.evaluate("window.collab.editor.text()")


def server_text(server: LiveServer, doc: str) -> str:
    r = requests.get(f"{server.url}/api/docs/{doc}", timeout=10)
    r.raise_for_status()
    return r.json()["text"]


def wait_all_equal(server: LiveServer, doc: str, pages: list[Any], timeout_ms: int = WAIT_MS) -> str:
    """Wait until every page shows the server's text and has nothing unsaved; return it."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        texts = [editor_text(p) for p in pages]
        unsaved = [p.evaluate("window.collab.sync.unsaved") for p in pages]
        srv = server_text(server, doc)
        if all(t == srv for t in texts) and not any(unsaved):
            return srv
        if time.monotonic() > deadline:
            raise AssertionError(f"pages did not converge: server={srv!r} pages={texts!r} unsaved={unsaved}")
        pages[0].wait_for_timeout(100)
