"""Document ids, view tokens, op ids and names: generation and validation.

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import string
from typing import Iterable

from .errors import CollabError

BASE62 = string.ascii_letters + string.digits
DOC_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
GENERATED_ID_LENGTH = 16  # ~95 bits: unguessable, the id is the edit capability
VIEW_TOKEN_LENGTH = 24  # ~143 bits; never derived from the edit id
IMAGE_ID_LENGTH = 24  # ~143 bits: an image's URL is the capability to see it, as a view token is
IMAGE_ID_RE = re.compile(rf"[A-Za-z0-9]{{{IMAGE_ID_LENGTH}}}")
MAX_OP_ID = 128
MAX_NAME = 64
# lone surrogates cannot be encoded as UTF-8 and NUL breaks every store
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_doc_id() -> str:
    return random_base62(GENERATED_ID_LENGTH)


def new_view_token() -> str:
    return random_base62(VIEW_TOKEN_LENGTH)


def new_image_id() -> str:
    """An uploaded image's id: random, so its URL tells nothing of the document's names."""
    return random_base62(IMAGE_ID_LENGTH)


def log_id(key: object) -> str:
    """How logs name a document: the first 8 hex digits of the SHA-256 of its edit id or
    view token (UTF-8), never the id itself, which is the capability to edit (or read) it.
    The operator finds a document by hashing the ids in the database the same way
    (docs/deploy.md, "Metrics and logs"). Not a string (a malformed message's `doc`): its
    type, in angle brackets; None: "-"."""
    if not isinstance(key, str):
        return "-" if key is None else f"<{type(key).__name__}>"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def redact(text: str, keys: Iterable[object]) -> str:
    """`text` (an error message, a traceback) with every appearance of each of `keys`
    (edit ids, view tokens) replaced by its `log_id`. An appearance is the key between
    characters that cannot be part of an id, so "ab" inside "tab" stays. Only what can be
    an id (DOC_ID_RE) is a key: anything else names no document, and a client's 4 MB
    `doc` must not become a 4 MB pattern."""
    for key in keys:
        if isinstance(key, str) and key in text and DOC_ID_RE.fullmatch(key):
            text = re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(key)}(?![A-Za-z0-9_-])", log_id(key), text)
    return text


def check_doc_id(doc: object, field: str = "doc") -> str:
    if not isinstance(doc, str):
        raise CollabError("bad_doc", f"{field} must be a string of 1-64 of A-Z a-z 0-9 _ -, not {_json_type(doc)}")
    if not DOC_ID_RE.fullmatch(doc):
        shown = repr(doc) if len(doc) <= 80 else f"of {len(doc)} characters"
        raise CollabError("bad_doc", f"{field} {shown} is not valid: use 1-64 of A-Z a-z 0-9 _ -")
    return doc


def _json_type(value: object) -> str:
    """What a JSON value is, in the words of JSON (for messages about a client's fields)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def check_image_id(value: object, field: str = "image id") -> str:
    """An uploaded image's id, as new_image_id makes them: IMAGE_ID_LENGTH base62 characters."""
    if not isinstance(value, str) or not IMAGE_ID_RE.fullmatch(value):
        shown = value if isinstance(value, str) and len(value) <= 80 else type(value).__name__
        raise CollabError("not_found", f"{field} {shown!r} is not valid: {IMAGE_ID_LENGTH} of A-Z a-z 0-9")
    return value


def check_version(value: object, field: str = "version", *, minimum: int = 0, text: bool = False) -> int:
    """The one check of a version number a client sends (`base`, `since`, `version`, `from`,
    `to`; and a count such as `limit`, with its `minimum`): a whole number >= `minimum`. In
    JSON it must be a number (`3`, not `"3"`, `3.0` or `true`); a query parameter or a path
    segment (`text=True`) is its decimal digits."""
    number = value
    if text and isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            pass
    if not isinstance(number, int) or isinstance(number, bool) or number < minimum:
        shown = (repr(value[:40]) if isinstance(value, str) else repr(value)[:40] if value is None or isinstance(value, (int, float))
                 else type(value).__name__)
        raise CollabError("bad_request", f"{field} must be a whole number >= {minimum}, got {shown}")
    return number


def check_op_id(op_id: object) -> str:
    if not isinstance(op_id, str) or not 1 <= len(op_id) <= MAX_OP_ID:
        raise CollabError(
            "bad_request", f"id must be a string of 1-{MAX_OP_ID} characters, unique per edit"
        )
    if _CONTROL_RE.search(op_id) or _UNSTORABLE_RE.search(op_id):
        raise CollabError("bad_request", "id must not contain control characters or lone surrogates")
    return op_id


def check_name(name: object) -> str:
    """A display name; None or blank gives "Anonymous"."""
    if name is None:
        return "Anonymous"
    if not isinstance(name, str):
        raise CollabError("bad_request", "name must be a string")
    if _UNSTORABLE_RE.search(name):
        raise CollabError("bad_request", "name contains characters that cannot be stored")
    name = " ".join(_CONTROL_RE.sub(" ", name).split())
    if len(name) > MAX_NAME:
        raise CollabError("bad_request", f"name is longer than {MAX_NAME} characters")
    return name or "Anonymous"


def check_storable(text: str, what: str = "text") -> None:
    """Refuse Unicode that cannot be stored (lone surrogates, NUL) before applying anything."""
    m = _UNSTORABLE_RE.search(text)
    if m:
        raise CollabError(
            "bad_patch",
            f"{what} contains U+{ord(m.group()):04X} at code point {m.start()}: "
            "lone surrogates and NUL cannot be stored",
        )
