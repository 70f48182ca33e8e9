"""Socket.IO edge: wire contract v1 events on the default namespace.

Handlers parse, call the document service, emit and return the ack; `_guard` is the one
place that turns errors into `{"ok": false, "error": {...}}`. Per document there are two
rooms: editors (messages name the document by its edit id) and viewers (by its view
token), so nothing a viewer receives contains the edit id.
"""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeGuard

import socketio
from flask_socketio import SocketIO

from ..core.config import Settings
from ..core.errors import CollabError
from .guard import lookups_of
from .history_api import restore
from .pins import AddressPins
from ..core.ids import check_doc_id, check_name, check_op_id, random_base62
from ..core.patches import text_hash
from .presence import LocalPresence, Roster
from ..core.ratelimit import TokenBucket
from ..service.documents import DocState, DocumentService
from ..storage import Revision

log = logging.getLogger("collab.realtime")

EDITOR, VIEWER = "editor", "viewer"


@dataclass
class Membership:
    state: DocState
    role: str
    key: str  # how this client names the document: edit id (editor) or view token (viewer)
    seen: int = 0  # the client's cumulative confirmation of receipt
    deltas: bool = False  # asked for presence deltas at join (`presence: "delta"`)
    address: str = ""  # the client address it counts against (COLLAB_MAX_JOINED_PER_ADDRESS)


@dataclass
class Client:
    sid: str
    peer: str  # public id shown to others (the socket id stays private)
    name: str
    bucket: TokenBucket
    joined: dict[str, Membership] = field(default_factory=dict)  # joined[key] = membership


def _editors(doc: str) -> str:
    return "e:" + doc


def _viewers(doc: str) -> str:
    return "v:" + doc


def _presence_room(doc: str, role: str, deltas: bool) -> str:
    """Presence goes to four rooms per document: editors or viewers (named differently in
    the message), with full lists or with deltas."""
    return ("pd" if deltas else "pf") + ("e:" if role == EDITOR else "v:") + doc


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _guard(event: str) -> Callable[[Callable[..., dict]], Callable[..., dict | None]]:
    """Run a handler; translate every failure into an error ack (and one log line)."""

    def wrap(fn: Callable[..., dict]) -> Callable[..., dict | None]:
        @functools.wraps(fn)
        def handler(self: "DocumentNamespace", sid: str, *args: Any) -> dict | None:
            data = args[0] if args else None
            doc = data.get("doc") if isinstance(data, dict) else None
            op = data.get("id") if isinstance(data, dict) else None
            try:
                if len(args) != 1 or not isinstance(data, dict):
                    raise CollabError("bad_request", f"{event} takes one object argument")
                self._limit(sid)
                return fn(self, sid, data)
            except CollabError as exc:
                log.info("%s error doc=%.80r client=%s op=%.80r code=%s: %s",
                         event, doc, sid, op, exc.code, exc.message)
                return {"ok": False, "error": exc.to_dict()}
            except Exception:
                log.exception("%s failed doc=%.80r client=%s op=%.80r", event, doc, sid, op)
                return {"ok": False, "error": {"code": "internal", "message": "internal server error"}}

        return handler

    return wrap


