"""docs/deploy.md followed from a fresh checkout, with the real pieces: the wheel built and
installed in a new venv, three `collab serve` processes on PostgreSQL and Redis behind
nginx with TLS (deploy/nginx.conf), two Chromium profiles editing over https while the
process holding their document is killed, then `collab dump`, `collab load` into a fresh
database and `collab check` of it."""
from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from typing import Any

import pytest
import requests

import browserkit
from bench.liveserver import LiveServer, RedisServer
from collab.core.ids import log_id  # logs name documents by this hash
from nginxkit import nginx, tls_certificate
from packagekit import build_wheel, new_venv
from skips import missing

pytestmark = pytest.mark.e2e


def test_the_deployment_guide_end_to_end(browser: Any, tmp_path, pg_url, pg_url2, doc, artifacts):
    import shutil

    if shutil.which("redis-server") is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    bin_ = new_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))
    cert = tls_certificate(tmp_path)
    work = tmp_path / "run"  # not the checkout: the installed package serves its own editor
    work.mkdir()
    migrated = subprocess.run([str(bin_ / "collab"), "migrate", "--database", pg_url], capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0 and "schema at version" in migrated.stdout, migrated.stderr
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(tmp_path / "redis"))
        env = {**os.environ, "COLLAB_MESSAGE_QUEUE": redis.url, "COLLAB_PROXY_HOPS": "1",
               "COLLAB_MAX_CONNECTIONS_PER_ADDRESS": "0"}
        servers = [stack.enter_context(LiveServer(tmp_path / f"p{i}", database_url=pg_url, env=env, cwd=work,
                                                  launcher=[str(bin_ / "collab"), "serve"]))
                   for i in range(3)]
        site = stack.enter_context(nginx(tmp_path, [s.port for s in servers], cert))
        pages = []
        for name in ("Alice", "Bob"):
            ctx = browser.new_context(base_url=site.url, ignore_https_errors=True, bypass_csp=True,
                                      viewport={"width": 1000, "height": 560})
            ctx.set_default_timeout(browserkit.WAIT_MS * 2)
            stack.callback(ctx.close)
            pages.append(browserkit.open_editor(ctx, f"/d/{doc}", name=name))
        alice, bob = pages
        alice.click(".cm-content")
        alice.keyboard.type("deployed ")
        # all of it saved and on Bob's screen before he types at its end (a space still on its
        # way once made "deployedand survived ": both kept, in the other order)
        alice.wait_for_function("window.collab.sync.unsaved === 0")
        bob.wait_for_function("window.collab.editor.text() === 'deployed '")
        # nginx routes a document's editors to one process: kill that one, mid-document
        [holder] = [s for s in servers if f"join doc={log_id(doc)} " in s.log_text()]
        holder.kill9()
        bob.click(".cm-content")
        bob.keyboard.press("End")
        bob.keyboard.type("and survived")
        alice.wait_for_function("window.collab.editor.text().includes('and survived')")
        for page in pages:
            page.wait_for_function("window.collab.sync.unsaved === 0")
        alive = next(s for s in servers if s is not holder)
        text = requests.get(f"{alive.url}/api/docs/{doc}", timeout=10).json()["text"]
        assert text == "deployed and survived" == browserkit.editor_text(alice) == browserkit.editor_text(bob)
        alice.screenshot(path=str(artifacts / "deploy-after-kill.png"))
    dump = tmp_path / "backup.jsonl"
    dumped = subprocess.run([str(bin_ / "collab"), "dump", "--database", pg_url, "-o", str(dump)],
                            capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    loaded = subprocess.run([str(bin_ / "collab"), "load", "--database", pg_url2, str(dump)], capture_output=True,
                            text=True, timeout=120)
    assert loaded.returncode == 0 and "0 corrupt" in loaded.stdout, loaded.stdout + loaded.stderr
    checked = subprocess.run([str(bin_ / "collab"), "check", "--database", pg_url2], capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    exported = subprocess.run([str(bin_ / "collab"), "export", "--database", pg_url2, doc], capture_output=True,
                              text=True, timeout=120)
    assert exported.stdout.rstrip("\n") == "deployed and survived"
