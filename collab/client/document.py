"""Python client: open a document on a collab server and edit it like a person would.

    from collab.client import Document
    with Document.open("http://127.0.0.1:5000", "notes", name="bot") as doc:
        doc.insert(0, "hello ")
        doc.wait_synced(5)
        print(doc.text, doc.version)

The protocol logic lives in collab/client/state.py (pure); this module is its transport: a
python-socketio client that reconnects by itself (to the next of several URLs, on the first
connect too), resends the in-flight patch with the same op id, and fills version gaps with
`sync`. Thread-safe: Socket.IO events arrive on background threads, so every state change
happens under one lock.

There is no asyncio variant: the state machine is pure and would serve one unchanged, but
the transport would be a second copy of this module over `socketio.AsyncClient`. From
asyncio code, run the blocking calls in a thread (`await asyncio.to_thread(doc.wait_synced)`);
callbacks arrive on the client's threads (`loop.call_soon_threadsafe` hands them over).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import requests
import socketio

from ..core import wire
from ..core.config import client_token
from ..core.errors import CollabError
from ..core.palette import check_color
from ..core.patches import Edit, diff_edits
from .state import ON_REFUSAL, ReadOnly, SyncClient

log = logging.getLogger("collab.client")

TICK = 0.05  # seconds between calls of the state machine, which decides retries, gaps and `seen`
IDLE_SYNC = 5.0  # seconds without a message before asking `sync` anyway
ACK_TIMEOUT = 15.0  # seconds without an ack before the state machine hears "no answer"


class CollabClientError(Exception):
    """The server refused something (the error dict of the contract is in .error)."""

    def __init__(self, error: wire.Received) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class DocumentDeleted(CollabClientError):
    """The document was deleted (code `deleted`): the client has stopped for good. Raised by
    the constructor when the document was deleted before it opened, and by every edit and
    wait after; `Document.deleted` holds it. The text typed stays readable."""


def _refusal(error: wire.Received) -> CollabClientError:
    """The exception for a refusal: DocumentDeleted for one that means the document is gone."""
    code = error.get("code")
    gone = isinstance(code, str) and ON_REFUSAL.get(code) == "gone"
    return DocumentDeleted(error) if gone else CollabClientError(error)


class _Session(requests.Session):
    """A session whose own `verify` wins: requests otherwise lets REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE replace it for every request (psf/requests#3829), so the CA bundle given
    to the client would be ignored by the long-polling transport."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is not True:
            settings["verify"] = self.verify
        return settings


@dataclass(frozen=True)
class Change:
    """What a change from the server did to the text (`on_revision`)."""

    version: int  # the version the text is at now
    text: str  # the whole text after it (local edits not yet confirmed included)
    edits: list[Edit]  # the change to the text, as edits on the text before it (code points)
    authors: list[str]  # who made the revisions that brought it, in order ([] for a rejoin's catch-up)


class Document:
    """An open document. `url` is a server URL or a list of them (one deployment's
    processes, tried in turn on the first connect and on every reconnect).

    TLS: `verify` is True (the system's CA store), a path to a CA bundle (a private CA or a
    self-signed certificate), or False (no verification: tests only); `cert` is a client
    certificate file, or a (certificate, key) pair, for servers that ask for one.

    `token`: a personal access token (`collab user token add`, or POST /api/me/tokens), sent
    as `Authorization: Bearer` on every HTTP request and the Socket.IO handshake, so the
    client is its person (its revisions carry their account; `name` is then ignored);
    default: COLLAB_TOKEN, else none (a guest). A token the server refuses fails the
    constructor with CollabClientError (`bad_token`)."""

    def __init__(self, url: str | Sequence[str], doc: str | None = None, *, view: str | None = None,
                 name: str | None = None, color: str | None = None, timeout: float = 10.0,
                 transports: list[str] | None = None, headers: dict[str, str] | None = None,
                 verify: bool | str = True, cert: str | tuple[str, str] | None = None,
                 token: str | None = None) -> None:
        if (doc is None) == (view is None):
            raise ValueError("give exactly one of doc (an edit id) or view (a view token)")
        # several URLs: servers of one deployment to fail over between, tried in turn
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("give at least one server URL")
        self.url = self.urls[0]
        self._transports = transports or ["websocket"]
        self._headers = dict(headers or {})
        token = token if token is not None else client_token()
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._reconnecting = False
        self._last_heard = time.monotonic()
        self.name = name
        self.timeout = timeout
        # a picked colour (one of core/palette.py's; None: automatic): refused here, before
        # connecting, as the server would refuse it (ValueError, like a bad doc/view pair)
        try:
            self.color = check_color(color)
        except CollabError as exc:
            raise ValueError(exc.message) from None
        self._join_payload = wire.join_request(doc, view=view, name=name, color=self.color)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._callbacks: list[Callable[[str, int], None]] = []
        self._revision_callbacks: list[Callable[[Change], None]] = []
        self._presence_callbacks: list[Callable[[list[wire.Received]], None]] = []
        self._cursor_callbacks: list[Callable[[wire.Received], None]] = []
        self._confirmed_callbacks: list[Callable[[int, str], None]] = []
        self.state: SyncClient | None = None
        self._key: str | None = None  # how the server named the document in its join answer
        self.role: str | None = None
        self.peers: list[wire.Received] = []  # as the last presence (or join answer) listed them
        self.title: str | None = None  # the title its editors chose (join answers, `title` messages); None: none
        self.you: str | None = None
        self.error: wire.Received | None = None
        self.deleted: DocumentDeleted | None = None  # the document was deleted: stopped for good
        self._deleted_callbacks: list[Callable[[DocumentDeleted], None]] = []
        self._joined = False
        self._closed = False
        self._sent: tuple[str, float] | None = None  # (op id, when) of the last patch sent
        self._http = http = _Session()  # engine.io takes TLS settings from it, WebSocket too
        http.verify, http.cert = verify, cert
        http.headers.update(self._headers)  # the token (and any header given) on every HTTP request too
        # reconnects itself (see _reconnect)
        self.sio = socketio.Client(reconnection=False, http_session=http, ssl_verify=verify is not False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("connect_error", self._on_connect_error)
        self._connect_refused: wire.Received | None = None  # the server's refusal of the last connect
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("revision", self._on_revision)
        self.sio.on("revisions", self._on_revisions)
        self.sio.on("presence", self._on_presence)
        self.sio.on("cursor", self._on_cursor)
        self.sio.on("gone", self._on_gone)
        self.sio.on("role", self._on_role)
        self.sio.on("title", self._on_title)
        self._connect_first()
        self._ticker = threading.Thread(target=self._tick_loop, name="collab-client-tick", daemon=True)
        self._ticker.start()
        self._wait(lambda: self.state is not None or self.error is not None, timeout, "join")
        if self.error is not None:
            self.close()
            raise _refusal(self.error)

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

    def on_revision(self, callback: Callable[[Change], None]) -> None:
        """callback(Change) after every change that came from the server: its edits to the
        text, the version, who made it. Runs on a client thread, under the client's lock."""
        self._revision_callbacks.append(callback)

    def on_confirmed(self, callback: Callable[[int, str], None]) -> None:
        """callback(version, text) each time the confirmed version moves (an ack of this
        client's patch, or revisions applied): `text` is the server's text at `version`,
        whatever local edits are still unsent. Runs on a client thread, under the lock."""
        self._confirmed_callbacks.append(callback)

    def on_deleted(self, callback: Callable[[DocumentDeleted], None]) -> None:
        """callback(DocumentDeleted) once, when the document is deleted (a `gone` message, or
        `deleted` answering a join, patch or sync): the client has stopped for good, nothing
        more is sent; `text` and `unsaved` say what was typed, to be copied. Runs on a client
        thread, under the client's lock."""
        self._deleted_callbacks.append(callback)

    def on_presence(self, callback: Callable[[list[wire.Received]], None]) -> None:
        """callback(peers) when who is here changes: [{id, name, role, version}, ...]."""
        self._presence_callbacks.append(callback)

    def on_cursor(self, callback: Callable[[wire.Received], None]) -> None:
        """callback({peer, name, anchor, head}) when another editor moves their selection
        (code points in the text they have; a viewer's client gets these too)."""
        self._cursor_callbacks.append(callback)

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
        """Replace `length` code points at `pos`; CollabClientError `read_only` for a viewer,
        DocumentDeleted once the document was deleted."""
        with self._lock:
            assert self.state is not None
            if self.deleted is not None:
                raise self.deleted
            try:
                self.state.local_edit(pos, length, text)
            except ReadOnly as exc:
                raise CollabClientError({"code": exc.code, "message": str(exc)}) from None
            self._pump()

    def set_text(self, text: str) -> None:
        with self._lock:
            assert self.state is not None
            if self.deleted is not None:
                raise self.deleted
            try:
                self.state.set_text(text)
            except ReadOnly as exc:
                raise CollabClientError({"code": exc.code, "message": str(exc)}) from None
            self._pump()

    @property
    def unsaved(self) -> int:
        """Local changes not yet confirmed by the server (after a deletion: never to be)."""
        with self._lock:
            return self.state.unsaved if self.state is not None else 0

    @property
    def refusal(self) -> wire.Received | None:
        """The server's (or the state machine's) last refusal of an edit, until one is saved."""
        with self._lock:
            return self.state.error if self.state is not None else None

    def wait_synced(self, timeout: float = 10.0) -> None:
        """Block until every local edit is confirmed and no known revision is missing.
        Raises CollabClientError when a refusal stops progress until the text changes (a
        too-large edit: undo or change it, and sending goes on by itself); DocumentDeleted
        when the document was deleted."""
        def done() -> bool:
            if self.deleted is not None:
                raise self.deleted
            if self.error is not None:
                raise _refusal(self.error)
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
            if self.state is not None:
                self.state.joining()
            self._emit("join", dict(self._join_payload), callback=self._on_join)

    def _on_connect_error(self, data: object = None) -> None:
        """The server refused the handshake and said why (`{message, data: {code, message}}`:
        a wrong access token); other failures carry no such data."""
        error = data.get("data") if isinstance(data, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            self._connect_refused = error

    def _on_disconnect(self, *args: object) -> None:
        with self._lock:
            self._joined = False
            if self.state is not None:
                self.state.disconnected()  # the op in flight goes again after the next join
            if self._closed or self._reconnecting:
                return
            self._reconnecting = True
        threading.Thread(target=self._reconnect, name="collab-client-reconnect", daemon=True).start()

    def _connect_first(self) -> None:
        """Connect to the first URL that answers, in order; all refusing is one error naming each."""
        failures = []
        for url in self.urls:
            try:
                self._connect_refused = None
                self.sio.connect(self._connect_url(url), transports=self._transports, headers=self._headers,
                                 wait_timeout=self.timeout)
            except socketio.exceptions.ConnectionError as exc:
                if self._connect_refused is not None:  # the server refused us (a wrong token): no other URL helps
                    raise CollabClientError(self._connect_refused) from None
                failures.append(f"{url}: {self._why(url, exc)}")
                continue
            self.url = url
            return
        raise socketio.exceptions.ConnectionError("could not connect to " + "; ".join(failures))

    def _why(self, url: str, exc: Exception) -> str:
        """engine.io says only "Connection error": ask once more over plain HTTP(S), with the
        same TLS settings, for the reason (a refused port, a certificate not trusted...)."""
        try:
            self._http.get(url, timeout=self.timeout)
        except requests.exceptions.SSLError as tls:
            return f"TLS: {tls} (pass verify= the CA bundle that signed the server's certificate)"
        except requests.RequestException as other:
            return f"{exc}: {other}"
        return str(exc)

    def _reconnect(self) -> None:
        """Connect again, to the next URL each time, backing off up to 2 s between tries."""
        delay, i = 0.1, self.urls.index(self.url)
        try:
            while not self._closed:
                time.sleep(delay)
                i = (i + 1) % len(self.urls) if len(self.urls) > 1 else i
                url = self.urls[i]
                try:
                    self._connect_refused = None
                    self.sio.connect(self._connect_url(url), transports=self._transports, headers=self._headers,
                                     wait_timeout=self.timeout)
                except socketio.exceptions.ConnectionError as exc:
                    if self._connect_refused is not None:  # a token revoked meanwhile: trying again cannot help
                        log.warning("reconnect to %s refused: %s", url, self._connect_refused.get("message"))
                        with self._lock:
                            self.error = self._connect_refused
                            self._changed.notify_all()
                        return
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
                if self.state is not None and isinstance(_refusal(self.error), DocumentDeleted):
                    self.state.receive_gone(self.error)  # a re-join: joining again cannot help
                    self._after(self.state.text, (), self.state.version)
                self._changed.notify_all()
                return
            self.role, self.you = answer.get("role"), answer.get("you")
            self.peers = answer.get("peers") or []
            self.title = answer["title"] if isinstance(answer.get("title"), str) else None
            self._key = answer["doc"]
            if self.state is None:
                self.state = SyncClient()
                self.state.receive_join(answer, fresh=True)
            else:
                before = self.state.text
                self.state.receive_join(answer)  # the in-flight patch goes again, then a sync
                if self.state.text != before:
                    self._changed_text(before)
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
            before, version = self.state.text, self.state.version
            self.state.receive_ack(ack, op_id, time.monotonic())
            self._after(before, (), version)

    def _on_revision(self, rev: object) -> None:
        self._on_revisions({"revisions": [rev]})

    def _on_revisions(self, msg: object) -> None:
        with self._lock:
            if self.state is None or not isinstance(msg, dict):
                return
            before, version = self.state.text, self.state.version
            revisions = msg.get("revisions") or []
            self.state.receive_revisions(revisions, time.monotonic())
            self._after(before, [r.get("author", "") for r in revisions if isinstance(r, dict)], version)

    def _on_sync(self, answer: object) -> None:
        with self._lock:
            if self.state is None:
                return
            before, version = self.state.text, self.state.version
            self.state.receive_sync(answer, time.monotonic())
            revisions = answer.get("revisions") if isinstance(answer, dict) else None
            self._after(before, [r.get("author", "") for r in revisions or [] if isinstance(r, dict)], version)

    def _on_gone(self, msg: object) -> None:
        """The document was deleted (docs/protocol.md, `gone`): the server took us out of it."""
        with self._lock:
            key = self._join_payload.get("view") or self._join_payload["doc"]
            if self.state is None or not isinstance(msg, dict) or msg.get("doc") not in (key, self._key):
                return
            error = msg.get("error")
            self.state.receive_gone(error if isinstance(error, dict) else
                                    {"code": "deleted", "message": "this document was deleted"})
            self._after(self.state.text, (), self.state.version)

    def _on_role(self, msg: object) -> None:
        """What this client may do changed (docs/protocol.md, `role`: the document's owner
        changed its access): `viewer` makes edit() refuse `read_only` from now on."""
        with self._lock:
            key = self._join_payload.get("view") or self._join_payload["doc"]
            if self.state is None or not isinstance(msg, dict) or msg.get("doc") not in (key, self._key):
                return
            role = msg.get("role")
            if role in ("editor", "viewer"):
                self.role = role
                self.state.receive_role(role)
                self._after(self.state.text, (), self.state.version)

    def _stop_deleted(self, error: wire.Received) -> None:
        """The state machine stopped for good (state.gone): so does the transport, once.
        Called under the lock."""
        if self.deleted is not None:
            return
        self.deleted = DocumentDeleted(error)
        self._closed = True  # no reconnect, no rejoin, no tick: nothing can be sent again
        log.warning("doc=%s: %s; the client stops (its text stays readable)", self._key, self.deleted)
        self._call(self._deleted_callbacks, self.deleted)
        # not from this thread: a Socket.IO event or ack is being handled on it
        threading.Thread(target=self._disconnect, name="collab-client-stop", daemon=True).start()

    def _disconnect(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # already gone
            pass

    def _on_presence(self, msg: object) -> None:
        with self._lock:
            if isinstance(msg, dict) and isinstance(msg.get("peers"), list):
                self.peers = msg["peers"]
                self._call(self._presence_callbacks, list(self.peers))

    def _on_title(self, msg: Any) -> None:
        with self._lock:
            if isinstance(msg, dict) and msg.get("doc") == self._key:
                self.title = msg["title"] if isinstance(msg.get("title"), str) else None
                self._changed.notify_all()

    def _on_cursor(self, msg: Any) -> None:
        with self._lock:
            if isinstance(msg, dict):
                self._call(self._cursor_callbacks, msg)

    def _call(self, callbacks: list[Callable[..., None]], *args: Any) -> None:
        for cb in list(callbacks):
            try:
                cb(*args)
            except Exception:
                log.exception("%s callback failed", getattr(cb, "__name__", "a"))

    def _after(self, text_before: str, authors: Sequence[str] = (), version_before: int | None = None) -> None:
        assert self.state is not None
        self._last_heard = time.monotonic()
        if self.state.gone is not None:
            self._stop_deleted(self.state.gone)
        if self._confirmed_callbacks and self.state.version != version_before:
            self._call(self._confirmed_callbacks, self.state.version, self.state.shadow)
        if self.state.needs_rejoin() is not None and self._joined:
            self._joined = False
            self.state.joining()
            self._emit("join", dict(self._join_payload), callback=self._on_join)
        if self.state.text != text_before:
            self._changed_text(text_before, authors)
        self._pump()
        self._changed.notify_all()

    def _changed_text(self, before: str, authors: Sequence[str] = ()) -> None:
        assert self.state is not None
        text, version = self.state.text, self.state.version
        self._call(self._callbacks, text, version)
        if self._revision_callbacks:
            self._call(self._revision_callbacks, Change(version, text, diff_edits(before, text), list(authors)))

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
