"""Full-text snapshots: when one is worth storing, and reading a version from the nearest.

A snapshot costs the whole text on disk; not storing one costs the next reads a replay of
every revision since the last. Counting revisions alone (one every 100) made a 2M-character
document written one keystroke at a time store 20 KB per keystroke. So a snapshot is due
when what was written since the last one is at least as big as the text (the snapshots
then never take more disk than the revisions do), and at the latest every
MAX_GAP_FACTOR x COLLAB_SNAPSHOT_EVERY revisions, or sooner once the revisions since add up
to WRITTEN_FACTOR texts (whole rewrites): together these bound the replay of any read, in
revisions and in code points. The
replay itself is linear in what it reads: revisions are applied to a text kept in chunks,
each touching only the chunks its hunks cover, not copying the whole text per revision.

Pure: no I/O.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Iterable, Sequence

from .errors import CollabError
from .replay import HistoryError, RevisionLike
from .patches import REACH_BACK, Hunk, apply_patch, parse_patch, text_hash

REVISION_COST = 200  # code points a stored revision counts for besides its patch (row, parsing)
MAX_GAP_FACTOR = 10  # a snapshot at least every 10 x COLLAB_SNAPSHOT_EVERY revisions
WRITTEN_FACTOR = 4  # ... and once the revisions since add up to 4 texts (a few whole rewrites)
SMALL_TEXT = 65_536  # code points: below this, replaying 4 x this many is cheap anyway
CHUNK = 16_384  # code points per piece of a text being replayed


def revision_cost(patch: str) -> int:
    """What one stored revision adds to the next read's replay and to the disk."""
    return REVISION_COST + len(patch)


def snapshot_due(since: int, written: int, text_len: int, every: int) -> bool:
    """Store a snapshot with this revision? `since`: revisions since the last snapshot,
    this one included; `written`: their revision_cost summed; `every`: COLLAB_SNAPSHOT_EVERY."""
    if written >= WRITTEN_FACTOR * max(text_len, SMALL_TEXT):
        # whole rewrites of a large text: without this, 99 rewrites of 1.5 M characters were
        # replayed by the next read (6 s); the snapshot costs at most a quarter of them on disk
        return True
    if since < every:
        return False
    return written >= text_len or since >= every * MAX_GAP_FACTOR


class ChunkedText:
    """A text as pieces of about CHUNK code points, patched in place."""

    def __init__(self, text: str) -> None:
        self.chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        self.starts = [i * CHUNK for i in range(len(self.chunks))]  # starts[i] = offset of chunks[i]

    def text(self) -> str:
        return "".join(self.chunks)

    def apply(self, hunks: Sequence[Hunk]) -> None:
        """Apply a patch exactly (as patches.apply_patch would to the whole text)."""
        if not hunks:
            return
        # the old-text span the hunks read: their starts are in the text as patched by the
        # hunks before them, so shift each back by what those changed; contexts may reach
        # back into earlier hunks (REACH_BACK), hence the margin
        drift, end = 0, 0
        for h in hunks:
            end = max(end, h.start + drift + len(h.text1))
            drift += len(h.text1) - len(h.text2)
        first = bisect_right(self.starts, max(0, hunks[0].start - REACH_BACK)) - 1
        last = bisect_right(self.starts, end + REACH_BACK) - 1
        offset = self.starts[first]
        window = "".join(self.chunks[first:last + 1])
        try:
            new, _ = apply_patch(window, [h.moved(h.start - offset) for h in hunks])
        except CollabError:
            if first == 0 and last == len(self.chunks) - 1:
                raise
            # the span estimate missed: apply to the whole text (raises the real error)
            first, last, offset, window = 0, len(self.chunks) - 1, 0, self.text()
            new, _ = apply_patch(window, [h.moved(h.start - offset) for h in hunks])
        # into pieces of equal size near CHUNK (cutting at CHUNK would leave a sliver each time)
        count = max(1, round(len(new) / CHUNK))
        step = -(-len(new) // count) or 1
        pieces = [new[i:i + step] for i in range(0, len(new), step)]
        if not pieces and len(self.chunks) == last - first + 1:
            pieces = [""]
        self.chunks[first:last + 1] = pieces
        starts = self.starts[:first]
        at = offset
        for chunk in self.chunks[first:]:
            starts.append(at)
            at += len(chunk)
        self.starts = starts


def replay_text(text: str, version: int, revisions: Iterable[RevisionLike]) -> tuple[int, str, int]:
    """Apply revisions version+1, ... to `text` (a snapshot); return the last version, its
    text and the revisions' summed revision_cost. The text's hash is checked once, against
    the last revision's (`collab check` checks every revision's)."""
    buf = ChunkedText(text)
    last: RevisionLike | None = None
    written = 0
    for rev in revisions:
        if rev.version != version + 1:
            raise HistoryError(version + 1, f"missing (found {rev.version} next)")
        try:
            buf.apply(parse_patch(rev.patch))
        except CollabError as exc:
            raise HistoryError(rev.version, f"does not apply: {exc.message}") from None
        version, last = rev.version, rev
        written += revision_cost(rev.patch)
    out = buf.text() if last is not None else text
    if last is not None and text_hash(out) != last.hash:
        raise HistoryError(version, "text hash does not match")
    return version, out, written
