""""My documents": what each signed-in person opened, and the titles of documents.

The edge tells this when a signed-in person joins a document and when anyone leaves one;
the writes go to the store in the background (a join never waits for them, and one that
fails is logged, never felt). A document's title is worked out from the start of its
committed text (core/title.py, the browser's rule) at most once per version, and stored
when it changed, so a crowd leaving writes it once.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.ids import log_id
from ..core.title import TITLE_SCAN, check_chosen, title_of
from ..storage.base import StoreError, Visit

if TYPE_CHECKING:
    from .documents import DocumentService
    from .state import DocState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listed:
    """A document of someone's list: a visit, with the live title of an open document, and
    why it is there: "owned", "shared" (invited) or "opened" (only opened by a link)."""

    visit: Visit
    title: str
    relation: str = "opened"


FRESH_PER_LIST = 50  # titles of open documents worked out again for one list (up to ~5 ms each)


def current(state: "DocState") -> bool:
    """Whether the title worked out last is the committed version's."""
    return state.title_at is not None and state.title_at[0] == state.committed


def title(state: "DocState") -> str:
    """The document's title as of its committed version (worked out once per version)."""
    known = state.title_at
    if known is None or known[0] != state.committed:
        known = state.title_at = (state.committed, title_of(state.committed_rope[0:TITLE_SCAN]))
    return known[1]


class Visits:
    def __init__(self, service: "DocumentService") -> None:
        self.service = service

    def opened(self, state: "DocState", user_id: str, link: str, kind: str, wait: bool = False) -> None:
        """A signed-in person joined `state` by `link`: its edit id (`kind` "edit") or its
        view token ("view"). In the background, unless asked to `wait` (a rename: the list
        the renamer asks for next must hold the new link)."""
        if wait:
            self._write("remember a visit of", state, self._visit, user_id, link, kind)
        else:
            self.service.runtime.spawn(self._write, "remember a visit of", state, self._visit, user_id, link, kind)

    def left(self, state: "DocState") -> None:
        """Someone left `state` (or it is being written about): store its title if it changed."""
        if state.title_stored != title(state):
            self.service.runtime.spawn(self._write, "store the title of", state, self._title, state)

    def _visit(self, user_id: str, link: str, kind: str) -> None:
        self.service.store.visits.visit(user_id, link, kind, time.time())

    def _title(self, state: "DocState") -> None:
        now = title(state)
        if state.title_stored != now:
            self.service.store.visits.set_title(state.id, now, time.time())
            state.title_stored = now

    def _write(self, what: str, state: "DocState", fn, *args: object) -> None:  # type: ignore[no-untyped-def]
        try:
            self.service.commits.store_write(fn, *args)
        except StoreError as exc:
            log.warning("cannot %s doc=%s: %s", what, log_id(state.id), exc)

    def choose(self, state: "DocState", chosen: object) -> str | None:
        """Give the document the title its editor chose (None or "": its first heading again),
        stored before it is answered: what it is now."""
        value = check_chosen(chosen)
        self.service.commits.store_write(self.service.store.visits.choose_title, state.id, value, time.time())
        state.chosen_title = value
        return value

    def listing(self, user_id: str) -> list[Listed]:
        """The person's documents, the latest opened first: each open one with its live title.
        A title worked out again costs up to ~5 ms (core/title.py reads 64 K): the loop is
        given back after each, and past FRESH_PER_LIST of them the stored title is shown,
        so that a list of hundreds of busy documents never stalls anyone."""
        self.service.runtime.spawn(self._prune, user_id)
        listed, fresh = [], 0
        store = self.service.store.visits
        held = {v.doc: (v, how) for v, how in store.held(user_id)}
        visits, urls = [], set()
        for visit in store.visits(user_id):
            if visit.doc in held:  # owned or invited: by the link that admits them, opened when it was
                mine = held[visit.doc][0]
                if mine.kind == "edit" or visit.kind == "view":
                    visit = dataclasses.replace(mine, opened=visit.opened)
            if (visit.kind, visit.link) not in urls:  # opened by both links, or held: once
                urls.add((visit.kind, visit.link))
                visits.append(visit)
        seen = {v.doc for v in visits}
        visits += [v for d, (v, _) in held.items() if d not in seen]  # held, never opened here
        for visit in visits:
            state = self.service.loaded(visit.doc)
            if state is not None and not current(state) and fresh < FRESH_PER_LIST:
                fresh += 1
                title(state)
                self.service.runtime.yield_now()
            known = state.title_at if state is not None else None
            chosen = state.chosen_title if state is not None else visit.chosen
            how = held[visit.doc][1] if visit.doc in held else None
            relation = "owned" if how == "owner" else "shared" if how is not None else "opened"
            listed.append(Listed(visit, chosen or (known[1] if known is not None else visit.title), relation))
        return listed

    def _prune(self, user_id: str) -> None:
        try:
            self.service.commits.store_write(self.service.store.visits.forget_gone, user_id)
        except StoreError as exc:
            log.warning("cannot forget the withdrawn links of a person's list: %s", exc)

    def forget(self, user_id: str, link: str, kind: str) -> bool:
        return bool(self.service.commits.store_write(self.service.store.visits.forget, user_id, link, kind))
