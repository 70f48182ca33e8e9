"""Patches: parse, apply exactly, move over concurrent revisions, build canonical ones.

The wire format is diff-match-patch's patch_toText. Every offset and length counts
Unicode code points (Python str indexes). Pure: no I/O, no framework imports.

Nothing here applies a patch fuzzily: diff-match-patch's patch_apply can put an edit on
the wrong copy of a repeated line while reporting success. A hunk applies only where
its context and deleted text are found exactly, or the whole patch is refused.
"""
from __future__ import annotations

import binascii
import re
import urllib.parse
import zlib
from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from diff_match_patch import diff_match_patch

from .errors import BadPatch, PatchConflict
from .ids import check_storable

DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT = -1, 0, 1
# Overlapping hunks are re-diffed into minimal edits, but dmp's diff is pure Python and
# quadratic on unlike texts (500 against 500 random code points: ~0.2 s): only the changed
# middle of a group is diffed, at most FINE_DIFF_LIMIT code points of it per group and
# FINE_DIFF_BUDGET per patch; beyond, a group is one coarse edit (exact all the same).
FINE_DIFF_LIMIT = 128
FINE_DIFF_BUDGET = 2_048
# moving a stale patch costs hunks x revisions steps: past this, `conflict` (the client
# rebases on what it receives and resends against the head) rather than seconds of CPU
MOVE_LIMIT = 2_000_000
CONTEXT = 4  # code points of context on each side of a canonical hunk (dmp's Patch_Margin)
# how far a hunk may start back inside what the hunks before it wrote: dmp's contexts reach
# back at most ~40 code points (Match_MaxBits + Patch_Margin); the bound keeps applying linear
REACH_BACK = 1_024

_dmp = diff_match_patch()


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `delete` at `pos` (in the old text) by `insert`."""

    pos: int
    delete: str
    insert: str

    @property
    def end(self) -> int:
        return self.pos + len(self.delete)


@dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk: `ops` apply at `start` of the text as already patched by earlier hunks."""

    start: int
    ops: tuple[tuple[int, str], ...]
    text1: str  # context + deleted text: what must be found at `start`
    text2: str  # context + inserted text: what replaces it

    def moved(self, start: int) -> "Hunk":
        return Hunk(start, self.ops, self.text1, self.text2)


class TextLike(Protocol):
    """What patch_from_edits reads of a text: its length and slices (a str, a rope.Rope)."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> str: ...


def text_hash(text: str) -> str:
    """CRC-32 of the UTF-8 text as 8 hex digits (wire contract `hash`)."""
    return format(zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF, "08x")


# a hunk header as diff-match-patch's patch_fromText matches it
_HEADER = re.compile(r"^@@ -(\d+),?(\d*) \+(\d+),?(\d*) @@$")
_OPS = {"+": DIFF_INSERT, "-": DIFF_DELETE, " ": DIFF_EQUAL}


LINES_AT_ONCE = 65_536  # code points of a patch text split into lines at a time
PIECES_AT_ONCE = 4_096  # lines of one operation joined at a time


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` as `text.split("\n")` gives them, split a slice at a time: a
    4 MB patch of one-character lines split at once is one list of 1.3 million strings,
    traversed whole by each young collection of the garbage collector while it lives
    (40-65 ms each, holding the interpreter lock the event loop waits for)."""
    start, n = 0, len(text)
    while start + LINES_AT_ONCE < n:
        end = text.find("\n", start + LINES_AT_ONCE)
        if end < 0:
            break
        yield from text[start:end].split("\n")
        start = end + 1
    yield from text[start:].split("\n")


def patch_lines(patch_text: str) -> int:
    """The lines of a patch text, as parse_patch reads them one by one (hunk headers,
    operations, blank lines), counted in one scan at C speed (~1 ms a megabyte): what
    parsing and applying a patch costs grows with them, so the service bounds them before
    parsing (COLLAB_MAX_PATCH_LINES)."""
    if not patch_text:
        return 0
    return patch_text.count("\n") + (not patch_text.endswith("\n"))


