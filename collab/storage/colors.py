"""The colour each author of a document last wrote in (migration 12, issue 15): what the
history page colours a person by, present or long gone, after any restart. Written once for
every backend, as storage/visits.py is: a store hands `ColorTable` its `read(sql, params)`
and `write(sql, params)`.

A person is their account when signed in, else their name (a guest), as blame and revert
tell people apart; a row is kept only while they write in a colour they picked, and goes
when they write in the automatic one (the edge says which: service/colors.py). One row per
person and document, so a document holds as many rows as people who picked a colour and
wrote in it, whatever its history's length.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .base import AuthorColor

Read = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Write = Callable[[str, Sequence[Any]], int]
MAX_COLORS = 200  # listed per document, the latest written first: more people than the palette has colours


def person(author: str, account: str | None) -> str:
    """The row's key: "a:" and the account id for a signed-in person, "g:" and the name for a
    guest (a guest may call themselves anything, an account id included: the prefixes keep
    the two apart)."""
    return f"a:{account}" if account is not None else f"g:{author}"


# what stores a dump's colours for a new document (storage/dump.py), in its transaction
LOAD_COLOR = "INSERT INTO colors (doc, who, author, account, color, ts) VALUES (?, ?, ?, ?, ?, ?)"


def load_color(doc: str, c: AuthorColor) -> tuple[str, str, str, str | None, str, float]:
    """LOAD_COLOR's parameters for one person's colour."""
    return doc, person(c.author, c.account), c.author, c.account, c.color, c.ts


class ColorTable:
    def __init__(self, read: Read, write: Write) -> None:
        self._read = read
        self._write = write

    def wrote(self, doc: str, author: str, account: str | None, color: str | None, now: float) -> None:
        """`author` (and `account`, if signed in) wrote `doc` in `color`, a picked one (checked
        by core/palette.py), or in the automatic colour (None: their row goes)."""
        who = person(author, account)
        if color is None:
            self._write("DELETE FROM colors WHERE doc = ? AND who = ?", (doc, who))
            return
        # one statement, both dialects: two processes storing one person at once cannot conflict
        self._write("INSERT INTO colors (doc, who, author, account, color, ts) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (doc, who) DO UPDATE SET author = excluded.author, color = excluded.color, "
                    "ts = excluded.ts", (doc, who, author, account, color, now))

    def colors(self, doc: str) -> list[AuthorColor]:
        """The document's people with the colour they last wrote in, the latest first (at most
        MAX_COLORS)."""
        rows = self._read("SELECT author, account, color, ts FROM colors WHERE doc = ? "
                          "ORDER BY ts DESC, who LIMIT ?", (doc, MAX_COLORS))
        return [AuthorColor(r[0], r[1], r[2], float(r[3])) for r in rows]
