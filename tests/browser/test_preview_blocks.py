"""The live preview block by block (issue 15; frontend/src/core/previewblocks.js) in Chromium:
a keystroke renders its block, every other block keeps its DOM nodes, and what is shown is
what a whole render shows. The document is a real blog post in Markdown, three times over
(~150,000 characters; josephg/editing-traces, CC BY 4.0, Joseph Gentle)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from browserkit import open_editor, wait_all_equal
from collab.client.document import Document
from skips import missing

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TRACE = Path(__file__).resolve().parents[2].parent / "shared" / "traces" / "seph-blog1.json.gz"


def long_post(size: int = 150_000) -> str:
    """The post, repeated, cut at a blank line near `size` characters."""
    if not TRACE.is_file():
        missing(f"the editing traces are not at {TRACE}")
    post = json.loads(gzip.decompress(TRACE.read_bytes()))["endContent"]
    text = "\n\n".join([post] * (size // len(post) + 1))
    return text[: text.rindex("\n\n", 0, size)] + "\n"


# the preview's top-level elements, each marked once; then how many are still marked (kept), and
# whether what it shows is what a whole render of the editor's text shows
MARK = "() => { let n = 0; for (const c of document.querySelector('#preview').children) c.__kept = ++n; return n; }"
KEPT = "() => [...document.querySelector('#preview').children].filter((c) => c.__kept).length"
SAME = """async () => {
  const whole = document.createElement('div');
  await window.collab.preview().render(whole, window.collab.editor.text(), { light: true });
  const a = whole.innerHTML, b = document.querySelector('#preview').innerHTML;
  if (a === b) return true;
  let i = 0;
  while (a[i] === b[i]) i++;
  return [a.length, b.length, a.slice(Math.max(0, i - 200), i + 200), b.slice(Math.max(0, i - 200), i + 200)];
}"""


def test_a_keystroke_renders_one_block_and_the_rest_keep_their_nodes(new_context, server, doc, artifacts):
    text = long_post()
    with Document.open(server.url, doc, name="loader", timeout=30) as loader:
        loader.insert(0, text)
        loader.wait_synced(60)
    page = open_editor(new_context(viewport={"width": 1280, "height": 800}), f"/d/{doc}", name="Typist")
    page.click("#toggle-preview")
    page.wait_for_function("document.querySelectorAll('#preview h1').length >= 3")
    assert page.evaluate(SAME) is True
    total = page.evaluate(MARK)
    assert total > 300, total
    # a word typed into a paragraph in the middle: that paragraph is drawn again, nothing else
    page.evaluate("(at) => { const v = window.collab.editor.view; v.focus(); v.dispatch({ selection: { anchor: at } }); }",
                  text.index("Automerge is a library"))
    page.keyboard.type("Indeed, ")
    page.wait_for_function("[...document.querySelectorAll('#preview p')].some((p) => p.textContent.startsWith('Indeed, Automerge is'))")
    assert page.evaluate(KEPT) == total - 1
    assert page.evaluate(SAME) is True
    # a new line above a list: the list keeps its nodes, its items say their new source lines
    page.evaluate(MARK)  # (marks again: the new paragraph too)
    page.evaluate("(at) => window.collab.editor.view.dispatch({ changes: { from: at, insert: 'A line.\\n' } })",
                  text.index("Automerge (and Yjs") + len("Indeed, "))
    page.wait_for_function("[...document.querySelectorAll('#preview p')].some((p) => p.textContent.startsWith('A line.'))")
    assert page.evaluate(KEPT) == total - 1
    assert page.evaluate(SAME) is True
    # the list below keeps its nodes and says its new source line (a task checkbox ticks that line)
    said, real = page.evaluate("""() => {
      const li = [...document.querySelectorAll('#preview li[data-line]')].find((e) => e.textContent.startsWith("Insert 'a'"));
      const text = window.collab.editor.text();
      return [Number(li.dataset.line), text.slice(0, text.indexOf("- Insert *'a'*")).split('\\n').length - 1];
    }""")
    assert said == real
    # a heading of the same text as a later one, typed above it: the later one's id moves on
    wait_all_equal(server, doc, [page])
    page.screenshot(path=str(artifacts / "preview-blocks.png"))
    assert not page.errors, page.errors