class _Ops:
    """A hunk's operations as they are read, consecutive lines of the same operation made
    one (what dmp's own diff_cleanupMerge does; applying them is the same): a patch of a
    million lines of one inserted character each is one operation, not a million tuples
    for the garbage collector to walk and for every later step to loop over."""

    def __init__(self) -> None:
        self.ops: list[tuple[int, str]] = []
        self._op: int | None = None
        self._pieces: list[str] = []  # of the current operation, not yet joined
        self._joined: list[str] = []  # of the current operation, joined PIECES_AT_ONCE at a time

    def add(self, op: int, data: str) -> None:
        if op != self._op:
            self._close()
            self._op = op
        self._pieces.append(data)
        if len(self._pieces) >= PIECES_AT_ONCE:
            self._joined.append("".join(self._pieces))
            self._pieces = []

    def _close(self) -> None:
        if self._op is not None:
            self._joined.append("".join(self._pieces))
            self.ops.append((self._op, "".join(self._joined)))
            self._pieces, self._joined = [], []

    def done(self) -> tuple[tuple[int, str], ...]:
        self._close()
        self._op = None
        return tuple(self.ops)


def parse_patch(patch_text: object, max_hunks: int | None = None) -> list[Hunk]:
    """Parse patch_toText output into hunks, refusing anything malformed or unstorable.

    The grammar of dmp's patch_fromText, parsed here in one pass: dmp deletes each line
    from the front of a list as it reads it (quadratic in the lines: a 4 MB patch of
    one-character lines would hold the interpreter for minutes) and decodes %-escapes with
    errors="replace", which would silently store U+FFFD; here broken UTF-8 is refused.
    Consecutive lines of one operation are one operation (_Ops).
    """
    if not isinstance(patch_text, str):
        raise BadPatch("patch must be a string in diff-match-patch patch_toText format")
    if not patch_text:
        return []  # the canonical patch of a revision that changed nothing
    check_storable(patch_text, "patch")
    lines = _lines(patch_text)
    hunks: list[Hunk] = []
    line = next(lines, None)
    while line is not None:
        m = _HEADER.match(line)
        if not m:
            raise BadPatch(f"patch cannot be parsed: Invalid patch string: {line[:200]}")
        if max_hunks is not None and len(hunks) >= max_hunks:
            total = len(hunks) + 1 + sum(1 for rest in lines if rest.startswith("@"))
            raise BadPatch(f"patch has {total} hunks; at most {max_hunks} are allowed")
        start2, length2 = _header_range(m.group(3), m.group(4))
        start1, length1 = _header_range(m.group(1), m.group(2))
        if start1 < 0 or start2 < 0:  # "@@ -0,2": dmp reads start -1 and clamps it when applying
            raise BadPatch(f"hunk {len(hunks) + 1}: header {line[:80]!r} starts before the text "
                           "(a hunk with a length starts at 1 or later)")
        reading = _Ops()
        line = next(lines, None)
        while line is not None:
            sign = line[:1]
            if sign == "@":
                break  # the next hunk
            if sign:  # (dmp skips blank lines)
                op = _OPS.get(sign)
                if op is None:
                    raise BadPatch(f"patch cannot be parsed: Invalid patch mode: {sign!r}")
                data = line[1:]
                if "%" in data:
                    try:
                        data = _unquote(data)
                    except UnicodeDecodeError:
                        raise BadPatch("patch contains %-escapes that are not valid UTF-8") from None
                if data:
                    reading.add(op, data)
            line = next(lines, None)
        ops = reading.done()
        text1 = "".join(data for op, data in ops if op != DIFF_INSERT)
        text2 = "".join(data for op, data in ops if op != DIFF_DELETE)
        if len(text1) != length1 or len(text2) != length2:
            raise BadPatch(
                f"hunk {len(hunks) + 1}: header says {length1},{length2} code points but its body has "
                f"{len(text1)},{len(text2)} (offsets and lengths count code points)"
            )
        check_storable(text2, "patch")
        hunks.append(Hunk(start2, ops, text1, text2))
    return hunks


def walk_hunks(hunks: Iterable[Hunk], length: Callable[[], int]) -> Iterator[tuple[int, int, str]]:
    """(op, pos, data) for each operation of a canonical patch, at the position it takes in
    the text as the operations before it left it: hunks apply in order, each at its start.
    The caller applies each to its own model of the text (blame's identities, revert's
    weave) before asking for the next; `length()` is that model's length, and context past
    its end is refused (ValueError: the history does not replay)."""
    for hunk in hunks:
        pos = hunk.start
        for op, data in hunk.ops:
            if op == DIFF_EQUAL and pos + len(data) > length():
                raise ValueError("context past the end of the text")
            yield op, pos, data
            if op != DIFF_DELETE:
                pos += len(data)
