"""Patches: parse, apply exactly, move over concurrent revisions, build canonical ones.

The wire format is diff-match-patch's patch_toText. Every offset and length counts
Unicode code points (Python str indexes). Pure: no I/O, no framework imports.

Nothing here applies a patch fuzzily: diff-match-patch's patch_apply can put an edit on
the wrong copy of a repeated line while reporting success. A hunk applies only where
its context and deleted text are found exactly, or the whole patch is refused.
"""
from __future__ import annotations

import urllib.parse
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from diff_match_patch import diff_match_patch, patch_obj

from .errors import BadPatch, PatchConflict
from .ids import check_storable

DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT = -1, 0, 1
FINE_DIFF_LIMIT = 20_000  # code points of overlapping hunks re-diffed into minimal edits
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


def text_hash(text: str) -> str:
    """CRC-32 of the UTF-8 text as 8 hex digits (wire contract `hash`)."""
    return format(zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF, "08x")


def parse_patch(patch_text: object, max_hunks: int | None = None) -> list[Hunk]:
    """Parse patch_toText output into hunks, refusing anything malformed or unstorable."""
    if not isinstance(patch_text, str):
        raise BadPatch("patch must be a string in diff-match-patch patch_toText format")
    if not patch_text:
        return []  # the canonical patch of a revision that changed nothing
    check_storable(patch_text, "patch")
    try:
        # dmp decodes %xx with errors="replace", which would silently store U+FFFD;
        # decode strictly first so broken UTF-8 (or encoded surrogates) is refused.
        urllib.parse.unquote(patch_text, errors="strict")
    except UnicodeDecodeError:
        raise BadPatch("patch contains %-escapes that are not valid UTF-8") from None
    try:
        objs = _dmp.patch_fromText(patch_text)
    except (ValueError, IndexError) as exc:
        raise BadPatch(f"patch cannot be parsed: {str(exc)[:200]}") from None
    if max_hunks is not None and len(objs) > max_hunks:
        raise BadPatch(f"patch has {len(objs)} hunks; at most {max_hunks} are allowed")
    hunks = []
    for n, p in enumerate(objs, 1):
        ops = tuple((op, data) for op, data in p.diffs if data)
        text1 = "".join(data for op, data in ops if op != DIFF_INSERT)
        text2 = "".join(data for op, data in ops if op != DIFF_DELETE)
        if len(text1) != p.length1 or len(text2) != p.length2:
            raise BadPatch(
                f"hunk {n}: header says {p.length1},{p.length2} code points but its body has "
                f"{len(text1)},{len(text2)} (offsets and lengths count code points)"
            )
        check_storable(text2, "patch")
        hunks.append(Hunk(p.start2, ops, text1, text2))
    return hunks


def apply_patch(text: str, hunks: Sequence[Hunk]) -> tuple[str, list[Edit]]:
    """Apply hunks exactly, in order, as diff-match-patch defines their positions.

    Returns the new text and the change as sorted, non-overlapping edits on `text`.
    Raises PatchConflict (nothing applied) when a hunk's text is not found exactly at
    its position. A hunk may start up to REACH_BACK code points before the end of what
    the hunks before it wrote (dmp grows a context until it is unique, so it can reach
    over a short hunk before it); further back is BadPatch. Linear in len(text) + patch
    size, however many hunks.
    """
    out: list[str] = []  # the new text so far
    out_len = 0
    pending = ""  # output reopened by a hunk whose context overlaps the previous ones
    cur = 0  # the rest of the current text is pending + text[cur:]
    groups: list[list] = []  # [base_start, base_end, new_start, [hunks], growth]
    for n, h in enumerate(hunks, 1):
        s = h.start
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
            while groups and _new_end(groups[-1]) > s:
                g = groups.pop()
                merged = [g[0], merged[1], g[2], g[3] + merged[3], g[4] + merged[4]]
            if s < merged[2]:  # unchanged text between s and the first hunk reopened
                merged[0] -= merged[2] - s
                merged[2] = s
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
                    raise PatchConflict(f"hunk {n} starts at {s}, past the end of the text")
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
            raise PatchConflict(f"hunk {n} does not apply at {s}: its context or deleted text differs")
        out.append(h.text2)
        out_len += len(h.text2)
        change = len(h.text2) - len(h.text1)
        if merge and groups:
            groups[-1][1] = cur
            groups[-1][3].append(h)
            groups[-1][4] += change
        else:
            groups.append([base_from, cur, s, [h], change])
    out.append(pending)
    out.append(text[cur:])
    new_text = "".join(out)
    return new_text, _group_edits(text, new_text, groups)


