"""The history page (/d/<doc>/history) against the real server: scrub the slider to a version
and see its exact text, restore it and see the open editors follow, `#v=N` links, the diff
view, revert with a preview, named versions, the read-only history and inert user strings."""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from browserkit import WAIT_MS, editor_text, open_editor, server_text, wait_all_equal
from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

EVIL_NAME = '<img src=x onerror="window.__pwned=1">'
EVIL_TEXT = '<script>window.__pwned=2</script><b>not bold</b> <img src=y onerror="window.__pwned=3">'


def api(server: Any, doc: str, path: str = "") -> Any:
    r = requests.get(f"{server.url}/api/docs/{doc}{path}", timeout=10)
    r.raise_for_status()
    return r.json()


def version_text(server: Any, doc: str, v: int) -> str:
    return api(server, doc, f"/versions/{v}")["text"]


def make_history(server: Any, doc: str) -> list[str]:
    """Eight revisions by two authors (one with a hostile name), each its own version; the
    texts of versions 0..8."""
    steps = [
        ("alice", lambda t: (0, 0, "# Plan\n")),
        ("evil", lambda t: (len(t), 0, "first idea 😀\n")),
        ("alice", lambda t: (len(t), 0, "second idea\n")),
        ("evil", lambda t: (len(t), 0, EVIL_TEXT + "\n")),
        ("alice", lambda t: (t.index("first"), len("first"), "best")),
        ("evil", lambda t: (len(t), 0, "中文 line\n")),
        ("alice", lambda t: (t.index("second idea\n"), len("second idea\n"), "")),
        ("alice", lambda t: (len(t), 0, "the end\n")),
    ]
    alice = Document.open(server.url, doc, name="Alice")
    evil = Document.open(server.url, doc, name=EVIL_NAME)
    try:
        for who, edit in steps:
            client = alice if who == "alice" else evil
            other = evil if who == "alice" else alice
            with client.editing():
                pos, length, text = edit(client.text)
                client.replace(pos, length, text)
            client.wait_synced()
            other_version = client.version
            other._wait(lambda: other.version == other_version, 10, "the other client to follow")
    finally:
        alice.close()
        evil.close()
    head = api(server, doc)["version"]
    assert head == len(steps), head
    return [version_text(server, doc, v) for v in range(head + 1)]


def open_history(ctx: Any, path: str) -> Any:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(path)
    page.wait_for_selector("#hist-text[data-state=text], #hist-text[data-state=blame]")
    return page


def shown(page: Any, v: int) -> str:
    """Wait until the page shows version v; its text exactly (textContent, spans and all)."""
    page.wait_for_selector(f"#hist-text[data-version='{v}']:not([data-state=loading])")
    return page.text_content("#hist-text")


def slide_to(page: Any, v: int) -> None:
    page.eval_on_selector(
        "#slider", "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input', {bubbles: true})); }", v)


def test_scrub_to_a_version_see_its_text_restore_it_and_both_editors_follow(new_context, server, doc, artifacts):
    texts = make_history(server, doc)
    head = len(texts) - 1
    alice = open_editor(new_context(), f"/d/{doc}", name="Alice")
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    assert wait_all_equal(server, doc, [alice, bob]) == texts[head]

    page = open_history(new_context(), f"/d/{doc}/history")
    assert shown(page, head) == texts[head]  # opens at the head
    assert page.input_value("#slider") == str(head)

    # by keyboard: Home, then three steps right, one back
    page.focus("#slider")
    page.keyboard.press("Home")
    assert shown(page, 0) == ""
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    n = 2
    assert shown(page, n) == texts[n] == version_text(server, doc, n)
    assert page.input_value("#slider") == str(n)
    assert page.url.endswith(f"#v={n}")  # the hash follows the slider
    assert page.inner_text("#version-label") == f"v{n} / {head}"
    page.wait_for_function("document.querySelector('#step-author').textContent === %r" % EVIL_NAME)  # revision 2's
    # by setting the input's value, as a drag does
    n = 5
    slide_to(page, n)
    assert shown(page, n) == texts[n] == version_text(server, doc, n)
    page.wait_for_selector(f"#hist-text[data-version='{n}'][data-state=blame]")  # authors' colours once it rests
    assert page.text_content("#hist-text") == texts[n]
    assert page.locator("#hist-text .blame").count() >= 2
    page.screenshot(path=str(artifacts / "history.png"))

    # restore version n: a new revision, and both editors show its text
    page.click("#restore")
    page.click("#restore-confirm")
    page.wait_for_selector(f"#hist-text[data-version='{head + 1}']")
    assert api(server, doc)["version"] == head + 1
    assert wait_all_equal(server, doc, [alice, bob]) == texts[n]
    assert editor_text(alice) == editor_text(bob) == texts[n]
    assert shown(page, head + 1) == texts[n]
    assert page.inner_text("#version-label") == f"v{head + 1} / {head + 1}"
    # history is never rewritten: the old versions are still there
    assert version_text(server, doc, head) == texts[head]
    assert not page.errors and not alice.errors and not bob.errors


