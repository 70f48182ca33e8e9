"""The browser editor against the real server: concurrent typing, read-only links, offline
editing (also across a reload), presence, remote cursors and the sanitised Markdown preview."""
from __future__ import annotations

import re

import pytest
import requests

from browserkit import editor_text, open_editor, server_text, wait_all_equal

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def view_url(server, doc: str) -> str:
    r = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["view_url"]


def test_start_page_creates_a_document(new_context, server):
    page = new_context().new_page()
    page.goto("/")
    page.click("#new-doc")
    page.wait_for_url(re.compile(r"/d/[A-Za-z0-9_-]{12,64}$"))
    page.wait_for_selector(".cm-content")
    doc = page.url.rsplit("/", 1)[1]
    assert server_text(server, doc) == ""


def test_two_people_type_at_once_and_converge(new_context, server, doc, artifacts):
    alice = open_editor(new_context(), f"/d/{doc}", name="Alice")
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    alice.click(".cm-content")
    alice.keyboard.type("# Shared notes\n")
    wait_all_equal(server, doc, [alice, bob])
    bob.click(".cm-content")
    bob.keyboard.press("Control+End")
    # interleaved bursts: each side's keystrokes go out while the other's are in flight
    a_parts = ["Alice: hello 😀😁", " and 中文字符", "\nnew line é\n"]
    b_parts = ["Bob: שלום 👩‍👩‍👧", " 日本語", "\nbye 🎉\n"]
    alice.keyboard.press("Control+Home")
    for a, b in zip(a_parts, b_parts):
        alice.keyboard.type(a)
        bob.keyboard.type(b)
    text = wait_all_equal(server, doc, [alice, bob])
    for part in a_parts + b_parts:
        assert part.strip() in text, (part, text)
    assert text.count("😀") == 1 and text.count("🎉") == 1
    alice.screenshot(path=str(artifacts / "two-people-alice.png"))
    bob.screenshot(path=str(artifacts / "two-people-bob.png"))
    assert not alice.errors and not bob.errors


def test_read_only_link_cannot_change_the_document(new_context, server, doc):
    editor = open_editor(new_context(), f"/d/{doc}")
    editor.click(".cm-content")
    editor.keyboard.type("original text")
    wait_all_equal(server, doc, [editor])
    url = view_url(server, doc)
    token = url.rsplit("/", 1)[1]
    html = requests.get(url, timeout=10).text
    assert doc not in html and token in html
    viewer = open_editor(new_context(), f"/v/{token}")
    assert viewer.get_attribute(".cm-content", "contenteditable") == "false"
    viewer.click(".cm-content")
    viewer.keyboard.type("vandalism")
    viewer.keyboard.press("Backspace")
    # the server refuses a write even when the page is bypassed
    ack = viewer.evaluate(
        """() => new Promise((resolve) => window.collab.conn.socket.timeout(5000).emit('patch',
             {doc: window.collab.conn.key, base: window.collab.sync.version,
              patch: '@@ -0,0 +1,3 @@\\n+bad\\n', id: 'viewer-write-1'}, (err, ack) => resolve(err ? 'timeout' : ack)))"""
    )
    assert ack["ok"] is False and ack["error"]["code"] == "read_only", ack
    # it still follows live edits
    editor.keyboard.type(" + more")
    viewer.wait_for_function("window.collab.editor.text() === 'original text + more'")
    assert server_text(server, doc) == "original text + more"
    assert doc not in viewer.content()


