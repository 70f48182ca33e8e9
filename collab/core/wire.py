"""Wire contract v1 (docs/protocol.md) as types: every message and answer, and the one
function that builds each.

The edges (collab/server) build what they send here, the Python client types its requests
with it, and the tests' fakes and the vector generator build theirs the same way, so there
is one spelling of each message. What arrives from the other side is `Received` until its
fields are checked. Key order is part of what the builders keep: Socket.IO frames are the
dicts in the order built here, byte for byte as before.

Pure: imports nothing from flask, socketio, gevent or any database driver.
"""
from __future__ import annotations

from typing import Any, Literal, NotRequired, Protocol, Sequence, TypedDict

from .blame import Span
from .errors import ErrorBody as ErrorBody, ErrorExtra as ErrorExtra  # (part of the wire too)
from .patches import Edit

Role = Literal["editor", "viewer"]  # what a connection may do in a document
# a JSON object as it arrived (an event's payload, a request's body, a server's message):
# nothing in it is checked yet; each field is checked where it is read
Received = dict[str, Any]


class StoredRevision(Protocol):
    """What a `revision` message says of a stored revision (collab.storage.Revision fits)."""

    @property
    def version(self) -> int: ...

    @property
    def patch(self) -> str: ...

    @property
    def author(self) -> str: ...

    @property
    def op_id(self) -> str: ...

    @property
    def ts(self) -> float: ...

    @property
    def hash(self) -> str: ...


# -- client -> server ------------------------------------------------------------------


class JoinRequest(TypedDict, total=False):
    doc: str  # an edit id, or
    view: str  # a view token
    name: str
    presence: str  # "delta" for presence deltas
    color: str | None  # a picked colour, one of core/palette.py's (extension of v1); absent or null: automatic


# The client state machine (collab/client/state.py) makes a request's fields but `doc`; its
# transport adds how it named the document.


class PatchFields(TypedDict):
    base: int  # the version the patch was made against
    patch: str
    id: str  # the op id: the same on every resend


class PatchRequest(PatchFields):
    doc: str


class SyncFields(TypedDict):
    since: int


class SyncRequest(SyncFields):
    doc: str


class SeenFields(TypedDict):
    version: int  # every revision up to it arrived


class SeenMessage(SeenFields):
    doc: str


class CursorRequest(TypedDict):
    doc: str
    anchor: int
    head: int


class RestoreRequest(TypedDict):
    doc: str
    version: int


class LeaveRequest(TypedDict):
    doc: str


def join_request(doc: str | None = None, *, view: str | None = None, name: str | None = None,
                 presence: str | None = None, color: str | None = None) -> JoinRequest:
    """By edit id (`doc`) or by view token (`view`); `presence="delta"` for presence deltas."""
    if doc is not None:
        assert view is None, "join names the document one way: doc or view"
        request: JoinRequest = {"doc": doc}
    else:
        assert view is not None, "join names the document: doc or view"
        request = {"view": view}
    if name is not None:
        request["name"] = name
    if presence is not None:
        request["presence"] = presence
    if color is not None:  # only then: an automatic client's join is byte for byte as before
        request["color"] = color
    return request


def patch_request(doc: str, base: int, patch: str, id: str) -> PatchRequest:
    return {"doc": doc, "base": base, "patch": patch, "id": id}


def sync_request(doc: str, since: int) -> SyncRequest:
    return {"doc": doc, "since": since}


def seen(doc: str, version: int) -> SeenMessage:
    return {"doc": doc, "version": version}


def cursor_request(doc: str, anchor: int, head: int) -> CursorRequest:
    return {"doc": doc, "anchor": anchor, "head": head}


def restore_request(doc: str, version: int) -> RestoreRequest:
    return {"doc": doc, "version": version}


def leave_request(doc: str) -> LeaveRequest:
    return {"doc": doc}


# -- errors: acks and HTTP bodies ----------------------------------------------------------


class ErrorAck(TypedDict):
    ok: Literal[False]
    error: ErrorBody


class HttpError(TypedDict):
    error: ErrorBody


def error_body(code: str, message: str, extra: ErrorExtra | None = None) -> ErrorBody:
    """`{code, message, ...extra}`: the error object of an ack and of an HTTP answer."""
    return {"code": code, "message": message, **(extra or {})}


def error_ack(code: str, message: str, extra: ErrorExtra | None = None) -> ErrorAck:
    return {"ok": False, "error": error_body(code, message, extra)}


def http_error(code: str, message: str, extra: ErrorExtra | None = None) -> HttpError:
    return {"error": error_body(code, message, extra)}


# -- server -> client ------------------------------------------------------------------------


