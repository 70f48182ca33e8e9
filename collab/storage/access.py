"""Documents' owners, policies and invited people (schema migration 10), written once for
every backend, as storage/accounts.py is: a store hands `AccessTable` its `read(sql,
params)` and `write(sql, params)` functions (`?` parameters; the PostgreSQL store rewrites
them). `load_statements` gives what `collab load` writes of a document's access inside the
document's own transaction. Plain blocking code: nothing of collab but base.py.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .base import Access, Member

Read = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Write = Callable[[str, Sequence[Any]], int]
DEFAULT = Access()
_INSERT_ACCESS = "INSERT INTO doc_access (doc, owner, edit_policy, view_policy) VALUES (?, ?, ?, ?)"
_INSERT_MEMBER = "INSERT INTO doc_members (doc, user_id, role, added) VALUES (?, ?, ?, ?)"


def load_statements(doc: str, access: Access) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that store `access` as the access of a new document `doc`."""
    out: list[tuple[str, tuple[Any, ...]]] = [(_INSERT_ACCESS, (doc, access.owner, access.edit, access.view))]
    out.extend((_INSERT_MEMBER, (doc, m.user, m.role, m.added)) for m in access.members)
    return out


class AccessTable:
    def __init__(self, read: Read, write: Write) -> None:
        self._read = read
        self._write = write

    def get(self, doc: str) -> Access:
        rows = self._read("SELECT owner, edit_policy, view_policy FROM doc_access WHERE doc = ?", (doc,))
        members = tuple(Member(r[0], r[1], float(r[2])) for r in self._read(
            "SELECT user_id, role, added FROM doc_members WHERE doc = ? ORDER BY added, user_id", (doc,)))
        if not rows:
            return Access(members=members) if members else DEFAULT
        owner, edit, view = rows[0]
        return Access(owner, edit, view, members)

    def claim(self, doc: str, owner: str) -> bool:
        return self._write(_INSERT_ACCESS + " ON CONFLICT (doc) DO NOTHING", (doc, owner, "link", "link")) == 1

    def set_policies(self, doc: str, edit: str, view: str) -> None:
        self._write(_INSERT_ACCESS + " ON CONFLICT (doc) DO UPDATE SET edit_policy = excluded.edit_policy, "
                    "view_policy = excluded.view_policy", (doc, None, edit, view))

    def set_member(self, doc: str, user: str, role: str, now: float) -> None:
        self._write(_INSERT_MEMBER + " ON CONFLICT (doc, user_id) DO UPDATE SET role = excluded.role",
                    (doc, user, role, now))

    def remove_member(self, doc: str, user: str) -> bool:
        return self._write("DELETE FROM doc_members WHERE doc = ? AND user_id = ?", (doc, user)) == 1
