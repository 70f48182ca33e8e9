"""The history page's colours (issue 15): the server remembers the colour each author last
wrote in, when they picked one, and GET /api/docs/<doc>/colors lists it (by edit id or view
token), the latest first, kept after they leave and after a restart."""
from __future__ import annotations

import functools

import pytest
from socketkit import patch
from tests.server.test_accounts import sign_up, wait_until

from collab.core.palette import PALETTE

RED, ORANGE, BLUE = PALETTE[0], PALETTE[1], PALETTE[7]


def colors(http, key):
    r = http.get(f"/api/docs/{key}/colors")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["doc"] == key
    return body["colors"]


def listed(http, key):
    return [(c["author"], c.get("account"), c["color"]) for c in colors(http, key)]


def until_listed(http, key, expected):
    """The list, once it is `expected` (the writes are in the background), else as it is."""
    wait_until(lambda: listed(http, key) == expected, timeout=5)
    return listed(http, key)


class Writer:
    """A person in the editor: joins with a colour (or none), types."""

    def __init__(self, connect, doc, name, color=None, **kw):
        self.doc, self.c = doc, connect(**kw)
        self.join(name, color)

    def join(self, name, color=None):
        ack = self.c.emit("join", {"doc": self.doc, "name": name, **({} if color is None else {"color": color})},
                          callback=True)
        assert ack["ok"], ack
        self.version, self.text = ack["version"], ack["text"]
        return ack

    def type(self, more):
        """Append `more` to what this person last saw (a base others wrote after is rebased)."""
        ack = patch(self.c, self.doc, self.version, self.text, self.text + more, f"op-{id(self)}-{len(self.text)}")
        assert ack["ok"], ack
        self.version, self.text = ack["version"], self.text + more


@pytest.fixture
def http(app):
    return app.test_client()


def test_a_picked_colour_is_listed_once_its_person_writes_and_kept_after_they_leave(app, connect, http, doc_id):
    ann = Writer(connect, doc_id, "Ann", BLUE)
    Writer(connect, doc_id, "Reader", RED)  # joins with a colour, never writes: not an author
    assert colors(http, doc_id) == []  # nothing written yet
    ann.type("Hello")
    assert until_listed(http, doc_id, [("Ann", None, BLUE)]) == [("Ann", None, BLUE)]
    assert ann.c.emit("leave", {"doc": doc_id}, callback=True)["ok"]
    ann.c.disconnect()
    assert listed(http, doc_id) == [("Ann", None, BLUE)]
    token = app.extensions["collab"].open(doc_id).view_token
    assert listed(http, token) == [("Ann", None, BLUE)]  # a viewer's history page reads it too
    assert colors(http, token)[0]["ts"] > 0


def test_the_colour_listed_is_the_one_they_were_shown_in(make_app, connect, doc_id):
    """Bob picked red while Ann had it: the editor showed him in orange, and so does history."""
    app = make_app()
    http, c = app.test_client(), functools.partial(connect, app)
    ann, bob = Writer(c, doc_id, "Ann", RED), Writer(c, doc_id, "Bob", RED)
    ann.type("Ann's. ")
    until_listed(http, doc_id, [("Ann", None, RED)])
    bob.type("Bob's.")
    assert until_listed(http, doc_id, [("Bob", None, ORANGE), ("Ann", None, RED)]) == [
        ("Bob", None, ORANGE), ("Ann", None, RED)]  # the latest written first


def test_writing_in_the_automatic_colour_forgets_the_pick_and_a_new_pick_replaces_it(connect, http, doc_id):
    ann = Writer(connect, doc_id, "Ann", BLUE)
    ann.type("one ")
    until_listed(http, doc_id, [("Ann", None, BLUE)])
    ann.join("Ann", RED)  # the picker: a join again with the new colour
    ann.type("two ")
    assert until_listed(http, doc_id, [("Ann", None, RED)]) == [("Ann", None, RED)]
    ann.join("Ann")  # automatic
    assert listed(http, doc_id) == [("Ann", None, RED)]  # a join alone changes nothing
    ann.type("three")
    assert until_listed(http, doc_id, []) == []
    Writer(connect, doc_id, "Cy").type(" Cy")  # automatic from the start: never listed
    assert listed(http, doc_id) == []


def test_only_a_change_is_stored(connect, http, doc_id):
    """Typing on in one colour writes nothing more: the row keeps the time of the first patch."""
    ann = Writer(connect, doc_id, "Ann", BLUE)
    ann.type("a")
    until_listed(http, doc_id, [("Ann", None, BLUE)])
    first = colors(http, doc_id)[0]["ts"]
    for more in "bcdef":
        ann.type(more)
    other = Writer(connect, doc_id, "Bob", RED)
    other.type("!")  # something later that is stored, to wait for
    until_listed(http, doc_id, [("Bob", None, RED), ("Ann", None, BLUE)])
    assert colors(http, doc_id)[1]["ts"] == first


def test_the_latest_writer_of_a_colour_is_listed_first_however_long_they_typed_in_it(connect, http, doc_id,
                                                                                      monkeypatch):
    """Ann writes in blue, Carol (once Ann left) too, then Ann again: Ann is the latest writer
    of blue and is listed first (the history page gives her blue). Her row kept the time of her
    first patch in it, as only a change was stored, and Carol kept blue. The time is written
    again once older than REFRESH_AFTER (0 here: at every patch)."""
    from collab.service import colors as service_colors

    monkeypatch.setattr(service_colors, "REFRESH_AFTER", 0.0)
    ann = Writer(connect, doc_id, "Ann", BLUE)
    ann.type("a")
    until_listed(http, doc_id, [("Ann", None, BLUE)])
    ann.c.disconnect()
    carol = Writer(connect, doc_id, "Carol", BLUE)
    carol.type("c")
    until_listed(http, doc_id, [("Carol", None, BLUE), ("Ann", None, BLUE)])
    carol.c.disconnect()
    ann = Writer(connect, doc_id, "Ann", BLUE)
    ann.type("a")
    assert until_listed(http, doc_id, [("Ann", None, BLUE), ("Carol", None, BLUE)]) == [
        ("Ann", None, BLUE), ("Carol", None, BLUE)]


def test_the_colours_are_kept_across_a_restart(make_app, connect, doc_id):
    app = make_app()
    ann = Writer(functools.partial(connect, app), doc_id, "Ann", BLUE)
    ann.type("Hello")
    until_listed(app.test_client(), doc_id, [("Ann", None, BLUE)])
    app.extensions["collab"].close()
    again = make_app()  # a new process on the same database: nothing in memory
    assert listed(again.test_client(), doc_id) == [("Ann", None, BLUE)]


def test_an_unknown_document_has_no_colours(http):
    r = http.get("/api/docs/no-such-doc-123/colors")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_a_signed_in_author_is_listed_by_account_apart_from_a_guest_of_the_same_name(make_app, connect, doc_id):
    app = make_app(sign_in="local", sign_up=1)
    http = app.test_client()
    assert sign_up(http, name="Ann").status_code in (200, 201)
    member = Writer(functools.partial(connect, app, flask_test_client=http), doc_id, "ignored", BLUE)
    member.type("signed ")
    guest = Writer(functools.partial(connect, app), doc_id, "Ann", RED)
    guest.type("guest")
    wait_until(lambda: len(colors(http, doc_id)) == 2, timeout=5)
    by = {c.get("account"): c for c in colors(http, doc_id)}
    account = next(a for a in by if a is not None)
    assert (by[account]["author"], by[account]["color"]) == ("Ann", BLUE)
    assert (by[None]["author"], by[None]["color"]) == ("Ann", RED)
