"""Authorship colours in the editor (issue 15, Etherpad's): toggled from the people menu, they
start from the server's blame (restored text keeps its writer) and follow the text live, each
person in the colour presence gives them."""
from __future__ import annotations

import pytest

from browserkit import open_editor, wait_all_equal
from collab.client.document import Document

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def marked(page, name: str) -> str:
    return page.evaluate("(n) => [...document.querySelectorAll('.cm-author')].filter((e) => e.title === n).map((e) => e.textContent).join('')", name)


def test_authorship_colours_start_from_blame_and_follow_the_typing(new_context, server, doc, artifacts):
    with Document.open(server.url, doc, name="Alice") as alice:
        with alice.editing():
            alice.replace(0, 0, "Alice wrote this line.\n")
        alice.wait_synced()
    bob = open_editor(new_context(viewport={"width": 1280, "height": 600}), f"/d/{doc}", name="Bob")
    carol = open_editor(new_context(), f"/d/{doc}", name="Carol")
    assert bob.locator(".cm-author").count() == 0  # off until asked for
    bob.click("#people summary")
    bob.check("#authorship")
    bob.wait_for_function("document.querySelectorAll('.cm-author').length > 0")
    assert marked(bob, "Alice").startswith("Alice wrote this line.")

    bob.click(".cm-content")
    bob.keyboard.press("Control+End")
    bob.keyboard.type("Bob adds this.")
    carol.click(".cm-content")
    # the caret at the start, asked of the editor (what this test is about is the colours; a
    # Control+Home pressed while a busy machine was still handling the click once left it at 1)
    carol.evaluate("window.collab.editor.view.dispatch({ selection: { anchor: 0 } })")
    carol.keyboard.type("Carol first. ")
    wait_all_equal(server, doc, [bob, carol])
    bob.wait_for_function("[...document.querySelectorAll('.cm-author')].some((e) => e.title === 'Carol')")
    assert marked(bob, "Bob") == "Bob adds this."
    assert marked(bob, "Carol") == "Carol first. "
    assert "Alice wrote this line." in marked(bob, "Alice")
    # Carol's text has the colour of Carol in the people list
    bob.wait_for_function("[...document.querySelectorAll('#peers .peer')].some((p) => p.textContent.startsWith('Carol'))")
    dot = bob.evaluate("[...document.querySelectorAll('#peers .peer')].find((p) => p.textContent.startsWith('Carol')).querySelector('.dot').style.background")
    mark = bob.evaluate("[...document.querySelectorAll('.cm-author')].find((e) => e.title === 'Carol').style.getPropertyValue('--author')")
    probe = bob.evaluate("(c) => { const e = document.createElement('i'); e.style.background = c; return e.style.background; }", mark.strip())
    assert probe == dot
    bob.screenshot(path=str(artifacts / "authorship.png"))

    # a fresh look agrees with the live one: blame from the server names the same writers
    bob.uncheck("#authorship")
    assert bob.locator(".cm-author").count() == 0
    bob.check("#authorship")
    bob.wait_for_function("[...document.querySelectorAll('.cm-author')].some((e) => e.title === 'Carol')")
    assert (marked(bob, "Bob"), marked(bob, "Carol")) == ("Bob adds this.", "Carol first. ")


@pytest.mark.parametrize("where", ["local", "remote"])
def test_text_typed_inside_anothers_words_is_only_its_writers(new_context, server, doc, where):
    """A mark that covered the place where text went in grew over the new text when the
    document changed: typed inside Alice's sentence, Carol's letters were coloured as
    Alice's and as Carol's at once ("AlCarolice", seen in a full run under load), while blame
    said Carol's. Typed here (local) or seen arriving from another editor (remote)."""
    with Document.open(server.url, doc, name="Alice") as alice:
        with alice.editing():
            alice.replace(0, 0, "Alice wrote this line.")
        alice.wait_synced()
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    bob.click("#people summary")
    bob.check("#authorship")
    bob.wait_for_function("document.querySelectorAll('.cm-author').length > 0")
    if where == "local":
        bob.click(".cm-content")
        bob.evaluate("window.collab.editor.view.dispatch({ selection: { anchor: 2 } })")
        bob.keyboard.type("[Bob]")
    else:
        with Document.open(server.url, doc, name="Carol") as carol:
            with carol.editing():
                carol.replace(2, 0, "[Bob]")
            carol.wait_synced()
    assert wait_all_equal(server, doc, [bob]) == "Al[Bob]ice wrote this line."
    who = "Bob" if where == "local" else "Carol"
    bob.wait_for_function("(w) => [...document.querySelectorAll('.cm-author')].some((e) => e.title === w)", arg=who)
    assert marked(bob, who) == "[Bob]"
    assert marked(bob, "Alice") == "Alice wrote this line."  # its two pieces, none of the new text


