"""The editor's File menu (issue 15): import a .md or .txt file by the button or by dropping it
on the editor (asked first; the old text stays in the history), refusals said and nothing
changed, and the document taken away as Markdown, as a self-contained sanitised HTML page, and
as PDF through Chromium's print path."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests

from browserkit import open_editor, server_text, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NOTES = "# Imported notes 中文\n\n| step | who |\n|---|---|\n| one | Ann 😀 |\n\n- [ ] a task\n"


def note(page: Any) -> str:
    page.wait_for_selector("#file-note:not([hidden])[data-kind=done], #file-note:not([hidden])[data-kind=error]")
    return page.inner_text("#file-note")


def history_authors(server: Any, doc: str) -> list[str]:
    r = requests.get(f"{server.url}/api/docs/{doc}/revisions", timeout=10)
    r.raise_for_status()
    return [rev["author"] for rev in r.json()["revisions"]]


def test_import_by_the_button_and_by_dropping_a_file(new_context, server, doc):
    page = open_editor(new_context(), f"/d/{doc}", name="Importer")
    other = open_editor(new_context(), f"/d/{doc}")
    page.click(".cm-content")
    page.keyboard.type("old text")
    wait_all_equal(server, doc, [page, other])

    # the question is asked; saying no changes nothing
    page.once("dialog", lambda d: d.dismiss())
    with page.expect_event("dialog") as asked:  # once the File menu's actions are loaded (on first use)
        page.set_input_files("#import-file", files=[{"name": "notes.md", "mimeType": "text/markdown", "buffer": NOTES.encode()}])
    page.wait_for_function("document.querySelector('#import-file').value === ''")  # the picker was read and cleared
    assert "notes.md" in asked.value.message and page.is_hidden("#file-note")  # asked, and nothing was sent
    assert server_text(server, doc) == "old text"

    questions: list[str] = []
    page.on("dialog", lambda d: (questions.append(d.message), d.accept()))
    page.set_input_files("#import-file", files=[{"name": "notes.md", "mimeType": "text/markdown", "buffer": NOTES.encode()}])
    assert note(page).startswith("Imported “notes.md”")
    assert "stays in the history" in questions[-1]
    assert wait_all_equal(server, doc, [page, other]) == NOTES
    assert history_authors(server, doc)[-1] == "Importer"

    # a file dropped on the editor is imported the same way, not pasted where it fell
    page.evaluate("""(text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('.cm-content').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", "dropped text\n")
    page.wait_for_selector("#file-note:has-text('dropped.txt')[data-kind=done]")
    assert wait_all_equal(server, doc, [page, other]) == "dropped text\n"


def test_files_import_refuses_are_said_and_change_nothing(new_context, server, doc):
    page = open_editor(new_context(), f"/d/{doc}")
    page.click(".cm-content")
    page.keyboard.type("keep me")
    wait_all_equal(server, doc, [page])
    page.on("dialog", lambda d: d.accept())
    page.set_input_files("#import-file", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n"}])
    assert "is not a text file" in note(page)
    page.set_input_files("#import-file", files=[{"name": "latin1.txt", "mimeType": "text/plain", "buffer": "café".encode("latin-1")}])
    message = note(page)
    assert message.startswith("Could not import “latin1.txt”") and "UTF-8" in message, message
    # larger than any document may be (4 bytes a code point): said before anything is sent
    page.set_input_files("#import-file", files=[{"name": "huge.txt", "mimeType": "text/plain", "buffer": b"a" * (4 * 4_194_304 + 1)}])
    message = note(page)
    assert "is larger than a document may be: 4,194,304 characters" in message, message
    assert server_text(server, doc) == "keep me"
    # a viewer has no import
    token = page.evaluate("fetch('/api/docs/' + document.body.dataset.doc + '/links').then((r) => r.json())")["view_url"]
    viewer = new_context().new_page()
    viewer.goto(token)
    viewer.wait_for_function("window.collab && window.collab.conn.joined")
    assert viewer.locator("#import").count() == 0 and viewer.locator("#import-file").count() == 0


def download(page: Any, item: str) -> bytes:
    page.click("#file-menu summary")
    with page.expect_download() as info:
        page.click(item)
    return Path(info.value.path()).read_bytes()


def test_download_as_markdown_html_and_print_to_pdf(new_context, server, doc, artifacts):
    from pypdf import PdfReader

    text = NOTES + "\nA <img src=x onerror=\"window.pwned=1\"> picture and <script>window.pwned=2</script>.\n"
    page = open_editor(new_context(accept_downloads=True), f"/d/{doc}")
    page.evaluate("(t) => window.collab.editor.view.dispatch({ changes: { from: 0, insert: t } })", text)
    wait_all_equal(server, doc, [page])

    assert download(page, "#download-md").decode() == text

    html = download(page, "#download-html").decode()
    assert html.startswith("<!doctype html>") and "<style>" in html and "--bg:" in html  # styled, from the one stylesheet
    assert "<script" not in html and "onerror" not in html and "/assets/" not in html.split("<style>")[0]
    shown = new_context().new_page()
    shown.set_content(html)  # self-contained: it needs no request to show
    assert shown.inner_text("h1").strip().endswith("Imported notes 中文")
    assert shown.inner_text("td:nth-child(2)") == "Ann 😀"
    assert shown.locator("input[type=checkbox]").is_disabled()
    assert shown.evaluate("window.pwned") is None
    shown.screenshot(path=str(artifacts / "export-html.png"))

    # print: the File menu renders the document (the preview is closed) and calls the browser's print
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("#file-menu summary")
    page.click("#print")
    page.wait_for_function("window.printed === true")
    page.emulate_media(media="print")
    pdf = page.pdf()
    (artifacts / "export.pdf").write_bytes(pdf)
    printed = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Imported notes" in printed and "Ann" in printed
    assert "| step |" not in printed  # rendered, not the source
    assert page.evaluate("window.pwned") is None
