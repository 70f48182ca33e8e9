"""The documents each signed-in person opened, and the titles of documents (migration 9):
what "my documents" lists. Written once for every backend, as storage/accounts.py is: a
store hands `VisitTable` its `read(sql, params)` and `write(sql, params)`.

A visit is kept by the link the person opened (the edit id or the view token), not by the
document: a rotated view token or a renamed edit id is a withdrawn link, and a list that
followed the document to its new name would hand the new link to everyone who had the old.
So a visit lists its document only while its link still names it.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .base import Visit

Read = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Write = Callable[[str, Sequence[Any]], int]
MAX_VISITS = 500  # listed per person, the most recently opened first


# what stores a dump's chosen title for a new document (storage/dump.py), in its transaction
LOAD_CHOSEN = "INSERT INTO titles (doc, title, ts, chosen) VALUES (?, '', ?, ?)"


class VisitTable:
    def __init__(self, read: Read, write: Write) -> None:
        self._read = read
        self._write = write

    def visit(self, user_id: str, link: str, kind: str, now: float) -> None:
        if not self._write("UPDATE visits SET kind = ?, ts = ? WHERE user_id = ? AND link = ?",
                           (kind, now, user_id, link)):
            self._write("INSERT INTO visits (user_id, link, kind, ts) VALUES (?, ?, ?, ?)",
                        (user_id, link, kind, now))

    def forget(self, user_id: str, link: str, kind: str) -> bool:
        return self._write("DELETE FROM visits WHERE user_id = ? AND link = ? AND kind = ?", (user_id, link, kind)) == 1

    def visits(self, user_id: str) -> list[Visit]:
        """The person's visits whose link still names a document: an edit id (kind "edit") or
        a view token (kind "view") that is still the document's."""
        rows = self._read(
            "SELECT v.link, v.kind, v.ts, d.id, d.view_token, d.created, d.updated, d.head, t.title, t.chosen "
            "FROM visits v "
            "JOIN documents d ON (v.kind = 'edit' AND d.id = v.link) OR (v.kind = 'view' AND d.view_token = v.link) "
            "LEFT JOIN titles t ON t.doc = d.id WHERE v.user_id = ? ORDER BY v.ts DESC LIMIT ?",
            (user_id, MAX_VISITS))
        return [Visit(r[0], r[1], float(r[2]), r[3], r[4], float(r[5]), float(r[6]), int(r[7]), r[8] or "", r[9])
                for r in rows]

    def held(self, user_id: str) -> list[tuple[Visit, str]]:
        """The documents the person owns or is invited to (migration 10), whether opened or
        not, each as a visit by the link it admits them by (an owner's or an invited editor's
        edit id, an invited viewer's view token; `opened` 0: not known here) with how:
        "owner", "editor" or "viewer"."""
        cols = "d.id, d.view_token, d.created, d.updated, d.head, t.title, t.chosen"
        rows = self._read(
            f"SELECT {cols}, 'owner' FROM doc_access a JOIN documents d ON d.id = a.doc "
            f"LEFT JOIN titles t ON t.doc = d.id WHERE a.owner = ? "
            f"UNION ALL SELECT {cols}, m.role FROM doc_members m JOIN documents d ON d.id = m.doc "
            f"LEFT JOIN titles t ON t.doc = d.id WHERE m.user_id = ? LIMIT ?", (user_id, user_id, MAX_VISITS))
        out = []
        for r in rows:
            edit = r[7] != "viewer"
            out.append((Visit(r[0] if edit else r[1], "edit" if edit else "view", 0.0, r[0], r[1], float(r[2]),
                              float(r[3]), int(r[4]), r[5] or "", r[6]), r[7]))
        return out

    def forget_gone(self, user_id: str) -> int:
        """Forget the person's visits whose link names no document any more (deleted, renamed,
        rotated): how many."""
        return self._write(
            "DELETE FROM visits WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM documents d WHERE "
            "(visits.kind = 'edit' AND d.id = visits.link) OR (visits.kind = 'view' AND d.view_token = visits.link))",
            (user_id,))

    def set_title(self, doc: str, title: str, now: float) -> None:
        if not self._write("UPDATE titles SET title = ?, ts = ? WHERE doc = ?", (title, now, doc)):
            self._write("INSERT INTO titles (doc, title, ts) VALUES (?, ?, ?)", (doc, title, now))

    def choose_title(self, doc: str, chosen: str | None, now: float) -> None:
        if not self._write("UPDATE titles SET chosen = ?, ts = ? WHERE doc = ?", (chosen, now, doc)):
            self._write("INSERT INTO titles (doc, title, ts, chosen) VALUES (?, '', ?, ?)", (doc, now, chosen))

    def chosen_title(self, doc: str) -> str | None:
        rows = self._read("SELECT chosen FROM titles WHERE doc = ?", (doc,))
        return rows[0][0] if rows else None
