"""Images in the editor (issue 15): a real PNG pasted or dropped into the editor is uploaded (its
progress and any refusal said in the page), named in the text where it was put as an ordinary
edit, and shown by the preview of another page, a read-only one included, under the pages'
own CSP. The image's URL names no document: the viewer learns no edit id."""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from browserkit import WAIT_MS, open_editor, wait_all_equal
from imagekit import png

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WIDE = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
IMAGE_MD = re.compile(r"!\[([^\]]*)\]\((/images/[A-Za-z0-9]{24})\)")
# a JS function putting a file (bytes given as a list of numbers) into the editor by a paste or a drop
PUT_FILE = """([how, bytes, name, type]) => {
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
  const target = document.querySelector('.cm-content');
  if (how === 'paste') {
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  } else {
    const line = target.querySelector('.cm-line:last-child').getBoundingClientRect();
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true,
                                                 clientX: line.right - 2, clientY: line.top + line.height / 2 }));
  }
}"""


def put_file(page: Any, how: str, data: bytes, name: str, kind: str = "image/png") -> None:
    page.evaluate(PUT_FILE, [how, list(data), name, kind])


def note(page: Any) -> str:
    page.wait_for_selector("#file-note:not([hidden])[data-kind=done], #file-note:not([hidden])[data-kind=error]")
    return page.inner_text("#file-note")


def shown_image(page: Any, width: int) -> dict[str, Any]:
    """Wait until the page's preview shows a loaded image `width` pixels wide; its src and size.
    Polled from here: the viewer runs with its CSP on, which forbids wait_for_function's eval."""
    deadline = time.monotonic() + WAIT_MS / 1000
    probe = ("(() => { const i = document.querySelector('#preview img'); return i && "
             "{src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth, alt: i.alt}; })()")
    while True:
        found = page.evaluate(probe)
        if found and found["complete"] and found["width"] == width:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the preview shows no loaded image {width} px wide: {found}")
        page.wait_for_timeout(100)


def view_link(server: Any, doc: str) -> str:
    r = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10)
    r.raise_for_status()
    return "/v/" + r.json()["view_url"].rsplit("/", 1)[1]


def test_a_pasted_png_is_uploaded_named_in_the_text_and_shown_to_a_viewer_at_1280_px(new_context, server, doc, artifacts):
    page = open_editor(new_context(viewport=WIDE, accept_downloads=True), f"/d/{doc}", name="Ann")
    page.click(".cm-content")
    page.keyboard.type("# Trip report\n\nThe chart: ")
    wait_all_equal(server, doc, [page])
    put_file(page, "paste", png(240, 120, (37, 99, 235)), "chart.png")
    assert note(page).startswith("Added “chart.png”")
    text = wait_all_equal(server, doc, [page])
    found = IMAGE_MD.search(text)
    assert found and text.startswith("# Trip report\n\nThe chart: ![chart](/images/"), text
    url = found.group(2)
    assert doc not in url
    page.keyboard.type(" (blue)")  # the cursor is after the image: typing goes on there
    text = wait_all_equal(server, doc, [page])
    assert text.endswith(f"![chart]({url}) (blue)"), text
    page.click("#toggle-preview")
    assert shown_image(page, 240)["src"] == url
    page.screenshot(path=str(artifacts / "images-paste-1280.png"))
    # the page downloaded as .html, opened anywhere, still finds the image on this server
    page.click("#file-menu summary")
    with page.expect_download() as info:
        page.click("#download-html")
    exported = open(info.value.path(), encoding="utf-8").read()
    assert f'src="{server.url}{url}"' in exported, exported[-600:]

    # a read-only page, with the pages' own CSP on, shows it too; it never sees the edit id
    viewer = open_editor(new_context(viewport=WIDE, bypass_csp=False), view_link(server, doc))
    viewer.click("#toggle-preview")
    assert shown_image(viewer, 240) == {"src": url, "complete": True, "width": 240, "alt": "chart"}
    assert doc not in viewer.content()
    viewer.screenshot(path=str(artifacts / "images-viewer-1280.png"))
    # with the page's service worker in control, the image still comes (the worker leaves /images/ alone)
    deadline = time.monotonic() + WAIT_MS / 1000
    while not viewer.evaluate("Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"):
        assert time.monotonic() < deadline, "the service worker never took the page"
        viewer.wait_for_timeout(100)
    viewer.reload()
    viewer.wait_for_selector(".cm-content")
    assert viewer.evaluate("Boolean(navigator.serviceWorker.controller)")
    viewer.click("#toggle-preview")
    assert shown_image(viewer, 240)["src"] == url
    assert not page.errors and not viewer.errors


def test_a_dropped_png_shows_in_another_editors_preview_and_refusals_are_said_at_390_px(new_context, server, doc, artifacts):
    page = open_editor(new_context(viewport=PHONE), f"/d/{doc}", name="Bob")
    other = open_editor(new_context(viewport=PHONE), f"/d/{doc}", name="Cy")
    page.click(".cm-content")
    page.keyboard.type("Before the photo.\n")
    wait_all_equal(server, doc, [page, other])
    put_file(page, "drop", png(300, 200, (22, 163, 74)), "field photo.png")
    assert note(page).startswith("Added “field photo.png”")
    text = wait_all_equal(server, doc, [page, other])
    assert IMAGE_MD.search(text) and "![field photo](/images/" in text, text
    other.click("#toggle-preview")
    shown_image(other, 300)
    other.screenshot(path=str(artifacts / "images-drop-390.png"))

    # refused by the server, by content (an SVG, a text file called .png): said, nothing inserted
    put_file(page, "paste", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "image/svg+xml")
    assert "SVG images are not taken" in note(page)
    page.screenshot(path=str(artifacts / "images-refused-390.png"))
    put_file(page, "drop", b"not a picture at all", "fake.png", "image/png")
    message = note(page)
    assert message.startswith("Could not add “fake.png”") and "not a PNG, JPEG, GIF or WebP" in message, message
    assert wait_all_equal(server, doc, [page, other]) == text
    assert not page.errors and not other.errors
