"""The storage interface: what the document service needs from a database, no more.

Must not import flask, socketio or gevent: a store is plain blocking code; the service
decides which thread runs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol, Sequence

if TYPE_CHECKING:
    from .schema import Migration


class StoreError(Exception):
    """The database refused or failed a read or write (disk full, locked, gone)."""


class NoDatabase(StoreError):
    """Asked not to create one (open_store(create=False)), the URL names no collab database:
    a SQLite file that does not exist, or a database without collab's tables."""


class StoreConflict(StoreError):
    """An append lost a race: another writer (process) stored that version or op id first.
    Nothing of the batch was stored; reload and try again."""


class StoreBusy(StoreError):
    """An append asked not to wait found the database locked by another writer. Nothing
    was stored; try again, waiting."""


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: str
    view_token: str
    head: int  # number of committed revisions
    created: float  # unix seconds
    updated: float


@dataclass(frozen=True, slots=True)
class Revision:
    doc: str
    version: int
    patch: str  # canonical: applies exactly to the text at version - 1
    author: str
    op_id: str
    ts: float
    hash: str  # CRC-32 of the UTF-8 text after this revision, 8 hex digits
    # a restore's or a revert's: who first wrote each code point of the text after it
    # (collab.blame.encode); None for an ordinary revision, whose inserts are its own
    attribution: str | None = None
    # the id of the account of a signed-in author (schema migration 7); None: a guest's, or
    # made before accounts. Set by the server from the session, never by a client
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Label:
    """A named version ("submitted draft"); names are unique per document."""

    version: int
    name: str
    ts: float  # when it was set, unix seconds


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A name (edit id or view token) that named a document and never will again."""

    name: str
    reason: str  # "deleted" (the document), "rotated" (a view token replaced), "renamed" (an edit id)
    ts: float  # when, unix seconds


TOMBSTONE_REASONS = ("deleted", "rotated", "renamed")


@dataclass(frozen=True, slots=True)
class Image:
    """An image uploaded into a document, stored beside its history (schema migration 6).
    Its id is random and names no document: its URL (/images/<id>) keeps working when the
    document is renamed, and tells a viewer nothing of the edit id."""

    id: str
    doc: str  # the document's edit id
    type: str  # sniffed from the bytes when uploaded: one of core.images.TYPES
    size: int  # bytes
    sha256: str  # of the bytes, hex
    created: float  # unix seconds
    data: bytes | None = None  # None where only the description was read (Store.images)


@dataclass(frozen=True, slots=True)
class User:
    """An account (schema migration 7): local (COLLAB_SIGN_IN=local), or of an identity an
    OpenID provider or a trusted proxy vouches for (migration 8; its password verifies nothing)."""

    id: str  # "u_" + random: what revisions store in `account`
    email: str  # as given; unique ignoring case
    name: str  # display name: the author of this person's revisions
    password: str  # the Argon2id hash (PHC string), never the password
    created: float  # unix seconds
    disabled: bool = False  # may not sign in; its sessions were ended


@dataclass(frozen=True, slots=True)
class Token:
    """A personal access token (schema migration 11): what `Authorization: Bearer` signs in
    as. The secret itself is shown once, when it is made, and never stored."""

    id: str  # "t_" + random: how a list and a revocation name it
    user_id: str  # whose: the token may do what this person may, no more
    name: str  # what it is for ("CI backup"), given by its person
    token_hash: str  # SHA-256 of the secret, hex
    created: float  # unix seconds
    expires: float | None = None  # unix seconds; None: until revoked
    last_used: float | None = None  # unix seconds, coarse (to the hour); None: never used


@dataclass(frozen=True, slots=True)
class ChosenTitle:
    """The title a document's editors chose (schema migration 9, `titles.chosen`), as a dump
    carries it beside the document's history."""

    title: str


@dataclass(frozen=True, slots=True)
class Visit:
    """A document a signed-in person opened (schema migration 9), with what "my documents"
    shows of it."""

    link: str  # the edit id or the view token it was opened by
    kind: str  # the link's: "edit" (an edit id) or "view" (a view token)
    opened: float  # last opened, unix seconds
    doc: str  # its edit id (never shown to a viewer)
    view_token: str
    created: float
    updated: float  # its last change
    head: int
    title: str  # its first heading, as last stored (the service has the live one of an open document)
    chosen: str | None = None  # the title its editors chose instead (None: none)


