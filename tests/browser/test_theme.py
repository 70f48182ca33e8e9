"""Light and dark themes (issue 15): the page follows the system until the toggle is used, the
choice is remembered (and followed by other tabs), and in either theme no text on the start
page, the editor (Markdown highlighting, preview, a remote cursor's name), the viewer, the
history page (blame, a comparison) or an error page is below WCAG AA contrast."""
from __future__ import annotations

from typing import Any

import pytest

from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MARKDOWN = (
    "# A heading\n\nSome **bold** and _emphasis_, a [link](https://example.invalid/) and `code`.\n\n"
    "> a quotation\n\n- a list item\n- another\n\n---\n\n```\na block of code\n```\n\n"
    "| a | table |\n|---|---|\n| 1 | 2 |\n\n- [ ] a task\n- [x] done\n\nA note[^1].\n\n[^1]: The footnote.\n"
)

# Every visible element with text of its own: its colour, composited with the opacity of its
# ancestors over the backgrounds behind it (innermost last), against that background (WCAG 2.2
# contrast ratio; 3:1 for large text). Disabled controls are exempt, as WCAG says.
LOW_CONTRAST = r"""() => {
  const parse = (c) => {
    let m = c.match(/rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? \/? ?([\d.]+))?\)/);
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    m = c.match(/color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)/);
    if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : +m[4]];
    throw new Error('unparsed colour ' + c);
  };
  const over = (top, base) => [0, 1, 2].map((i) => top[i] * top[3] + base[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const canvas = (() => {
    for (const e of [document.documentElement, document.body]) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) return over(c, [255, 255, 255, 1]);
    }
    return [255, 255, 255, 1];
  })();
  const bad = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length || e.closest(':disabled, [hidden], noscript')) continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden') continue;
    const layers = [];
    let opacity = 1;
    for (let a = e; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      opacity *= +s.opacity;
      layers.unshift(parse(s.backgroundColor));
    }
    if (opacity === 0) continue; // not shown (a heading's anchor until hovered)
    const bg = layers.reduce((base, top) => over(top, base), canvas);
    const fg = parse(style.color);
    const seen = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const [hi, lo] = [lum(seen), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && +style.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5) - 0.01) {
      bad.push({ text: e.textContent.trim().slice(0, 40), tag: e.tagName, cls: String(e.className), color: style.color, ratio: +ratio.toFixed(2) });
    }
  }
  return bad;
}"""


def low_contrast(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(LOW_CONTRAST)


def dark(page: Any) -> bool:
    return page.evaluate("document.documentElement.dataset.theme ? document.documentElement.dataset.theme === 'dark'"
                         " : matchMedia('(prefers-color-scheme: dark)').matches")


def background(page: Any) -> str:
    return page.evaluate("getComputedStyle(document.documentElement).backgroundColor")


def history_with_two_authors(server: Any, doc: str) -> None:
    for name, text in (("Alice", MARKDOWN), ("Bob", "Bob was here.\n")):
        with Document.open(server.url, doc, name=name) as writer:
            with writer.editing():
                writer.replace(len(writer.text), 0, text)
            writer.wait_synced()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_text_is_below_aa_contrast_in_either_theme(new_context, server, doc, artifacts, scheme):
    history_with_two_authors(server, doc)
    ctx = new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    page.goto("/")
    page.wait_for_selector("#new-doc")
    assert dark(page) is (scheme == "dark")
    assert low_contrast(page) == [], "start page"

    # the editor with the Markdown highlighted, the preview open and a remote person's cursor
    page.goto(f"/d/{doc}")
    page.wait_for_function("window.collab && window.collab.conn.joined")
    other = new_context(color_scheme=scheme).new_page()
    other.add_init_script("localStorage.setItem('collab:name', 'Carol')")
    other.goto(f"/d/{doc}")
    other.wait_for_function("window.collab && window.collab.conn.joined")
    other.click(".cm-content")
    other.keyboard.press("Control+End")
    page.wait_for_selector(".cm-remote-label")
    page.click("#toggle-preview")
    page.wait_for_selector("#preview h1")
    assert low_contrast(page) == [], "editor"
    page.screenshot(path=str(artifacts / f"theme-{scheme}-editor.png"))

    view = page.evaluate("fetch('/api/docs/' + document.body.dataset.doc + '/links').then((r) => r.json())")["view_url"]
    page.goto(view)
    page.wait_for_function("window.collab && window.collab.conn.joined")
    assert low_contrast(page) == [], "viewer"

    page.goto(f"/d/{doc}/history#v=2")
    page.wait_for_selector("#hist-text[data-version='2'][data-state=blame]")
    assert low_contrast(page) == [], "history, blame"
    page.screenshot(path=str(artifacts / f"theme-{scheme}-history.png"))
    page.click("#tab-compare")
    page.fill("#cmp-from", "1")
    page.click("#cmp-run")
    page.wait_for_selector("#cmp-out[data-state=done][data-from='1']")
    assert page.locator("#cmp-out ins").count() > 0
    assert low_contrast(page) == [], "history, comparison"

    page.goto("/v/no-such-token-at-all-0000")
    page.wait_for_selector("#error-message")
    assert low_contrast(page) == [], "error page"


def test_the_toggle_is_remembered_followed_by_other_tabs_and_forgotten_when_it_matches_the_system(new_context, server, doc):
    ctx = new_context(color_scheme="light")
    page = ctx.new_page()
    page.goto(f"/d/{doc}")
    page.wait_for_function("window.collab && window.collab.conn.joined")
    light = background(page)
    assert not dark(page)

    page.click("#theme")
    assert dark(page)
    assert background(page) != light
    assert page.evaluate("localStorage.getItem('collab:theme')") == "dark"
    # the editor's own panels follow: the search panel is readable in the dark theme too
    page.click(".cm-content")
    page.keyboard.press("Control+f")
    page.wait_for_selector(".cm-search")
    assert low_contrast(page) == [], "search panel, dark"
    page.keyboard.press("Escape")

    other = ctx.new_page()  # another tab, the history page: the choice is applied before its first paint
    other.goto(f"/d/{doc}/history")
    other.wait_for_selector("#theme")
    assert dark(other)
    page.reload()
    page.wait_for_selector("#theme")
    assert dark(page)

    # back to the system's theme: the choice is forgotten, and the other tab follows at once
    page.click("#theme")
    assert not dark(page)
    assert page.evaluate("localStorage.getItem('collab:theme')") is None
    other.wait_for_function("document.documentElement.dataset.theme !== 'dark'")
    assert not dark(other)
    assert background(page) == light
