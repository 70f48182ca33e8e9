"""A person's own colour (issue 15): `join {color}` takes only the palette's colours, people
present never share one (the later pick gives way to the nearest free colour), and the
palette is the browser's (frontend/src/dom.js COLORS)."""
import functools
import json
import re

import pytest
from socketkit import events

from bench.liveserver import REPO_ROOT
from collab.core.errors import CollabError
from collab.core.palette import PALETTE, check_color, nearest_free

RED, ORANGE, PINK = PALETTE[0], PALETTE[1], PALETTE[-1]


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_palette_is_the_browsers_and_reaches_aa_in_both_themes():
    source = (REPO_ROOT / "frontend" / "src" / "dom.js").read_text()
    listed = re.search(r"const COLORS = (\[[^\]]*\])", source)
    assert listed, "dom.js keeps the palette as `const COLORS = [...]`"
    assert tuple(json.loads(listed.group(1).replace("'", '"'))) == PALETTE
    style = (REPO_ROOT / "frontend" / "src" / "style.css").read_text()
    light, dark = re.search(r"--bg: light-dark\((#[0-9a-f]+), (#[0-9a-f]+)\)", style).groups()
    light = "#ffffff" if light == "#fff" else light
    for color in PALETTE:
        # a dot, a cursor, a border: 3:1 (WCAG 1.4.11) on either background; the white name
        # label of a cursor on it is text: 4.5:1
        assert _contrast(color, light) >= 3 and _contrast(color, dark) >= 3, color
        assert _contrast(color, "#ffffff") >= 4.5, color
    assert len(set(PALETTE)) == len(PALETTE)


@pytest.mark.parametrize("bad", ["red", "#D41111 ", "#123456", "", "auto", 7, ["#d41111"], {"x": 1},
                                 "#d41111;background:url(x)", "var(--bg)", True])
def test_anything_but_a_palette_colour_is_refused(bad):
    with pytest.raises(CollabError) as refused:
        check_color(bad)
    assert refused.value.code == "bad_request"
    assert "palette" in refused.value.message and "automatic" in refused.value.message


def test_a_palette_colour_in_any_case_or_none_passes():
    assert check_color(None) is None
    assert check_color(RED.upper()) == RED


def test_the_nearest_free_colour_is_the_neighbour_in_hue():
    assert nearest_free(RED, []) == RED
    assert nearest_free(RED, [RED]) == ORANGE  # a tie: the next one up
    assert nearest_free(RED, [RED, ORANGE]) == PINK  # the other way round, one step
    assert nearest_free(RED, PALETTE) == RED  # all taken: the pick itself


def _join(connect, doc, name, color=None, *, client=None):
    c = client or connect()
    ack = c.emit("join", {"doc": doc, "name": name, **({} if color is None else {"color": color})}, callback=True)
    return c, ack


def test_a_join_with_a_colour_not_in_the_palette_is_refused_and_changes_nothing(connect, doc_id):
    watcher, ack = _join(connect, doc_id, "Ann")
    assert ack["ok"]
    events(watcher, "presence")
    c, refused = _join(connect, doc_id, "Bob", "url(javascript:alert(1))")
    assert refused["ok"] is False and refused["error"]["code"] == "bad_request"
    assert "palette" in refused["error"]["message"]
    again = watcher.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    assert [p["name"] for p in again["peers"]] == ["Ann"]  # Bob never joined
    _, later = _join(connect, doc_id, "Cy", RED, client=c)  # the same connection, a good colour
    assert later["ok"]


def _heard(app, client, name):
    """The last entry for `name` in the presence messages `client` got, waiting for it (at
    most a few seconds: presence is throttled)."""
    import time

    deadline, seen = time.monotonic() + 5, []
    while not seen and time.monotonic() < deadline:
        app.extensions["socketio"].sleep(0.02)
        seen = [p for m in events(client, "presence") for p in m["peers"] if p["name"] == name]
    return seen[-1] if seen else None


