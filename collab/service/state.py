"""One open document's state in memory (`DocState`), and what it holds, counted in bytes.

The versions (committed: durable; head: applied, maybe still committing) and their texts,
the recent revisions (sync, moving stale patches, rollback) and the recent op ids (dedupe),
each bounded by count and by code points. The document service (documents.py) owns the
states; the submit request, the commit queue and the catch-up change them under its rules.

Imports only this package's runtime and submit request records; never the edges.
"""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from ..core.rope import MAX_CHUNK, Rope
from ..storage import Access
from .runtime import Lock
from .submit import Applied

RECENT = 1_000  # revisions kept in memory per open document (sync, moving stale patches)
RECENT_BYTES = 8_000_000  # ... and at most this many code points of their patches and edits
RECENT_OPS = 10_000  # op ids per document answered from memory before asking the store
DOC_OVERHEAD = 2_000  # bytes counted per open document besides its texts and caches
OP_BYTES = 120  # bytes counted per remembered op id


@dataclass
class DocState:
    """One open document. The edges read its identity and committed data only (`id`,
    `view_token`, `created`, `updated`, `committed`); the rest is the service's."""

    id: str
    view_token: str
    created: float
    updated: float
    committed: int  # last durable version; joins and reads see this
    committed_rope: Rope  # its text (core/rope.py: chunks; a keystroke copies one and a path)
    head: int  # last applied version (>= committed); patches apply to this
    head_rope: Rope  # its text (sharing all but the chunks changed since with committed_rope)
    lock: Lock = field(default_factory=Lock)
    recent: deque[Applied] = field(default_factory=deque)  # in version order (see keep_recent)
    recent_bytes: int = 0  # sum of their sizes
    # ops[op_id] = Applied while it commits, then its version (recent op ids only)
    ops: OrderedDict[str, Applied | int] = field(default_factory=OrderedDict)
    stale: bool = False  # the store may hold versions we have not loaded (see commits._fail)
    ops_floor: int = 0  # `ops` holds the op id of every revision after this version
    last_used: float = field(default_factory=time.monotonic)
    pins: int = 0  # users of the document now (the edge's joined connections): never dropped
    snap_version: int = 0  # the last committed version stored with a full snapshot (0: none)
    snap_written: int = 0  # revision_cost of the committed revisions since it
    # who may do what (storage.Access), as last read: kept only by a server that is the one
    # writer of access (no message queue: DocumentService.access); None: read it again
    access: Access | None = None
    # its title (core/title.py) as of a committed version, and the one the store holds
    # ("my documents": service/visits.py); None: not worked out, or not stored, yet
    title_at: "tuple[int, str] | None" = None
    title_stored: str | None = None
    chosen_title: str | None = None  # the title its editors chose, if any (titles.chosen)
    # colors_stored[person] = (the colour this process last stored for them (None: automatic,
    # no row), the time stored), so that only a change, or a time grown old, is written
    # (service/colors.py; person: storage/colors.py)
    colors_stored: dict[str, tuple[str | None, float]] = field(default_factory=dict)

    @property
    def committed_text(self) -> str:
        """The committed text as one str: O(text), for joins and reads, never for a keystroke."""
        return str(self.committed_rope)

    @property
    def size(self) -> int:
        """Memory it holds, counted in code points (texts, recent revisions, op ids). The head
        and the committed text share their chunks but those changed since (a chunk or so per
        revision still committing)."""
        extra = min(len(self.committed_rope), MAX_CHUNK * (self.head - self.committed))
        return DOC_OVERHEAD + len(self.head_rope) + extra + self.recent_bytes + OP_BYTES * len(self.ops)

    def keep_recent(self, applied: Applied | None = None) -> None:
        """Add a revision to the recent ones, then forget the oldest committed ones past
        RECENT revisions or RECENT_BYTES (those are read from the store when needed).
        Revisions not yet committed always stay: a rollback and stale patches need them."""
        recent = self.recent
        if applied is not None:
            recent.append(applied)
            self.recent_bytes += applied.size
        while recent and (len(recent) > RECENT or self.recent_bytes > RECENT_BYTES) \
                and recent[0].revision.version <= self.committed:
            self.recent_bytes -= recent.popleft().size

    def remember_op(self, op_id: str, applied: Applied | int) -> None:
        self.ops[op_id] = applied
        self.ops.move_to_end(op_id)
        if len(self.ops) > RECENT_OPS:
            _, oldest = self.ops.popitem(last=False)
            version = oldest if isinstance(oldest, int) else oldest.revision.version
            self.ops_floor = max(self.ops_floor, version)