@dataclass(frozen=True, slots=True)
class AuthorColor:
    """The colour a person of a document last wrote in (schema migration 12): one they
    picked, of core/palette.py's. A person is their account, or their name without one."""

    author: str  # the name they wrote under (a signed-in person's: their account's, as last written)
    account: str | None  # their account id; None: a guest
    color: str  # lower case, one of the palette's
    ts: float  # when they last wrote in it, unix seconds


class Colors(Protocol):
    """The colour each author of a document last wrote in: `store.colors` (storage/colors.py
    writes it once for every backend). Rename moves the rows and delete removes them
    (DOCUMENT_TABLES)."""

    def wrote(self, doc: str, author: str, account: str | None, color: str | None, now: float) -> None:
        """They wrote in `color` (None: the automatic one, which forgets their row)."""

    def colors(self, doc: str) -> list[AuthorColor]:
        """The document's people and their colours, the latest written first (a bounded list)."""


class Visits(Protocol):
    """What each signed-in person opened, and documents' titles: `store.visits`
    (storage/visits.py writes it once for every backend)."""

    def visit(self, user_id: str, link: str, kind: str, now: float) -> None: ...

    def forget(self, user_id: str, link: str, kind: str) -> bool:
        """Take `link` ("edit" or "view" `kind`) off the person's list: whether it was there."""

    def visits(self, user_id: str) -> list[Visit]:
        """The person's visits whose link still names its document, the latest first."""

    def held(self, user_id: str) -> "list[tuple[Visit, str]]":
        """What the person owns or is invited to, by the link that admits them, and how."""

    def forget_gone(self, user_id: str) -> int: ...

    def set_title(self, doc: str, title: str, now: float) -> None: ...

    def choose_title(self, doc: str, chosen: str | None, now: float) -> None:
        """The title its editors chose (None: its first heading again)."""

    def chosen_title(self, doc: str) -> str | None: ...


class Accounts(Protocol):
    """Users and their sessions: `store.accounts` (storage/accounts.py writes it once for
    every backend). A session is stored by the hash of its token, never the token."""

    def add_user(self, user: User) -> None:
        """StoreConflict if the email (ignoring case) or id is taken."""

    def user(self, user_id: str) -> User | None: ...

    def user_by_email(self, email: str) -> User | None:
        """The account of an email, ignoring case."""

    def users(self) -> list[User]:
        """Every account, by email."""

    def set_password(self, user_id: str, password_hash: str) -> bool:
        """False when there is no such account."""

    def set_disabled(self, user_id: str, disabled: bool) -> bool: ...

    def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The account of an identity signed in by an OpenID provider or a proxy (migration 8)."""

    def add_identity_user(self, user: User, issuer: str, subject: str, key: str) -> User:
        """Store `user` under the email key `key`, as the account of (issuer, subject); the
        account another sign-in stored for it first, when one did. StoreConflict if `key` is taken."""

    def identities(self, user_id: str) -> list[tuple[str, str]]:
        """The (issuer, subject) pairs that sign in as this account."""

    def start_session(self, token_hash: str, user_id: str, now: float, expires: float) -> None: ...

    def session_user(self, token_hash: str, now: float) -> User | None:
        """The account of a live session (not expired; its account not disabled), else None."""

    def end_session(self, token_hash: str) -> None: ...

    def end_sessions(self, user_id: str) -> int:
        """End every session of an account (a password reset, a disabled account): how many."""

    def enabled_users(self, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` that are accounts not disabled (the sockets signed in without a
        session, by a proxy's header, are checked against it)."""

    def live_sessions(self, token_hashes: Sequence[str], now: float) -> set[str]:
        """Those of `token_hashes` that are still live sessions or live access tokens (what
        the server's sockets are checked against: a revoked token's sockets end too)."""

    def user_keys(self) -> dict[str, str]:
        """keys[user id] = the key its account is found by: its email folded, or for an identity
        without a free verified email its issuer and subject (`collab dump`)."""

    def all_identities(self) -> list[tuple[str, str, str, float]]:
        """Every identity (issuer, subject, user id, created), for `collab dump`."""

    def load_user(self, user: User, key: str) -> None:
        """Store an account as a dump holds it, under `key`; StoreConflict if id or key is taken."""

    def load_identity(self, issuer: str, subject: str, user_id: str, created: float) -> None:
        """Store an identity as a dump holds it; StoreConflict if it is taken."""

    def add_token(self, token: Token) -> None:
        """StoreConflict if its id or hash is taken."""

    def tokens(self, user_id: str | None = None) -> list[Token]:
        """The tokens of an account (None: of every account, for `collab dump`), oldest first."""

    def token_user(self, token_hash: str) -> tuple[User, Token] | None:
        """The token of a hash and its account, whatever their state (expired, disabled:
        the caller says which it refuses, and why); None: no such token."""

    def touch_token(self, token_id: str, now: float) -> None:
        """Record that a token was used (`last_used`)."""

    def revoke_token(self, user_id: str, token_id: str) -> bool:
        """Delete a token of an account; False when the account has no such token."""


