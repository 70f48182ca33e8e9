"""A document's title, as people would name it: the server's copy of frontend/src/core/title.js.

Its first heading (`# Plan`, or a line underlined with === or ---), else its first line of
text; Markdown's marks taken off, at most TITLE_MAX code points; only the first TITLE_SCAN
UTF-16 code units are read. The browser shows the title as people type; the server keeps
it for "my documents". The two must agree exactly, so this is written against JavaScript's
semantics rather than Python's (`\\s` is ECMAScript's whitespace, `.` stops at its line
terminators, `\\d` is ASCII), and tests/vectors/titles.json holds the titles both compute
(tests/core/test_title.py, frontend/test/title.test.js).

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import re
import unicodedata

from .errors import CollabError

TITLE_MAX = 80
TITLE_SCAN = 65536  # UTF-16 code units read of a text, as String.prototype.slice counts

# ECMAScript's WhiteSpace and LineTerminator: what JavaScript's \s and trim() mean
_WS = "\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
S = f"[{_WS}]"
DOT = "[^\n\r\u2028\u2029]"  # JavaScript's `.` without the s flag
_LINKS = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAGS = re.compile(r"<[^>]*>")
_MARKS = re.compile(r"[*_`~]+")
_SPACES = re.compile(f"{S}+")
_FENCE = re.compile(f"{S}{{0,3}}(```|~~~)")
_ATX = re.compile(f"{S}{{0,3}}#{{1,6}}{S}+({DOT}*?)({S}+#+{S}*)?\\Z")
_UNDERLINE = re.compile(f"{S}{{0,3}}(=+|-+){S}*\\Z")
_BULLET = re.compile(f"{S}*[-*+]{S}")
_ITEM = re.compile(f"\\A{S}*([-*+>]|[0-9]+[.)]){S}+")
_TASK = re.compile(f"\\A\\[[ xX]\\]{S}+")


def _trim(s: str) -> str:
    return s.strip(_WS)


def _plain(line: str) -> str:
    line = _LINKS.sub(r"\1", line)  # links and images: their text
    line = _TAGS.sub("", line)  # raw HTML tags
    line = _MARKS.sub("", line)  # emphasis, code, strike-through marks
    return _trim(_SPACES.sub(" ", line))


def _clip(s: str) -> str:
    return s if len(s) <= TITLE_MAX else _trim_end(s[:TITLE_MAX - 1]) + "…"


def _trim_end(s: str) -> str:
    return s.rstrip(_WS)


def scanned(text: str) -> str:
    """The first TITLE_SCAN UTF-16 code units of `text` (a pair cut in two leaves its first
    half, as in JavaScript): at most that many code points are looked at."""
    head = text[:TITLE_SCAN]
    if head.isascii() or len(head.encode("utf-16-le", "surrogatepass")) <= 2 * TITLE_SCAN:
        return head
    return head.encode("utf-16-le", "surrogatepass")[:2 * TITLE_SCAN].decode("utf-16-le", "surrogatepass")


# control characters (C0, DEL, C1), what UTF-8 cannot hold, and the bidirectional overrides,
# embeddings and isolates, which make "exe.txt" show as "txt.exe" in a list
_UNFIT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(s: str) -> bool:
    """Whether `s` shows anything: not only spaces and format characters (zero-width ones)."""
    return any(unicodedata.category(c) not in ("Zs", "Zl", "Zp", "Cf", "Cc") for c in s)


def check_chosen(value: object) -> str | None:
    """A title chosen for a document: None (or only spaces) gives it back its first heading;
    else at most TITLE_MAX code points, without control characters, spaces around it taken off."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CollabError("bad_request", "title must be a string, or null for the document's first heading")
    chosen = _trim(value)
    if _UNFIT.search(chosen):
        raise CollabError("bad_request", "a title cannot hold control characters, direction overrides or lone surrogates")
    if len(chosen) > TITLE_MAX:
        raise CollabError("bad_request", f"a title is at most {TITLE_MAX} characters, not {len(chosen):,}")
    return chosen if _visible(chosen) else None  # nothing to see: the first heading is the title


def title_of(text: str) -> str:
    lines = scanned(text).split("\n")
    first = ""
    fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fence = not fence
        if fence:
            continue
        atx = _ATX.match(line)
        if atx and _plain(atx.group(1)):
            return _clip(_plain(atx.group(1)))
        following = lines[i + 1] if i + 1 < len(lines) else None
        if _plain(line) and following is not None and _UNDERLINE.match(following) and not _BULLET.match(line):
            return _clip(_plain(line))
        if not first and not _FENCE.match(line):
            first = _plain(_TASK.sub("", _ITEM.sub("", line, count=1), count=1))
    return _clip(first)
