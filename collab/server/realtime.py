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
import traceback
from dataclasses import dataclass, field
from typing import Callable, Final, TypeGuard, TypeVar

import socketio
from flask_socketio import SocketIO

from ..core.config import Settings
from ..core import wire
from ..core.errors import CollabError, gone_error
from .accounts import socket_user
from .guard import Environ, check_create, lookups_of, settle
from .pins import AddressPins
from ..core.palette import check_color, nearest_free
from ..core.ids import check_doc_id, check_name, check_op_id, check_version, log_id, random_base62, redact
from ..core.patches import text_hash
from .presence import LocalPresence, Roster
from .queue import RedisQueue, SlicedDelivery
from .transport import close_session
from ..core.ratelimit import TokenBucket
from ..service.access import EDIT_LINK, VIEW_LINK, decide
from ..service.documents import DocState, DocumentService
from ..service.observer import Observer
from ..storage import Revision, StoreError, Tombstone

log = logging.getLogger("collab.realtime")

EDITOR: Final = "editor"
VIEWER: Final = "viewer"
EVENTS: Final = frozenset({"join", "leave", "patch", "sync", "seen", "cursor", "restore"})  # contract v1
# a connection's refused events may run ahead of its refusals bucket's refill (a tenth of
# the event rate) by the event burst; past that it keeps flooding and is disconnected
REFUSALS_REFILL: Final = 0.1
A = TypeVar("A", bound=wire.Ack)


@dataclass
class Membership:
    state: DocState
    role: wire.Role  # what it may do: given by the document's access (service/access.py), re-checked live
    key: str  # how this client names the document: edit id (via EDITOR) or view token (via VIEWER)
    # which link it came by, so which rooms it is in and how messages name the document: the
    # editors' (by edit id) or the viewers' (by view token). Not its role: a person whose
    # edit link no longer lets them edit is a viewer in the editors' rooms, and an invited
    # editor who came by the view link an editor in the viewers' rooms
    via: wire.Role = "editor"
    seen: int = 0  # the client's cumulative confirmation of receipt
    deltas: bool = False  # asked for presence deltas at join (`presence: "delta"`)
    address: str = ""  # the client address it counts against (COLLAB_MAX_JOINED_PER_ADDRESS)
    color: str | None = None  # the colour it is shown in, if it picked one (palette.py); None: automatic


@dataclass
class Client:
    sid: str
    peer: str  # public id shown to others (the socket id stays private)
    name: str
    bucket: TokenBucket  # every event it sends, of any name, takes a token
    refusals: TokenBucket  # every event refused takes one of these: empty, the connection is closed
    joined: dict[str, Membership] = field(default_factory=dict)  # joined[key] = membership
    limited: bool = False  # it has been refused an event (logged once)
    closing: bool = False  # closed for flooding (the transport ends it)
    # signed in (COLLAB_SIGN_IN), from the handshake's session cookie: the account id (its
    # revisions carry it; `name` is then its display name, whatever `join` says) and the
    # session's token hash (a sign-out ends every socket of the session); None: a guest
    account: str | None = None
    session: str | None = None


def gone_messages(doc_id: str, view_token: str, reason: str = "deleted") -> list[tuple[str, wire.GoneMessage]]:
    """The `gone` messages of a name that died, by room, sent by the server's delete, rename
    and view-token rotation and, through the queue, by the CLI's; each process acts on them
    as they reach it (`_gone_here`). By `reason`:
    - "deleted": its viewers (named by the view token) first, then its editors, whose
      message ends every membership;
    - "renamed" (`doc_id` is the old edit id): its editors only; its viewers' token still
      works, and each process moves them to the document under its new id;
    - "rotated" (`view_token` is the old token): its viewers only; its editors go on."""
    error = gone_error(reason).to_dict()
    out: list[tuple[str, wire.GoneMessage]] = []
    if reason != "renamed":
        out.append((_viewers(doc_id), wire.gone(view_token, error)))
    if reason != "rotated":
        out.append((_editors(doc_id), wire.gone(doc_id, error)))
    return out


def _editors(doc: str) -> str:
    return "e:" + doc


def _viewers(doc: str) -> str:
    return "v:" + doc


def _access_room(doc: str) -> str:
    """A room no client is ever in: `access` sent to it reaches every process's hook only."""
    return "a:" + doc


PRESENCE_ROOMS: Final = ("pfe:", "pfv:", "pde:", "pdv:")  # what _presence_room's names start with


def _presence_room(doc: str, role: wire.Role, deltas: bool) -> str:
    """Presence goes to four rooms per document: editors or viewers (named differently in
    the message), with full lists or with deltas."""
    return ("pd" if deltas else "pf") + ("e:" if role == EDITOR else "v:") + doc