def _header_range(start: str, length: str) -> tuple[int, int]:
    """(start, length) of one side of a hunk header, as dmp reads "@@ -s,l": 0-based start;
    no length means 1, and a length of 0 means the start is the position before."""
    if length == "":
        return int(start) - 1, 1
    if length == "0":
        return int(start), 0
    return int(start) - 1, int(length)


@dataclass(slots=True)
class _Group:
    """Hunks applied as one change: base_start..base_end of the old text became the new text
    from new_start, `growth` code points longer."""

    base_start: int
    base_end: int
    new_start: int
    hunks: list[Hunk]
    growth: int

    @property
    def new_end(self) -> int:
        return self.new_start + (self.base_end - self.base_start) + self.growth


def apply_patch(text: str, hunks: Sequence[Hunk], offset: int = 0) -> tuple[str, list[Edit]]:
    """Apply hunks exactly, in order, as diff-match-patch defines their positions.

    Returns the new text and the change as sorted, non-overlapping edits on `text`.
    Raises PatchConflict (nothing applied) when a hunk's text is not found exactly at
    its position. A hunk may start up to REACH_BACK code points before the end of what
    the hunks before it wrote (dmp grows a context until it is unique, so it can reach
    over a short hunk before it); further back is BadPatch. Linear in len(text) + patch
    size, however many hunks.

    With `offset`, `text` is the part of a document from that code point on, at least the
    part `patch_span` gives (apply_patch reads nothing else): the hunks' starts, the edits
    returned and the errors' positions are the document's; the text returned is the part's.
    """
    out: list[str] = []  # the new text so far
    out_len = 0
    pending = ""  # output reopened by a hunk whose context overlaps the previous ones
    cur = 0  # the rest of the current text is pending + text[cur:]
    groups: list[_Group] = []
    for n, h in enumerate(hunks, 1):
        s = h.start - offset
        if s < out_len:
            # dmp adds each hunk's context after applying the earlier ones, so a context
            # may reach back into what earlier hunks wrote: reopen that tail, and make the
            # hunks that wrote it one group with this one
            if out_len - s > REACH_BACK:
                raise BadPatch(f"hunk {n} starts {out_len - s} code points before the end of the hunks "
                               f"before it; at most {REACH_BACK} are allowed (hunks must be in order)")
            pending = _pop_tail(out, out_len - s) + pending
            out_len = s
            merged = groups.pop()
            while groups and groups[-1].new_end > s:
                g = groups.pop()
                merged = _Group(g.base_start, merged.base_end, g.new_start, g.hunks + merged.hunks,
                                g.growth + merged.growth)
            if s < merged.new_start:  # unchanged text between s and the first hunk reopened
                merged.base_start -= merged.new_start - s
                merged.new_start = s
            groups.append(merged)
            merge = True
        else:
            gap = s - out_len
            if gap <= len(pending):
                out.append(pending[:gap])
                pending = pending[gap:]
            else:
                rest = gap - len(pending)
                if cur + rest > len(text):
                    raise PatchConflict(f"hunk {n} starts at {h.start}, past the end of the text")
                out.append(pending)
                out.append(text[cur : cur + rest])
                pending, cur = "", cur + rest
            out_len = s
            merge = bool(pending)
        need = len(h.text1)
        base_from = cur
        if need <= len(pending):
            found, pending = pending[:need], pending[need:]
        else:
            rest = need - len(pending)
            found = pending + text[cur : cur + rest]
            pending, cur = "", cur + rest
        if found != h.text1:
            raise PatchConflict(f"hunk {n} does not apply at {h.start}: its context or deleted text differs")
        out.append(h.text2)
        out_len += len(h.text2)
        change = len(h.text2) - len(h.text1)
        if merge and groups:
            last = groups[-1]
            last.base_end = cur
            last.hunks.append(h)
            last.growth += change
        else:
            groups.append(_Group(base_from, cur, s, [h], change))
    out.append(pending)
    out.append(text[cur:])
    new_text = "".join(out)
    edits = _group_edits(text, new_text, groups)
    return new_text, edits if not offset else [Edit(e.pos + offset, e.delete, e.insert) for e in edits]


def patch_span(hunks: Sequence[Hunk], length: int) -> tuple[int, int]:
    """The code points [lo, hi) of a text of `length` that apply_patch reads for `hunks`:
    hand it text[lo:hi] with offset=lo and it does what it does on the whole text, in the
    time of the part (a keystroke in a 4 M code point document reads about a thousand).

    Each hunk reads the text it was made on up to its start there (its start less what the
    hunks before it grew the text) plus its context and deleted text; a hunk reaching back
    reads what the hunks before it wrote, at most REACH_BACK code points before the first
    one's start. Everything before that and after the furthest read is only copied."""
    if not hunks:
        return 0, 0
    drift, end = 0, 0
    for h in hunks:
        end = max(end, h.start + drift + len(h.text1))
        drift += len(h.text1) - len(h.text2)
    return min(length, max(0, hunks[0].start - REACH_BACK)), min(length, end)


