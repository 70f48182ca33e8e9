"""The Python client (collab/client/document.py) against the real server: refusals are not sticky
(issue 13 item 11). After `internal` the op goes again by itself; after `too_large` the next
edit is sent; a viewer's local edit is refused at once, not accepted and refused later."""
from __future__ import annotations

import os
import sqlite3
import time
from typing import Callable, Iterator

import pytest
import requests

from collab.client.document import CollabClientError, Document
from bench.liveserver import LiveServer


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def stored_text(server: LiveServer, doc: str) -> str:
    return requests.get(f"{server.url}/api/docs/{doc}", timeout=10).json()["text"]


@pytest.mark.parametrize("answer", ["nope", ["x"], {"ok": False, "error": "no object"}])
def test_a_malformed_join_answer_is_refused_at_once(answer):
    """A server (not collab's) answering join with something that is not the contract's:
    the client says so at once, instead of failing in its callback and timing out."""
    import threading

    import socketio
    from werkzeug.serving import make_server

    sio = socketio.Server(async_mode="threading")
    sio.on("join", lambda sid, data: answer)
    server = make_server("127.0.0.1", 0, socketio.WSGIApp(sio), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(CollabClientError) as exc:  # (a TimeoutError before: the callback failed)
            Document(f"http://127.0.0.1:{server.server_port}", "doc", transports=["polling"], timeout=30)
        assert exc.value.error["code"] == "internal"
    finally:
        server.shutdown()
        thread.join(10)


def test_after_internal_the_client_sends_the_op_again_by_itself(tmp_path, doc_id):
    """Another process holds the database: the write fails, the ack is `internal`. The client
    shows the error, keeps the op and resends it with the same id once it can be stored."""
    db = tmp_path / "locked.db"
    with LiveServer(tmp_path, database_url=f"sqlite:///{db}?timeout=0.1") as server:
        with Document(server.url, doc_id, name="writer") as d:
            d.insert(0, "one")
            d.wait_synced(10)
            blocker = sqlite3.connect(db, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                d.insert(3, " two")
                wait_until(lambda: (d.refusal or {}).get("code") == "internal", 20, "an `internal` refusal")
                print(f"refusal shown while the database is held: {d.refusal}")
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            d.insert(7, " three")  # typed meanwhile: goes after the resent op
            d.wait_synced(30)
            assert d.refusal is None
            assert d.text == "one two three"
        assert stored_text(server, doc_id) == "one two three"


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose documents hold at most 1,000 code points."""
    env = dict(os.environ, COLLAB_MAX_DOC_CHARS="1000")
    with LiveServer(tmp_path_factory.mktemp("small"), env=env) as server:
        yield server


def test_after_too_large_the_next_edit_is_sent(small_server, doc_id):
    server = small_server
    with Document(server.url, doc_id, name="writer") as d:
        d.insert(0, "keep ")
        d.wait_synced(10)
        d.insert(5, "x" * 2000)
        with pytest.raises(CollabClientError) as refused:
            d.wait_synced(10)
        assert refused.value.error["code"] == "too_large"
        print(f"refusal: {refused.value.error['message']}")
        d.delete(5, 2000)
        d.insert(5, "more")
        d.wait_synced(10)
        assert stored_text(server, doc_id) == "keep more"


def test_after_too_large_from_the_server_what_remains_is_sent(small_server, doc_id):
    """A server that refuses what the client could not know about (its limit is lower than
    the one announced, e.g. after a configuration change): refused `too_large`, the text
    kept; after the user shortens it, sending goes on."""
    server = small_server
    with Document(server.url, doc_id, name="writer") as d:
        assert d.state is not None
        d.state.limits["doc"] = 10_000  # as if the join had announced more
        d.insert(0, "y" * 1500)
        with pytest.raises(CollabClientError) as refused:
            d.wait_synced(10)
        assert refused.value.error["code"] == "too_large"
        print(f"server's refusal: {refused.value.error['message']}")
        d.delete(900, 600)
        d.wait_synced(10)
        assert stored_text(server, doc_id) == "y" * 900


def test_a_viewer_s_local_edit_is_refused_at_once(small_server, doc_id):
    server = small_server
    with Document(server.url, doc_id, name="editor") as e:
        e.insert(0, "text")
        e.wait_synced(10)
        token = requests.get(f"{server.url}/api/docs/{doc_id}/links", timeout=10).json()["view_url"]
        with Document(server.url, view=token.rsplit("/", 1)[1], name="viewer") as v:
            with pytest.raises(CollabClientError) as refused:
                v.insert(0, "x")
            assert refused.value.error["code"] == "read_only"
            assert v.text == "text"
            v.wait_synced(5)  # nothing left unsaved
            e.insert(4, "!")
            e.wait_synced(10)
            wait_until(lambda: v.text == "text!", 10, "the editor's change reaching the viewer")


# -- what an integrator needs (issue 17): failover on the first connect, the change itself,
# -- presence and cursors; TLS is in tests/test_tls.py ------------------------------------------


def test_the_first_connect_fails_over_to_the_next_url(live_server, doc_id):
    from bench.liveserver import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    with Document([dead, live_server.url], doc_id, name="failover", timeout=5) as d:
        assert d.url == live_server.url
        d.insert(0, "reached the second")
        d.wait_synced(10)
    assert stored_text(live_server, doc_id) == "reached the second"
    import socketio

    with pytest.raises(socketio.exceptions.ConnectionError, match=f"could not connect to {dead}"):
        Document([dead], doc_id, timeout=2)


def test_on_revision_gives_the_edits_the_version_and_the_author(live_server, doc_id):
    from collab.client.document import Change
    from collab.core.patches import apply_edits

    with Document(live_server.url, doc_id, name="Ann") as ann, Document(live_server.url, doc_id, name="Bob") as bob:
        changes: list[Change] = []
        peers: list[list[dict]] = []
        cursors: list[dict] = []
        bob.on_revision(changes.append)
        bob.on_presence(peers.append)
        bob.on_cursor(cursors.append)
        ann.insert(0, "hello world")
        ann.wait_synced(10)
        wait_until(lambda: bob.text == "hello world", 10, "Bob seeing Ann's text")
        ann.replace(0, 5, "HELLO")
        ann.wait_synced(10)
        wait_until(lambda: bob.text == "HELLO world", 10, "Bob seeing Ann's change")
        assert [c.authors for c in changes] == [["Ann"], ["Ann"]]
        assert changes[-1].version == ann.version and changes[-1].text == "HELLO world"
        # the edits take the text before to the text after
        assert apply_edits("hello world", changes[-1].edits) == "HELLO world"
        ann.sio.emit("cursor", {"doc": ann.doc, "anchor": 2, "head": 5})
        wait_until(lambda: cursors, 10, "Ann's cursor reaching Bob")
        assert (cursors[-1]["name"], cursors[-1]["anchor"], cursors[-1]["head"]) == ("Ann", 2, 5)
        ann.close()
        wait_until(lambda: peers and [p["name"] for p in peers[-1]] == ["Bob"], 10, "presence without Ann")



def test_the_client_sends_its_colour_and_refuses_one_not_in_the_palette(small_server, doc_id):
    """issue 15: `color` goes with the join (and every rejoin); a colour the server would
    refuse is refused before connecting, naming the palette."""
    from collab.core.palette import PALETTE

    with pytest.raises(ValueError, match="palette"):
        Document(small_server.url, doc_id, name="bot", color="hotpink")
    with Document(small_server.url, doc_id, name="first", color=PALETTE[3]) as a:
        with Document(small_server.url, doc_id, name="second", color=PALETTE[3].upper()) as b:
            given = {p["name"]: p.get("color") for p in b.peers}
            assert given == {"first": PALETTE[3], "second": PALETTE[4]}  # the later gives way
            wait_until(lambda: {p["name"]: p.get("color") for p in a.peers} == given, 10, "presence reaching the first")


def test_the_python_client_knows_the_chosen_title(live_server, doc_id):
    """`Document.title`: the title the editors chose, from the join answer and from `title`
    messages (None when the first heading is the title), for an editor and a viewer."""
    with Document(live_server.url, doc_id, name="writer") as d:
        d.set_text("# heading\n")
        d.wait_synced()
        assert d.title is None
        view = requests.get(f"{live_server.url}/api/docs/{doc_id}/links", timeout=10).json()["view_url"].rsplit("/", 1)[1]
        r = requests.put(f"{live_server.url}/api/docs/{doc_id}/title", json={"title": "Chosen"}, timeout=10)
        assert r.status_code == 200, r.text
        wait_until(lambda: d.title == "Chosen", 10, "the editor told the title")
        with Document(live_server.url, view=view) as viewer:
            assert viewer.title == "Chosen"
            requests.put(f"{live_server.url}/api/docs/{doc_id}/title", json={"title": None}, timeout=10)
            wait_until(lambda: viewer.title is None and d.title is None, 10, "both told it is the heading again")