class RevisionMessage(TypedDict):
    doc: str
    version: int
    patch: str  # canonical: applies exactly to the text at version - 1
    author: str
    account: NotRequired[str]  # the author's account id, when signed in (COLLAB_SIGN_IN); absent: a guest
    id: str  # the author's op id
    ts: float  # commit time, Unix seconds
    hash: str  # CRC-32 of the text after it, 8 hex digits


class RevisionsMessage(TypedDict):
    doc: str
    revisions: list[RevisionMessage]  # consecutive versions


class Peer(TypedDict):
    id: str
    name: str
    role: str  # a Role (as read back from another process: what it wrote)
    version: int  # the last version it confirmed with `seen`
    # the colour it is shown in, when it picked one (extension of v1, issue 15): its pick, or
    # the nearest free one if someone present had it first; absent: automatic
    color: NotRequired[str]
    account: NotRequired[str]  # a signed-in person's account id (COLLAB_SIGN_IN); absent: a guest


class Counts(TypedDict):
    editors: int
    viewers: int


class PresenceMessage(TypedDict):
    doc: str
    peers: list[Peer]  # at most COLLAB_PRESENCE_MAX_PEERS editors
    editors: int
    viewers: int


class PresenceDelta(TypedDict):
    doc: str
    delta: Literal[True]
    peers: list[Peer]  # the entries new or changed since the previous message
    gone: list[str]  # peer ids to drop
    editors: int
    viewers: int


class CursorMessage(TypedDict):
    doc: str
    peer: str
    name: str
    anchor: int
    head: int
    account: NotRequired[str]  # as in Peer


class GoneMessage(TypedDict):
    """The document is no more (extension of v1): the client was taken out of it."""

    doc: str
    error: ErrorBody  # code `deleted`, with its `reason` (deleted, renamed, rotated); or the refusal of
    # the document's access (`forbidden`, `sign_in_required`): its owner no longer admits this client


def revision(doc: str, r: StoredRevision) -> RevisionMessage:
    message: RevisionMessage = {"doc": doc, "version": r.version, "patch": r.patch, "author": r.author,
                                "id": r.op_id, "ts": r.ts, "hash": r.hash}
    account = getattr(r, "account", None)  # (storage.Revision has it; the tests' fakes may not)
    if account is not None:  # only then: a guest's revision is byte for byte as before accounts
        message["account"] = account
    return message


def revisions(doc: str, messages: list[RevisionMessage]) -> RevisionsMessage:
    return {"doc": doc, "revisions": messages}


def peer(id: str, name: str, role: str, version: int, color: str | None = None,
         account: str | None = None) -> Peer:
    entry: Peer = {"id": id, "name": name, "role": role, "version": version}
    if color is not None:  # only then: an automatic peer's entry is byte for byte as before
        entry["color"] = color
    if account is not None:  # only then: a guest's entry is as before accounts
        entry["account"] = account
    return entry


def presence(doc: str, peers: list[Peer], counts: Counts) -> PresenceMessage:
    return {"doc": doc, "peers": peers, "editors": counts["editors"], "viewers": counts["viewers"]}


def presence_delta(doc: str, changed: list[Peer], gone: list[str], counts: Counts) -> PresenceDelta:
    return {"doc": doc, "delta": True, "peers": changed, "gone": gone,
            "editors": counts["editors"], "viewers": counts["viewers"]}


def cursor(doc: str, peer: str, name: str, anchor: int, head: int, account: str | None = None) -> CursorMessage:
    m: CursorMessage = {"doc": doc, "peer": peer, "name": name, "anchor": anchor, "head": head}
    if account is not None:
        m["account"] = account
    return m


def gone(doc: str, error: ErrorBody) -> GoneMessage:
    return {"doc": doc, "error": error}


class RoleMessage(TypedDict):
    """What this client may now do in the document (extension of v1, issue 14): its owner
    changed who may edit; `viewer` is read-only from now on, `editor` may write again."""

    doc: str
    role: Role


def role_changed(doc: str, role: Role) -> RoleMessage:
    return {"doc": doc, "role": role}


class AccessChanged(TypedDict):
    """Between processes only (to a room no client is in): re-check the document's members."""

    doc: str


def access_changed(doc: str) -> AccessChanged:
    return {"doc": doc}
class TitleMessage(TypedDict):
    """Its editors chose a title for the document, or gave it back its first heading (`title`
    null): extension of v1 (issue 14), sent to everyone in it; older clients ignore it."""

    doc: str  # as the client named it: edit id or view token
    title: str | None


def title_message(doc: str, title: str | None) -> TitleMessage:
    return {"doc": doc, "title": title}


# -- acks ------------------------------------------------------------------------------------


class Limits(TypedDict):
    patch: int  # characters of one patch text, as sent
    hunks: int  # hunks in one patch
    doc: int  # code points of the document
    lines: int  # lines of one patch text (its hunk headers and operations)