def test_people_present_never_share_a_picked_colour_and_the_later_gives_way(make_app, connect, doc_id):
    app = make_app(presence_interval=0.01)
    connect = functools.partial(connect, app)
    ann, first = _join(connect, doc_id, "Ann", RED)
    assert first["peers"] == [{"id": first["you"], "name": "Ann", "role": "editor", "version": 0, "color": RED}]
    bob, second = _join(connect, doc_id, "Bob", RED)
    by_name = {p["name"]: p for p in second["peers"]}
    assert by_name["Ann"]["color"] == RED and by_name["Bob"]["color"] == ORANGE
    # Ann hears of it too, with Bob's colour
    heard = _heard(app, ann, "Bob")
    assert heard is not None and heard["color"] == ORANGE
    # automatic people carry no colour: their entries are as before this extension
    _, third = _join(connect, doc_id, "Cy")
    assert "color" not in {p["name"]: p for p in third["peers"]}["Cy"]
    # Ann leaves; Bob's rename (a join again) gets his pick back
    assert ann.emit("leave", {"doc": doc_id}, callback=True)["ok"]
    _, renamed = _join(connect, doc_id, "Bob B", RED, client=bob)
    assert {p["name"]: p.get("color") for p in renamed["peers"]}["Bob B"] == RED
    # and going back to automatic drops the colour
    _, auto = _join(connect, doc_id, "Bob B", client=bob)
    assert "color" not in {p["name"]: p for p in auto["peers"]}["Bob B"]


def test_a_rename_that_keeps_the_colour_keeps_it(connect, doc_id):
    """Joining again with one's own colour is not a clash with oneself."""
    bob, _ = _join(connect, doc_id, "Bob", PINK)
    _, again = _join(connect, doc_id, "Robert", PINK, client=bob)
    assert [(p["name"], p["color"]) for p in again["peers"]] == [("Robert", PINK)]


def test_a_colour_another_process_wrote_is_checked_again(redis_url):
    """What a shared Redis holds goes into pages' CSS: a colour there that is not the
    palette's is dropped when read (as written by an old or a hostile process)."""
    import secrets

    import redis

    from collab.server.presence import RedisPresence

    namespace = "t" + secrets.token_hex(8)
    doc = "edit-" + secrets.token_hex(8)
    presence = RedisPresence(redis_url, spawn=lambda *_: None, sleep=lambda _: None, process_id="p1", namespace=namespace)
    other = RedisPresence(redis_url, spawn=lambda *_: None, sleep=lambda _: None, process_id="p2", namespace=namespace)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(other._alive_key("p2"), "1", ex=30)
        key = other._key(doc)
        client.hset(key, "x", json.dumps({"id": "x", "name": "X", "role": "editor", "version": 0,
                                          "color": "red;background:url(//evil)", "process": "p2"}))
        client.hset(key, "y", json.dumps({"id": "y", "name": "Y", "role": "editor", "version": 0,
                                          "color": PINK, "process": "p2"}))
        peers = {p["id"]: p for p in presence.peers(doc)}
        assert "color" not in peers["x"] and peers["y"]["color"] == PINK
    finally:
        client.delete(*client.scan_iter(f"{namespace}:*"))


def test_a_viewers_pick_is_checked_but_takes_no_colour(make_app, connect, doc_id):
    """Viewers are counted, never listed: their pick would keep a colour from an editor for
    nobody to see. It is still checked (a bad one is refused)."""
    app = make_app()
    c = functools.partial(connect, app)
    _join(c, doc_id, "Ed")
    token = app.extensions["collab"].open(doc_id).view_token
    viewer = c()
    bad = viewer.emit("join", {"view": token, "name": "Vi", "color": "red"}, callback=True)
    assert bad["ok"] is False and bad["error"]["code"] == "bad_request"
    assert viewer.emit("join", {"view": token, "name": "Vi", "color": RED}, callback=True)["ok"]
    _, later = _join(c, doc_id, "Al", RED)
    assert {p["name"]: p.get("color") for p in later["peers"]}["Al"] == RED