POLICIES = ("link", "signed_in", "invited")  # who may edit, and who may view, a document
ROLES = ("editor", "viewer")  # what an invited person may do


@dataclass(frozen=True, slots=True)
class Member:
    """A person invited into a document (schema migration 10)."""

    user: str  # the account id
    role: str  # one of ROLES
    added: float = 0.0  # unix seconds


@dataclass(frozen=True, slots=True)
class Access:
    """Who may do what with a document (schema migration 10; service/access.py decides).
    A document without a stored row has the default: no owner, `link` and `link`."""

    owner: str | None = None  # the account that made it; None: a guest did, or before accounts
    edit: str = "link"  # one of POLICIES: who, holding the edit link, may edit
    view: str = "link"  # one of POLICIES: who, holding a link, may view
    members: tuple[Member, ...] = ()  # the invited, by account id

    def role_of(self, user: str | None) -> str | None:
        """The invited role of an account, or None."""
        return next((m.role for m in self.members if m.user == user), None) if user is not None else None


class AccessRows(Protocol):
    """Documents' owners, policies and members: `store.access` (storage/access.py writes it
    once for every backend). Rename moves them and delete removes them (DOCUMENT_TABLES)."""

    def get(self, doc: str) -> Access:
        """The document's access (the default when none was stored)."""

    def claim(self, doc: str, owner: str) -> bool:
        """Make `owner` the document's owner unless it has an access row already: whether it did."""

    def set_policies(self, doc: str, edit: str, view: str) -> None: ...

    def set_member(self, doc: str, user: str, role: str, now: float) -> None:
        """Invite `user` as `role`, or change the role of one invited before."""

    def remove_member(self, doc: str, user: str) -> bool:
        """False when `user` was not invited."""


@dataclass(frozen=True, slots=True)
class NewRevision:
    revision: Revision
    snapshot: str | None  # the full text after it, stored when a snapshot is due


class Reads(Protocol):
    """The reads another thread or process does on a connection of its own (open_reader):
    those whose rows can be megabytes (a long history, a large image), kept off the event
    loop's connection."""

    def revisions(self, doc: str, since: int, limit: int) -> list[Revision]: ...

    def latest_snapshot(self, doc: str, at_most: int) -> tuple[int, str]: ...

    def image(self, image_id: str) -> Image | None: ...

    def close(self) -> None: ...