def _is_position(value: object) -> TypeGuard[int]:
    """A cursor position: a whole number >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


Handler = Callable[["DocumentNamespace", str, wire.Received], A]


def _guard(event: str) -> Callable[[Handler[A]], Callable[..., A | wire.ErrorAck]]:
    """Run a handler; translate every failure into an error ack (and one log line)."""

    def wrap(fn: Handler[A]) -> Callable[..., A | wire.ErrorAck]:
        @functools.wraps(fn)
        def handler(self: "DocumentNamespace", sid: str, *args: object) -> A | wire.ErrorAck:
            data = args[0] if args else None
            op = data.get("id") if isinstance(data, dict) else None
            observer = self.observer
            op_id = op if isinstance(op, str) else None
            if observer is not None:
                observer.received(event, op_id)
            ack: A | wire.ErrorAck
            try:
                if len(args) != 1 or not isinstance(data, dict):
                    raise CollabError("bad_request", f"{event} takes one object argument")
                ack = fn(self, sid, data)
            except CollabError as exc:
                keys = self._named(sid, data)
                log.info("%s error doc=%s client=%s op=%.80r code=%s: %s", event, log_id(keys[0]), sid, op,
                         exc.code, redact(exc.message, keys))
                ack = wire.error_ack(exc.code, exc.message, exc.extra)
            except Exception:
                keys = self._named(sid, data)
                log.error("%s failed doc=%s client=%s op=%.80r\n%s", event, log_id(keys[0]), sid, op,
                          redact(traceback.format_exc(), keys))
                ack = wire.error_ack("internal", "internal server error")
            if observer is not None:
                observer.answered(event, op_id, ack)
            return ack

        return handler

    return wrap


class DocumentNamespace(socketio.Namespace):  # type: ignore[misc]  # python-socketio has no type hints
    """Registered on the python-socketio server itself (app.py), not through Flask-SocketIO:
    its handlers then run without a Flask app and request context per event, which cost
    about a fifth of the server's CPU under load. Nothing here needs one."""

    def __init__(self, socketio: SocketIO, service: DocumentService, settings: Settings,
                 presence: LocalPresence, observer: Observer | None = None) -> None:
        super().__init__("/")
        self.observer = observer  # instruments' hooks (service/observer.py); None: no cost
        self.sio = socketio
        self.service = service
        self.settings = settings
        self.clients: dict[str, Client] = {}  # clients[sid] = connected client
        self.members: dict[str, dict[str, Membership]] = {}  # members[doc_id][sid] = membership (here)
        self.presence = presence  # the peers of every process
        presence.watch(self._peers_gone)
        self._rosters: dict[str, Roster] = {}  # rosters[doc_id] = what its clients were last told
        self.pins = AddressPins(settings.max_joined_per_address, settings.max_pinned_per_address)
        manager = socketio.server.manager
        # with a queue, `gone` takes the clients out of the document on every process (queue.py)
        self._queued = isinstance(manager, RedisQueue)
        if self._queued:
            manager.after_emit["gone"] = self._gone_here
            manager.after_emit["access"] = self._recheck_here
            manager.after_emit["title"] = self._title_here
        if isinstance(manager, SlicedDelivery):  # presence to a crowd in slices (queue.py)
            manager.sliced_rooms = PRESENCE_ROOMS

    # -- connection -------------------------------------------------------------

    def trigger_event(self, event: str, *args: object) -> object:
        """Every event of the namespace passes here (python-socketio's dispatch), whatever its
        name: each takes a token of its connection's bucket before anything else runs, so
        that no event, known or not, escapes the rate limit. A refused one costs a clock
        read and its answer: `rate_limited` (sent when it has an ack id, as every refusal
        of the contract), never a log line. An unknown event is answered `bad_request`."""
        if event in ("connect", "disconnect"):  # python-socketio's own (CheckedPacket refuses a client's)
            return super().trigger_event(event, *args)
        sid = args[0]
        client = self.clients.get(sid) if isinstance(sid, str) else None
        if client is not None:
            wait = client.bucket.take()
            if wait:
                return self._refuse(client, wait)
        if event not in EVENTS:
            return wire.error_ack("bad_request", f"there is no event {event[:64]!r} (contract v1: "
                                  f"{', '.join(sorted(EVENTS))})")
        return super().trigger_event(event, *args)

    def _refuse(self, client: Client, wait: float) -> wire.ErrorAck:
        """An event over the rate limit: `rate_limited`; and a connection whose refusals
        outrun their own bucket (it goes on sending at full speed whatever it is told) is
        closed, as the transport closes what it refuses (the client may reconnect)."""
        if self.observer is not None:
            self.observer.rate_limited()
        if not client.closing and client.refusals.take():
            client.closing = True  # its reader stops at the next message; until then, no more lines
            eio_sid = self.sio.server.manager.eio_sid_from_sid(client.sid, "/")
            log.warning("closing client=%s: it kept sending events over the rate limit (%.0f/s, burst %d)",
                        client.sid, self.settings.rate_limit, self.settings.rate_burst)
            if eio_sid is not None:
                # after the answers already queued for it, this one's `rate_limited` included
                close_session(self.sio.server, eio_sid, 1008, "rate limit", flush=True)
        elif not client.limited and not client.closing:
            client.limited = True
            log.info("client=%s is over the rate limit (%.0f events/s, burst %d): refused rate_limited, "
                     "not logged again", client.sid, self.settings.rate_limit, self.settings.rate_burst)
        return wire.error_ack("rate_limited", f"too many messages; retry in {wait:.2f} s",
                              {"retry_after": round(wait, 3)})

    def on_connect(self, sid: str, environ: Environ, auth: object = None) -> bool | None:
        """Who connects: with sign-in on, the signed-in person of the handshake's session
        cookie or access token (`Authorization: Bearer`; a wrong one is refused, the connect
        error `{message, data: {code, message}}`), or a guest without one (documents still open by
        their links). A session
        that cannot be looked up (the database is down) is refused, as Flask-SocketIO
        teaches (return False), rather than let its person in as a guest."""
        s = self.settings
        identity = None
        if s.sign_in:
            try:
                identity = socket_user(environ)
            except StoreError as exc:
                log.warning("refusing client=%s: its session cannot be looked up: %s", sid, exc)
                return False
            except CollabError as exc:  # a wrong access token (bad_token, rate_limited), a malformed proxy header
                log.warning("refusing client=%s: %s", sid, exc.message)
                raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from None
        client = Client(sid, random_base62(10), "Anonymous", TokenBucket(s.rate_limit, s.rate_burst),
                        TokenBucket(s.rate_limit * REFUSALS_REFILL, s.rate_burst))
        if identity is not None:
            user, client.session = identity
            client.account, client.name = user.id, user.name
        self.clients[sid] = client
        self.sio.start_background_task(self._close_if_idle, sid)
        return None

    def end_sessions(self, session: str | None = None, account: str | None = None) -> int:
        """Disconnect every socket of this process signed in with `session` (a token hash)
        or as `account`: a sign-out, a password reset, a disabled account. How many."""
        ended = [c.sid for c in self.clients.values()
                 if (session is not None and c.session == session) or (account is not None and c.account == account)]
        for sid in ended:
            self.sio.server.disconnect(sid, namespace="/")
        if ended:
            log.info("ended %d socket(s) of a session that ended", len(ended))
        return len(ended)

    def watch_sessions(self) -> None:
        """Every COLLAB_SESSION_CHECK seconds, disconnect the sockets whose session no longer
        exists (ended by `collab user reset-password` or `disable`, by a sign-out on another
        process, or expired), and those signed in without a session (a proxy's header on the
        handshake of a client without the cookie) whose account was disabled: one query for
        the sessions of this process's sockets, one for those accounts."""
        accounts = self.service.store.accounts
        while not self.service.closed:
            self.sio.sleep(self.settings.session_check)
            sessions = {c.session for c in self.clients.values() if c.session is not None}
            bare = {c.account for c in self.clients.values() if c.session is None and c.account is not None}
            try:
                live = accounts.live_sessions(sorted(sessions), time.time()) if sessions else set()
                enabled = accounts.enabled_users(sorted(bare)) if bare else set()
            except StoreError as exc:
                log.warning("cannot check the sessions of signed-in sockets: %s", exc)
                continue
            for ended in sessions - live:
                self.end_sessions(session=ended)
            for account in bare - enabled:
                self.end_sessions(account=account)

    def _close_if_idle(self, sid: str) -> None:
        """A connection that has not joined any document after COLLAB_JOIN_TIMEOUT is closed:
        idle sockets cost memory and file descriptors for nothing."""
        self.sio.sleep(self.settings.join_timeout)
        client = self.clients.get(sid)
        if client is not None and not client.joined:
            log.info("closing client=%s: no document joined within %.0f s", sid, self.settings.join_timeout)
            self.sio.server.disconnect(sid, namespace="/")

    def on_disconnect(self, sid: str, reason: object = None) -> None:
        client = self.clients.pop(sid, None)
        if client is None:
            return
        for m in list(client.joined.values()):
            self._leave(client, m)

    def _named(self, sid: str, data: object) -> list[object]:
        """What a message names a document by (its `doc` or `view`; None if neither) and,
        when the sender has joined it, both of that document's ids: what a log line about
        the message must show only as hashes (core/ids.py `log_id`, `redact`)."""
        if not isinstance(data, dict):
            return [None]
        key = data.get("doc") if data.get("doc") is not None else data.get("view")
        client = self.clients.get(sid)
        m = client.joined.get(key) if client is not None and isinstance(key, str) else None
        return [key] if m is None else [key, m.state.id, m.state.view_token]

    def _client(self, sid: str) -> Client:
        client = self.clients.get(sid)
        if client is None:
            raise CollabError("bad_request", "connection is not registered; reconnect")
        return client

    def _membership(self, client: Client, data: wire.Received) -> Membership:
        key = check_doc_id(data.get("doc"))
        m = client.joined.get(key)
        if m is None:
            raise CollabError("not_joined", f"join document {key!r} before sending to it")
        return m

    # -- events -----------------------------------------------------------------

    @_guard("join")
    def on_join(self, sid: str, data: wire.Received) -> wire.JoinAck:
        client = self._client(sid)
        # a signed-in person is their account's name, whatever they send (they cannot write
        # under another name); a guest names themselves
        name = client.name if client.account is not None else check_name(data.get("name"))
        pick = check_color(data.get("color"))  # refused before anything is opened or changed
        # unknown names cost the client's address a token: guessing names is throttled
        environ = self.sio.server.get_environ(sid)
        lookups, address = lookups_of(environ)
        view = data.get("view") is not None
        key = check_doc_id(data["view"], "view") if view else check_doc_id(data.get("doc"))
        if key not in client.joined:
            self.pins.check(address, key)  # before opening: a refused join creates and loads nothing
        via: wire.Role = VIEWER if view else EDITOR
        if view:
            state = lookups.open_view(address, key)
        else:  # a signed-in person who makes the document by joining it owns it
            # COLLAB_CREATE=signed_in: a guest opens what exists, and creates nothing
            creates = self.settings.create != "signed_in" or client.account is not None
            try:
                state = lookups.open(address, key, create=creates, owner=client.account)
            except CollabError as exc:
                if exc.code == "not_found" and not creates:
                    check_create(self.settings, signed_in=False)
                raise
        # what the document's access lets this person do (refused: nothing joined)
        role: wire.Role = EDITOR if lookups.admit(address, state, client.account,
                                                  VIEW_LINK if view else EDIT_LINK) == EDITOR else VIEWER
        other = client.joined.get(key)
        if other is not None and other.state.id != state.id:
            raise CollabError("bad_request", f"{key!r} names two documents on this connection")
        deltas = data.get("presence") == "delta"
        client.name = name
        m = other or Membership(state, role, key, address=address, via=via)
        m.role = role
        if other is None:
            # opening may have yielded: counted again, then pinned with no yield in between
            self.pins.take(address, state)
            try:
                self.service.pin(state)  # in use while joined: never dropped from memory
            except BaseException:
                self.pins.give(address, state)
                raise
        if other is not None and other.deltas != deltas:  # joining again may switch the kind
            self.leave_room(sid, _presence_room(state.id, via, other.deltas))
        m.deltas = deltas
        client.joined[key] = m
        self.members.setdefault(state.id, {})[client.sid] = m
        self.enter_room(sid, _presence_room(state.id, via, deltas))
        # in the room first, so every revision committed from now on reaches this client
        # (one it already has is ignored by version); then what may yield (the store, when
        # processes share it; the shared presence), and last the snapshot, with no yield
        # between it and the answer: a revision sent after the snapshot cannot overtake the
        # answer from this process (one relayed from another process still may, after the
        # store was read: docs/protocol.md says to keep such revisions)
        self.enter_room(sid, _editors(state.id) if via == EDITOR else _viewers(state.id))
        self.service.refresh(state)
        m.seen = state.committed
        m.color = self._place_color(state, client.peer, pick) if role == EDITOR else None  # viewers are never listed
        self._publish_peer(client, m)
        # the answer is the list as it is now; the next `presence` (full or delta) follows
        # on from it, and carries this join to the others
        peers, counts = self._roster(state).answer(self.presence.peers(state.id))
        version, text = state.committed, state.committed_text
        m.seen = version
        settings = self.service.settings
        log.info("join doc=%s client=%s peer=%s role=%s version=%d", log_id(state.id), client.sid, client.peer, role,
                 version)
        settle(environ)  # its next messages are an established client's, read at once (serve.py)
        if client.account is not None and other is None:  # for "my documents", in the background
            self.service.visits.opened(state, client.account, key, "view" if view else "edit")
        # `limits`, an extension of v1: what one patch and the document may hold, so that a
        # client splits a large paste into patches the server accepts (docs/protocol.md);
        # `view` for an editor's "copy the read-only link"
        return wire.join_ack(key, version, text, role, peers, counts, client.peer,
                             wire.limits(settings.max_patch_chars, settings.max_hunks, settings.max_doc_chars,
                                         settings.max_patch_lines),
                             view=state.view_token if role == EDITOR and via == EDITOR else None,
                             title=state.chosen_title)

    @_guard("leave")
    def on_leave(self, sid: str, data: wire.Received) -> wire.OkAck:
        client = self._client(sid)
        self._leave(client, self._membership(client, data))
        return wire.ok()

    def _leave(self, client: Client, m: Membership) -> None:
        if client.joined.pop(m.key, None) is not None:
            self.service.unpin(m.state)
            self.pins.give(m.address, m.state)
        members = self.members.get(m.state.id, {})
        members.pop(client.sid, None)
        if not members:
            self.members.pop(m.state.id, None)
        self.presence.remove(m.state.id, client.peer)
        self.leave_room(client.sid, _presence_room(m.state.id, m.via, m.deltas))
        self.leave_room(client.sid, _editors(m.state.id) if m.via == EDITOR else _viewers(m.state.id))
        log.info("leave doc=%s client=%s peer=%s", log_id(m.state.id), client.sid, client.peer)
        if self.settings.sign_in:  # the title "my documents" shows, if it changed
            self.service.visits.left(m.state)
        self._presence_changed(m.state, client.peer)

    @_guard("patch")
    def on_patch(self, sid: str, data: wire.Received) -> wire.PatchAck:
        client = self._client(sid)
        m = self._membership(client, data)
        if m.role != EDITOR:
            raise CollabError("read_only", "this link is read-only")
        op_id = check_op_id(data.get("id"))
        try:
            base = check_version(data.get("base"), "base")
        except CollabError:
            # a known op id is still answered as a duplicate: resending is always safe
            known = self.service.find_op(m.state, op_id)
            if known is None:
                raise
            result = known
        else:
            # its write-lane work waits behind its address's other writes only (runtime.py)
            with self.service.runtime.write_session(m.address):
                result = self.service.submit(m.state, base, data.get("patch"), op_id, client.name, client.sid,
                                             account=client.account)
            if not result.duplicate:  # the colour they wrote in, for the history page (only a change is stored)
                self.service.colors.wrote(m.state, client.name, client.account, m.color)
        # the canonical revision goes back when the author cannot derive it
        return wire.patch_ack(result.version, result.hash, result.patch if result.rebased or result.duplicate else None,
                              duplicate=result.duplicate)

    @_guard("sync")
    def on_sync(self, sid: str, data: wire.Received) -> wire.SyncAck:
        m = self._membership(self._client(sid), data)
        since = check_version(data.get("since"), "since")
        # a client ahead of us saw a version stored by another process: look before refusing
        self.service.refresh(m.state, force=since > m.state.committed)
        head = m.state.committed
        if since > head:
            raise CollabError("future_base", f"since {since} is ahead of the head version {head}", version=head)
        return wire.sync_ack(head, [wire.revision(m.key, r) for r in self.service.revisions(m.state, since)])

    @_guard("restore")
    def on_restore(self, sid: str, data: wire.Received) -> wire.RestoreAck:
        """Restore version `version` as a new revision by this client (history is never
        rewritten). Everyone, the author included, receives it as a `revision`."""
        client = self._client(sid)
        m = self._membership(client, data)
        if m.role != EDITOR:
            raise CollabError("read_only", "this link is read-only")
        version = check_version(data.get("version"))
        result = self.service.restore(m.state, version, client.name, account=client.account)
        if result is None:  # already the text of that version
            head, text = self.service.snapshot(m.state)
            return wire.restore_ack(head, text_hash(text))
        return wire.restore_ack(result.version, result.hash, result.patch)

    def _unacked(self, sid: str, args: tuple[object, ...]) -> tuple[Client, Membership, wire.Received] | None:
        """For events without an ack: the sender's membership, or None to drop it
        silently (malformed or not joined; over the rate limit, trigger_event dropped it)."""
        data = args[0] if len(args) == 1 else None
        client = self.clients.get(sid)
        if client is None or not isinstance(data, dict):
            return None
        doc = data.get("doc")
        m = client.joined.get(doc) if isinstance(doc, str) else None
        return (client, m, data) if m is not None else None

    def on_seen(self, sid: str, *args: object) -> None:
        """Cumulative receipt confirmation (no ack): shown in presence, throttled."""
        found = self._unacked(sid, args)
        if found is None:
            return
        client, m, data = found
        try:
            version = min(check_version(data.get("version")), m.state.committed)
        except CollabError:
            return  # malformed: dropped silently (no ack)
        if version > m.seen:
            m.seen = version
            self._publish_peer(client, m)

    def on_cursor(self, sid: str, *args: object) -> None:
        """An editor's selection (code points in its current text), relayed to the others
        in the document (no ack; extension of contract v1)."""
        found = self._unacked(sid, args)
        if found is None:
            return
        client, m, data = found
        anchor, head = data.get("anchor"), data.get("head")
        if m.role != EDITOR or not _is_position(anchor) or not _is_position(head):
            return
        state = m.state
        server = self.sio.server
        server.emit("cursor", wire.cursor(state.id, client.peer, client.name, anchor, head, client.account),
                    to=_editors(state.id), skip_sid=client.sid, namespace="/")
        if self._has_viewers(state):
            server.emit("cursor", wire.cursor(state.view_token, client.peer, client.name, anchor, head, client.account),
                        to=_viewers(state.id), namespace="/")

    # -- outbound -----------------------------------------------------------------

    def broadcast_revisions(self, state: DocState, committed: list[tuple[Revision, object]]) -> None:
        """Called by the service once per document per group commit, with the revisions
        that commit made durable, in version order. The editors' room gets them all,
        encoded once, except their authors (who have the acks); each author gets everyone
        else's, in runs of consecutive versions. Viewers get them all, by view token. One
        revision goes out as a `revision`, several as one `revisions` message."""
        messages = [wire.revision(state.id, rev) for rev, _ in committed]
        authors = list(dict.fromkeys(a for _, a in committed if isinstance(a, str)))
        self._emit_revisions(state.id, messages, _editors(state.id), skip_sid=authors or None)
        viewed: list[wire.RevisionMessage] | None = None
        if self._has_viewers(state):
            # (an invited editor who came by the view link is in this room: its own are skipped too)
            viewed = [wire.revision(state.view_token, r) for r, _ in committed]
            self._emit_revisions(state.view_token, viewed, _viewers(state.id), skip_sid=authors or None)
        if len(committed) > 1:
            here = self.members.get(state.id, {})
            for sid in authors:
                m = here.get(sid)
                if m is None or m.role != EDITOR:  # left the document since: nothing more for it
                    continue
                named = messages if m.via == EDITOR else viewed or []
                run: list[wire.RevisionMessage] = []
                for (_, author), message in zip(committed, named):
                    if author != sid:
                        run.append(message)
                    elif run:
                        self._emit_revisions(m.key, run, sid)
                        run = []
                if run:
                    self._emit_revisions(m.key, run, sid)

    def announce_gone(self, doc_id: str, view_token: str, reason: str) -> None:
        """A name of the document died (service.delete, rename, rotate_view; `doc_id` and
        `view_token` are the names it had): every client using it, on every process, gets
        `gone` (gone_messages) and is taken out of the document (not disconnected: a
        connection may have joined other documents), on each process once the message was
        delivered there (the queue's after_emit hook), or here at once without a queue.
        Sent to the rooms as revisions are, so that it reaches other processes the same way."""
        for room, message in gone_messages(doc_id, view_token, reason):
            self.sio.server.emit("gone", message, to=room, namespace="/")
            if not self._queued:
                self._gone_here(room, message)

    def access_changed(self, doc_id: str) -> None:
        """The document's owner changed who may edit or view it, or who is invited: every
        process re-checks its clients of the document (`_recheck_here`), as `gone` reaches
        them: through the queue to a room no client is in (the `access` hook), or here at
        once without a queue."""
        room, message = _access_room(doc_id), wire.access_changed(doc_id)
        self.sio.server.emit("access", message, to=room, namespace="/")
        if not self._queued:
            self._recheck_here(room, message)

    def _recheck_here(self, room: str, message: object) -> None:
        """Ask the document's access again for each of this process's clients of it: one
        it no longer admits gets `gone` (the refusal, which names nothing of the document)
        and is taken out of it; one whose role changed gets `role` (an editor made a viewer
        is read-only from now on, its next patch refused `read_only`), and its presence
        says so."""
        doc_id = room[len(_access_room("")):]
        self.service.access_changed(doc_id)  # (what this process kept of it is stale)
        here = list(self.members.get(doc_id, {}).items())
        if not here:
            return
        try:
            access = self.service.access(here[0][1].state)
        except StoreError as exc:  # (they keep what they had until the next change or join)
            log.warning("doc=%s: cannot re-check its clients' access: %s", log_id(doc_id), exc)
            return
        removed = changed = 0
        for sid, m in here:
            client = self.clients.get(sid)
            if client is None or client.joined.get(m.key) is not m:
                continue
            try:
                role: wire.Role = EDITOR if decide(access, client.account,
                                                   EDIT_LINK if m.via == EDITOR else VIEW_LINK) == EDITOR else VIEWER
            except CollabError as exc:
                self.sio.server.emit("gone", wire.gone(m.key, exc.to_dict()), to=sid, namespace="/")
                self._leave(client, m)
                removed += 1
                continue
            if role != m.role:
                m.role = role
                self.sio.server.emit("role", wire.role_changed(m.key, role), to=sid, namespace="/")
                self._publish_peer(client, m)
                changed += 1
        log.info("doc=%s access changed: %d of its clients here taken out, %d changed role", log_id(doc_id),
                 removed, changed)
    def announce_title(self, state: DocState, title: str | None) -> None:
        """Its editors chose a title (None: its first heading again): everyone in the
        document, on every process, is told (`title`, named as each client named it), and
        each process that has it open keeps the new one for the joins to come."""
        self.sio.server.emit("title", wire.title_message(state.id, title), to=_editors(state.id), namespace="/")
        self.sio.server.emit("title", wire.title_message(state.view_token, title), to=_viewers(state.id),
                             namespace="/")

    def _title_here(self, room: str, message: object) -> None:
        """After `title` reached this process's editors of a document: its state here has it."""
        if room.startswith("e:") and isinstance(message, dict):
            state = self.service.loaded(room[2:])
            if state is not None:
                state.chosen_title = message.get("title")

    def tombstoned(self, tomb: Tombstone) -> None:
        """A tombstone made behind this server's back (`collab delete`, `rename` or
        `rotate-view` on its database), found by the watch of a server without a queue
        (server/tombstones.py): the clients of the dead name are told as after the same
        change made here, by announce_gone, the path a queued `gone` takes. A name this
        process killed itself finds nothing loaded under it any more."""
        if tomb.reason == "rotated":  # an old view token: its document lives on under its id
            state = self.service.loaded_by_view(tomb.name)
            if state is not None:
                self.announce_gone(state.id, tomb.name, tomb.reason)
            return
        state = self.service.loaded(tomb.name)  # None for a deleted document's view token: its id has its own
        if state is not None:
            log.info("doc=%s %s by another process (found its tombstone)", log_id(state.id), tomb.reason)
            self.announce_gone(state.id, state.view_token, tomb.reason)

    def _gone_here(self, room: str, message: object) -> None:
        """After `gone` reached this process's clients in `room`: act on it here (see
        gone_messages). Deleted or renamed (the editors' room): forget the edit id and end
        its memberships, pins and presence, but move a renamed document's viewers to it
        under its new id. Rotated (the viewers' room): take the document's new view token
        from the store and end the memberships of the viewers of the old one."""
        error = message.get("error") if isinstance(message, dict) else None
        reason = error.get("reason", "deleted") if isinstance(error, dict) else "deleted"
        key = message.get("doc") if isinstance(message, dict) else None
        if room.startswith(_viewers("")):
            if reason != "rotated":
                return  # the deleted viewers' message, sent first: the editors' one does the rest
            doc_id = room[len(_viewers("")):]
            self.service.view_token_rotated(doc_id)
            gone = [(sid, m) for sid, m in self.members.get(doc_id, {}).items() if m.via == VIEWER and m.key == key]
            moved: list[tuple[str, Membership]] = []
        else:
            doc_id = room[len(_editors("")):]
            self.service.forget(doc_id, reason)
            members = list(self.members.get(doc_id, {}).items())
            moved = [(sid, m) for sid, m in members if reason == "renamed" and m.via == VIEWER]
            gone = [(sid, m) for sid, m in members if not (reason == "renamed" and m.via == VIEWER)]
        for sid, m in gone:
            client = self.clients.get(sid)
            if client is not None:
                self._leave(client, m)
        if room.startswith(_editors("")):
            self._rosters.pop(doc_id, None)  # (after the leaves: their presence is not sent)
        for sid, m in moved:
            client = self.clients.get(sid)
            if client is not None:
                self._move_viewer(client, m)
        log.info("doc=%s %s: %d of its clients here were taken out of it, %d moved", log_id(doc_id), reason,
                 len(gone), len(moved))

    def _move_viewer(self, client: Client, m: Membership) -> None:
        """A viewer of a renamed document: its view token names the document under its new
        id, so it stays, in the new id's rooms (the history and its versions are the same).
        One that cannot be moved (the document is gone by now, its address holds its share)
        is told `gone` with the reason and taken out."""
        self._leave(client, m)
        try:
            state = self.service.open_view(m.key)
            self.pins.take(m.address, state)
            try:
                self.service.pin(state)
            except BaseException:
                self.pins.give(m.address, state)
                raise
        except CollabError as exc:
            self.sio.server.emit("gone", wire.gone(m.key, exc.to_dict()), to=client.sid, namespace="/")
            return
        moved = Membership(state, m.role, m.key, seen=m.seen, deltas=m.deltas, address=m.address, via=VIEWER)
        client.joined[m.key] = moved
        self.members.setdefault(state.id, {})[client.sid] = moved
        self.enter_room(client.sid, _presence_room(state.id, VIEWER, moved.deltas))
        self.enter_room(client.sid, _viewers(state.id))
        self._publish_peer(client, moved)

    def _emit_revisions(self, key: str, messages: list[wire.RevisionMessage], to: str,
                        skip_sid: list[str] | None = None) -> None:
        """Consecutive revisions of one document to a room or a client: one `revision`, or
        one `revisions` message for several (contract v1 allows both)."""
        if len(messages) == 1:
            self.sio.server.emit("revision", messages[0], to=to, skip_sid=skip_sid, namespace="/")
        else:
            self.sio.server.emit("revisions", wire.revisions(key, messages), to=to, skip_sid=skip_sid, namespace="/")

    def _has_viewers(self, state: DocState) -> bool:
        """Whether a message must also go to the viewers' room (on another process there
        may be viewers we cannot see)."""
        return self.service.shared or any(m.via == VIEWER for m in self.members.get(state.id, {}).values())

    def _place_color(self, state: DocState, peer: str, pick: str | None) -> str | None:
        """The colour a join (or rename) with `pick` is shown in: the pick, or, when someone
        present was given it first, the nearest free one (people present never share a
        colour). Decided at each join, so a rename after the other one left gets the pick
        back. Two joins on two processes at the same instant may both be given one colour
        (each reads the shared presence before the other wrote); the browsers' own pass
        (dom.js distinctColors, in the list's order) keeps them apart on screen even then."""
        if pick is None:
            return None
        taken = [p["color"] for p in self.presence.peers(state.id)
                 if p["id"] != peer and "color" in p and p["role"] != VIEWER]
        return nearest_free(pick, taken)

    def _publish_peer(self, client: Client, m: Membership) -> None:
        self.presence.set(m.state.id, wire.peer(client.peer, client.name, m.role, m.seen, m.color,
                                                   client.account))
        self._presence_changed(m.state, client.peer)

    def _roster(self, state: DocState) -> Roster:
        roster = self._rosters.get(state.id)
        if roster is None:
            roster = self._rosters[state.id] = Roster(self.settings.presence_max_peers)
        return roster

    def _peers_gone(self, doc_id: str, peer_ids: list[str]) -> None:
        """Peers of a process that died were dropped from the shared presence (presence.py)."""
        here = self.members.get(doc_id)
        if here:
            state = next(iter(here.values())).state
            for peer in peer_ids:
                self._presence_changed(state, peer)

    def _presence_changed(self, state: DocState, peer: str) -> None:
        """A join, leave, rename or `seen` changed a peer. Presence goes out at most once per
        COLLAB_PRESENCE_INTERVAL per document: at once after a quiet interval, otherwise
        one message at the end of it carries every change made meanwhile. (Sent per change,
        a crowd of N joining cost N messages of N peers to N clients.) A message to more
        clients than a slice is sent by a task of its own, not by the handler: delivered in
        slices (queue.py) it yields, and a join or leave would wait for all of it."""
        roster = self._roster(state)
        roster.touched.add(peer)
        if roster.due:
            return
        wait = roster.sent_at + self.settings.presence_interval - time.monotonic()
        if wait <= 0 and not roster.sending and len(self.members.get(state.id, ())) <= SlicedDelivery.SLICE:
            self._send_presence(state)
        else:
            roster.due = True
            self.sio.start_background_task(self._presence_later, state, max(wait, 0.0))

    def _send_presence(self, state: DocState) -> None:
        roster = self._roster(state)
        # one message per document in flight: sent in slices, a later one started meanwhile
        # could reach some clients first (a delta applied out of order); it waits its turn
        assert not roster.sending, "presence of one document sent twice at once"
        roster.sending = True
        try:
            self._send_presence_now(state, roster)
        finally:
            roster.sending = False
        if roster.queued:  # changes came while it went out: the next message, as one
            roster.queued = roster.due = False
            if self._rosters.get(state.id) is roster:  # (else nobody of ours is left)
                self._send_presence(state)

    def _send_presence_now(self, state: DocState, roster: Roster) -> None:
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
        server = self.sio.server
        keys: list[tuple[str, wire.Role]] = [(state.id, EDITOR)]
        if self._has_viewers(state):
            keys.append((state.view_token, VIEWER))
        for key, role in keys:
            server.emit("presence", wire.presence(key, peers, counts), to=_presence_room(state.id, role, False),
                        namespace="/")
            server.emit("presence", wire.presence_delta(key, changed, gone, counts),
                        to=_presence_room(state.id, role, True), namespace="/")

    def _presence_later(self, state: DocState, wait: float) -> None:
        self.sio.sleep(wait)
        roster = self._rosters.get(state.id)
        if roster is None:
            return
        if roster.sending:  # the message in flight sends this one when it is through
            roster.queued = True
            return
        roster.due = False
        self._send_presence(state)