class JoinAck(TypedDict):
    ok: Literal[True]
    doc: str  # as the client named it: edit id or view token
    version: int
    text: str
    role: Role
    peers: list[Peer]
    editors: int
    viewers: int
    you: str  # this connection's peer id
    limits: NotRequired[Limits]  # extension of v1: absent from older servers
    view: NotRequired[str]  # editors only: the view token
    title: NotRequired[str]  # extension (issue 14): the title its editors chose, if they did


class PatchAck(TypedDict):
    ok: Literal[True]
    version: int
    hash: str
    duplicate: NotRequired[Literal[True]]
    patch: NotRequired[str]  # the canonical revision, when the server moved the patch or it is a duplicate


class SyncAck(TypedDict):
    ok: Literal[True]
    version: int  # the head
    revisions: list[RevisionMessage]
    more: NotRequired[Literal[True]]


class RestoreAck(TypedDict):
    ok: Literal[True]
    version: int
    hash: str
    patch: NotRequired[str]
    unchanged: NotRequired[Literal[True]]


class OkAck(TypedDict):
    ok: Literal[True]


Ack = JoinAck | PatchAck | SyncAck | RestoreAck | OkAck


def limits(patch: int, hunks: int, doc: int, lines: int) -> Limits:
    return {"patch": patch, "hunks": hunks, "doc": doc, "lines": lines}


def join_ack(doc: str, version: int, text: str, role: Role, peers: list[Peer], counts: Counts, you: str,
             limits: Limits | None, view: str | None = None, title: str | None = None) -> JoinAck:
    """`limits` None: an older server's answer, without them (the client takes the defaults);
    `title` only when the document's editors chose one (else its first heading is its title)."""
    ack: JoinAck = {"ok": True, "doc": doc, "version": version, "text": text, "role": role, "peers": peers,
                    "editors": counts["editors"], "viewers": counts["viewers"], "you": you}
    if limits is not None:
        ack["limits"] = limits
    if view is not None:
        ack["view"] = view
    if title is not None:
        ack["title"] = title
    return ack


def patch_ack(version: int, hash: str, patch: str | None = None, duplicate: bool = False) -> PatchAck:
    """`patch`: the canonical revision, given when the author cannot derive it (moved, duplicate)."""
    ack: PatchAck = {"ok": True, "version": version, "hash": hash}
    if duplicate:
        ack["duplicate"] = True
    if patch is not None:
        ack["patch"] = patch
    return ack


def sync_ack(head: int, messages: list[RevisionMessage]) -> SyncAck:
    """The answer to `sync`: `more` when the last revision given is not the head."""
    ack: SyncAck = {"ok": True, "version": head, "revisions": messages}
    if messages and messages[-1]["version"] < head:
        ack["more"] = True
    return ack


def restore_ack(version: int, hash: str, patch: str | None = None) -> RestoreAck:
    """Without `patch`: the text already was that version's, nothing was written."""
    if patch is None:
        return {"ok": True, "version": version, "hash": hash, "unchanged": True}
    return {"ok": True, "version": version, "hash": hash, "patch": patch}


def ok() -> OkAck:
    return {"ok": True}


# -- HTTP bodies -----------------------------------------------------------------------------


class Health(TypedDict):
    ok: bool
    database: str  # "ok" or "down"
    queue: str  # "ok", "none" (no queue) or "down"
    error: NotRequired[ErrorBody]  # the database is down: why
    degraded: NotRequired[str]  # the queue is down: what still works (ok stays true)


class DocumentBody(TypedDict):
    doc: str
    version: int
    text: str
    created: float  # Unix seconds
    updated: float
    title: NotRequired[str]  # extension (issue 14): the title its editors chose, if they did


class RevisionsBody(TypedDict):
    doc: str
    version: int  # the head
    revisions: list[RevisionMessage]
    more: NotRequired[Literal[True]]


class VersionBody(TypedDict):
    doc: str
    version: int
    text: str


class Created(TypedDict):
    doc: str
    edit_url: str
    view_url: str
    version: NotRequired[int]  # created with a text, or copied: its version (1; 0 when empty)
    copied_from: NotRequired[int]  # a copy: the version of the original it was made from


class People(TypedDict):
    doc: str
    editors: int  # everyone here, on every process
    viewers: int
    names: list[str]  # the listed editors' display names (viewers are never listed)


class EditBody(TypedDict):
    pos: int  # code points, on the old text
    delete: str
    insert: str


class BlameBody(TypedDict):
    doc: str
    version: int
    spans: list[Span]


# `from` is a Python keyword: the functional form
DiffBody = TypedDict("DiffBody", {"doc": str, "from": int, "to": int, "patch": str, "edits": list[EditBody]})


