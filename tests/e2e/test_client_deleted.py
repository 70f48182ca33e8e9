"""The Python client (collab/client/document.py) when its document is deleted (issue 13): it
stops for good, as the browser does. `doc.deleted` holds a DocumentDeleted (a
CollabClientError), `on_deleted` is told once, the text typed stays readable, and nothing is
sent, resent or joined again: whether it learns it from the `gone` message, from a re-join
answered `deleted`, from a patch or a sync refused `deleted`, or on opening.

Against the real server where it can say it (`gone`, a deleted document opened); against a
scripted Socket.IO server where only a race can (a patch or sync refused `deleted` because
the `gone` message was missed), so the answer comes every time."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
import requests
import socketio
from werkzeug.serving import make_server

from collab.client.document import CollabClientError, Document, DocumentDeleted
from collab.core import wire
from collab.core.errors import gone_error
from tests.e2e.test_client import wait_until


def test_the_gone_message_stops_the_client_for_good(live_server, doc_id):
    with Document(live_server.url, doc_id, name="writer") as d:
        told: list[DocumentDeleted] = []
        d.on_deleted(told.append)
        d.insert(0, "kept")
        d.wait_synced(10)
        assert requests.delete(f"{live_server.url}/api/docs/{doc_id}", timeout=10).status_code == 200
        wait_until(lambda: d.deleted is not None, 10, "the client hearing of the deletion")
        assert isinstance(d.deleted, CollabClientError) and d.deleted.error["code"] == "deleted"
        assert told == [d.deleted]
        assert d.text == "kept"  # readable, to be copied
        with pytest.raises(DocumentDeleted):
            d.insert(0, "more ")
        with pytest.raises(DocumentDeleted):
            d.wait_synced(5)
        assert d.text == "kept" and d.unsaved == 0
        wait_until(lambda: not d.sio.connected, 10, "the client letting its connection go")


def test_a_deleted_document_does_not_open(live_server, doc_id):
    with Document(live_server.url, doc_id) as d:
        d.insert(0, "x")
        d.wait_synced(10)
    requests.delete(f"{live_server.url}/api/docs/{doc_id}", timeout=10)
    with pytest.raises(DocumentDeleted) as exc:
        Document(live_server.url, doc_id, timeout=10)
    assert exc.value.error["code"] == "deleted"


class Scripted:
    """A Socket.IO server (not collab's) that answers `join` as the contract does, and a
    `patch` or `sync` as the test says: counts every event it gets."""

    def __init__(self, patch: Callable[[dict], object], sync: Callable[[dict], object] | None = None,
                 join: Callable[[int], object] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        sio = socketio.Server(async_mode="threading")

        def on_join(sid: str, data: dict) -> object:
            self.events.append(("join", data))
            joins = sum(1 for e in self.events if e[0] == "join")
            if join is not None and joins > 1:
                return join(joins)
            return wire.join_ack(data["doc"], 1, "abc", "editor", [], {"editors": 1, "viewers": 0}, "p1", None)

        def on_patch(sid: str, data: dict) -> object:
            self.events.append(("patch", data))
            return patch(data)

        def on_sync(sid: str, data: dict) -> object:
            self.events.append(("sync", data))
            return sync(data) if sync else wire.sync_ack(1, [])

        sio.on("join", on_join)
        sio.on("patch", on_patch)
        sio.on("sync", on_sync)
        sio.on("seen", lambda sid, data: self.events.append(("seen", data)))
        self.sio = sio
        self.server = make_server("127.0.0.1", 0, socketio.WSGIApp(sio), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self, event: str) -> int:
        return sum(1 for e in self.events if e[0] == event)

    def __enter__(self) -> "Scripted":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(10)


def deleted(extra: dict | None = None) -> object:
    error = gone_error("deleted")
    return {"ok": False, "error": {"code": error.code, "message": error.message, **(extra or {})}}


def settle(seconds: float) -> None:
    """Let the client's clock run past when its retries would be due (1 s, then 2 s more):
    what is asserted after it is that nothing happened, which no event can signal."""
    threading.Event().wait(seconds)


def test_a_patch_refused_deleted_is_never_sent_again():
    """Before: `deleted` was an unknown code, so the same op went again with a backoff, forever."""
    with Scripted(patch=lambda data: deleted({"reason": "deleted"})) as server:
        with Document(server.url, "doc1", transports=["polling"], timeout=30) as d:
            told: list[DocumentDeleted] = []
            d.on_deleted(told.append)
            d.insert(3, "!")
            wait_until(lambda: d.deleted is not None, 10, "the refusal")
            assert d.deleted.error == {"code": "deleted", "message": gone_error("deleted").message,
                                       "reason": "deleted"}  # as the server sent it
            assert told == [d.deleted] and d.text == "abc!" and d.unsaved == 1
            settle(2.5)  # two resends were due by now, had the client retried
            assert server.count("patch") == 1 and server.count("join") == 1
            with pytest.raises(DocumentDeleted):
                d.wait_synced(1)


def test_a_sync_answered_deleted_stops_the_client():
    """Before: the sync was asked again every second."""
    with Scripted(patch=lambda data: {"ok": True, "version": 2}, sync=lambda data: deleted()) as server:
        with Document(server.url, "doc1", transports=["polling"], timeout=30) as d:
            server.sio.emit("revision", {"doc": "doc1", "version": 3, "patch": "", "id": "x", "author": "",
                                         "ts": 0.0, "hash": ""})  # a gap: the client syncs
            wait_until(lambda: d.deleted is not None, 10, "the sync's refusal")
            settle(2.5)
            assert server.count("sync") == 1 and server.count("join") == 1


def test_a_rejoin_answered_deleted_is_not_tried_again():
    """The client re-joins when its patch is refused `not_joined`; the re-join is answered
    `deleted` (the document went meanwhile): it stops, and never joins again."""
    with Scripted(patch=lambda data: {"ok": False, "error": {"code": "not_joined", "message": "join first"}},
                  join=lambda n: deleted()) as server:
        with Document(server.url, "doc1", transports=["polling"], timeout=30) as d:
            d.insert(0, ">")
            wait_until(lambda: d.deleted is not None, 10, "the re-join's refusal")
            assert d.text == ">abc"
            settle(2.5)
            assert server.count("join") == 2 and server.count("patch") == 1
