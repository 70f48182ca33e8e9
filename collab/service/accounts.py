"""Accounts and sessions: the one session model of every way to sign in (issue 14).

A sign-in of any kind ends in `start_session(user)`: a random token that the browser keeps
in Flask's signed session cookie and the database keeps only as its SHA-256
(`sessions.token_hash`), so a copy of the database or a log line signs nobody in, and
ending a session (sign-out, a password reset, a disabled account) is deleting rows. Local
accounts (COLLAB_SIGN_IN=local) reach it through `authenticate(email, password)`; OpenID
Connect and a trusted proxy header (oidc, proxy) through `identity_user(issuer, subject, ...)`,
which finds or makes the account of an identity someone else vouches for: by the pair
(issuer, subject), never by email (docs/architecture.md, "Accounts").

A personal access token (`Authorization: Bearer`, for the HTTP API and the Python client) is
a person's too: `add_token` makes a random secret, shown once, and stores its SHA-256 with
a name and an optional expiry; `token_user` is the person of a secret, or `bad_token` saying
why not (unknown or revoked, expired, account disabled). No Argon2 there: the secret is 256
random bits, and a fast hash of it is as safe to keep as a session's.

Passwords are hashed with Argon2id (argon2-cffi's defaults). A sign-in that names no account
verifies the password against a dummy hash all the same, so that a wrong password and an
unknown email cost the same work and give the same answer.

Imports the storage interface and argon2; no flask, socketio or gevent (the edges hand it
`run_cpu`, which moves the hashing off the event loop).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
import unicodedata
from typing import Any, Callable, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..core.errors import CollabError
from ..core.ids import check_name
from ..storage import Accounts, StoreConflict, Token, User
from ..storage.accounts import email_key

T = TypeVar("T")
MIN_PASSWORD = 8  # characters
MAX_PASSWORD = 1_024  # characters: Argon2 hashes any length, but a megabyte is not a password
MAX_EMAIL = 254  # RFC 5321
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")  # one @, something on each side: the mail server says the rest
BAD_CREDENTIALS = "this email and password do not match an account that may sign in"
TOKEN_PREFIX = "collab_pat_"  # what starts every access token: secret scanners (and people) recognise one
# what an Authorization: Bearer value may be at all (RFC 6750 b64token), and how long: the
# rest is looked up. A token is TOKEN_PREFIX + 43 characters
BEARER_RE = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
MAX_BEARER = 256  # characters
MAX_TOKENS = 100  # live tokens one account may hold
MAX_TOKEN_DAYS = 3_650  # the longest expiry asked for (days); none at all is allowed: until revoked
TOKEN_USE_EVERY = 3_600.0  # seconds: `last_used` is written at most this often per token
# the password of an account made for an identity: no PHC string, so no password verifies it
# (argon2 answers InvalidHashError, `_verify` False): such a person signs in only as they did
NO_PASSWORD = "!external"
MAX_SUBJECT = 255  # characters of an issuer's `sub` (OpenID Connect: at most 255 ASCII)


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_email(email: object) -> str:
    if not isinstance(email, str) or len(email) > MAX_EMAIL or not EMAIL_RE.match(email.strip()):
        raise CollabError("bad_request", "email must be an address like ann@example.org")
    # control characters (a terminal's escape codes: `collab user list` cleared an admin's
    # screen) and invisible ones (zero-width, direction marks: "ann@example.org\u200b" looked
    # like Ann's address) are in no one's email
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") for c in email):
        raise CollabError("bad_request", "an email cannot hold control or invisible characters")
    return email.strip()


def check_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise CollabError("bad_request", f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _valid(check: Callable[[object], str], value: object) -> str | None:
    """`check(value)`, or None when the value is absent or not valid (what a provider sends is
    taken where it fits, not refused)."""
    if value is None or value == "":
        return None
    try:
        return check(value)
    except CollabError:
        return None


def _direct(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class AccountService:
    def __init__(self, accounts: Accounts, session_days: float = 30.0,
                 run_cpu: Callable[..., Any] = _direct, clock: Callable[[], float] = time.time) -> None:
        self.accounts = accounts
        self.lifetime = session_days * 86_400.0  # seconds a session lasts unused
        self.run_cpu = run_cpu  # runs a password hash (Runtime.run_hash: its own thread) off the event loop
        self.clock = clock
        self.hasher = PasswordHasher()
        # what an unknown email's password is checked against: the same parameters, the same work
        self._dummy = self.hasher.hash(secrets.token_hex(16))

    # -- accounts ------------------------------------------------------------

    def add(self, email: object, name: object, password: object) -> User:
        """A new account; `conflict` when the email (ignoring case) has one."""
        address = check_email(email)
        display = check_name(name if name else address.split("@", 1)[0])
        secret = check_password(password)
        user = User("u_" + secrets.token_hex(8), address, display, self.run_cpu(self.hasher.hash, secret),
                    self.clock())
        try:
            self.accounts.add_user(user)
        except StoreConflict:
            raise CollabError("conflict", "an account with this email exists already") from None
        return user

    def find(self, email: str) -> User:
        """The account of an email, or of an account id (`u_...`, as `collab user list` shows
        it: an account made by a provider whose email it did not verify has no email to find
        it by)."""
        user = self.accounts.user(email) if email.startswith("u_") else None
        user = user or self.accounts.user_by_email(email)
        if user is None:
            raise CollabError("not_found", f"no account has the email or id {email[:MAX_EMAIL]!r}")
        return user

    def set_password(self, email: str, password: object) -> User:
        """A new password, every session of the account ended and every access token revoked
        (`collab user reset-password`: what an admin does for an account that someone else may
        hold; a token made by whoever held it kept working: found from outside)."""
        user = self.find(email)
        self.accounts.set_password(user.id, self.run_cpu(self.hasher.hash, check_password(password)))
        self.accounts.end_sessions(user.id)
        for token in self.accounts.tokens(user.id):
            self.accounts.revoke_token(user.id, token.id)
        return user

    def disable(self, email: str) -> User:
        """The account may no longer sign in; its sessions are ended."""
        user = self.find(email)
        self.accounts.set_disabled(user.id, True)
        self.accounts.end_sessions(user.id)
        return user

    def enable(self, email: str) -> User:
        """A disabled account may sign in again (`collab user enable`): there was no way back
        but an edit of the database."""
        user = self.find(email)
        self.accounts.set_disabled(user.id, False)
        return user

    def identity_user(self, issuer: str, subject: str, email: object = None, name: object = None,
                      email_verified: bool = False) -> User:
        """The account of (issuer, subject), made at its first sign-in from the email and
        name the issuer gives (each only if valid; the name falls back to the email's local
        part). `forbidden` when that account is disabled. A verified email is the account's
        email key (what finds it by email) when no other account has it; else, or unverified,
        the key is issuer and subject, which no email can be (it has a space): an email a
        provider let anyone claim never takes over an account, nor the address of one."""
        if not subject or len(subject) > MAX_SUBJECT or not issuer:
            raise CollabError("bad_request", f"an identity needs an issuer and a subject of 1-{MAX_SUBJECT} characters")
        user = self.accounts.user_by_identity(issuer, subject)
        if user is None:
            address = _valid(check_email, email) or ""
            display = (_valid(check_name, name[:64] if isinstance(name, str) else None)
                       or (address.split("@", 1)[0] if address else "") or subject[:64])
            user = User("u_" + secrets.token_hex(8), address, _valid(check_name, display) or "Anonymous",
                        NO_PASSWORD, self.clock())
            fallback = f"{issuer} {subject}"
            free = address and email_verified and self.accounts.user_by_email(address) is None
            key = email_key(address) if free else fallback
            try:
                user = self.accounts.add_identity_user(user, issuer, subject, key)
            except StoreConflict:  # the email was taken meanwhile
                user = self.accounts.add_identity_user(user, issuer, subject, fallback)
        if user.disabled:
            raise CollabError("forbidden", "this account is disabled on this server: ask its admin")
        return user

    # -- sign-in -------------------------------------------------------------

    def authenticate(self, email: object, password: object) -> User:
        """The account of a right email and password; `bad_credentials` otherwise, with the
        same message and the same Argon2 work whether the email is unknown, the account
        disabled or the password wrong."""
        secret = password if isinstance(password, str) and len(password) <= MAX_PASSWORD else ""
        user = self.accounts.user_by_email(email) if isinstance(email, str) and len(email) <= MAX_EMAIL else None
        stored = user.password if user is not None else self._dummy
        ok = self.run_cpu(self._verify, stored, secret)
        if user is None or user.disabled or not ok:
            raise CollabError("bad_credentials", BAD_CREDENTIALS)
        if self.hasher.check_needs_rehash(user.password):  # argon2-cffi's parameters grew since
            self.accounts.set_password(user.id, self.run_cpu(self.hasher.hash, secret))
        return user

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    # -- sessions ------------------------------------------------------------

    def start_session(self, user: User) -> str:
        """A new session of `user`: its token, for the cookie (never stored as such)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.accounts.start_session(token_hash(token), user.id, now, now + self.lifetime)
        return token

    def session_user(self, token: object) -> User | None:
        """The signed-in account of a session token, or None (ended, expired, disabled)."""
        if not isinstance(token, str) or not token or len(token) > 128:
            return None
        return self.accounts.session_user(token_hash(token), self.clock())

    def end_session(self, token: object) -> None:
        if isinstance(token, str) and token:
            self.accounts.end_session(token_hash(token))

    # -- access tokens ---------------------------------------------------------

    def add_token(self, user: User, name: object, days: object = None) -> tuple[str, Token]:
        """A new access token of `user`: (the secret, shown once; its row). `days`: how long
        it lasts (None: until revoked)."""
        if name is None or (isinstance(name, str) and not name.strip()):
            raise CollabError("bad_request", "a token needs a name saying what it is for (1-64 characters)")
        label = check_name(name)
        expires = None
        if days is not None:
            if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= MAX_TOKEN_DAYS:
                raise CollabError("bad_request", f"expires_days must be a number of days, over 0 and at most "
                                                 f"{MAX_TOKEN_DAYS} (or absent: until revoked)")
            expires = self.clock() + float(days) * 86_400.0
        if len(self.accounts.tokens(user.id)) >= MAX_TOKENS:
            raise CollabError("conflict", f"this account has {MAX_TOKENS} tokens already: revoke one first")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = Token("t_" + secrets.token_hex(8), user.id, label, token_hash(secret), self.clock(), expires)
        self.accounts.add_token(token)
        return secret, token

    def token_user(self, secret: str) -> User:
        """The person of an access token's secret; `bad_token` (401) saying why not."""
        if len(secret) > MAX_BEARER or not BEARER_RE.match(secret):
            raise CollabError("bad_token", "the Bearer token is malformed: send `Authorization: Bearer <token>`, "
                                           "the token as `collab user token add` or /api/me/tokens made it")
        found = self.accounts.token_user(token_hash(secret))
        if found is None:
            raise CollabError("bad_token", "this access token is not valid: it was revoked, or never existed")
        user, token = found
        now = self.clock()
        if token.expires is not None and token.expires <= now:
            raise CollabError("bad_token", f"this access token ({token.name!r}) has expired: make a new one")
        if user.disabled:
            raise CollabError("bad_token", "the account of this access token is disabled")
        if token.last_used is None or now - token.last_used >= TOKEN_USE_EVERY:
            self.accounts.touch_token(token.id, now)
        return user

    def tokens(self, user: User) -> list[Token]:
        return self.accounts.tokens(user.id)

    def revoke_token(self, user: User, token_id: object) -> Token:
        """Revoke one of `user`'s tokens by its id: it stops working at once (and the sockets
        it opened, within COLLAB_SESSION_CHECK on other processes). The token it was."""
        if isinstance(token_id, str) and len(token_id) <= 64:
            for token in self.accounts.tokens(user.id):
                if token.id == token_id and self.accounts.revoke_token(user.id, token_id):
                    return token
        raise CollabError("not_found", f"this account has no token {str(token_id)[:64]!r}: "
                                       "`collab user token list` or GET /api/me/tokens lists them")
