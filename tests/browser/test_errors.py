"""Refusals in the browser are not sticky, and pastes are limited in code points (issue 13
items 9 and 11), in Chromium as a person does it: a paste event on the editor, Ctrl+Z, typing.

- a 1.5 MB CJK paste (521k characters, 4.7 M escaped patch characters) is saved, as several
  patches, and a second browser shows it;
- a paste over the document limit is refused with a message about the paste; undo and typing
  then save again without clicking Retry.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from browserkit import editor_text, open_editor, server_text, wait_all_equal
from bench.liveserver import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CJK = "中文字符汉字编辑器协作文档"
SMALL_DOC_LIMIT = 100_000  # code points, for the server of the too-large test


def paste(page: Any, text: str) -> None:
    """What the browser does on Ctrl+V: a paste event whose clipboard holds `text`."""
    page.click(".cm-content")
    page.keyboard.press("Control+End")
    page.evaluate(
        """(text) => {
          const data = new DataTransfer();
          data.setData('text/plain', text);
          document.querySelector('.cm-content').dispatchEvent(
            new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        text,
    )


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import os

    env = dict(os.environ, COLLAB_MAX_DOC_CHARS=str(SMALL_DOC_LIMIT))
    with LiveServer(tmp_path_factory.mktemp("small-server"), env=env) as s:
        yield s


def test_a_1_5_MB_cjk_paste_is_saved_and_seen_by_a_second_browser(new_context, server, doc):
    line = (CJK * 4)[:39] + "\n"
    text = (line * (521_000 // len(line) + 1))[:521_000]
    alice = open_editor(new_context(), f"/d/{doc}", name="Alice")
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    t0 = time.monotonic()
    paste(alice, text)
    final = wait_all_equal(server, doc, [alice, bob], timeout_ms=120_000)
    print(f"1.5 MB CJK paste ({len(text):,} code points, {len(text.encode('utf-8')):,} bytes) saved and shown "
          f"in the second browser after {time.monotonic() - t0:.1f} s, as "
          f"{alice.evaluate('window.collab.sync.version')} versions")
    assert final == text
    assert alice.evaluate("window.collab.sync.error") is None
    assert not alice.errors and not bob.errors


def test_a_too_large_paste_is_refused_then_undo_and_typing_save_without_retry(browser, small_server, doc):
    ctx = browser.new_context(base_url=small_server.url, viewport={"width": 1000, "height": 560}, bypass_csp=True)
    try:
        page = open_editor(ctx, f"/d/{doc}", name="Paster")
        page.click(".cm-content")
        page.keyboard.type("keep ")
        wait_all_equal(small_server, doc, [page])
        paste(page, "x" * 150_000)
        page.wait_for_function("window.collab.sync.error && window.collab.sync.error.code === 'too_large'")
        status = page.inner_text("#status")
        print(f"status after the paste: {status!r}")
        assert "paste of 150 k characters" in status and "100 k limit" in status
        assert page.is_visible("#retry")
        assert server_text(small_server, doc) == "keep "
        page.keyboard.press("Control+z")  # undo the paste
        page.keyboard.type("more")
        final = wait_all_equal(small_server, doc, [page])
        assert final == "keep more" == editor_text(page)
        assert page.evaluate("window.collab.sync.error") is None
        assert not page.is_visible("#retry")
        assert page.inner_text("#status") == "All changes saved"
        assert not page.errors
    finally:
        ctx.close()
