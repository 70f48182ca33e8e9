"""The Markdown preview renders what GitHub and HedgeDoc render (issue 15): tables, task lists
whose checkboxes tick the source line as an ordinary edit, footnotes, heading anchors and a
table of contents, with ids that never clash with the page's own."""
from __future__ import annotations

import pytest

from browserkit import open_editor, server_text, wait_all_equal
from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TEXT = (
    "[[toc]]\n\n# Status\n\nA claim[^src].\n\n## Plan é\n\n"
    "| step | who |\n|------|-----|\n| one  | Ann |\n\n"
    "- [ ] write it\n- [x] read it\n  - [ ] nested 😀\n\n"
    "<input type=text value=raw> <input type=checkbox>\n\n<p id=\"theme\">raw</p> <a name=\"share\">a</a>\n\n"
    "[^src]: Where it comes from.\n"
)


def test_tables_tasks_footnotes_anchors_and_a_table_of_contents(new_context, server, doc, artifacts):
    with Document.open(server.url, doc, name="Writer") as w:
        with w.editing():
            w.replace(0, 0, TEXT)
        w.wait_synced()
    ctx = new_context(viewport={"width": 1280, "height": 800})
    page = open_editor(ctx, f"/d/{doc}")
    other = open_editor(new_context(), f"/d/{doc}")
    page.click("#toggle-preview")
    page.wait_for_selector("#preview table")
    assert page.inner_text("#preview table td") == "one"
    # anchors and the table of contents: ids of their own, links that stay on the page
    assert page.locator("#status").count() == 1 and page.get_attribute("#status", "role") == "status"
    # nor can raw HTML take one of the page's ids (the stranger's <p id="theme">)
    assert page.locator("#theme").count() == 1 and page.locator("#preview #md-theme").count() == 1
    assert page.locator("#preview [name=share]").count() == 0
    heading = page.locator("#preview h1")
    assert heading.get_attribute("id").startswith("md-")
    toc_links = page.locator("#preview .toc a")
    assert toc_links.count() == 2
    assert toc_links.nth(0).get_attribute("href") == "#" + heading.get_attribute("id")
    assert toc_links.nth(0).get_attribute("target") is None
    # the footnote's reference leads to its text
    ref = page.locator("#preview .footnote-ref a")
    note = page.locator("#preview " + ref.get_attribute("href").replace("#", "li#"))
    assert "Where it comes from." in note.inner_text()
    # raw HTML form controls are dropped, a raw checkbox is inert
    assert page.locator("#preview input[type=text]").count() == 0
    page.screenshot(path=str(artifacts / "markdown-preview.png"))

    # ticking a task is an edit of its line, saved and seen by the other editor
    boxes = page.locator("#preview input.task-list-item-checkbox")
    assert boxes.count() == 3 and not boxes.nth(0).is_checked() and boxes.nth(1).is_checked()
    boxes.nth(0).click()
    page.wait_for_function("document.querySelectorAll('#preview input.task-list-item-checkbox')[0].checked")
    boxes.nth(2).click()  # the nested one, with an astral character after it
    boxes.nth(1).click()
    page.wait_for_function("!document.querySelectorAll('#preview input.task-list-item-checkbox')[1].checked")
    expected = TEXT.replace("- [ ] write", "- [x] write").replace("- [x] read", "- [ ] read").replace("- [ ] nested", "- [x] nested")
    assert wait_all_equal(server, doc, [page, other]) == expected
    # one undo takes back the last tick only
    page.click(".cm-content")
    page.keyboard.press("Control+z")
    wait_all_equal(server, doc, [page, other])
    assert server_text(server, doc) == expected.replace("- [ ] read", "- [x] read")
    # the inert raw checkbox changed nothing
    page.locator("#preview p input[type=checkbox]").click(force=True)
    assert wait_all_equal(server, doc, [page, other]) == expected.replace("- [ ] read", "- [x] read")


def test_a_viewers_task_checkboxes_cannot_be_ticked(new_context, server, doc):
    with Document.open(server.url, doc) as w:
        with w.editing():
            w.replace(0, 0, "- [ ] a task\n")
        w.wait_synced()
    editor = open_editor(new_context(), f"/d/{doc}")
    token = editor.evaluate("fetch('/api/docs/' + document.body.dataset.doc + '/links').then((r) => r.json())")["view_url"]
    viewer = new_context().new_page()
    viewer.goto(token)
    viewer.wait_for_function("window.collab && window.collab.conn.joined")
    viewer.click("#toggle-preview")
    box = viewer.locator("#preview input.task-list-item-checkbox")
    box.wait_for()
    assert box.is_disabled()


EXTRAS_TEXT = (
    "# Extras\n\n```python\ndef hello():\n    return 'world'\n```\n\n"
    "Inline $e^{i\\pi} + 1 = 0$ and a block:\n\n$$\\int_0^1 x^2\\,dx$$\n\n"
    "```mermaid\ngraph TD\n  A[Start <b>bold</b>] --> B{Done?}\n```\n"
)
EXTRA_CHUNKS = ("previewcode", "previewmath", "previewdiagrams")


