"""Full-text snapshots: when one is worth storing (a stored revision's cost, snapshot_due).

A snapshot costs the whole text on disk; not storing one costs the next reads a replay of
every revision since the last. Counting revisions alone (one every 100) made a 2M-character
document written one keystroke at a time store 20 KB per keystroke. So a snapshot is due
when what was written since the last one is at least as big as the text (the snapshots
then never take more disk than the revisions do), and at the latest every
MAX_GAP_FACTOR x COLLAB_SNAPSHOT_EVERY revisions, or sooner once the revisions since add up
to WRITTEN_FACTOR texts (whole rewrites): together these bound the replay of any read, in
revisions and in code points. The replay itself is collab.core.replay's.

Pure: no I/O.
"""
from __future__ import annotations

REVISION_COST = 200  # code points a stored revision counts for besides its patch (row, parsing)
MAX_GAP_FACTOR = 10  # a snapshot at least every 10 x COLLAB_SNAPSHOT_EVERY revisions
WRITTEN_FACTOR = 4  # ... and once the revisions since add up to 4 texts (a few whole rewrites)
SMALL_TEXT = 65_536  # code points: below this, replaying 4 x this many is cheap anyway


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