def _new_end(group: list) -> int:
    base_start, base_end, new_start, _, growth = group
    return new_start + (base_end - base_start) + growth


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


def _group_edits(old: str, new: str, groups: list[list]) -> list[Edit]:
    edits: list[Edit] = []
    for base_start, base_end, new_start, members, growth in groups:
        if len(members) == 1:
            for e in _diff_to_edits(members[0].ops, base_start):
                _add_edit(edits, e)
        else:
            new_end = new_start + (base_end - base_start) + growth
            before, after = old[base_start:base_end], new[new_start:new_end]
            if len(before) + len(after) <= FINE_DIFF_LIMIT:
                edits.extend(Edit(base_start + e.pos, e.delete, e.insert) for e in diff_edits(before, after))
            else:  # a huge overlapping group: one coarse edit rather than an unbounded diff
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


def move_hunks(hunks: Sequence[Hunk], revisions: Iterable[Sequence[Edit]]) -> list[Hunk]:
    """Move hunks made against an older version over the revisions committed since.

    Each hunk's expected location is carried through every revision's edits, so it lands
    where its author meant even when the same text exists elsewhere. A revision that
    changed anything inside a hunk's context or deleted text raises PatchConflict.
    """
    ranges = []
    growth = 0
    for h in hunks:
        start = h.start - growth  # where the hunk sits in the base text
        ranges.append([start, start + len(h.text1)])
        growth += len(h.text2) - len(h.text1)
    for edits in revisions:
        for h, r in zip(hunks, ranges):
            shift = _shift_over(r[0], r[1], edits, open_end=bool(h.ops) and h.ops[-1][0] == DIFF_INSERT)
            r[0] += shift
            r[1] += shift
    moved = []
    growth = 0
    for h, (start, _end) in zip(hunks, ranges):
        moved.append(h.moved(start + growth))
        growth += len(h.text2) - len(h.text1)
    return moved


def _shift_over(start: int, end: int, edits: Sequence[Edit], open_end: bool) -> int:
    """How far a hunk's range moves over one revision's edits. `open_end`: the hunk ends
    with an insert (no context after it, at the end of the text), so an insert at its end
    is at the same point as the hunk's own: which goes first is for the client to decide."""
    shift = 0
    for e in edits:  # sorted by position, non-overlapping
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


def patch_from_edits(old: str, edits: Sequence[Edit]) -> str:
    """The canonical patch_toText of `edits` on `old`: applies exactly to `old`.

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
        p = patch_obj()
        diffs: list[tuple[int, str]] = [(DIFF_EQUAL, old[start : group[0].pos])]
        for k, e in enumerate(group):
            if e.delete:
                diffs.append((DIFF_DELETE, e.delete))
            if e.insert:
                diffs.append((DIFF_INSERT, e.insert))
            nxt = group[k + 1].pos if k + 1 < len(group) else end
            diffs.append((DIFF_EQUAL, old[e.end : nxt]))
        p.diffs = [d for d in diffs if d[1]]
        p.start1 = start
        p.start2 = start + growth
        p.length1 = end - start
        change = sum(len(e.insert) - len(e.delete) for e in group)
        p.length2 = p.length1 + change
        growth += change
        text.append(str(p))
        i = j + 1
    return "".join(text)


def make_patch(old: str, new: str) -> str:
    """Canonical patch text turning old into new."""
    return patch_from_edits(old, diff_edits(old, new))
