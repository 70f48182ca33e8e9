"""Dump and load: every document with its whole history, labels and tokens, as a stream.

The format is JSON Lines, one record per line, so a dump of any size is written and read
in constant memory and can be piped, compressed or diffed:

    {"collab_dump": 2, "schema": 5}                                    the header
    {"document": {"id", "view_token", "head", "created", "updated"}}   then, for it,
    {"revision": {"version", "patch", "author", "op_id", "ts", "hash", "attribution"[, "account"]},
     "snapshot": "text at that version"}                               each, in order
    {"label": {"name", "version", "ts"}}                               its labels
    {"image": {"id", "type", "size", "sha256", "created", "data"}}     its images, data in base64
    {"title": {"chosen"}}                                              the title its editors chose
    {"color": {"author", "color", "ts"[, "account"]}}                  each author's colour, picked
    {"access": {"owner", "edit", "view", "members": [{"user", "role", "added"}]}}   who may edit
                                                                       and view it, if not the default
    {"tombstone": {"name", "reason", "ts"}}                            after the documents
    {"user": {"id", "email", "name", "password", "created", "disabled"[, "email_key"]}}   then the accounts
    {"identity": {"issuer", "subject", "user_id", "created"}}
    {"token": {"id", "user_id", "name", "token_hash", "created", "expires", "last_used"}}
    {"end": {"documents": N, "revisions": M, "tombstones": T, "images": I[, "users": U, "identities": D, "tokens": K]}}

`snapshot` appears where the store holds one, `account` (the author's account id, schema 7)
where the revision has one, `title` (schema 9) where its editors chose one (a heading's title
is worked out again, never dumped), `access` (schema 10) where the document has an owner, a
policy other than `link` or invited people (a collab older than schema 10 refuses the dump by
its header's schema, rather than load the document open to anyone with its link), `color`
(schema 12) for each person who last wrote it in a colour they picked (storage/colors.py). Format 2 added the tombstones (the names of
deleted documents and replaced links: a restored backup must not let an old link create a
deleted document again); format 3 the images uploaded into documents, one line each, read
from the store and written one at a time (a line holds one image, at most
COLLAB_MAX_IMAGE_BYTES of it, never the dump); format 4 the accounts (COLLAB_SIGN_IN: each
user with their password's Argon2 hash, or "!..." for one who signs in elsewhere, and
`email_key` when their account is found by another key than their email's, an identity's;
the identities of OpenID Connect and proxy sign-ins; each access token by its SHA-256, so
that people and scripts keep working on a restored or copied server), after the tombstones. A database without
accounts is dumped as format 3, exactly as before, so an older collab still loads it.
Sessions are never carried: a sign-in lives in a browser's cookie, signed with the source
server's secret key (which a dump does not hold), and a backup restored must not bring back
sign-ins ended since; people sign in again. A dump with accounts holds password hashes and
every edit link: keep it as secret as the database. A format 1 dump (no tombstones, no
"tombstones" count), a format 2 one (no images, no "images" count) and a format 3 one (no
accounts, no "users" and "tokens" counts) still load.
A dump is checked by one `Checker`, record by record: every field's type, ids and tokens
(core.ids, the one validator), op ids unique per document, ids and view tokens all distinct
(in the dump and against the target), labels of versions that exist, images whose data is base64 of the size, SHA-256 and
sniffed type they state with ids unique in the dump and the target, tombstones of a known
reason (core.errors.GONE_MESSAGES) that name no document of the dump or the target, the
closing counts, and every document's history replayed from "" with
core.replay (the one replay, as `collab check` does): each revision applies exactly, its text
has its hash, each snapshot and attribution matches that text. `validate` runs it over the
whole dump and writes nothing; `load` runs it again as it writes, each document in one
transaction (Store.load_document), so a document that fails leaves nothing of itself even if
the input changed since it was validated.

Of collab, imports only the pure core (tests/test_layers.py: the one storage module that may).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..core.blame import decode as decode_attribution
from ..core.errors import GONE_MESSAGES, CollabError
from ..core.images import TYPES as IMAGE_TYPES, digest, sniff
from ..core.ids import check_doc_id, check_image_id, check_name, check_op_id, check_storable, check_version
from ..core.replay import Replayer, ReplayError
from ..core.palette import PALETTE
from ..core.title import check_chosen
from .access import DEFAULT as DEFAULT_ACCESS
from .accounts import email_key
from .base import (POLICIES, ROLES, Access, AuthorColor, ChosenTitle, DocumentRow, Image, Label, Member, NewRevision, Revision, Store, StoreError,
                   Token, Tombstone, User)
from .schema import LATEST

FORMAT = 4
FORMATS = (1, 2, 3, 4)  # what this collab reads: 1 is 2 without tombstones, 2 is 3 without images, 3 is 4 without accounts
NO_ACCOUNTS = 3  # the format of a dump of a database without accounts: as before they existed
PAGE = 1000  # revisions read per store call
DOC_FIELDS = ("id", "view_token", "head", "created", "updated")
REV_FIELDS = ("version", "patch", "author", "op_id", "ts", "hash")  # and "attribution", which may be left out
LABEL_FIELDS = ("name", "version", "ts")
TOMBSTONE_FIELDS = ("name", "reason", "ts")
IMAGE_FIELDS = ("id", "type", "size", "sha256", "created", "data")
ACCESS_FIELDS = ("owner", "edit", "view", "members")
USER_FIELDS = ("id", "email", "name", "password", "created", "disabled")  # and "email_key", which may be left out
IDENTITY_FIELDS = ("issuer", "subject", "user_id", "created")
TOKEN_FIELDS = ("id", "user_id", "name", "token_hash", "created", "expires", "last_used")
KINDS = ("document", "revision", "label", "image", "title", "access", "color", "tombstone", "user", "identity", "token", "end")  # what a record after the header is, by its one key
T = TypeVar("T")


class DumpError(ValueError):
    """The dump cannot be loaded: it names the line (`unit` "record" for a copy) and what is
    wrong with it."""

    def __init__(self, line: int, reason: str, unit: str = "line") -> None:
        super().__init__(f"{unit} {line}: {reason}")
        self.line = line


@dataclass
class Counts:
    documents: int = 0
    revisions: int = 0
    tombstones: int = 0
    images: int = 0
    users: int = 0
    identities: int = 0
    tokens: int = 0
    ids: list[str] = field(default_factory=list)  # the documents, in order


Progress = Callable[[Counts], None]


@dataclass(frozen=True)
class UserRecord:
    """An account as a dump holds it: the user and the key it is found by."""

    user: User
    key: str


@dataclass(frozen=True)
class IdentityRecord:
    """An identity (OpenID Connect, a proxy's header) of an account of the dump."""

    issuer: str
    subject: str
    user_id: str
    created: float


def records(store: Store, docs: Iterable[str] | None = None, tombstones: bool = True,
            accounts: bool | None = None) -> Iterator[dict[str, Any]]:
    """The dump of `store` (of `docs` only, if given), record by record; its tombstones
    unless `tombstones` is False, then its accounts unless `accounts` is False (default: as
    `tombstones`: a whole dump carries them, one of some documents does not)."""
    users = store.accounts.users() if (tombstones if accounts is None else accounts) else []
    yield {"collab_dump": FORMAT if users else NO_ACCOUNTS, "schema": LATEST}
    counts = Counts()
    for doc in (store.document_ids() if docs is None else docs):
        row = store.get_document(doc)
        if row is None:
            raise StoreError(f"document {doc!r} does not exist")
        yield {"document": {f: getattr(row, f) for f in DOC_FIELDS}}
        snapshots = set(store.snapshot_versions(doc))
        since = 0
        while since < row.head:
            page = store.revisions(doc, since, min(PAGE, row.head - since))
            if not page:
                raise StoreError(f"document {doc!r}: history ends at version {since}, its head is {row.head}")
            for rev in page:
                record: dict[str, Any] = {"revision": {
                    "version": rev.version, "patch": rev.patch, "author": rev.author, "op_id": rev.op_id,
                    "ts": rev.ts, "hash": rev.hash, "attribution": rev.attribution}}
                if rev.account is not None:  # only then: a dump without accounts is as before
                    record["revision"]["account"] = rev.account
                if rev.version in snapshots:
                    record["snapshot"] = store.latest_snapshot(doc, rev.version)[1]
                yield record
            since = page[-1].version
            counts.revisions += len(page)
        for label in store.labels(doc):
            yield {"label": {"name": label.name, "version": label.version, "ts": label.ts}}
        for described in store.images(doc):  # one image's bytes in memory at a time
            image = store.image(described.id)
            if image is None or image.data is None:
                raise StoreError(f"document {doc!r}: image {described.id!r} went while it was dumped")
            yield {"image": {"id": image.id, "type": image.type, "size": image.size, "sha256": image.sha256,
                             "created": image.created, "data": base64.b64encode(image.data).decode("ascii")}}
            counts.images += 1
        chosen = store.visits.chosen_title(doc)
        if chosen is not None:  # only then: a dump of documents titled by their headings is as before
            yield {"title": {"chosen": chosen}}
        access = store.access.get(doc)
        if access != DEFAULT_ACCESS:  # only then: a dump of documents open by their links is as before
            yield {"access": {"owner": access.owner, "edit": access.edit, "view": access.view,
                              "members": [{"user": m.user, "role": m.role, "added": m.added} for m in access.members]}}
        for c in store.colors.colors(doc):  # none: a dump of documents nobody picked a colour in is as before
            color: dict[str, Any] = {"author": c.author, "color": c.color, "ts": c.ts}
            if c.account is not None:
                color["account"] = c.account
            yield {"color": color}
        counts.documents += 1
    if tombstones:
        for tomb in store.tombstones():
            yield {"tombstone": {"name": tomb.name, "reason": tomb.reason, "ts": tomb.ts}}
            counts.tombstones += 1
    keys = store.accounts.user_keys() if users else {}
    for user in users:
        record = {f: getattr(user, f) for f in USER_FIELDS}
        if keys.get(user.id, email_key(user.email)) != email_key(user.email):  # an identity's key
            record["email_key"] = keys[user.id]
        yield {"user": record}
        counts.users += 1
    for issuer, subject, user_id, created in store.accounts.all_identities() if users else []:
        yield {"identity": {"issuer": issuer, "subject": subject, "user_id": user_id, "created": created}}
        counts.identities += 1
    for token in store.accounts.tokens() if users else []:
        yield {"token": {f: getattr(token, f) for f in TOKEN_FIELDS}}
        counts.tokens += 1
    end = {"documents": counts.documents, "revisions": counts.revisions, "tombstones": counts.tombstones,
           "images": counts.images}
    yield {"end": {**end, "users": counts.users, "identities": counts.identities, "tokens": counts.tokens}
           if users else end}


def write(recs: Iterable[dict[str, Any]], out: Any, progress: Progress | None = None) -> Counts:
    """Write records as JSON Lines to a text file; the counts written."""
    counts = Counts()
    for rec in recs:
        out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        if "revision" in rec:
            counts.revisions += 1
        elif "tombstone" in rec:
            counts.tombstones += 1
        elif "image" in rec:
            counts.images += 1
        elif "user" in rec:
            counts.users += 1
        elif "identity" in rec:
            counts.identities += 1
        elif "token" in rec:
            counts.tokens += 1
        elif "document" in rec:
            counts.documents += 1
            if progress:
                progress(counts)
    return counts


def read(lines: Iterable[bytes | str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each line of a dump (read it in binary: a line that is not
    UTF-8 is then named by its number); a line that is not one JSON object is refused."""
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line,
                             parse_constant=_no_constant, object_pairs_hook=_no_repeats)
        except UnicodeDecodeError:
            raise DumpError(n, "not UTF-8") from None
        except RecursionError:
            raise DumpError(n, "nested too deeply to be a record") from None
        except json.JSONDecodeError as exc:
            raise DumpError(n, f"not JSON ({exc})") from None
        except ValueError as exc:  # from the two hooks
            raise DumpError(n, str(exc)) from None
        if not isinstance(rec, dict):
            raise DumpError(n, "not a JSON object")
        yield n, rec


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a dump holds")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"field {key!r} appears twice in one object")
            seen.add(key)
    return obj


@dataclass
class _Open:
    """The document being read: its row and its history replayed so far."""

    row: DocumentRow
    replayer: Replayer
    ops: dict[str, int] = field(default_factory=dict)  # ops[op_id] = the version it made
    labels: set[str] = field(default_factory=set)
    access: bool = False  # its access record was read
    title: bool = False  # its chosen title was read
    colors: set[tuple[str, str | None]] = field(default_factory=set)  # the people whose colour was read


class Checker:
    """Every check of a dump, one record at a time (`feed`), in constant memory but for one
    document's op ids and every document's id and view token.

    `feed` returns what the record stands for (a DocumentRow, a NewRevision, a Label, an
    Image or a Tombstone; None for the header and the end); `close` finishes the open document (its head);
    `finish`, after the last record, says whether the dump was whole. Anything wrong is a
    DumpError naming the line and, where there is one, the document and revision.
    """

    def __init__(self, target: Store | None = None, unit: str = "line", progress: Progress | None = None) -> None:
        self.target = target  # with a target: none of the dump's ids or tokens may be used in it
        self.unit = unit
        self.progress = progress
        self.counts = Counts()
        self._state = "header"  # then "body", "tombstones" (after the documents), "accounts", "end"
        self.format = FORMAT  # the header's
        self._doc: _Open | None = None
        self._keys: dict[str, tuple[str, str]] = {}  # keys[id or token] = (document, "id" | "view token")
        self._tombs: set[str] = set()  # the tombstones' names
        self._images: set[str] = set()  # the images' ids
        self._users: set[str] = set()  # the users' ids
        self._tokens: set[str] = set()  # the tokens' ids and hashes
        self._keys_of_users: set[str] = set()  # the keys the users are found by
        self._identities: set[tuple[str, str]] = set()
        self._line = 0

    def _error(self, n: int, reason: str) -> DumpError:
        return DumpError(n, reason, self.unit)

    def _core(self, n: int, check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A check of core.ids, its CollabError as this line's DumpError."""
        try:
            return check(*args, **kwargs)
        except CollabError as exc:
            raise self._error(n, exc.message) from None

    def feed(self, n: int, rec: dict[str, Any]) -> (DocumentRow | NewRevision | Label | Image | Access | ChosenTitle
                                                     | AuthorColor | Tombstone | UserRecord | IdentityRecord | Token | None):
        self._line = n
        if self._state == "header":
            self._header(n, rec)
            return None
        if self._state == "end":
            raise self._error(n, "data after the end record")
        kinds = [k for k in KINDS if k in rec]
        if len(kinds) != 1:
            raise self._error(n, f"one record a line: found {kinds or sorted(rec)[:4]}")
        kind = kinds[0]
        extra = set(rec) - {kind, "snapshot" if kind == "revision" else kind}
        if extra:
            raise self._error(n, f"unknown fields {sorted(extra)[:4]}")
        if kind == "document":
            return self._document(n, rec["document"])
        if kind == "revision":
            return self._revision(n, rec["revision"], rec.get("snapshot"))
        if kind == "label":
            return self._label(n, rec["label"])
        if kind == "image":
            return self._image(n, rec["image"])
        if kind == "access":
            return self._access(n, rec["access"])
        if kind == "title":
            return self._title(n, rec["title"])
        if kind == "color":
            return self._color(n, rec["color"])
        if kind == "tombstone":
            return self._tombstone(n, rec["tombstone"])
        if kind == "user":
            return self._user(n, rec["user"])
        if kind == "identity":
            return self._identity(n, rec["identity"])
        if kind == "token":
            return self._token(n, rec["token"])
        self._end(n, rec["end"])
        return None

    def close(self, n: int) -> None:
        """The open document ends before line `n`: its history must reach its head."""
        doc, self._doc = self._doc, None
        if doc is not None:
            if doc.replayer.version != doc.row.head:
                raise self._error(n, f"document {doc.row.id!r} ends at version {doc.replayer.version}, "
                                     f"its head is {doc.row.head}")
            if self.progress:
                self.progress(self.counts)

    def finish(self) -> Counts:
        if self._state == "header":
            raise self._error(1, "the dump is empty")
        if self._state != "end":
            raise self._error(self._line + 1, "the dump ends without its end record (truncated?)")
        return self.counts

    def _fields(self, n: int, kind: str, body: Any, required: Iterable[str], optional: Iterable[str] = ()) -> None:
        if not isinstance(body, dict):
            raise self._error(n, f"{kind!r} must be an object, not {type(body).__name__}")
        for name in required:
            if name not in body:
                raise self._error(n, f"missing {name!r}")
        extra = set(body) - set(required) - set(optional)
        if extra:
            raise self._error(n, f"unknown fields {sorted(extra)[:4]}")

    def _string(self, n: int, body: dict[str, Any], name: str) -> str:
        value = body[name]
        if not isinstance(value, str):
            raise self._error(n, f"{name!r} must be a string, not {type(value).__name__}")
        return value

    def _time(self, n: int, body: dict[str, Any], name: str) -> float:
        value = body[name]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self._error(n, f"{name!r} must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise self._error(n, f"{name!r} must be a finite number (unix seconds)")
        return float(value)

    def _header(self, n: int, rec: dict[str, Any]) -> None:
        if type(rec.get("collab_dump")) is not int:
            raise self._error(n, f"not a collab dump of format {FORMAT} (the first line must be its header)")
        if rec["collab_dump"] not in FORMATS:
            raise self._error(n, f"a collab dump of format {rec['collab_dump']}: this collab reads formats "
                                 f"{', '.join(map(str, FORMATS))}")
        self.format = rec["collab_dump"]
        self._fields(n, "header", rec, ("collab_dump", "schema"))
        schema = self._core(n, check_version, rec["schema"], "schema", minimum=1)
        if schema > LATEST:
            raise self._error(n, f"made by a collab with schema {schema}, newer than this one ({LATEST})")
        self._state = "body"

    def _document(self, n: int, body: Any) -> DocumentRow:
        self.close(n)
        if self._state == "tombstones":
            raise self._error(n, "a document after the tombstones (they come last, before the end record)")
        if self._state == "accounts":
            raise self._error(n, "a document after the accounts (they come last, before the end record)")
        self._fields(n, "document", body, DOC_FIELDS)
        doc = self._core(n, check_doc_id, body["id"], "document id")
        token = self._core(n, check_doc_id, body["view_token"], "view token")
        row = DocumentRow(doc, token, self._core(n, check_version, body["head"], "head"),
                          self._time(n, body, "created"), self._time(n, body, "updated"))
        # an id and a view token must never be confused: a view link that opened another
        # document for editing would hand out its edit capability
        if doc in self._keys:
            other, what = self._keys[doc]
            raise self._error(n, f"document {doc!r} appears twice" if what == "id" else
                                 f"document id {doc!r} is already document {other!r}'s view token")
        self._keys[doc] = (doc, "id")
        if token in self._keys:
            other, what = self._keys[token]
            raise self._error(n, f"document {doc!r}: view token {token!r} is already document {other!r}'s {what}")
        self._keys[token] = (doc, "view token")
        if self.target is not None:
            if self.target.get_document(doc) is not None:
                raise self._error(n, f"document {doc!r} already exists in the target database "
                                     "(load into an empty database, or leave it out of the dump)")
            for key, what in ((doc, "id"), (token, "view token")):
                if (key != doc and self.target.get_document(key) is not None) or \
                        self.target.get_document_by_view(key) is not None:
                    raise self._error(n, f"document {doc!r}: {what} {key!r} is already a document id or view "
                                         "token in the target database")
                tomb = self.target.tombstone(key)
                if tomb is not None:
                    raise self._error(n, f"document {doc!r}: {what} {key!r} is a tombstone in the target database "
                                         f"({tomb.reason}): that name may never name a document again")
        self._doc = _Open(row, Replayer("", 0))
        self.counts.documents += 1
        self.counts.ids.append(doc)
        return row

    def _open(self, n: int, what: str) -> _Open:
        if self._doc is None:
            raise self._error(n, f"a {what} outside a document (after its document line, before the next)")
        return self._doc

    def _revision(self, n: int, body: Any, snapshot: Any) -> NewRevision:
        doc = self._open(n, "revision")
        self._fields(n, "revision", body, REV_FIELDS, optional=("attribution", "account"))
        version = self._core(n, check_version, body["version"], "version", minimum=1)
        patch, author, hash_ = (self._string(n, body, name) for name in ("patch", "author", "hash"))
        for text, what in ((patch, "patch"), (author, "author")):
            self._core(n, check_storable, text, what)
        op_id = self._core(n, check_op_id, body["op_id"])
        attribution = body.get("attribution")
        if attribution is not None and not isinstance(attribution, str):
            raise self._error(n, f"'attribution' must be a string or null, not {type(attribution).__name__}")
        account = body.get("account")
        if account is not None and not (isinstance(account, str) and 0 < len(account) <= 64):
            raise self._error(n, "'account' must be an account id (a string of 1-64 characters) or null")
        if snapshot is not None and not isinstance(snapshot, str):
            raise self._error(n, f"'snapshot' must be a string, not {type(snapshot).__name__}")
        name = f"document {doc.row.id!r} revision {version}"
        if op_id in doc.ops:
            raise self._error(n, f"{name}: op id {op_id!r} is already revision {doc.ops[op_id]}'s "
                                 "(op ids are unique in a document)")
        rev = Revision(doc.row.id, version, patch, author, op_id, self._time(n, body, "ts"), hash_, attribution,
                       account)
        try:
            doc.replayer.apply(rev)
            text = doc.replayer.text()  # checks the hash
            if snapshot is not None and snapshot != text:
                raise ReplayError(version, "its snapshot differs from the replayed text")
            if attribution is not None:
                try:
                    covered = sum(count for _, count in decode_attribution(attribution, version))
                except ValueError as exc:
                    raise ReplayError(version, str(exc)) from None
                if covered != len(text):
                    raise ReplayError(version, f"attribution covers {covered} code points, the text has {len(text)}")
        except ReplayError as exc:
            raise self._error(n, f"document {doc.row.id!r} revision {exc.version}: {exc.reason}") from None
        doc.ops[op_id] = version
        self.counts.revisions += 1
        return NewRevision(rev, snapshot)

    def _label(self, n: int, body: Any) -> Label:
        doc = self._open(n, "label")
        self._fields(n, "label", body, LABEL_FIELDS)
        name = self._string(n, body, "name")
        if not name.strip() or self._core(n, check_name, name) != name:
            raise self._error(n, f"document {doc.row.id!r}: label name {name!r} is not valid: 1-64 characters, "
                                 "no control characters, no spaces at either end or two together")
        version = self._core(n, check_version, body["version"], "label version")
        if version > doc.replayer.version:
            raise self._error(n, f"document {doc.row.id!r}: label {name!r} of version {version}, which does not "
                                 f"exist (0..{doc.replayer.version}; labels follow a document's revisions)")
        if name in doc.labels:
            raise self._error(n, f"document {doc.row.id!r}: label {name!r} is set twice")
        doc.labels.add(name)
        return Label(version, name, self._time(n, body, "ts"))

    def _image(self, n: int, body: Any) -> Image:
        doc = self._open(n, "image")
        if self.format < 3:
            raise self._error(n, f"an image in a dump of format {self.format} (images came with format 3)")
        self._fields(n, "image", body, IMAGE_FIELDS)
        image_id = self._core(n, check_image_id, body["id"])
        name = f"document {doc.row.id!r} image {image_id!r}"
        kind, sha256, data = (self._string(n, body, f) for f in ("type", "sha256", "data"))
        size = self._core(n, check_version, body["size"], "image size", minimum=1)
        if kind not in IMAGE_TYPES:
            raise self._error(n, f"{name}: type {kind[:40]!r} is not one of {', '.join(IMAGE_TYPES)}")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise self._error(n, f"{name}: its data is not base64") from None
        if len(raw) != size:
            raise self._error(n, f"{name}: its data has {len(raw)} bytes, its size says {size}")
        if digest(raw) != sha256:
            raise self._error(n, f"{name}: its data does not have its SHA-256 (damaged?)")
        if sniff(raw) != kind:
            raise self._error(n, f"{name}: its data is {sniff(raw) or 'no image collab takes'}, its type says {kind}")
        if image_id in self._images:
            raise self._error(n, f"image {image_id!r} appears twice")
        if self.target is not None and self.target.image(image_id) is not None:
            raise self._error(n, f"{name}: an image of that id exists in the target database")
        self._images.add(image_id)
        self.counts.images += 1
        return Image(image_id, doc.row.id, kind, size, sha256, self._time(n, body, "created"), raw)

    def _title(self, n: int, body: Any) -> ChosenTitle:
        doc = self._open(n, "title")
        if doc.title:
            raise self._error(n, f"document {doc.row.id!r} has two chosen titles")
        doc.title = True
        self._fields(n, "title", body, ("chosen",))
        try:
            chosen = check_chosen(body["chosen"])
        except CollabError as exc:
            raise self._error(n, f"'chosen': {exc.message}") from None
        if chosen is None or chosen != body["chosen"]:
            raise self._error(n, "'chosen' must be a title as PUT /api/docs/<id>/title stores it (trimmed, visible)")
        return ChosenTitle(chosen)

    def _color(self, n: int, body: Any) -> AuthorColor:
        doc = self._open(n, "color")
        self._fields(n, "color", body, ("author", "color", "ts"), optional=("account",))
        author = self._string(n, body, "author")
        if self._core(n, check_name, author) != author:
            raise self._error(n, "'author' must be a name as a join stores it (trimmed, at most 64 characters)")
        account = body.get("account")
        if account is not None and not (isinstance(account, str) and 0 < len(account) <= 64):
            raise self._error(n, "'account' must be an account id (a string of 1-64 characters) or null")
        if body["color"] not in PALETTE:  # it goes into pages' CSS: only the palette's own strings
            raise self._error(n, f"'color' must be one of the palette's ({', '.join(PALETTE)}), "
                                 f"not {str(body['color'])[:40]!r}")
        who = (author if account is None else "", account)
        if who in doc.colors:
            raise self._error(n, f"document {doc.row.id!r} has two colours of {account or author!r}")
        doc.colors.add(who)
        return AuthorColor(author, account, body["color"], self._time(n, body, "ts"))

    def _access(self, n: int, body: Any) -> Access:
        doc = self._open(n, "access")
        if doc.access:
            raise self._error(n, f"document {doc.row.id!r} has two access records")
        doc.access = True
        self._fields(n, "access", body, ACCESS_FIELDS)
        owner = body["owner"]
        if owner is not None and not (isinstance(owner, str) and 0 < len(owner) <= 64):
            raise self._error(n, "'owner' must be an account id (a string of 1-64 characters) or null")
        for policy in ("edit", "view"):
            if body[policy] not in POLICIES:
                raise self._error(n, f"{policy!r} must be one of {', '.join(POLICIES)}, not {str(body[policy])[:40]!r}")
        if not isinstance(body["members"], list):
            raise self._error(n, "'members' must be a list")
        members: list[Member] = []
        for m in body["members"]:
            self._fields(n, "member", m, ("user", "role", "added"))
            user = m["user"]
            if not (isinstance(user, str) and 0 < len(user) <= 64) or any(x.user == user for x in members):
                raise self._error(n, "a member's 'user' must be an account id (1-64 characters), each once")
            if m["role"] not in ROLES:
                raise self._error(n, f"a member's 'role' must be one of {', '.join(ROLES)}")
            members.append(Member(user, m["role"], self._time(n, m, "added")))
        return Access(owner, body["edit"], body["view"], tuple(members))

    def _tombstone(self, n: int, body: Any) -> Tombstone:
        self.close(n)
        if self.format < 2:
            raise self._error(n, "a tombstone in a dump of format 1 (tombstones came with format 2)")
        if self._state == "accounts":
            raise self._error(n, "a tombstone after the accounts (they come after the tombstones)")
        self._state = "tombstones"
        self._fields(n, "tombstone", body, TOMBSTONE_FIELDS)
        # a name of a document that was deleted, renamed or whose view link was replaced:
        # the same alphabet and length as the names it stood for
        name = self._core(n, check_doc_id, body["name"], "tombstone name")
        reason = self._string(n, body, "reason")
        if reason not in GONE_MESSAGES:  # one list of reasons: what a client can be told of one
            raise self._error(n, f"tombstone {name!r}: reason {reason!r} is not one of "
                                 f"{', '.join(sorted(GONE_MESSAGES))}")
        if name in self._tombs:
            raise self._error(n, f"tombstone {name!r} appears twice")
        self._tombs.add(name)
        # a name both dead and alive: an old link would open the live document, or the
        # tombstone would refuse the live one
        if name in self._keys:
            doc, what = self._keys[name]
            raise self._error(n, f"tombstone {name!r} ({reason}) is also document {doc!r}'s "
                                 f"{'edit id' if what == 'id' else what} in the dump")
        if self.target is not None and (self.target.get_document(name) is not None
                                        or self.target.get_document_by_view(name) is not None):
            raise self._error(n, f"tombstone {name!r} ({reason}) is a live document's edit id or view token "
                                 "in the target database")
        self.counts.tombstones += 1
        return Tombstone(name, reason, self._time(n, body, "ts"))

    def _accounts(self, n: int, what: str) -> None:
        self.close(n)
        if self.format < 4:
            raise self._error(n, f"a {what} in a dump of format {self.format} (accounts came with format 4)")
        self._state = "accounts"

    def _user(self, n: int, body: Any) -> UserRecord:
        self._accounts(n, "user")
        self._fields(n, "user", body, USER_FIELDS, optional=("email_key",))
        user_id, email, name, password = (self._string(n, body, f) for f in ("id", "email", "name", "password"))
        if not 0 < len(user_id) <= 64 or not user_id.isascii() or not user_id.isprintable():
            raise self._error(n, f"user id {user_id[:80]!r} is not valid: 1-64 printable ASCII characters")
        # (empty: an identity's account whose provider gave no email)
        if email and (len(email) > 254 or email.count("@") != 1 or email.strip() != email or " " in email):
            raise self._error(n, f"user {user_id!r}: email {email[:80]!r} is not an address like ann@example.org")
        if not name.strip() or self._core(n, check_name, name) != name:
            raise self._error(n, f"user {user_id!r}: display name {name[:80]!r} is not valid (1-64 characters)")
        if not password.startswith(("$", "!")) or len(password) > 1_024:
            raise self._error(n, f"user {user_id!r}: password must be a password hash (a PHC string, $argon2id$...) "
                                 "or ! and a word (one who signs in elsewhere), never a password")
        key = self._string(n, body, "email_key") if "email_key" in body else email_key(email)
        if not key or len(key) > 2_048 or not key.isprintable():
            raise self._error(n, f"user {user_id!r}: no email and no email_key to find the account by")
        if not isinstance(body["disabled"], bool):
            raise self._error(n, f"user {user_id!r}: 'disabled' must be true or false")
        if user_id in self._users or key in self._keys_of_users:
            raise self._error(n, f"user {user_id!r} ({email or key}) appears twice")
        # (an identity's key taken in the target is found as the account is written: StoreConflict)
        if self.target is not None and (self.target.accounts.user(user_id) is not None or (
                email and self.target.accounts.user_by_email(email) is not None)):
            raise self._error(n, f"user {user_id!r} ({email or key}): an account of that id or email exists in the "
                                 "target database")
        self._users.add(user_id)
        self._keys_of_users.add(key)
        self.counts.users += 1
        return UserRecord(User(user_id, email, name, password, self._time(n, body, "created"), body["disabled"]), key)

    def _identity(self, n: int, body: Any) -> IdentityRecord:
        self._accounts(n, "identity")
        self._fields(n, "identity", body, IDENTITY_FIELDS)
        issuer, subject, user_id = (self._string(n, body, f) for f in ("issuer", "subject", "user_id"))
        if not 0 < len(issuer) <= 1_024 or not 0 < len(subject) <= 255 or not (issuer + subject).isprintable():
            raise self._error(n, f"identity ({issuer[:80]!r}, {subject[:80]!r}): an issuer of 1-1,024 and a subject "
                                 "of 1-255 printable characters")
        if user_id not in self._users:
            raise self._error(n, f"identity ({issuer[:80]!r}, {subject[:80]!r}) is of user {user_id[:80]!r}, who is "
                                 "not in the dump before it")
        if (issuer, subject) in self._identities:
            raise self._error(n, f"identity ({issuer[:80]!r}, {subject[:80]!r}) appears twice")
        if self.target is not None and self.target.accounts.user_by_identity(issuer, subject) is not None:
            raise self._error(n, f"identity ({issuer[:80]!r}, {subject[:80]!r}) has an account in the target database")
        self._identities.add((issuer, subject))
        self.counts.identities += 1
        return IdentityRecord(issuer, subject, user_id, self._time(n, body, "created"))

    def _token(self, n: int, body: Any) -> Token:
        self._accounts(n, "token")
        self._fields(n, "token", body, TOKEN_FIELDS)
        token_id, user_id, name, digest_ = (self._string(n, body, f) for f in ("id", "user_id", "name", "token_hash"))
        if not 0 < len(token_id) <= 64 or not token_id.isascii() or not token_id.isprintable():
            raise self._error(n, f"token id {token_id[:80]!r} is not valid: 1-64 printable ASCII characters")
        if user_id not in self._users:
            raise self._error(n, f"token {token_id!r} is of user {user_id[:80]!r}, who is not in the dump before it")
        if len(digest_) != 64 or any(c not in "0123456789abcdef" for c in digest_):
            raise self._error(n, f"token {token_id!r}: token_hash must be a SHA-256 in 64 lower-case hex digits "
                                 "(a token is never stored itself)")
        if not name.strip() or self._core(n, check_name, name) != name:
            raise self._error(n, f"token {token_id!r}: name {name[:80]!r} is not valid (1-64 characters)")
        expires, last_used = (None if body[f] is None else self._time(n, body, f) for f in ("expires", "last_used"))
        if token_id in self._tokens or digest_ in self._tokens:
            raise self._error(n, f"token {token_id!r} appears twice")
        if self.target is not None and self.target.accounts.token_user(digest_) is not None:
            raise self._error(n, f"token {token_id!r}: that token exists in the target database")
        self._tokens.update((token_id, digest_))
        self.counts.tokens += 1
        return Token(token_id, user_id, name, digest_, self._time(n, body, "created"), expires, last_used)

    def _end(self, n: int, body: Any) -> None:
        self.close(n)
        keys = ("documents", "revisions", "tombstones", "images", "users", "identities", "tokens")
        said = tuple(body.get(k) for k in keys) if isinstance(body, dict) else None
        c = self.counts
        held = (c.documents, c.revisions, c.tombstones if self.format >= 2 else None,
                c.images if self.format >= 3 else None, c.users if self.format >= 4 else None,
                c.identities if self.format >= 4 else None, c.tokens if self.format >= 4 else None)
        if said != held:
            raise self._error(n, f"the end record says {body}, the dump holds {c.documents} "
                                 f"documents, {c.revisions} revisions, {c.tombstones} tombstones, "
                                 f"{c.images} images, {c.users} users, {c.identities} identities and {c.tokens} tokens")
        self._state = "end"


def validate(recs: Iterable[tuple[int, dict[str, Any]]], target: Store | None = None, unit: str = "line",
             progress: Progress | None = None) -> Counts:
    """Check a whole dump without writing anything (see Checker); with `target`, also that
    none of its ids or view tokens is used there. Its counts and document ids."""
    checker = Checker(target, unit, progress)
    for n, rec in recs:
        checker.feed(n, rec)
    return checker.finish()


class LoadStopped(StoreError):
    """A load stopped at a document: those before it are in the store, whole; nothing of it
    or of those after it is."""


def load(recs: Iterable[tuple[int, dict[str, Any]]], store: Store, progress: Progress | None = None,
         unit: str = "line") -> Counts:
    """Write a dump into `store`, each document in one transaction, checking every record
    again as it is written (Checker, as `validate`): a document that fails is rolled back
    whole and the load stops there (LoadStopped, naming the line)."""
    checker = Checker(store, unit)
    stream = iter(recs)
    ahead: list[tuple[int, dict[str, Any]]] = []  # the record after a document's history

    def history() -> Iterator[NewRevision | Label | Image | Access | ChosenTitle | AuthorColor]:
        """The open document's revisions, labels and images, checked, up to the record after them.
        Consumed inside the document's transaction: what it raises rolls the document back."""
        for n, rec in stream:
            if not any(kind in rec for kind in ("revision", "label", "image", "access", "title", "color")):
                checker.close(n)
                ahead.append((n, rec))
                return
            item = checker.feed(n, rec)
            assert isinstance(item, (NewRevision, Label, Image, Access, ChosenTitle, AuthorColor))
            yield item
        checker.finish()  # raises: the input ends inside a document

    loaded = 0
    tombs: list[Tombstone] = []  # written a page at a time

    def write_tombstones() -> None:
        store.load_tombstones(tombs)
        tombs.clear()

    try:
        while True:
            if ahead:
                n, rec = ahead.pop()
            else:
                nxt = next(stream, None)
                if nxt is None:
                    break
                n, rec = nxt
            item = checker.feed(n, rec)
            if isinstance(item, DocumentRow):
                store.load_document(item, history())
                loaded += 1
                if progress:
                    progress(checker.counts)
            elif isinstance(item, Tombstone):
                tombs.append(item)
                if len(tombs) >= PAGE:
                    write_tombstones()
            elif isinstance(item, UserRecord):  # (after every tombstone: they come before the accounts)
                write_tombstones()
                store.accounts.load_user(item.user, item.key)
            elif isinstance(item, IdentityRecord):
                store.accounts.load_identity(item.issuer, item.subject, item.user_id, item.created)
            elif isinstance(item, Token):
                store.accounts.add_token(item)
        counts = checker.finish()
        write_tombstones()
        return counts
    except (DumpError, StoreError) as exc:
        raise LoadStopped(f"{exc}; the load stopped there (documents loaded whole before it: {loaded}; "
                          "nothing of it or after it)") from exc