def _pop_tail(out: list[str], need: int) -> str:
    parts: list[str] = []
    while need > 0:
        piece = out.pop()
        if len(piece) > need:
            out.append(piece[:-need])
            piece = piece[-need:]
        parts.append(piece)
        need -= len(piece)
    return "".join(reversed(parts))


def _group_edits(old: str, new: str, groups: list[_Group]) -> list[Edit]:
    edits: list[Edit] = []
    budget = FINE_DIFF_BUDGET
    for g in groups:
        base_start = g.base_start
        if len(g.hunks) == 1:
            for e in _diff_to_edits(g.hunks[0].ops, base_start):
                _add_edit(edits, e)
            continue
        before, after = old[base_start:g.base_end], new[g.new_start:g.new_end]
        # the shared prefix and suffix cost nothing to find (C speed); diff the rest
        k = _dmp.diff_commonPrefix(before, after)
        j = _dmp.diff_commonSuffix(before[k:], after[k:])
        middle = len(before) + len(after) - 2 * (k + j)
        if middle <= min(FINE_DIFF_LIMIT, budget):
            budget -= middle
            edits.extend(Edit(base_start + e.pos, e.delete, e.insert) for e in diff_edits(before, after))
        else:  # a large or costly overlapping group: one coarse edit rather than an unbounded diff
            _add_edit(edits, Edit(base_start, before, after))
    return edits


def _add_edit(edits: list[Edit], e: Edit) -> None:
    """Append e without the context it shares at both ends; drop it if it changes nothing."""
    k = _dmp.diff_commonPrefix(e.delete, e.insert)
    delete, insert = e.delete[k:], e.insert[k:]
    j = _dmp.diff_commonSuffix(delete, insert)
    if j:
        delete, insert = delete[:-j], insert[:-j]
    if delete or insert:
        edits.append(Edit(e.pos + k, delete, insert))


def move_hunks(hunks: Sequence[Hunk], revisions: Sequence[Sequence[Edit]]) -> list[Hunk]:
    """Move hunks made against an older version over the revisions committed since.

    Each hunk's expected location is carried through every revision's edits, so it lands
    where its author meant even when the same text exists elsewhere. A revision that
    changed anything inside a hunk's context or deleted text raises PatchConflict.
    Costs hunks x revisions x log(edits per revision) steps (a binary search finds where
    each hunk sits among a revision's edits); past MOVE_LIMIT steps it is refused.
    """
    if len(hunks) * len(revisions) > MOVE_LIMIT:
        raise PatchConflict(
            f"a patch of {len(hunks)} hunks made {len(revisions)} revisions ago is too costly to move; "
            "sync, rebase and resend"
        )
    ranges = []
    growth = 0
    for h in hunks:
        start = h.start - growth  # where the hunk sits in the base text
        ranges.append([start, start + len(h.text1)])
        growth += len(h.text2) - len(h.text1)
    open_ends = [bool(h.ops) and h.ops[-1][0] == DIFF_INSERT for h in hunks]
    for edits in revisions:
        if not edits:
            continue
        positions = [e.pos for e in edits]
        before = [0]  # before[k]: how much edits[:k] grow the text
        for e in edits:
            before.append(before[-1] + len(e.insert) - len(e.delete))
        for r, open_end in zip(ranges, open_ends):
            shift = _shift_over(r[0], r[1], edits, open_end, positions, before)
            r[0] += shift
            r[1] += shift
    moved = []
    growth = 0
    for h, (start, _end) in zip(hunks, ranges):
        moved.append(h.moved(start + growth))
        growth += len(h.text2) - len(h.text1)
    return moved


