"""Users and sessions (schema migration 7), the identities of other sign-ins (8) and access
tokens (11), written once for every backend.

A store hands `AccountTable` two functions: `read(sql, params)` (rows) and `write(sql,
params)` (rows changed; StoreConflict when a UNIQUE key is taken, StoreError otherwise),
both with `?` parameters (the PostgreSQL store rewrites them). Plain blocking code like the
rest of storage: no framework, no gevent, nothing of collab but base.py.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from .base import StoreConflict, Token, User

Read = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Write = Callable[[str, Sequence[Any]], int]
_USER_COLUMNS = "id, email, name, password, created, disabled"
_TOKEN_COLUMNS = "id, user_id, name, token_hash, created, expires, last_used"
IN_BATCH = 500  # token hashes asked about per query (SQLite takes up to 32,766 parameters)


def email_key(email: str) -> str:
    """What makes two emails one account: case folded (Ann@Example.org is ann@example.org)."""
    return email.strip().casefold()


def _user(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], row[3], float(row[4]), bool(row[5]))


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _token(row: tuple[Any, ...]) -> Token:
    return Token(row[0], row[1], row[2], row[3], float(row[4]), _seconds(row[5]), _seconds(row[6]))


class AccountTable:
    def __init__(self, read: Read, write: Write) -> None:
        self._read = read
        self._write = write

    def add_user(self, user: User) -> None:
        self._write(f"INSERT INTO users ({_USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user.id, user.email, user.name, user.password, user.created, int(user.disabled),
                     email_key(user.email)))

    def user(self, user_id: str) -> User | None:
        rows = self._read(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def user_by_email(self, email: str) -> User | None:
        rows = self._read(f"SELECT {_USER_COLUMNS} FROM users WHERE email_key = ?", (email_key(email),))
        return _user(rows[0]) if rows else None

    def users(self) -> list[User]:
        return [_user(r) for r in self._read(f"SELECT {_USER_COLUMNS} FROM users ORDER BY email_key", ())]

    def set_password(self, user_id: str, password_hash: str) -> bool:
        return self._write("UPDATE users SET password = ? WHERE id = ?", (password_hash, user_id)) == 1

    def set_disabled(self, user_id: str, disabled: bool) -> bool:
        return self._write("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id)) == 1

    def user_by_identity(self, issuer: str, subject: str) -> User | None:
        rows = self._read("SELECT u.id, u.email, u.name, u.password, u.created, u.disabled FROM identities i "
                          "JOIN users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?", (issuer, subject))
        return _user(rows[0]) if rows else None

    def add_identity_user(self, user: User, issuer: str, subject: str, key: str) -> User:
        """A new account for an identity, stored under `key` (its email folded, or one no email
        can be when that is taken or missing); the identity's account when another sign-in of
        it got there first (then `user` is not kept)."""
        self._write(f"INSERT INTO users ({_USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user.id, user.email, user.name, user.password, user.created, int(user.disabled), key))
        try:
            self._write("INSERT INTO identities (issuer, subject, user_id, created) VALUES (?, ?, ?, ?)",
                        (issuer, subject, user.id, user.created))
        except StoreConflict:  # two first sign-ins at once: the other one's account is the identity's
            self._write("DELETE FROM users WHERE id = ?", (user.id,))
            winner = self.user_by_identity(issuer, subject)
            if winner is None:
                raise
            return winner
        return user

    # -- what `collab dump` reads and `collab load` writes -----------------------

    def user_keys(self) -> dict[str, str]:
        """keys[user id] = the key its account is found by (its email folded, or an identity's)."""
        return {r[0]: r[1] for r in self._read("SELECT id, email_key FROM users", ())}

    def all_identities(self) -> list[tuple[str, str, str, float]]:
        """Every identity: (issuer, subject, user id, created), by user, issuer and subject."""
        return [(r[0], r[1], r[2], float(r[3])) for r in self._read(
            "SELECT issuer, subject, user_id, created FROM identities ORDER BY user_id, issuer, subject", ())]

    def load_user(self, user: User, key: str) -> None:
        """An account as a dump holds it, under the key it had. StoreConflict if taken."""
        self._write(f"INSERT INTO users ({_USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user.id, user.email, user.name, user.password, user.created, int(user.disabled), key))

    def load_identity(self, issuer: str, subject: str, user_id: str, created: float) -> None:
        self._write("INSERT INTO identities (issuer, subject, user_id, created) VALUES (?, ?, ?, ?)",
                    (issuer, subject, user_id, created))

    def identities(self, user_id: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._read(
            "SELECT issuer, subject FROM identities WHERE user_id = ? ORDER BY issuer, subject", (user_id,))]

    def start_session(self, token_hash: str, user_id: str, now: float, expires: float) -> None:
        self._write("INSERT INTO sessions (token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)",
                    (token_hash, user_id, now, expires))

    def session_user(self, token_hash: str, now: float) -> User | None:
        rows = self._read("SELECT u.id, u.email, u.name, u.password, u.created, u.disabled FROM sessions s "
                          "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires > ? "
                          "AND u.disabled = 0", (token_hash, now))
        return _user(rows[0]) if rows else None

    def end_session(self, token_hash: str) -> None:
        self._write("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def end_sessions(self, user_id: str) -> int:
        return self._write("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def _batches(self, values: Sequence[str]) -> Iterator[tuple[list[str], str]]:
        """`values` without repeats, IN_BATCH at a time, each with its `?, ?, ...`."""
        unique = list(dict.fromkeys(values))
        for i in range(0, len(unique), IN_BATCH):
            batch = unique[i:i + IN_BATCH]
            yield batch, ", ".join("?" * len(batch))

    def enabled_users(self, user_ids: Sequence[str]) -> set[str]:
        enabled: set[str] = set()
        for batch, marks in self._batches(user_ids):
            enabled.update(r[0] for r in self._read(
                f"SELECT id FROM users WHERE id IN ({marks}) AND disabled = 0", tuple(batch)))
        return enabled

    def live_sessions(self, token_hashes: Sequence[str], now: float) -> set[str]:
        live: set[str] = set()
        for batch, marks in self._batches(token_hashes):
            live.update(r[0] for r in self._read(
                f"SELECT s.token_hash FROM sessions s JOIN users u ON u.id = s.user_id "
                f"WHERE s.token_hash IN ({marks}) AND s.expires > ? AND u.disabled = 0", (*batch, now)))
            live.update(r[0] for r in self._read(
                f"SELECT t.token_hash FROM tokens t JOIN users u ON u.id = t.user_id "
                f"WHERE t.token_hash IN ({marks}) AND (t.expires IS NULL OR t.expires > ?) AND u.disabled = 0",
                (*batch, now)))
        return live

    # -- access tokens (migration 11) ----------------------------------------------

    def add_token(self, token: Token) -> None:
        self._write(f"INSERT INTO tokens ({_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (token.id, token.user_id, token.name, token.token_hash, token.created, token.expires,
                     token.last_used))

    def tokens(self, user_id: str | None = None) -> list[Token]:
        where, params = ("WHERE user_id = ? ", (user_id,)) if user_id is not None else ("", ())
        return [_token(r) for r in self._read(f"SELECT {_TOKEN_COLUMNS} FROM tokens {where}ORDER BY created, id",
                                              params)]

    def token_user(self, token_hash: str) -> tuple[User, Token] | None:
        columns = ", ".join(f"t.{c.strip()}" for c in _TOKEN_COLUMNS.split(","))
        rows = self._read(f"SELECT u.id, u.email, u.name, u.password, u.created, u.disabled, {columns} "
                          "FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?", (token_hash,))
        return (_user(rows[0][:6]), _token(rows[0][6:])) if rows else None

    def touch_token(self, token_id: str, now: float) -> None:
        self._write("UPDATE tokens SET last_used = ? WHERE id = ?", (now, token_id))

    def revoke_token(self, user_id: str, token_id: str) -> bool:
        return self._write("DELETE FROM tokens WHERE id = ? AND user_id = ?", (token_id, user_id)) == 1
