"""A phone's photo pasted into the editor (issue 15): what reaches the server, and every reader,
has no GPS position, camera or XMP, and still shows upright in the preview (its EXIF
orientation is the one thing kept). The photo is built by tests/imagekit.py: 32 x 16 pixels
stored sideways, EXIF orientation 6 (turn 90 degrees clockwise), so it shows 16 x 32."""
from __future__ import annotations

import re

import pytest
import requests

from browserkit import open_editor, wait_all_equal
from imagekit import XMP, exif, jpeg

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASTE = """(bytes) => {
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(bytes)], 'IMG_0001.jpg', { type: 'image/jpeg' }));
  document.querySelector('.cm-content').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
}"""


def test_a_pasted_photo_loses_its_gps_and_shows_upright(new_context, server, doc):
    photo = jpeg(32, 16, before=[exif(orientation=6), XMP])
    page = open_editor(new_context(viewport={"width": 1280, "height": 720}), f"/d/{doc}", name="Phone")
    page.click(".cm-content")
    page.evaluate(PASTE, list(photo))
    page.wait_for_function("/!\\[[^\\]]*\\]\\(\\/images\\/[A-Za-z0-9]{24}\\)/.test(window.collab.editor.text())")
    text = wait_all_equal(server, doc, [page])
    url = re.search(r"\((/images/[A-Za-z0-9]{24})\)", text).group(1)
    stored = requests.get(server.url + url, timeout=10).content
    assert b"PhoneCo" not in stored and b"GPS" not in stored and b"xmpmeta" not in stored
    assert stored.startswith(b"\xff\xd8") and len(stored) < len(photo)
    page.click("#toggle-preview")
    page.wait_for_function("(() => { const i = document.querySelector('#preview img'); return i && i.complete && i.naturalWidth > 0; })()")
    size = page.evaluate("(() => { const i = document.querySelector('#preview img'); return [i.naturalWidth, i.naturalHeight]; })()")
    assert size == [16, 32], size  # upright: the orientation was kept
    assert not page.errors, page.errors