def test_a_version_link_opens_exactly_there(new_context, server, doc):
    texts = make_history(server, doc)
    page = open_history(new_context(), f"/d/{doc}/history#v=3")
    assert shown(page, 3) == texts[3]
    assert page.input_value("#slider") == "3"
    assert page.get_attribute("#permalink", "href") == "#v=3"
    assert page.get_attribute("#export-md", "href") == f"/api/docs/{doc}/export?version=3&format=md"
    # following another link (a changed hash) moves the slider
    page.evaluate("location.hash = '#v=6'")
    assert shown(page, 6) == texts[6]
    assert page.input_value("#slider") == "6"
    # playing steps forward to the head, one version at a time, each text exact
    page.select_option("#speed", "50")
    page.keyboard.press("Home")
    assert shown(page, 0) == ""
    page.click("body")
    page.keyboard.press(" ")
    page.wait_for_selector("#play[aria-pressed=false]", timeout=WAIT_MS)
    assert shown(page, len(texts) - 1) == texts[-1]
    assert not page.errors


def test_compare_shows_insertions_and_deletions(new_context, server, doc, artifacts):
    texts = make_history(server, doc)
    page = open_history(new_context(), f"/d/{doc}/history#v=3")
    page.click("#tab-compare")  # opens at v2 -> v3 (the slider's step)
    page.wait_for_selector("#cmp-out[data-state=done][data-from='2'][data-to='3']")
    assert page.inner_text("#cmp-inline ins") == "second idea\n"
    assert page.locator("#cmp-inline del").count() == 0
    # version 4 -> 5 replaced "first" with "best"; side by side shows each side
    page.fill("#cmp-from", "4")
    page.fill("#cmp-to", "5")
    page.select_option("#cmp-mode", "side")
    page.click("#cmp-run")
    page.wait_for_selector("#cmp-out[data-state=done][data-from='4'][data-to='5']")
    assert page.inner_text("#cmp-left del") == "fir"  # the server's diff, as /diff gives it
    assert page.inner_text("#cmp-right ins") == "be"
    assert page.text_content("#cmp-left").replace("⋯", "") and page.locator("#cmp-right del").count() == 0
    page.check("#cmp-all")  # the whole text, nothing collapsed: each side spells its version
    assert page.text_content("#cmp-left") == texts[4]
    assert page.text_content("#cmp-right") == texts[5]
    assert re.search(r"\+\d+ −\d+", page.inner_text("#cmp-stats"))
    page.screenshot(path=str(artifacts / "history-compare.png"))
    assert not page.errors


def test_revert_an_author_with_a_preview_and_name_versions(new_context, server, doc):
    texts = make_history(server, doc)
    head = len(texts) - 1
    page = open_history(new_context(), f"/d/{doc}/history#v=0")
    # revert everything the hostile author wrote since version 0
    page.fill("#revert-author", EVIL_NAME)
    page.click("#revert-preview")
    page.wait_for_selector("#revert-out[data-state=done]")
    assert "中文 line" in page.inner_text("#revert-diff del")
    assert api(server, doc)["version"] == head  # a preview changes nothing
    page.click("#revert-apply")
    page.wait_for_selector(f"#hist-text[data-version='{head + 1}']")
    after = server_text(server, doc)
    assert "中文" not in after and "script" not in after and "# Plan" in after and "the end" in after
    assert shown(page, head + 1) == after
    # a named version: add, jump to it, remove
    slide_to(page, 2)
    shown(page, 2)
    page.fill("#label-name", "draft <i>one")
    page.click("#label-add")
    page.wait_for_selector("#labels .label-jump")
    assert page.inner_text("#labels .label-jump") == "draft <i>one"
    assert api(server, doc, "/labels")["labels"] == [{"version": 2, "name": "draft <i>one", "ts": pytest.approx(0, abs=1e12)}]
    page.keyboard.press("End")
    shown(page, head + 1)
    page.click("#labels .label-jump")
    assert shown(page, 2) == texts[2]
    page.click("#labels .label-delete")
    page.wait_for_selector("#labels .label-jump", state="detached")
    assert api(server, doc, "/labels")["labels"] == []
    assert not page.errors