class DocumentNamespace(socketio.Namespace):
    """Registered on the python-socketio server itself (app.py), not through Flask-SocketIO:
    its handlers then run without a Flask app and request context per event, which cost
    about a fifth of the server's CPU under load. Nothing here needs one."""

    def __init__(self, socketio: SocketIO, service: DocumentService, settings: Settings,
                 presence: LocalPresence) -> None:
        super().__init__("/")
        self.sio = socketio
        self.service = service
        self.settings = settings
        self.clients: dict[str, Client] = {}  # clients[sid] = connected client
        self.members: dict[str, dict[str, Membership]] = {}  # members[doc_id][sid] = membership (here)
        self.presence = presence  # the peers of every process
        self._rosters: dict[str, Roster] = {}  # rosters[doc_id] = what its clients were last told
        self.pins = AddressPins(settings.max_joined_per_address, settings.max_pinned_per_address)
        service.on_commit = self.broadcast_revisions

    # -- connection -------------------------------------------------------------

    def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        s = self.settings
        self.clients[sid] = Client(sid, random_base62(10), "Anonymous", TokenBucket(s.rate_limit, s.rate_burst))
        self.sio.start_background_task(self._close_if_idle, sid)

    def _close_if_idle(self, sid: str) -> None:
        """A connection that has not joined any document after COLLAB_JOIN_TIMEOUT is closed:
        idle sockets cost memory and file descriptors for nothing."""
        self.sio.sleep(self.settings.join_timeout)
        client = self.clients.get(sid)
        if client is not None and not client.joined:
            log.info("closing client=%s: no document joined within %.0f s", sid, self.settings.join_timeout)
            self.sio.server.disconnect(sid, namespace="/")

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        client = self.clients.pop(sid, None)
        if client is None:
            return
        for m in list(client.joined.values()):
            self._leave(client, m)

    def _client(self, sid: str) -> Client:
        client = self.clients.get(sid)
        if client is None:
            raise CollabError("bad_request", "connection is not registered; reconnect")
        return client

    def _limit(self, sid: str) -> None:
        client = self.clients.get(sid)
        if client is None:
            return
        wait = client.bucket.take()
        if wait:
            raise CollabError(
                "rate_limited", f"too many messages; retry in {wait:.2f} s", retry_after=round(wait, 3)
            )

    def _membership(self, client: Client, data: dict) -> Membership:
        key = check_doc_id(data.get("doc"))
        m = client.joined.get(key)
        if m is None:
            raise CollabError("not_joined", f"join document {key!r} before sending to it")
        return m

    # -- events -----------------------------------------------------------------

    @_guard("join")
    def on_join(self, sid: str, data: dict) -> dict:
        client = self._client(sid)
        name = check_name(data.get("name"))
        # unknown names cost the client's address a token: guessing names is throttled
        lookups, address = lookups_of(self.sio.server.get_environ(sid))
        view = data.get("view") is not None
        key = check_doc_id(data["view"], "view") if view else check_doc_id(data.get("doc"))
        if key not in client.joined:
            self.pins.check(address, key)  # before opening: a refused join creates and loads nothing
        if view:
            state, role = lookups.open_view(address, key), VIEWER
        else:
            state, role = lookups.open(address, key, create=True), EDITOR
        other = client.joined.get(key)
        if other is not None and other.state.id != state.id:
            raise CollabError("bad_request", f"{key!r} names two documents on this connection")
        deltas = data.get("presence") == "delta"
        client.name = name
        m = other or Membership(state, role, key, address=address)
        if other is None:
            # opening may have yielded: counted again, then pinned with no yield in between
            self.pins.take(address, state)
            try:
                self.service.pin(state)  # in use while joined: never dropped from memory
            except BaseException:
                self.pins.give(address, state)
                raise
        if other is not None and other.deltas != deltas:  # joining again may switch the kind
            self.leave_room(sid, _presence_room(state.id, role, other.deltas))
        m.deltas = deltas
        client.joined[key] = m
        self.members.setdefault(state.id, {})[client.sid] = m
        self.enter_room(sid, _presence_room(state.id, role, deltas))
        self.enter_room(sid, _editors(state.id) if role == EDITOR else _viewers(state.id))
        # entering the room and reading the snapshot happen with no yield in between, so
        # every later revision reaches this client (one it already has is ignored by version)
        version, text = self.service.snapshot(state)
        m.seen = version
        self._publish_peer(client, m)
        log.info("join doc=%s client=%s peer=%s role=%s version=%d", state.id, client.sid, client.peer, role, version)
        # the answer is the list as it is now; the next `presence` (full or delta) follows
        # on from it, and carries this join to the others
        peers, counts = self._roster(state).view(self.presence.peers(state.id))
        answer = {
            "ok": True, "doc": key, "version": version, "text": text, "role": role,
            "peers": peers, **counts, "you": client.peer,
            # an extension of v1: what one patch and the document may hold, so that a client
            # splits a large paste into patches the server accepts (docs/protocol.md)
            "limits": {"patch": self.service.settings.max_patch_chars, "hunks": self.service.settings.max_hunks,
                       "doc": self.service.settings.max_doc_chars},
        }
        if role == EDITOR:
            answer["view"] = state.view_token  # for "copy the read-only link"
        return answer

    @_guard("leave")
    def on_leave(self, sid: str, data: dict) -> dict:
        client = self._client(sid)
        self._leave(client, self._membership(client, data))
        return {"ok": True}

    def _leave(self, client: Client, m: Membership) -> None:
        if client.joined.pop(m.key, None) is not None:
            self.service.unpin(m.state)
            self.pins.give(m.address, m.state)
        members = self.members.get(m.state.id, {})
        members.pop(client.sid, None)
        if not members:
            self.members.pop(m.state.id, None)
        self.presence.remove(m.state.id, client.peer)
        self.leave_room(client.sid, _presence_room(m.state.id, m.role, m.deltas))
        self.leave_room(client.sid, _editors(m.state.id) if m.role == EDITOR else _viewers(m.state.id))
        log.info("leave doc=%s client=%s peer=%s", m.state.id, client.sid, client.peer)
        self._presence_changed(m.state, client.peer)

    @_guard("patch")
    def on_patch(self, sid: str, data: dict) -> dict:
        client = self._client(sid)
        m = self._membership(client, data)
        if m.role != EDITOR:
            raise CollabError("read_only", "this link is read-only")
        op_id = check_op_id(data.get("id"))
        base = data.get("base")
        if not _is_count(base):
            # a known op id is still answered as a duplicate: resending is always safe
            known = self.service.find_op(m.state, op_id)
            if known is None:
                raise CollabError("bad_request", "base must be a version number >= 0")
            result = known
        else:
            result = self.service.submit(m.state, base, data.get("patch"), op_id, client.name, client.sid)
        ack: dict[str, Any] = {"ok": True, "version": result.version, "hash": result.hash}
        if result.duplicate:
            ack["duplicate"] = True
        if result.rebased or result.duplicate:
            ack["patch"] = result.patch  # the canonical revision, which the author cannot derive
        return ack

    @_guard("sync")
    def on_sync(self, sid: str, data: dict) -> dict:
        m = self._membership(self._client(sid), data)
        since = data.get("since")
        if not _is_count(since):
            raise CollabError("bad_request", "since must be a version number >= 0")
        # a client ahead of us saw a version stored by another process: look before refusing
        self.service.refresh(m.state, force=since > m.state.committed)
        head = m.state.committed
        if since > head:
            raise CollabError("future_base", f"since {since} is ahead of the head version {head}", version=head)
        revs = self.service.revisions(m.state, since)
        answer: dict[str, Any] = {
            "ok": True, "version": head, "revisions": [self._revision(r, m.key) for r in revs],
        }
        if revs and revs[-1].version < head:
            answer["more"] = True
        return answer

    @_guard("restore")
    def on_restore(self, sid: str, data: dict) -> dict:
        """Restore version `version` as a new revision by this client (history is never
        rewritten). Everyone, the author included, receives it as a `revision`."""
        client = self._client(sid)
        m = self._membership(client, data)
        if m.role != EDITOR:
            raise CollabError("read_only", "this link is read-only")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise CollabError("bad_request", "version must be a version number >= 0")
        result = restore(self.service, m.state, version, client.name)
        if result is None:  # already the text of that version
            head, text = self.service.snapshot(m.state)
            return {"ok": True, "version": head, "hash": text_hash(text), "unchanged": True}
        return {"ok": True, "version": result.version, "hash": result.hash, "patch": result.patch}

    def _unacked(self, sid: str, args: tuple) -> tuple[Client, Membership, dict] | None:
        """For events without an ack: the sender's membership, or None to drop it
        silently (malformed, not joined, or over the rate limit)."""
        data = args[0] if len(args) == 1 else None
        client = self.clients.get(sid)
        if client is None or not isinstance(data, dict) or client.bucket.take():
            return None
        doc = data.get("doc")
        m = client.joined.get(doc) if isinstance(doc, str) else None
        return (client, m, data) if m is not None else None

    def on_seen(self, sid: str, *args: Any) -> None:
        """Cumulative receipt confirmation (no ack): shown in presence, throttled."""
        found = self._unacked(sid, args)
        if found is None:
            return
        client, m, data = found
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return
        version = min(version, m.state.committed)
        if version > m.seen:
            m.seen = version
            self._publish_peer(client, m)

    def on_cursor(self, sid: str, *args: Any) -> None:
        """An editor's selection (code points in its current text), relayed to the others
        in the document (no ack; extension of contract v1)."""
        found = self._unacked(sid, args)
        if found is None:
            return
        client, m, data = found
        anchor, head = data.get("anchor"), data.get("head")
        if m.role != EDITOR or not all(_is_count(x) for x in (anchor, head)):
            return
        state = m.state
        cursor = {"peer": client.peer, "name": client.name, "anchor": anchor, "head": head}
        server = self.sio.server
        server.emit("cursor", {"doc": state.id, **cursor}, to=_editors(state.id), skip_sid=client.sid, namespace="/")
        if self._has_viewers(state):
            server.emit("cursor", {"doc": state.view_token, **cursor}, to=_viewers(state.id), namespace="/")

    # -- outbound -----------------------------------------------------------------

    @staticmethod
    def _revision(r: Revision, key: str) -> dict:
        return {"doc": key, "version": r.version, "patch": r.patch, "author": r.author,
                "id": r.op_id, "ts": r.ts, "hash": r.hash}

    def broadcast_revisions(self, state: DocState, committed: list[tuple[Revision, object]]) -> None:
        """Called by the service once per document per group commit, with the revisions
        that commit made durable, in version order. The editors' room gets them all,
        encoded once, except their authors (who have the acks); each author gets everyone
        else's, in runs of consecutive versions. Viewers get them all, by view token. One
        revision goes out as a `revision`, several as one `revisions` message."""
        messages = [self._revision(rev, state.id) for rev, _ in committed]
        authors = list(dict.fromkeys(a for _, a in committed if isinstance(a, str)))
        self._emit_revisions(state.id, messages, _editors(state.id), skip_sid=authors or None)
        if len(committed) > 1:
            here = self.members.get(state.id, {})
            for sid in authors:
                m = here.get(sid)
                if m is None or m.role != EDITOR:  # left the document since: nothing more for it
                    continue
                run: list[dict] = []
                for (_, author), message in zip(committed, messages):
                    if author != sid:
                        run.append(message)
                    elif run:
                        self._emit_revisions(state.id, run, sid)
                        run = []
                if run:
                    self._emit_revisions(state.id, run, sid)
        if self._has_viewers(state):
            self._emit_revisions(state.view_token, [self._revision(r, state.view_token) for r, _ in committed],
                                 _viewers(state.id))

    def _emit_revisions(self, key: str, messages: list[dict], to: str, skip_sid: list[str] | None = None) -> None:
        """Consecutive revisions of one document to a room or a client: one `revision`, or
        one `revisions` message for several (contract v1 allows both)."""
        if len(messages) == 1:
            self.sio.server.emit("revision", messages[0], to=to, skip_sid=skip_sid, namespace="/")
        else:
            self.sio.server.emit("revisions", {"doc": key, "revisions": messages}, to=to, skip_sid=skip_sid,
                                 namespace="/")

    def _has_viewers(self, state: DocState) -> bool:
        """Whether a message must also go to the viewers' room (on another process there
        may be viewers we cannot see)."""
        return self.service.shared or any(m.role == VIEWER for m in self.members.get(state.id, {}).values())

    def _publish_peer(self, client: Client, m: Membership) -> None:
        self.presence.set(m.state.id, {"id": client.peer, "name": client.name, "role": m.role, "version": m.seen})
        self._presence_changed(m.state, client.peer)

    def _roster(self, state: DocState) -> Roster:
        roster = self._rosters.get(state.id)
        if roster is None:
            roster = self._rosters[state.id] = Roster(self.settings.presence_max_peers)
        return roster

    def _presence_changed(self, state: DocState, peer: str) -> None:
        """A join, leave, rename or `seen` changed a peer. Presence goes out at most once per
        COLLAB_PRESENCE_INTERVAL per document: at once after a quiet interval, otherwise
        one message at the end of it carries every change made meanwhile. (Sent per change,
        a crowd of N joining cost N messages of N peers to N clients.)"""
        roster = self._roster(state)
        roster.touched.add(peer)
        if roster.due:
            return
        wait = roster.sent_at + self.settings.presence_interval - time.monotonic()
        if wait <= 0:
            self._send_presence(state)
        else:
            roster.due = True
            self.sio.start_background_task(self._presence_later, state, wait)

    def _send_presence(self, state: DocState) -> None:
        roster = self._roster(state)
        roster.sent_at = time.monotonic()
        update = roster.update(self.presence.peers(state.id))
        if state.id not in self.members:  # nobody of ours is left: forget what they were told
            self._rosters.pop(state.id, None)
        if update is None:
            return
        peers, changed, gone, counts = update
        if self.service.shared and not roster.due:
            # other processes send this document's presence too, each from its own read of
            # Redis: one that read just before another's join landed, but published after
            # that one's message, leaves every client with its older list. So a process that
            # sent a change looks once more an interval later (and again while it finds one):
            # the last look of all, after the last change, is complete
            roster.due = True
            self.sio.start_background_task(self._presence_later, state, self.settings.presence_interval)
        full = {"peers": peers, **counts}
        delta = {"delta": True, "peers": changed, "gone": gone, **counts}
        server = self.sio.server
        server.emit("presence", {"doc": state.id, **full}, to=_presence_room(state.id, EDITOR, False), namespace="/")
        server.emit("presence", {"doc": state.id, **delta}, to=_presence_room(state.id, EDITOR, True), namespace="/")
        if self._has_viewers(state):
            for deltas, payload in ((False, full), (True, delta)):
                server.emit("presence", {"doc": state.view_token, **payload},
                            to=_presence_room(state.id, VIEWER, deltas), namespace="/")

    def _presence_later(self, state: DocState, wait: float) -> None:
        self.sio.sleep(wait)
        roster = self._rosters.get(state.id)
        if roster is not None:
            roster.due = False
            self._send_presence(state)