def test_typing_offline_reaches_the_other_person_when_back_online(new_context, server, doc):
    ctx = new_context()
    alice = open_editor(ctx, f"/d/{doc}")
    bob = open_editor(new_context(), f"/d/{doc}")
    alice.click(".cm-content")
    alice.keyboard.type("online. ")
    wait_all_equal(server, doc, [alice, bob])
    ctx.set_offline(True)
    alice.wait_for_selector("#status[data-state=offline]")
    # who is here is not known offline: not the "2 here" of before (found from outside)
    assert alice.inner_text("#people-count") == "Not connected"
    assert alice.get_attribute("#people", "data-stale") == "true"
    alice.keyboard.type("typed offline 😀 中文")
    bob.click(".cm-content")
    bob.keyboard.press("Control+End")
    bob.keyboard.type(" bob meanwhile")
    alice.wait_for_function("document.querySelector('#status').dataset.unsaved !== '0'")
    assert "not yet saved" in alice.inner_text("#status")
    bob.wait_for_function("window.collab.sync.unsaved === 0")
    assert "typed offline" not in editor_text(bob)
    ctx.set_offline(False)
    text = wait_all_equal(server, doc, [alice, bob])
    alice.wait_for_function("document.querySelector('#people-count').textContent === '2 here'")
    assert "typed offline 😀 中文" in text and "bob meanwhile" in text


def test_edits_survive_a_reload_while_offline(new_context, server, doc):
    ctx = new_context()
    alice = open_editor(ctx, f"/d/{doc}")
    bob = open_editor(new_context(), f"/d/{doc}")
    alice.click(".cm-content")
    alice.keyboard.type("first line\n")
    wait_all_equal(server, doc, [alice, bob])
    # the service worker keeps the page's shell so it can reload without a network
    alice.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null || "
                            "navigator.serviceWorker.ready.then(() => true)")
    ctx.set_offline(True)
    alice.wait_for_selector("#status[data-state=offline]")
    alice.keyboard.press("Control+End")
    alice.keyboard.type("written offline, then reloaded ✍️")
    alice.wait_for_function("localStorage.getItem(window.collab.conn.storageKey) !== null")
    alice.reload()
    alice.wait_for_selector(".cm-content")
    assert "written offline, then reloaded ✍️" in editor_text(alice)
    assert "written offline" not in server_text(server, doc)
    ctx.set_offline(False)
    alice.wait_for_function("window.collab.conn.joined")
    text = wait_all_equal(server, doc, [alice, bob])
    assert text == "first line\nwritten offline, then reloaded ✍️"


def test_presence_list_and_remote_cursor(new_context, server, doc):
    alice = open_editor(new_context(), f"/d/{doc}", name="Alice")
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob <b>not bold</b>")
    alice.wait_for_function("document.querySelector('#peers').textContent.includes('Bob <b>not bold</b>')")
    assert alice.locator("#peers b").count() == 0  # a name is text, never HTML
    bob.wait_for_function("document.querySelector('#peers').textContent.includes('Alice')")
    alice.click(".cm-content")
    alice.keyboard.type("line one\nline two")
    wait_all_equal(server, doc, [alice, bob])
    alice.keyboard.press("Shift+Home")  # select "line two"
    bob.wait_for_selector(".cm-remote-cursor")
    assert bob.inner_text(".cm-remote-label") == "Alice"
    bob.wait_for_selector(".cm-remote-selection")
    assert "line two" in bob.inner_text(".cm-remote-selection")


def test_markdown_preview_renders_and_is_sanitised(new_context, server, doc):
    page = open_editor(new_context(), f"/d/{doc}")
    page.click(".cm-content")
    page.keyboard.insert_text(
        "# Title\n\nSome **bold** text.\n\n<img src=x onerror=\"window.__pwned=1\">\n\n"
        "<script>window.__pwned=2</script>\n\n[link](javascript:window.__pwned=3)\n"
    )
    page.click("#toggle-preview")
    page.wait_for_selector("#preview h1")
    assert page.inner_text("#preview h1") == "Title"
    assert page.inner_text("#preview strong") == "bold"
    page.wait_for_timeout(300)  # give a broken image's onerror the chance to fire
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#preview script").count() == 0
    assert page.locator("#preview [onerror]").count() == 0
    for href in page.locator("#preview a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert not (href or "").lower().startswith("javascript:")
    # the preview follows edits
    page.click(".cm-content")
    page.keyboard.press("Control+End")
    page.keyboard.type("\n## More")
    page.wait_for_selector("#preview h2")