def _shift_over(start: int, end: int, edits: Sequence[Edit], open_end: bool,
                positions: Sequence[int], before: Sequence[int]) -> int:
    """How far a hunk's range moves over one revision's edits (sorted, non-overlapping;
    `positions` are their positions, `before[k]` the growth of edits[:k]). `open_end`: the
    hunk ends with an insert (no context after it, at the end of the text), so an insert
    at its end is at the same point as the hunk's own: which goes first is for the client
    to decide."""
    # every edit wholly before the range only shifts it: they are a prefix, found by bisection
    k = bisect_left(positions, start)  # edits[:k] start before the range
    if k and edits[k - 1].end > start:
        k -= 1  # it reaches into the range: examined below (a conflict)
    shift = before[k]
    for i in range(k, len(edits)):  # (not edits[k:]: the loop stops after a few)
        e = edits[i]
        if e.pos == end and start < end and open_end and e.insert:
            raise PatchConflict("a concurrent revision inserted at the same point; rebase and resend")
        if e.pos > end or (e.pos == end and start < end):
            break  # this and every later edit lies after the range
        if e.pos < start and e.end <= start:
            shift += len(e.insert) - len(e.delete)
        elif e.pos == start and (not e.delete or start == end):
            # an insert at the same point: the revision committed first goes first
            shift += len(e.insert)
        else:
            raise PatchConflict(
                "a concurrent revision changed the text this patch edits; rebase and resend"
            )
    return shift


def patch_edits(hunks: Sequence[Hunk]) -> list[Edit] | None:
    """The edits of an exact patch on the text it applies to, read from the patch alone:
    what apply_patch returns, without the text (linear in the patch, not the document).
    For the server's own canonical patches, whose hunks never overlap; None for a patch
    whose hunks overlap (its edits need the text: apply it)."""
    edits: list[Edit] = []
    growth = 0
    new_end = 0  # where the previous hunk's text ends, in the text as patched so far
    for h in hunks:
        if h.start < new_end:
            return None
        base_start = h.start - growth
        for e in _diff_to_edits(h.ops, base_start):
            _add_edit(edits, e)
        new_end = h.start + len(h.text2)
        growth += len(h.text2) - len(h.text1)
    return edits


def diff_cost(old: str, new: str) -> int:
    """What diff_edits(old, new) costs, in code points copied (the unit of the service's
    offloading decisions): dmp trims the common prefix and suffix at C speed, then diffs the
    rest in pure Python, at least a few hundred times slower per code point."""
    k: int = _dmp.diff_commonPrefix(old, new)  # (diff-match-patch has no type hints)
    j: int = _dmp.diff_commonSuffix(old[k:], new[k:]) if k < min(len(old), len(new)) else 0
    middle = len(old) + len(new) - 2 * (k + j)
    return len(old) + len(new) + DIFF_WEIGHT * middle


DIFF_WEIGHT = 1_000  # per code point of a diff's middle (see diff_cost)


def diff_edits(old: str, new: str) -> list[Edit]:
    """A minimal change old -> new as edits on old (diff-match-patch's diff)."""
    diffs = _dmp.diff_main(old, new, False)
    # slide each change to a word or line boundary ("The c[at c]ame" -> "The [cat ]came"), so
    # concurrent edits merge between words rather than inside them. Not diff_cleanupSemantic:
    # it turns inserts into replacements of the text around them, which would resurrect
    # text deleted concurrently.
    _dmp.diff_cleanupSemanticLossless(diffs)
    return list(_diff_to_edits(diffs, 0))