def test_user_strings_stay_text(new_context, server, doc):
    texts = make_history(server, doc)
    head = len(texts) - 1
    page = open_history(new_context(), f"/d/{doc}/history")
    page.wait_for_selector("#hist-text[data-state=blame]")
    assert page.text_content("#hist-text") == texts[head]
    assert EVIL_TEXT in page.text_content("#hist-text")
    page.wait_for_function("document.querySelector('#legend').textContent.includes(%r)" % EVIL_NAME)
    slide_to(page, 4)  # the hostile author's revision
    shown(page, 4)
    page.wait_for_function("document.querySelector('#step-author').textContent.includes(%r)" % EVIL_NAME)
    page.click("#tab-compare")
    page.wait_for_selector("#cmp-out[data-state=done]")
    assert EVIL_TEXT in page.inner_text("#cmp-inline ins")
    page.wait_for_timeout(300)  # a broken image's onerror would have fired by now
    assert page.evaluate("window.__pwned") is None
    for sel in ("img", "script", "b", "i"):
        assert page.locator(f"main {sel}, header {sel}, #step-info {sel}").count() == 0, sel
    assert not page.errors


def test_read_only_history_never_shows_the_edit_id(new_context, server, doc):
    texts = make_history(server, doc)
    r = requests.get(f"{server.url}/api/docs/{doc}/links", timeout=10)
    token = r.json()["view_url"].rsplit("/", 1)[1]
    html = requests.get(f"{server.url}/v/{token}/history", timeout=10)
    assert html.status_code == 200 and doc not in html.text and f'data-view="{token}"' in html.text
    assert requests.get(f"{server.url}/d/bad%20id/history", timeout=10).status_code == 404
    page = open_history(new_context(), f"/v/{token}/history#v=4")
    assert shown(page, 4) == texts[4]
    assert page.locator("#restore").count() == 0 and page.locator("#label-add").count() == 0
    assert page.get_attribute("#back", "href") == f"/v/{token}"
    assert token in page.get_attribute("#export-txt", "href")
    assert doc not in page.content()
    # and the editor links to its history
    editor = open_editor(new_context(), f"/d/{doc}")
    assert editor.get_attribute("#history-link", "href") == f"/d/{doc}/history"
    viewer = open_editor(new_context(), f"/v/{token}")
    assert viewer.get_attribute("#history-link", "href") == f"/v/{token}/history"
    assert not page.errors


def test_a_long_history_is_loaded_in_pages_around_the_slider(new_context, server, doc):
    with Document.open(server.url, doc, name="Typist") as typist:
        for i in range(260):
            typist.insert(len(typist.text), f"{i} ")
            typist.wait_synced()
    assert api(server, doc)["version"] == 260
    ctx = new_context()
    asked: list[str] = []
    ctx.on("request", lambda req: asked.append(req.url))
    page = open_history(ctx, f"/d/{doc}/history#v=230")
    assert shown(page, 230) == version_text(server, doc, 230)
    page.wait_for_function("document.querySelector('#step-author').textContent === 'Typist'")
    pages = [u for u in asked if "/revisions?" in u]
    assert pages and all("limit=100" in u for u in pages), pages
    assert not any("since=0&" in u for u in pages), pages  # not from the start: around v230
    # stepping forward applies each revision's patch: no request for those versions' texts
    page.focus("#slider")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert shown(page, 235) == version_text(server, doc, 235)
    assert not [u for u in asked if re.search(r"/versions/23[1-5]$", u)]
    assert not page.errors


