"""A 4 M code point document (issue 15) in two browsers: Markdown highlighting stays on, both
pages type (start, middle, end) and converge, and the hash of each revision is still checked:
a page whose shadow went wrong finds out and starts again from the server's text. Nothing
here is timed (bench/keystroke.py measures; docs/performance.md has its figures)."""
from __future__ import annotations

import zlib

import pytest
import requests

from bench.keystroke import make_text
from browserkit import editor_text, server_text, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SIZE = 4_000_000  # code points
WAIT_MS = 120_000  # a 4 M document's first load on a busy 2-core machine


def open_big(ctx, path: str, name: str):
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.add_init_script(f"localStorage.setItem('collab:name', {name!r})")
    page.goto(path, timeout=WAIT_MS)
    page.wait_for_selector(".cm-content", timeout=WAIT_MS)
    page.wait_for_function("window.collab && window.collab.conn.joined", timeout=WAIT_MS)
    return page


def heading_is_bold(page) -> bool:
    # the document's first heading, near its top: the Markdown highlighter draws it in bold
    # (scrolled to the top first: the editor draws only the lines on screen)
    page.evaluate("window.collab.editor.view.scrollDOM.scrollTop = 0")
    page.wait_for_function("""() => {
      const line = [...document.querySelectorAll('.cm-line')].find((l) => l.textContent.startsWith('# A big'));
      const span = line && line.querySelector('span');
      return Boolean(span) && getComputedStyle(span).fontWeight === '700';
    }""", timeout=WAIT_MS)
    return True


def test_a_four_million_code_point_document_is_highlighted_edited_by_two_and_checked(new_context, server, doc):
    text = "# A big document\n\n" + make_text(SIZE - 18)
    assert len(text) == SIZE
    r = requests.post(f"{server.url}/api/docs", json={"doc": doc, "text": text, "name": "loader"}, timeout=120)
    assert r.status_code == 201, r.text
    a = open_big(new_context(), f"/d/{doc}", "Ann")
    b = open_big(new_context(), f"/d/{doc}", "Bob")
    for page in (a, b):
        assert heading_is_bold(page)
        assert page.evaluate("window.collab.sync.text.length") == len(text.encode("utf-16-le")) // 2

    # Ann types at the start, the middle and the end; Bob in the middle at the same time
    a.click(".cm-content")
    a.keyboard.press("Control+Home")
    a.keyboard.type("Ann")
    a.keyboard.press("Enter")
    a.evaluate("() => { const v = window.collab.editor.view; v.dispatch({selection: {anchor: v.state.doc.line(9000).from}}); v.focus(); }")
    a.keyboard.type("[ann middle]")
    b.click(".cm-content")
    b.evaluate("() => { const v = window.collab.editor.view; v.dispatch({selection: {anchor: v.state.doc.line(20000).from}}); v.focus(); }")
    b.keyboard.type("[bob middle]")
    a.keyboard.press("Control+End")
    a.keyboard.type(" the end")
    final = wait_all_equal(server, doc, [a, b], timeout_ms=WAIT_MS)
    assert final.startswith("Ann\n# A big document")
    assert final.endswith(" the end")
    assert "[ann middle]" in final and "[bob middle]" in final
    assert len(final) == SIZE + len("Ann\n[ann middle][bob middle] the end")
    for page in (a, b):
        assert heading_is_bold(page)

    # Bob's shadow goes wrong (one character, far from any edit): the hash of the next revision
    # gives it away, Bob joins again and ends up with the server's text
    b.evaluate("""() => {
      const s = window.collab.sync;
      window.__why = [];
      const needs = s.needsRejoin.bind(s);
      s.needsRejoin = () => { const why = needs(); if (why) window.__why.push(why); return why; };
      const m = Math.floor(s.shadow.length / 3);
      const was = s.shadow;
      const other = was[m] === 'Z' ? 'Y' : 'Z';
      s._shadowStr = was.slice(0, m) + other + was.slice(m + 1);
      s._shadowIndex.edit([m, other, -1, was.length - m - 1]);
    }""")
    a.keyboard.type("!")
    b.wait_for_function("window.__why.includes('hash_mismatch')", timeout=WAIT_MS)
    final = wait_all_equal(server, doc, [a, b], timeout_ms=WAIT_MS)
    assert final.endswith(" the end!")
    assert editor_text(b) == server_text(server, doc)
    expected = format(zlib.crc32(final.encode("utf-8")), "08x")
    assert b.evaluate("window.collab.sync._shadowIndex.hash()") == expected
    assert a.evaluate("window.collab.sync._shadowIndex.hash()") == expected
    # the preview shows the part around the cursor, and says so (before: markdown-it rendered
    # the whole 4 M in one go, and again per keystroke: the tab froze for 37 s a time)
    b.keyboard.press("Control+End")
    b.click("#toggle-preview")
    b.wait_for_selector("#preview .preview-part", timeout=WAIT_MS * 3)
    shown = b.evaluate("document.querySelector('#preview').textContent.length")
    assert shown < 400_000, shown
    assert "the preview shows the part around the cursor" in b.inner_text("#preview .preview-part")
    assert not a.errors and not b.errors
