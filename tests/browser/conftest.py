"""Fixtures for the browser tests: the real server (run.py, as a user starts it) and Debian's
Chromium driven by Playwright for Python.

Without Playwright, /usr/bin/chromium or a built bundle the tests are skipped with the reason,
except under CI=true, where a missing piece is a failure. Nothing here talks to anything but
127.0.0.1.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import browserkit
from skips import missing
from bench.liveserver import REPO_ROOT, LiveServer

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DIST = REPO_ROOT / "frontend" / "dist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]' (or pip install playwright)")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api: Any) -> Iterator[Any]:
    b = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not (DIST / "app.js").is_file():
        missing("the browser bundle is not built: run `make frontend`")
    with LiveServer(tmp_path_factory.mktemp("browser-server")) as s:
        yield s


@pytest.fixture
def doc() -> str:
    return "b-" + secrets.token_hex(6)


@pytest.fixture
def new_context(browser: Any, server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Contexts are separate browser profiles (own localStorage): one per person."""
    contexts = []
    requests_seen: list[str] = []

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("viewport", {"width": 1000, "height": 560})
        # Playwright's wait_for_function evaluates strings, which the pages' CSP forbids; with
        # the CSP off, the preview test also proves that DOMPurify alone stops script injection
        kwargs.setdefault("bypass_csp", True)
        ctx = browser.new_context(base_url=server.url, **kwargs)
        ctx.set_default_timeout(browserkit.WAIT_MS)
        # every request a page makes must go to this machine's server: checked after the test
        ctx.on("request", lambda req: requests_seen.append(req.url))
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()
    foreign = [u for u in requests_seen if not (u.startswith(server.url) or u.startswith("data:")
                                                 or u.startswith(server.url.replace("http", "ws")))]
    assert not foreign, f"pages requested other origins: {foreign[:5]}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

