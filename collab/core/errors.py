"""Domain errors with the stable codes of wire contract v1.

Pure: imports nothing from flask, socketio, gevent or any database driver.
Exactly one place turns a CollabError into a Socket.IO ack (realtime.py) and one
into an HTTP JSON error (api.py).
"""
from __future__ import annotations

from typing import TypedDict, Unpack

# code -> HTTP status used by the JSON API
HTTP_STATUS = {
    "bad_request": 400,
    "bad_doc": 404,
    "not_found": 404,
    "deleted": 410,  # the document was deleted, renamed or its view link rotated: the name is a tombstone
    "not_joined": 409,
    "read_only": 403,
    "forbidden": 403,  # a browser request from another origin (collab/server/guard.py); a person a document's access does not admit (service/access.py); not an admin
    "bad_credentials": 401,  # a sign-in's email and password match no account that may sign in
    "bad_token": 401,  # an Authorization: Bearer token that is malformed, unknown, revoked or expired
    "sign_in_required": 401,  # what was asked is a signed-in person's: sign in first (also: a document's access admits only them; COLLAB_CREATE=signed_in)
    "bad_patch": 400,
    "conflict": 409,
    "future_base": 409,
    "too_large": 413,
    "rate_limited": 429,
    "doc_corrupt": 500,
    "unavailable": 503,
    "internal": 500,
}


class ErrorExtra(TypedDict, total=False):
    """The extra fields an error may carry (docs/protocol.md, "Error codes")."""

    version: int  # conflict, future_base: the current head
    retry_after: float  # rate_limited, unavailable: seconds
    reason: str  # deleted: why the name is a tombstone, a key of GONE_MESSAGES


class ErrorBody(ErrorExtra):
    """The error object of the wire: in an ack's `error` and in an HTTP error body."""

    code: str
    message: str


class CollabError(Exception):
    """An error a client can act on; `code` is part of the public contract."""

    def __init__(self, code: str, message: str, **extra: Unpack[ErrorExtra]) -> None:
        assert code in HTTP_STATUS, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra  # extra fields for the client, e.g. version on conflict

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled whole (the read worker process sends errors back): code, message, extra."""
        return (_rebuild, (type(self), self.code, self.message, dict(self.extra)))

    def to_dict(self) -> ErrorBody:
        return {"code": self.code, "message": self.message, **self.extra}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


def _rebuild(cls: type[CollabError], code: str, message: str, extra: ErrorExtra) -> CollabError:
    """A pickled CollabError (or subclass, whose own __init__ takes other arguments) again."""
    error = CollabError.__new__(cls)
    CollabError.__init__(error, code, message, **extra)
    return error


class PatchConflict(CollabError):
    """Some hunk does not apply where it must; nothing was applied."""

    def __init__(self, message: str, **extra: Unpack[ErrorExtra]) -> None:
        super().__init__("conflict", message, **extra)


class BadPatch(CollabError):
    """The patch text cannot be parsed or is inconsistent."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_patch", message)


# what a client is told of a name that is a tombstone, by why (storage.Tombstone.reason):
# "deleted" (the document), "renamed" (its old edit id), "rotated" (its old view token);
# it never names the document, which may be asked for by its view token
GONE_MESSAGES = {
    "deleted": "this document was deleted: its links no longer work",
    "rotated": "this read-only link was replaced by a new one: ask an editor of the document for the new link",
    "renamed": "this document was renamed: ask an editor of the document for its new link",
}


def gone_error(reason: str) -> CollabError:
    """The `deleted` error (HTTP 410) of a name that is a tombstone, with its `reason` (an
    unknown one, from a newer collab's database, reads as "deleted")."""
    reason = reason if reason in GONE_MESSAGES else "deleted"
    return CollabError("deleted", GONE_MESSAGES[reason], reason=reason)