class RevertPreview(TypedDict):
    doc: str
    version: int  # the head
    text: str  # the result
    patch: str  # head -> result
    edits: list[EditBody]


class Written(TypedDict):
    """A history write: the new version, or the head with `unchanged` when nothing was written."""

    doc: str
    version: int
    unchanged: NotRequired[Literal[True]]
    restored_from: NotRequired[int]


class LabelBody(TypedDict):
    version: int
    name: str
    ts: float


class LabelsBody(TypedDict):
    doc: str
    labels: list[LabelBody]


class AuthorColorBody(TypedDict):
    author: str
    account: NotRequired[str]  # a signed-in person's account id; absent: a guest
    color: str  # one of core/palette.py's
    ts: float


class ColorsBody(TypedDict):
    """GET /api/docs/<doc>/colors (issue 15): the colour each author last wrote in, the latest first."""

    doc: str
    colors: list[AuthorColorBody]


class LabelSet(TypedDict):
    doc: str
    version: int
    name: str
    ts: float


class LabelDeleted(TypedDict):
    doc: str
    deleted: str


class DocumentDeleted(TypedDict):
    doc: str
    deleted: float  # when, Unix seconds


def health(database: str, queue: str, error: ErrorBody | None = None, degraded: str | None = None) -> Health:
    """`GET /healthz` and `/readyz`: ok unless `error` says why the database is down; a queue
    that is down only `degraded` it."""
    body: Health = {"ok": error is None, "database": database, "queue": queue}
    if error is not None:
        body["error"] = error
    if degraded is not None:
        body["degraded"] = degraded
    return body


def document_body(doc: str, version: int, text: str, created: float, updated: float,
                  title: str | None = None) -> DocumentBody:
    """`title` only when its editors chose one (else its first heading is its title)."""
    body: DocumentBody = {"doc": doc, "version": version, "text": text, "created": created, "updated": updated}
    if title is not None:
        body["title"] = title
    return body


def revisions_body(doc: str, head: int, messages: list[RevisionMessage]) -> RevisionsBody:
    body: RevisionsBody = {"doc": doc, "version": head, "revisions": messages}
    if messages and messages[-1]["version"] < head:
        body["more"] = True
    return body


def version_body(doc: str, version: int, text: str) -> VersionBody:
    return {"doc": doc, "version": version, "text": text}


def created(doc: str, edit_url: str, view_url: str, version: int | None = None,
            copied_from: int | None = None) -> Created:
    body: Created = {"doc": doc, "edit_url": edit_url, "view_url": view_url}
    if version is not None:
        body["version"] = version
    if copied_from is not None:
        body["copied_from"] = copied_from
    return body


def people(doc: str, editors: int, viewers: int, names: list[str]) -> People:
    return {"doc": doc, "editors": editors, "viewers": viewers, "names": names}


def edits(items: Sequence[Edit]) -> list[EditBody]:
    return [{"pos": e.pos, "delete": e.delete, "insert": e.insert} for e in items]


def blame_body(doc: str, version: int, spans: list[Span]) -> BlameBody:
    return {"doc": doc, "version": version, "spans": spans}


def diff_body(doc: str, a: int, b: int, patch: str, items: Sequence[Edit]) -> DiffBody:
    return {"doc": doc, "from": a, "to": b, "patch": patch, "edits": edits(items)}


def revert_preview(doc: str, version: int, text: str, patch: str, items: Sequence[Edit]) -> RevertPreview:
    return {"doc": doc, "version": version, "text": text, "patch": patch, "edits": edits(items)}


def written(doc: str, version: int, unchanged: bool = False, restored_from: int | None = None) -> Written:
    body: Written = {"doc": doc, "version": version}
    if unchanged:
        body["unchanged"] = True
    if restored_from is not None:
        body["restored_from"] = restored_from
    return body


def label(version: int, name: str, ts: float) -> LabelBody:
    return {"version": version, "name": name, "ts": ts}


def labels_body(doc: str, items: list[LabelBody]) -> LabelsBody:
    return {"doc": doc, "labels": items}


def author_color(author: str, account: str | None, color: str, ts: float) -> AuthorColorBody:
    entry: AuthorColorBody = {"author": author, "color": color, "ts": ts}
    if account is not None:
        entry["account"] = account
    return entry


def colors_body(doc: str, items: list[AuthorColorBody]) -> ColorsBody:
    return {"doc": doc, "colors": items}


def label_set(doc: str, version: int, name: str, ts: float) -> LabelSet:
    return {"doc": doc, "version": version, "name": name, "ts": ts}


def label_deleted(doc: str, name: str) -> LabelDeleted:
    return {"doc": doc, "deleted": name}


def document_deleted(doc: str, ts: float) -> DocumentDeleted:
    return {"doc": doc, "deleted": ts}
