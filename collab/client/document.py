"""Python client: open a document on a collab server and edit it like a person would.

    from collab.client.document import Document
    with Document.open("http://127.0.0.1:5000", "notes", name="bot") as doc:
        doc.insert(0, "hello ")
        doc.wait_synced(5)
        print(doc.text, doc.version)

The protocol logic lives in collab/client/state.py (pure); this module is its transport: a
python-socketio client that reconnects by itself, resends the in-flight patch with the
same op id, and fills version gaps with `sync`. Thread-safe: Socket.IO events arrive on
background threads, so every state change happens under one lock.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterator, Mapping, Sequence

import socketio

from ..core import wire
from .state import ReadOnly, SyncClient

log = logging.getLogger("collab.client")

TICK = 0.05  # seconds between calls of the state machine, which decides retries, gaps and `seen`
IDLE_SYNC = 5.0  # seconds without a message before asking `sync` anyway
ACK_TIMEOUT = 15.0  # seconds without an ack before the state machine hears "no answer"


class CollabClientError(Exception):
    """The server refused something (the error dict of the contract is in .error)."""

    def __init__(self, error: wire.Received) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class Document:
    def __init__(self, url: str | Sequence[str], doc: str | None = None, *, view: str | None = None,
                 name: str | None = None, timeout: float = 10.0,
                 transports: list[str] | None = None, headers: dict[str, str] | None = None) -> None:
        if (doc is None) == (view is None):
            raise ValueError("give exactly one of doc (an edit id) or view (a view token)")
        # several URLs: servers of one deployment to fail over between, tried in turn
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("give at least one server URL")
        self.url = self.urls[0]
        self._transports = transports or ["websocket"]
        self._headers = headers or {}
        self._reconnecting = False
        self._last_heard = time.monotonic()
        self.name = name
        self.timeout = timeout
        self._join_payload = wire.join_request(doc, view=view, name=name)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._callbacks: list[Callable[[str, int], None]] = []
        self.state: SyncClient | None = None
        self._key: str | None = None  # how the server named the document in its join answer
        self.role: str | None = None
        self.peers: list[wire.Received] = []  # as the last presence (or join answer) listed them
        self.you: str | None = None
        self.error: wire.Received | None = None
        self._joined = False
        self._closed = False
        self._sent: tuple[str, float] | None = None  # (op id, when) of the last patch sent
        self.sio = socketio.Client(reconnection=False)  # reconnects itself: see _reconnect
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("revision", self._on_revision)
        self.sio.on("revisions", self._on_revisions)
        self.sio.on("presence", self._on_presence)
        self.sio.connect(self._connect_url(self.url), transports=self._transports, headers=self._headers,
                         wait_timeout=timeout)
        self._ticker = threading.Thread(target=self._tick_loop, name="collab-client-tick", daemon=True)
        self._ticker.start()
        self._wait(lambda: self.state is not None or self.error is not None, timeout, "join")
        if self.error is not None:
            self.close()
            raise CollabClientError(self.error)

    @classmethod
    def open(cls, url: str, doc: str, **kwargs: Any) -> "Document":
        return cls(url, doc, **kwargs)

    def __enter__(self) -> "Document":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------

    @property
    def doc(self) -> str:
        assert self._key is not None
        return self._key

    @property
    def text(self) -> str:
        with self._lock:
            assert self.state is not None
            return self.state.text

    @property
    def version(self) -> int:
        with self._lock:
            assert self.state is not None
            return self.state.version

    def on_change(self, callback: Callable[[str, int], None]) -> None:
        """callback(text, version) after every change that came from the server."""
        self._callbacks.append(callback)

    # -- editing (positions count code points) -------------------------------------------------

    @contextlib.contextmanager
    def editing(self) -> Iterator["Document"]:
        """Read the text and edit it with no remote change landing in between:

            with doc.editing():
                doc.insert(doc.text.index("</todo>"), "- buy milk\n")
        """
        with self._lock:
            yield self

    def insert(self, pos: int, text: str) -> None:
        self.replace(pos, 0, text)

    def delete(self, pos: int, length: int) -> None:
        self.replace(pos, length, "")

    def replace(self, pos: int, length: int, text: str) -> None:
        """Replace `length` code points at `pos`; CollabClientError `read_only` for a viewer."""
        with self._lock:
            assert self.state is not None
            try:
                self.state.local_edit(pos, length, text)
            except ReadOnly as exc:
                raise CollabClientError({"code": exc.code, "message": str(exc)}) from None
            self._pump()

    def set_text(self, text: str) -> None:
        with self._lock:
            assert self.state is not None
            try:
                self.state.set_text(text)
            except ReadOnly as exc:
                raise CollabClientError({"code": exc.code, "message": str(exc)}) from None
            self._pump()

    @property
    def refusal(self) -> wire.Received | None:
        """The server's (or the state machine's) last refusal of an edit, until one is saved."""
        with self._lock:
            return self.state.error if self.state is not None else None

    def wait_synced(self, timeout: float = 10.0) -> None:
        """Block until every local edit is confirmed and no known revision is missing.
        Raises CollabClientError when a refusal stops progress until the text changes (a
        too-large edit: undo or change it, and sending goes on by itself)."""
        def done() -> bool:
            if self.error is not None:
                raise CollabClientError(self.error)
            if self.state is not None and self.state.stuck is not None:
                raise CollabClientError(self.state.stuck)
            return self.state is not None and self.state.synced
        self._wait(done, timeout, "sync")

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self.sio.disconnect()
        except Exception:  # already gone
            pass

    # -- transport ----------------------------------------------------------------------

    def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what} did not complete within {timeout} s")
                self._changed.wait(min(left, 0.1))

    def _emit(self, event: str, data: Mapping[str, object], callback: Callable[..., None] | None = None) -> None:
        try:
            self.sio.emit(event, data, callback=callback)
        except socketio.exceptions.BadNamespaceError:
            pass  # disconnected: reconnect resends what matters

    def _connect_url(self, url: str) -> str:
        """The server URL with the document in its query: a proxy can then send every client
        of a document to the same process (deploy/nginx.conf hashes on it)."""
        key = self._join_payload.get("view") or self._join_payload["doc"]
        return f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode({'doc': key})}"

    def _on_connect(self) -> None:
        with self._lock:
            self._joined = False
            self._emit("join", dict(self._join_payload), callback=self._on_join)

    def _on_disconnect(self, *args: object) -> None:
        with self._lock:
            self._joined = False
            if self.state is not None:
                self.state.disconnected()  # the op in flight goes again after the next join
            if self._closed or self._reconnecting:
                return
            self._reconnecting = True
        threading.Thread(target=self._reconnect, name="collab-client-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        """Connect again, to the next URL each time, backing off up to 2 s between tries."""
        delay, i = 0.1, self.urls.index(self.url)
        try:
            while not self._closed:
                time.sleep(delay)
                i = (i + 1) % len(self.urls) if len(self.urls) > 1 else i
                url = self.urls[i]
                try:
                    self.sio.connect(self._connect_url(url), transports=self._transports, headers=self._headers,
                                     wait_timeout=self.timeout)
                except socketio.exceptions.ConnectionError as exc:
                    log.info("reconnect to %s failed: %s", url, exc)
                    delay = min(delay * 2, 2.0)
                    continue
                self.url = url
                return
        finally:
            with self._lock:
                self._reconnecting = False

    def _on_join(self, answer: object) -> None:
        with self._lock:
            if not isinstance(answer, dict) or not answer.get("ok"):
                error = answer.get("error") if isinstance(answer, dict) else None
                self.error = error if isinstance(error, dict) else {
                    "code": "internal", "message": f"malformed answer to join: {repr(answer)[:200]}"}
                self._changed.notify_all()
                return
            self.role, self.you = answer.get("role"), answer.get("you")
            self.peers = answer.get("peers") or []
            self._key = answer["doc"]
            if self.state is None:
                self.state = SyncClient()
                self.state.receive_join(answer, fresh=True)
            else:
                before = self.state.text
                self.state.receive_join(answer)  # the in-flight patch goes again, then a sync
                if self.state.text != before:
                    self._changed_text()
            self._joined = True
            self._pump()
            self._changed.notify_all()

    def _send_patch(self, message: wire.PatchFields) -> None:
        op_id = message["id"]
        self._sent = (op_id, time.monotonic())
        request: wire.PatchRequest = {"doc": self.doc, **message}
        self._emit("patch", request, callback=lambda ack: self._on_ack(op_id, ack))

    def _on_ack(self, op_id: str, ack: object) -> None:
        with self._lock:
            assert self.state is not None
            if self._sent is not None and self._sent[0] == op_id:
                self._sent = None
            before = self.state.text
            self.state.receive_ack(ack, op_id, time.monotonic())
            self._after(before)

    def _on_revision(self, rev: object) -> None:
        self._on_revisions({"revisions": [rev]})

    def _on_revisions(self, msg: object) -> None:
        with self._lock:
            if self.state is None or not isinstance(msg, dict):
                return
            before = self.state.text
            self.state.receive_revisions(msg.get("revisions") or [], time.monotonic())
            self._after(before)

    def _on_sync(self, answer: object) -> None:
        with self._lock:
            if self.state is None:
                return
            before = self.state.text
            self.state.receive_sync(answer, time.monotonic())
            self._after(before)

    def _on_presence(self, msg: object) -> None:
        with self._lock:
            if isinstance(msg, dict) and isinstance(msg.get("peers"), list):
                self.peers = msg["peers"]

    def _after(self, text_before: str) -> None:
        assert self.state is not None
        self._last_heard = time.monotonic()
        if self.state.needs_rejoin() is not None and self._joined:
            self._joined = False
            self._emit("join", dict(self._join_payload), callback=self._on_join)
        if self.state.text != text_before:
            self._changed_text()
        self._pump()
        self._changed.notify_all()

    def _changed_text(self) -> None:
        assert self.state is not None
        for cb in list(self._callbacks):
            try:
                cb(self.state.text, self.state.version)
            except Exception:
                log.exception("on_change callback failed")

    def _pump(self) -> None:
        """Send what the state machine wants sent now (called under the lock)."""
        state = self.state
        if state is None or not self._joined or self._closed:
            return
        now = time.monotonic()
        if now - self._last_heard > IDLE_SYNC:
            # heard nothing for a while: ask, in case a broadcast was lost on the way
            self._last_heard = now
            state.request_sync()
        if self._sent is not None and now - self._sent[1] > ACK_TIMEOUT:
            op_id, self._sent = self._sent[0], None
            state.receive_ack(None, op_id, now)  # no answer: retried with the same op id
        request = state.take_sync(now)
        if request is not None:
            sync: wire.SyncRequest = {"doc": self.doc, **request}
            self._emit("sync", sync, callback=self._on_sync)
        message = state.take_patch(now)
        if message is not None:
            self._send_patch(message)
        seen = state.take_seen(now)
        if seen is not None:
            confirmed: wire.SeenMessage = {"doc": self.doc, **seen}
            self._emit("seen", confirmed)

    def _tick_loop(self) -> None:
        while True:
            time.sleep(TICK)
            with self._lock:
                if self._closed:
                    return
                self._pump()
                self._changed.notify_all()