def test_the_revert_preview_after_restores_promises_exactly_what_the_revert_does(new_context, server, doc, artifacts):
    """Issue 13 item 8: Bob's sentence, written in two revisions, restored half and then
    whole by Cy. The preview of reverting Bob since v0 takes out exactly Bob's sentence and
    brings back nothing; blame colours it as Bob's, not Cy's."""
    ann_text = "Ann wrote this paragraph first. "
    bob_text = "(Bob edit) Then Bob adds a sentence that ends the parag"
    ann = Document.open(server.url, doc, name="Ann")
    bob = Document.open(server.url, doc, name="Bob")
    try:
        for client, text in ((ann, ann_text), (bob, bob_text), (bob, "raph.")):
            with client.editing():
                client.replace(len(client.text), 0, text)
            client.wait_synced()
    finally:
        ann.close()
        bob.close()
    for version in (2, 3):
        r = requests.post(f"{server.url}/api/docs/{doc}/restore", json={"version": version, "name": "Cy"}, timeout=10)
        assert r.status_code == 201, r.text
    assert server_text(server, doc) == ann_text + bob_text + "raph."
    page = open_history(new_context(), f"/d/{doc}/history#v=0")
    page.fill("#revert-author", "Bob")
    page.click("#revert-preview")
    page.wait_for_selector("#revert-out[data-state=done]")
    assert page.eval_on_selector_all("#revert-diff del", "els => els.map(e => e.textContent)") == [bob_text + "raph."]
    assert page.eval_on_selector_all("#revert-diff ins", "els => els.length") == 0
    assert "bring back" not in page.inner_text("#revert-out")
    page.locator("#revert-out").screenshot(path=str(artifacts / "history-revert-after-restores.png"))
    # the head, coloured by author: Bob's sentence is Bob's
    slide_to(page, 5)
    page.wait_for_selector("#hist-text[data-version='5'][data-state=blame]")
    by = page.eval_on_selector_all("#hist-text .blame", "els => els.map(e => [e.dataset.author, e.textContent])")
    assert {who for who, _ in by} == {"Ann", "Bob"}
    assert "".join(t for who, t in by if who == "Bob") == bob_text + "raph."
    assert not page.errors


def compare(page: Any, a: int, b: int) -> tuple[str, list[str]]:
    """Compare v`a` with v`b` inline, all text: the stats line and the changes in order."""
    page.fill("#cmp-from", str(a))
    page.fill("#cmp-to", str(b))
    page.click("#cmp-run")
    page.wait_for_selector(f"#cmp-out[data-state=done][data-from='{a}'][data-to='{b}']")
    changes = page.eval_on_selector_all("#cmp-inline ins, #cmp-inline del", "els => els.map(e => e.textContent)")
    return page.inner_text("#cmp-stats"), changes


def test_compare_shows_exactly_the_servers_diff(new_context, server, doc):
    """Issue 13: Compare widened changes to whole words, so an insert after a word read as
    that word deleted and typed again ("+115 −5" where /diff said "+111 −0"). The page shows
    /diff's edits and counts them in code points, as the server does, emoji and CJK too."""
    steps = [
        (lambda t: (0, 0, "Notes 😀 on 中文 text\nline two has words\n👩‍👩‍👧 family 𝄞 clef\n")),
        # an insert right after a word, over several lines: the tester's case
        (lambda t: (t.index(" 😀"), 0, "worthy 😀😁 and more\n新しい 行 here\nand a third")),
        (lambda t: (t.index("中文"), 2, "汉字漢字")),  # CJK replaced inside a line
        (lambda t: (t.index("line two"), len("line two has words\n"), "")),  # a whole line deleted
        (lambda t: (t.index("𝄞") + 1, 0, "𝄢 bass")),  # next to astral characters
    ]
    with Document.open(server.url, doc, name="Ann") as ann:
        for edit in steps:
            with ann.editing():
                ann.replace(*edit(ann.text))
            ann.wait_synced()
    head = len(steps)
    page = open_history(new_context(), f"/d/{doc}/history")
    page.click("#tab-compare")
    page.wait_for_selector("#cmp-out[data-state=done]")
    page.check("#cmp-all")
    for a, b in [(1, 2), (0, head), (1, head), (2, 4), (head, 1), (3, 3)]:
        d = api(server, doc, f"/diff?from={a}&to={b}")
        inserted = sum(len(e["insert"]) for e in d["edits"])  # code points, as Python counts
        deleted = sum(len(e["delete"]) for e in d["edits"])
        stats, changes = compare(page, a, b)
        assert stats == f"v{a} → v{b}: +{inserted} −{deleted} characters", (a, b, d["edits"])
        if a != b:
            assert changes == [t for e in d["edits"] for t in (e["delete"], e["insert"]) if t], (a, b)
            # and the inline text spells the old text with the deletions, the new with the insertions
            assert page.eval_on_selector("#cmp-inline", "p => [...p.childNodes].filter(n => n.nodeName !== 'INS')"
                                         ".map(n => n.textContent).join('')") == version_text(server, doc, a)
            assert page.eval_on_selector("#cmp-inline", "p => [...p.childNodes].filter(n => n.nodeName !== 'DEL')"
                                         ".map(n => n.textContent).join('')") == version_text(server, doc, b)
    stats, _ = compare(page, 1, 2)
    assert stats == "v1 → v2: +41 −0 characters"  # 😀😁 two, 新しい 行 four: code points
    assert not page.errors