def _diff_to_edits(diffs: Iterable[tuple[int, str]], pos: int) -> Iterator[Edit]:
    """dmp diff operations starting at `pos` of the old text, as edits on it."""
    delete: list[str] = []
    insert: list[str] = []
    for op, data in [*diffs, (DIFF_EQUAL, "")]:
        if op == DIFF_EQUAL:
            if delete or insert:
                yield Edit(pos, "".join(delete), "".join(insert))
                pos += sum(map(len, delete))
                delete, insert = [], []
            pos += len(data)
        elif op == DIFF_DELETE:
            delete.append(data)
        else:
            insert.append(data)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply sorted, non-overlapping edits made on `text`."""
    out = []
    cur = 0
    for e in edits:
        assert e.pos >= cur, "edits must be sorted and must not overlap"
        out.append(text[cur : e.pos])
        out.append(e.insert)
        cur = e.end
    out.append(text[cur:])
    return "".join(out)


def patch_from_edits(old: TextLike, edits: Sequence[Edit]) -> str:
    """The canonical patch_toText of `edits` on `old`: applies exactly to `old`. Reads only
    the few code points of context around each edit (so `old` may be a rope).

    Built directly rather than with dmp.patch_make, which copies the whole text once per
    diff and searches it once per hunk (quadratic on large documents).
    """
    text: list[str] = []
    growth = 0
    i = 0
    while i < len(edits):
        j = i
        while j + 1 < len(edits) and edits[j + 1].pos - edits[j].end <= 2 * CONTEXT:
            j += 1
        group = edits[i : j + 1]
        start = max(0, group[0].pos - CONTEXT)
        end = min(len(old), group[-1].end + CONTEXT)
        diffs: list[tuple[int, str]] = [(DIFF_EQUAL, old[start : group[0].pos])]
        for k, e in enumerate(group):
            if e.delete:
                diffs.append((DIFF_DELETE, e.delete))
            if e.insert:
                diffs.append((DIFF_INSERT, e.insert))
            nxt = group[k + 1].pos if k + 1 < len(group) else end
            diffs.append((DIFF_EQUAL, old[e.end : nxt]))
        change = sum(len(e.insert) - len(e.delete) for e in group)
        text.append(_hunk_text(start, end - start, start + growth, end - start + change, diffs))
        growth += change
        i = j + 1
    return "".join(text)


def _hunk_text(start1: int, length1: int, start2: int, length2: int, diffs: Iterable[tuple[int, str]]) -> str:
    """One hunk as diff-match-patch's patch_obj.__str__ writes it (header 1-based, a length
    of 1 left out), its lines escaped by _quote; empty operations left out."""
    def coords(start: int, length: int) -> str:
        return f"{start},0" if length == 0 else str(start + 1) if length == 1 else f"{start + 1},{length}"

    text = [f"@@ -{coords(start1, length1)} +{coords(start2, length2)} @@\n"]
    for op, data in diffs:
        if data:
            text.append(f"{_SIGNS[op]}{_quote(data)}\n")
    return "".join(text)


_SIGNS = {DIFF_INSERT: "+", DIFF_DELETE: "-", DIFF_EQUAL: " "}
DMP_SAFE = "!~*'();/?:@&=+$,# "  # what patch_toText leaves unescaped besides letters, digits and _.-~
# the ASCII characters patch_toText escapes, "%" first (so that no escape is escaped again)
_ESCAPED = sorted((c for c in map(chr, range(128)) if not (c.isalnum() or c in "_.-~" + DMP_SAFE)),
                  key=lambda c: c != "%")
_ESCAPE = {c: f"%{ord(c):02X}" for c in _ESCAPED}


def _quote(data: str) -> str:
    """urllib.parse.quote(data, DMP_SAFE), as diff-match-patch escapes a patch's line. A long
    ASCII line at C speed, a replace per character to escape that it holds: urllib's quote
    takes its pure-Python path, ~60 ns a character, as soon as one needs escaping (240 ms for
    a 4 M character paste with line breaks, on a write-lane thread)."""
    if not _NEEDS_ESCAPE.search(data):
        return data
    if not data.isascii() or len(data) < QUOTE_BY_REPLACES:
        return urllib.parse.quote(data, DMP_SAFE)
    for c in _ESCAPED:
        if c in data:
            data = data.replace(c, _ESCAPE[c])
    return data


# what patch_toText escapes (any character but these), found at C speed
_NEEDS_ESCAPE = re.compile("[^A-Za-z0-9_.~" + re.escape(DMP_SAFE) + "-]")
QUOTE_BY_REPLACES = 1_024  # characters of a line from which the replaces beat urllib's quote (a test each of ~50)


def _unquote(data: str) -> str:
    """urllib.parse.unquote(data, errors="strict"), as parse_patch reads a line (broken
    UTF-8 raises UnicodeDecodeError). urllib decodes an escape at a time in Python, ~0.4 us
    each (575 ms for a 4 M character patch of CJK escapes, on a write-lane thread); an ASCII
    line whose every "%" starts an escape is read by binascii's quoted-printable decoder
    instead, its "=XX" escapes at C speed: "=" written "=3D" first, "%" made "=". Each "="
    then removes 2 characters exactly when it starts an escape, and less otherwise (a bare
    "%" kept, or one at the end dropped), so the length says whether they all did; a "="
    before a line break (a soft break in quoted-printable) is left to urllib."""
    if data.isascii() and "%\r" not in data and "%\n" not in data:
        raw = binascii.a2b_qp(data.replace("=", "=3D").replace("%", "="))
        if len(raw) == len(data) - 2 * data.count("%"):
            return raw.decode("utf-8")
    return urllib.parse.unquote(data, errors="strict")


def make_patch(old: str, new: str) -> str:
    """Canonical patch text turning old into new."""
    return patch_from_edits(old, diff_edits(old, new))
