"""A 1 MB document in the browser, one long paragraph (a log): it loads with Markdown
highlighting off, takes typing at its start, middle and end, and a second person's edits arrive. Keystroke timings are printed (for
docs/performance.md), not asserted."""
from __future__ import annotations

import time

import pytest

from browserkit import open_editor, wait_all_equal
from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def big_text() -> str:
    line = "The quick brown fox jumps over the lazy dog; 😀 中文 é — line {:06d}\n"
    lines, size = [], 0
    while size < 1_000_000:
        lines.append(line.format(len(lines)))
        size += len(lines[-1].encode("utf-8"))
    return "".join(lines)


def test_a_one_megabyte_document_stays_editable(new_context, server, doc):
    text = big_text()
    with Document.open(server.url, doc, name="loader", timeout=30) as loader:
        loader.insert(0, text)
        loader.wait_synced(60)
        page = open_editor(new_context(), f"/d/{doc}", name="Typist")
        assert page.evaluate("window.collab.editor.text().length") == len(text.encode("utf-16-le")) // 2
        # one paragraph of 1 MB (no blank line): lezer would re-parse it whole per keystroke, so
        # Markdown highlighting goes off for this page, and the page says so
        page.wait_for_function("document.body.dataset.large === 'true'")
        assert "highlighting is off" in page.get_attribute("#status", "title")
        timings = []
        for where in ("Control+Home", "Control+End"):
            page.click(".cm-content")
            page.keyboard.press(where)
            start = time.perf_counter()
            page.keyboard.type("typed here ")
            timings.append((time.perf_counter() - start) / len("typed here ") * 1000)
        # the other person edits the middle while the page is open
        with loader.editing():
            middle = loader.text.index("line 007000\n")
            loader.insert(middle, "[from the middle]")
        final = wait_all_equal(server, doc, [page], timeout_ms=60_000)
        assert final.startswith("typed here ") and final.endswith("typed here ")
        assert "[from the middle]line 007000" in final
        assert len(final) == len(text) + 2 * len("typed here ") + len("[from the middle]")
        print(f"1 MB document ({len(text)} code points): ms per keystroke (Playwright type, incl. "
              f"round trip to the page) at start {timings[0]:.1f}, at end {timings[1]:.1f}")
        assert not page.errors