def test_code_math_and_diagrams_load_only_when_used_and_keep_the_csp(new_context, server, doc, artifacts):
    with Document.open(server.url, f"{doc}-plain") as w:
        with w.editing():
            w.replace(0, 0, "# Plain\n\nNo code, no math, no diagram.\n")
        w.wait_synced()
    with Document.open(server.url, doc) as w:
        with w.editing():
            w.replace(0, 0, EXTRAS_TEXT)
        w.wait_synced()
    # the pages' own CSP on (the fixture turns it off for wait_for_function): waits are selectors
    ctx = new_context(bypass_csp=False, viewport={"width": 1280, "height": 800})
    fetched: list[str] = []
    refused: list[str] = []
    ctx.on("request", lambda r: fetched.append(r.url))
    page = ctx.new_page()
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))

    page.goto(f"/d/{doc}-plain")
    page.wait_for_selector(".cm-content")
    page.click("#toggle-preview")
    page.wait_for_selector("#preview h1")
    assert not [u for u in fetched if any(c in u for c in EXTRA_CHUNKS)], "a plain document loads no extra"

    page.goto(f"/d/{doc}")
    page.wait_for_selector(".cm-content")
    page.click("#toggle-preview")
    page.wait_for_selector("#preview pre code.hljs .hljs-keyword")
    page.wait_for_selector("#preview math")
    page.wait_for_selector("#preview figure.diagram svg")
    assert page.locator("#preview math").count() == 2
    assert page.locator("#preview figure.diagram svg script, #preview figure.diagram [onclick], #preview b").count() == 0
    page.screenshot(path=str(artifacts / "markdown-extras.png"))
    assert "Start" in page.inner_text("#preview figure.diagram")
    # the diagram's own ids are left as they are: its arrows and styles refer to them
    svg_id = page.get_attribute("#preview figure.diagram svg", "id")
    assert svg_id.startswith("mermaid-") and f"#{svg_id}" in page.inner_html("#preview figure.diagram style")

    # a diagram's directive cannot bring CSS that fetches (the fixture fails on any foreign
    # request), nor a layout that freezes the tab: past 150 edges a diagram is refused
    hostile = ("```mermaid\n%%{init: {\"themeCSS\": \".node{background:url(http://127.0.0.1:1/leak)}\"}}%%\ngraph TD\n  A-->B\n```\n\n"
               "```mermaid\ngraph TD\n" + "".join(f"  N{i}-->N{i + 1}\n" for i in range(200)) + "```\n")
    with Document.open(server.url, f"{doc}-hostile") as w:
        with w.editing():
            w.replace(0, 0, hostile)
        w.wait_synced()
    page.goto(f"/d/{doc}-hostile")
    page.wait_for_selector(".cm-content")
    page.click("#toggle-preview")
    page.wait_for_selector("#preview figure.diagram:not(.diagram-error) svg")
    page.wait_for_selector("#preview figure.diagram-error")
    assert "leak" not in page.inner_html("#preview figure.diagram")
    assert not [u for u in fetched if ":1/" in u]
    assert all(any(c in u for u in fetched) for c in EXTRA_CHUNKS)
    page.screenshot(path=str(artifacts / "markdown-extras.png"))
    assert refused == []


def test_the_editor_highlights_fenced_code_in_its_language_once_a_block_names_one(new_context, server, doc):
    page = open_editor(new_context(), f"/d/{doc}")
    keyword = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--code-keyword')")
    colour_of = """(word) => { const s = [...document.querySelectorAll('.cm-content span')].find((e) => e.textContent === word);
                   return s ? getComputedStyle(s).color : null; }"""
    page.click(".cm-content")
    page.keyboard.type("def plain(): pass\n\n")
    assert page.evaluate(colour_of, "def") is None  # not code: no tokens
    page.keyboard.type("```python\ndef f():\n    return None\n```\n")
    page.wait_for_function(f"({colour_of})('return') !== null")
    probe = page.evaluate("(c) => { const e = document.createElement('i'); e.style.color = c; document.body.append(e); const v = getComputedStyle(e).color; e.remove(); return v; }", keyword.strip())
    assert page.evaluate(colour_of, "return") == probe


@pytest.mark.parametrize("how", ["paste", "remote"])
def test_code_in_a_document_pasted_whole_or_written_elsewhere_is_highlighted(new_context, server, doc, how):
    """A paste (or another editor's change) of a whole document starts on its first line,
    and only the line an edit started on was looked at: its code blocks stayed plain until a
    reload (found making README's screenshot)."""
    page = open_editor(new_context(), f"/d/{doc}")
    text = "# Notes\n\nSome text.\n\n```python\ndef f():\n    return None\n```\n"
    if how == "paste":
        page.click(".cm-content")
        page.keyboard.insert_text(text)
    else:
        with Document.open(server.url, doc) as w:
            with w.editing():
                w.replace(0, 0, text)
            w.wait_synced()
    keyword = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--code-keyword')")
    probe = page.evaluate("(c) => { const e = document.createElement('i'); e.style.color = c; document.body.append(e); const v = getComputedStyle(e).color; e.remove(); return v; }", keyword.strip())
    page.wait_for_function("""(want) => [...document.querySelectorAll('.cm-content span')]
        .some((e) => e.textContent === 'return' && getComputedStyle(e).color === want)""", arg=probe)


def test_an_image_from_another_site_is_replaced_by_a_note_saying_why(new_context, server, doc):
    """Issue 15: with img-src 'self', remote images showed broken with no explanation. Nothing
    is fetched from the other site (the new_context fixture fails the test if it were)."""
    with Document.open(server.url, doc) as w:
        with w.editing():
            w.replace(0, 0, "![a logo](https://images.example.invalid/logo.png) and ![inline](data:image/gif;base64,R0lGODlhAQABAAAAACw=)\n")
        w.wait_synced()
    page = open_editor(new_context(), f"/d/{doc}")
    page.click("#toggle-preview")
    note = page.locator("#preview .image-held")
    note.wait_for()
    assert "images.example.invalid" in note.inner_text() and "COLLAB_REMOTE_IMAGES=1" in note.inner_text()
    assert note.get_attribute("title") == "a logo"
    assert page.locator("#preview img").count() == 1  # the data: image stays
