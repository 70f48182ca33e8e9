"""The colour each author of a document last wrote in (issue 15): what the history page
colours people by, so that a person shows there in the colour the editor showed them in,
present or not, after any restart.

The edge says, with each patch it accepts, who wrote it in which colour (a picked one, as
placed at their join, or None: automatic). Only a change is written: each open document
remembers what this process last stored for each person and when, so a person's typing costs
one write per colour per document load and REFRESH_AFTER seconds, in the background (a patch never waits for it; one that
fails is logged and tried again at their next patch). With several processes each stores
what its own writers do; the last written wins.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..core.ids import log_id
from ..storage.base import AuthorColor, StoreError
from ..storage.colors import person

if TYPE_CHECKING:
    from .documents import DocumentService
    from .state import DocState

log = logging.getLogger(__name__)
MAX_KEPT = 1_000  # people remembered per open document; past that it starts again (one write each, again)
# seconds after which a person typing on in one colour has its time written again: of two who
# wrote in one colour the later keeps it (GET /colors, latest first), so the time must follow
# their writing, not stay at their first patch in it
REFRESH_AFTER = 60.0


class AuthorColors:
    def __init__(self, service: "DocumentService") -> None:
        self.service = service

    def wrote(self, state: "DocState", author: str, account: str | None, color: str | None) -> None:
        """`author` (signed in as `account`, or a guest: None) had a patch of theirs accepted,
        shown in `color` (None: the automatic one)."""
        who = person(author, account)
        kept = state.colors_stored
        now = time.time()
        if who in kept and kept[who][0] == color and now - kept[who][1] < REFRESH_AFTER:
            return
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[who] = (color, now)
        self.service.runtime.spawn(self._store, state, who, author, account, color, now)

    def _store(self, state: "DocState", who: str, author: str, account: str | None, color: str | None,
               ts: float) -> None:
        try:
            self.service.commits.store_write(self.service.store.colors.wrote, state.id, author, account, color, ts)
        except StoreError as exc:
            log.warning("cannot store the colour of an author of doc=%s: %s", log_id(state.id), exc)
            if state.colors_stored.get(who) == (color, ts):
                del state.colors_stored[who]  # not stored: their next patch tries again

    def listing(self, state: "DocState") -> list[AuthorColor]:
        """The document's people and the colour they last wrote in, the latest first (at most
        storage.colors.MAX_COLORS)."""
        return self.service.store.colors.colors(state.id)
