"""Markdown highlighting in a long document follows the screen (issue 15): the editor draws it
from a tree of only the blocks around what is shown (frontend/src/editormarkdown.js), not by
walking every block above. At the end, in the middle and at the top, and on a line just typed
at the end, headings are drawn bold and strong words bold, the words around them not."""
from __future__ import annotations

import pytest
import requests

from bench.keystroke import make_text
from browserkit import open_editor, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WAIT_MS = 60_000

# whether the screen shows a line starting with `start` whose `word` is drawn bold (the span
# that holds it, or the line), and whose `plain` (if given) is not
DRAWN = """([start, word, plain]) => {
  const line = [...document.querySelectorAll('.cm-line')].find((l) => l.textContent.startsWith(start));
  if (!line) return false;
  const weight = (text) => {
    const span = [...line.querySelectorAll('span')].find((s) => s.textContent.includes(text));
    return span ? getComputedStyle(span).fontWeight : getComputedStyle(line).fontWeight;
  };
  const bold = weight(word) === '700';
  return plain ? bold && weight(plain) !== '700' : bold;
}"""


def shows(page, start: str, word: str, plain: str = "") -> bool:
    page.wait_for_function(DRAWN, arg=[start, word, plain], timeout=WAIT_MS)
    return True


def test_highlighting_follows_the_screen_and_the_typing_in_a_long_document(new_context, server, doc):
    middle = "## Halfway heading\n\nsome **middle words** between plain ones\n\n"
    body = make_text(200_000)
    text = "# Top heading\n\n" + body + "\n\n" + middle + body + "\n\n## Last heading\n\nclosing **strong words** here\n"
    r = requests.post(f"{server.url}/api/docs", json={"doc": doc, "text": text, "name": "loader"}, timeout=60)
    assert r.status_code == 201, r.text
    page = open_editor(new_context(), f"/d/{doc}", name="Typist")
    assert shows(page, "# Top heading", "Top heading")

    page.click(".cm-content")
    page.keyboard.press("Control+End")
    assert shows(page, "closing", "strong words", "closing ")
    assert shows(page, "## Last heading", "Last heading")
    # a line typed at the end is drawn as it is typed
    page.keyboard.type("\n\n### typed at the end")
    assert shows(page, "### typed at the end", "typed at the end")

    page.evaluate("""() => {
      const v = window.collab.editor.view;
      const at = v.state.doc.toString().indexOf('## Halfway heading');
      v.dispatch({selection: {anchor: at}, scrollIntoView: true});
      v.focus();
    }""")
    assert shows(page, "## Halfway heading", "Halfway heading")
    assert shows(page, "some ", "middle words", "some ")
    page.keyboard.type("**typed bold** ")
    assert shows(page, "**typed bold** ## Halfway heading", "typed bold")

    page.keyboard.press("Control+Home")
    assert shows(page, "# Top heading", "Top heading")
    final = wait_all_equal(server, doc, [page], timeout_ms=WAIT_MS)
    assert final.endswith("here\n\n\n### typed at the end")
    assert not page.errors