class Store(Protocol):
    # True: calls block the calling thread (the service runs writes on a worker thread);
    # False: calls cooperate with gevent and run on the event loop
    blocking: bool
    # the schema migrations opening this store applied (storage/schema.py), oldest first
    migrated: "list[Migration]"
    accounts: Accounts  # users and sessions (COLLAB_SIGN_IN)
    access: AccessRows  # documents' owners, policies and members
    visits: Visits  # what signed-in people opened, and titles ("my documents")
    colors: Colors  # the colour each author of a document last wrote in (the history page's)

    def ping(self) -> None:
        """Raise StoreError unless the database answers (cheap: for every health check)."""

    def probe_write(self) -> None:
        """One small durable write; raise StoreError if the database cannot take writes."""

    def create_document(self, doc: str, view_token: str, now: float) -> DocumentRow:
        """Create the document unless it exists; return the stored row either way.
        StoreConflict if another document has this view token."""

    def load_document(self, row: DocumentRow,
                      history: Iterable[NewRevision | Label | Image | Access | ChosenTitle | AuthorColor]) -> None:
        """Store a whole document as given (`collab load`): its row, then its revisions
        (versions 1..row.head, in order), labels, images (with their data), access, chosen
        title and authors' colours as `history` yields them, in one durable transaction or
        none of it. An exception from `history` rolls it back; a document or
        view token that exists already is StoreConflict."""

    def get_document(self, doc: str) -> DocumentRow | None: ...

    def get_document_by_view(self, view_token: str) -> DocumentRow | None: ...

    def append(self, batch: Sequence[NewRevision], wait: bool = True) -> None:
        """Store revisions (of one or several documents, in version order) in one durable
        transaction, or none of them. (doc, version) and (doc, op_id) are unique.
        With wait=False a blocking store raises StoreBusy rather than wait for a lock
        another writer holds."""

    def revisions(self, doc: str, since: int, limit: int) -> list[Revision]:
        """Revisions since+1 .. since+limit, in order."""

    def reader_url(self) -> str | None:
        """The URL another thread or process opens its own `Reads` from (open_reader), or
        None when it cannot (an in-memory SQLite database, which another connection would
        see empty): its reads then stay where they are asked."""

    def find_op(self, doc: str, op_id: str) -> int | None:
        """The version an op id produced, if it was ever applied."""

    def latest_snapshot(self, doc: str, at_most: int) -> tuple[int, str]:
        """The newest snapshot at or before a version: (version, text); (0, "") if none."""

    def snapshot_versions(self, doc: str) -> list[int]:
        """The versions stored with a snapshot, in order (for `collab check`)."""

    def document_ids(self) -> Iterator[str]: ...

    def documents_page(self, after: str, limit: int) -> list[DocumentRow]:
        """At most `limit` documents whose ids come after `after` ("": from the first), by id
        (byte order on every backend): what an admin's list pages through."""

    def set_label(self, doc: str, version: int, name: str, ts: float) -> None:
        """Name a version; a name already used in the document moves to this version."""

    def labels(self, doc: str) -> list[Label]:
        """The document's labels, by version then name."""

    def delete_label(self, doc: str, name: str) -> bool:
        """Remove a label; False when the document has no label of that name."""

    def delete_document(self, doc: str, now: float) -> DocumentRow | None:
        """Delete a document and everything of it (revisions, snapshots, labels, images) in one
        transaction, leaving its edit id and view token as tombstones; the row it had, or
        None (nothing changed) when there is no such document."""

    def rename_document(self, doc: str, new: str, now: float) -> DocumentRow | None:
        """Give a document a new edit id, in one transaction: its row and everything of it
        (every table of schema.DOCUMENT_TABLES: revisions, snapshots, labels, images, titles) move to `new`,
        and `doc` becomes a tombstone ("renamed"). The moved row, or None (nothing changed)
        when there is no such document. StoreConflict, changing nothing, when `new` names a
        document, a view token or a tombstone."""

    def rotate_view_token(self, doc: str, token: str, now: float) -> DocumentRow | None:
        """Give a document a new view token, in one transaction: the old one becomes a
        tombstone ("rotated"). The changed row, or None when there is no such document.
        StoreConflict, changing nothing, when `token` names a document, a view token or a
        tombstone."""

    def add_image(self, image: Image, quota: int) -> int | None:
        """Store an uploaded image (with its data) of an existing document, unless the
        document's images would then hold more than `quota` bytes, in one transaction that
        concurrent uploads and a delete or rename of the document wait for. The bytes the
        document's images held before: it was stored if that plus image.size is at most
        `quota`, else nothing changed. None (nothing stored) when there is no such document."""

    def image(self, image_id: str) -> Image | None:
        """An image with its data, by its id; None when there is none (never was, or its
        document was deleted)."""

    def images(self, doc: str) -> list[Image]:
        """The descriptions of a document's images (data None), by id."""

    def delete_images(self, ids: Sequence[str], created_before: float) -> list[Image]:
        """Remove these images (`collab gc-images`: referenced by no version of any
        document), each only if it was uploaded before `created_before` (unix seconds), in
        one durable transaction; the descriptions (data None) of those removed, by id. Their
        documents' quotas count only what is left."""

    def deployment_id(self) -> str:
        """This database's random id (schema migration 4): what its processes' Redis
        channel and keys are named by."""

    def tombstone(self, name: str) -> Tombstone | None:
        """The tombstone of a name (an edit id or a view token), if it is one."""

    def tombstones(self) -> Iterator[Tombstone]:
        """Every tombstone, by name (`collab dump`)."""

    def tombstones_since(self, ts: float) -> list[Tombstone]:
        """The tombstones made (or remade) at or after `ts` (unix seconds), oldest first: what
        a server without a message queue polls for (an indexed query, schema migration 5)."""

    def load_tombstones(self, rows: Iterable[Tombstone]) -> int:
        """Store tombstones as given (`collab load`), in one durable transaction; a name that
        is a tombstone already keeps the one it has. How many were new."""

    def close(self) -> None: ...