def test_the_text_of_someone_whose_colour_changes_changes_colour_with_them(new_context, server, doc):
    """A person's colour may change while their text is coloured (they pick another, someone
    comes or goes): the text kept the colour it was typed in and disagreed with the people
    list (a full run's "rgb(10, 118, 109) == rgb(13, 111, 160)"). Now it follows them."""
    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    carol = open_editor(new_context(), f"/d/{doc}", name="Carol")
    carol.click(".cm-content")
    carol.keyboard.type("Carol's line.")
    wait_all_equal(server, doc, [bob, carol])
    bob.click("#people summary")
    bob.check("#authorship")
    agree = """(want) => {
        const norm = (c) => { const e = document.createElement('i'); e.style.background = c; return e.style.background; };
        const peer = [...document.querySelectorAll('#peers .peer')].find((p) => p.textContent.startsWith('Carol'));
        const mark = [...document.querySelectorAll('.cm-author')].find((e) => e.title === 'Carol');
        if (!peer || !mark) return false;
        const dot = peer.querySelector('.dot').style.background;
        return norm(mark.style.getPropertyValue('--author').trim()) === dot && (!want || dot === norm(want));
    }"""
    bob.wait_for_function(agree, arg=None)
    # Carol picks a colour nobody here has, and comes back with it
    taken = bob.eval_on_selector_all("#peers .peer .dot", "(ds) => ds.map((d) => d.style.background)")
    palette = ["#d41111", "#aa4f0e", "#89630b", "#52760a", "#0a7b26", "#0a766d", "#0d6fa0", "#185fec", "#7147f0"]
    free = next(c for c in palette if bob.evaluate("(c) => { const e = document.createElement('i'); e.style.background = c; return e.style.background; }", c) not in taken)
    carol.evaluate("(c) => localStorage.setItem('collab:color', c)", free)
    carol.reload()
    carol.wait_for_function("window.collab && window.collab.conn.joined")
    bob.wait_for_function(agree, arg=free)  # the dot and the text both in the new colour


def test_the_text_of_someone_who_left_keeps_the_colour_they_picked(new_context, server, doc):
    """Someone who picked a colour, wrote and left: their text is coloured in their pick, as the
    history page colours them (the server keeps the colour each author last wrote in), not in
    their name's colour; and once someone present has that colour, the absent one gives way."""
    from test_history_colors import BLUE, pick, type_at_end
    from test_color_picker import css, name_color

    assert name_color("Ann") != BLUE
    ann = open_editor(new_context(), f"/d/{doc}", name="Ann")
    pick(ann, BLUE)
    type_at_end(ann, "Ann wrote this.")
    wait_all_equal(server, doc, [ann])
    ann.close()

    bob = open_editor(new_context(), f"/d/{doc}", name="Bob")
    bob.click("#people summary")
    bob.check("#authorship")
    colour_of_ann = """() => { const m = [...document.querySelectorAll('.cm-author')].find((e) => e.title === 'Ann');
        if (!m) return null; const e = document.createElement('i'); e.style.background = m.style.getPropertyValue('--author').trim(); return e.style.background; }"""
    bob.wait_for_function(f"({colour_of_ann})() !== null")
    assert marked(bob, "Ann") == "Ann wrote this."
    assert bob.evaluate(colour_of_ann) == css(bob, BLUE)

    # Carol comes with that colour picked: she has it now, and Ann's text takes another
    carol_ctx = new_context()
    carol_ctx.add_init_script(f"localStorage.setItem('collab:color', '{BLUE}')")
    open_editor(carol_ctx, f"/d/{doc}", name="Carol")
    bob.wait_for_function("[...document.querySelectorAll('#peers .peer')].some((p) => p.textContent.startsWith('Carol'))")
    bob.wait_for_function(f"(blue) => ({colour_of_ann})() !== blue", arg=css(bob, BLUE))
