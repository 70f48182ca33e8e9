"""What each client address holds in memory by having documents joined.

A joined document is pinned: never dropped from memory while someone is in it (dropping
it would give one document two states). So what one address may pin is bounded here, at
the join: at most COLLAB_MAX_JOINED_PER_ADDRESS documents, and no join once the
documents it has joined hold COLLAB_MAX_PINNED_PER_ADDRESS code points (DocState.size).
Before, one client joined document after document and filled each: the server's RSS went
58 -> 241 MB with COLLAB_MAX_OPEN_BYTES at 5 MB. What a joined document grows to later is
bounded by the document limit (COLLAB_MAX_DOC_CHARS), so one address pins at most
max(its pinned cap + one document, its document cap x the document limit).

Edge layer: the address is the one `guard.client_address` gives (COLLAB_PROXY_HOPS), and
the states are the document service's; nothing here does I/O.
"""
from __future__ import annotations

from typing import Any

from ..core.errors import CollabError
from ..service.documents import DocState

RETRY_AFTER = 10.0  # seconds a refused client waits before joining again


class AddressPins:
    def __init__(self, max_documents: int, max_code_points: int) -> None:
        self.max_documents = max_documents  # 0: no limit
        self.max_code_points = max_code_points  # 0: no limit
        # held[address][doc_id] = [state, memberships of that address's connections in it]
        self._held: dict[str, dict[str, list[Any]]] = {}

    def check(self, address: str, key: str) -> None:
        """Before opening `key` (an edit id or a view token) for `address`: refuse, with
        `unavailable`, a document it has not joined yet once it holds its share. Checked
        before the document is opened, so that a refused join creates and loads nothing."""
        held = self._held.get(address)
        if not held or any(key in (s.id, s.view_token) for s, _ in held.values()):
            return
        if self.max_documents and len(held) >= self.max_documents:
            raise CollabError(
                "unavailable", f"your address has {len(held):,} documents open on this server, the most it may "
                f"(COLLAB_MAX_JOINED_PER_ADDRESS): close one to open another", retry_after=RETRY_AFTER)
        size = sum(s.size for s, _ in held.values())
        if self.max_code_points and size >= self.max_code_points:
            raise CollabError(
                "unavailable", f"the {len(held):,} documents your address has open on this server hold "
                f"{size:,} characters, the most it may (COLLAB_MAX_PINNED_PER_ADDRESS): close one to open "
                f"another", retry_after=RETRY_AFTER)

    def take(self, address: str, state: DocState) -> None:
        """A connection of `address` joins `state` (refused as check() does). The caller
        pins the state right after, with no yield in between, so the bound is exact."""
        held = self._held.setdefault(address, {})
        entry = held.get(state.id)
        if entry is None:
            try:
                self.check(address, state.id)
            except CollabError:
                if not held:
                    del self._held[address]
                raise
            entry = held[state.id] = [state, 0]
        entry[1] += 1

    def give(self, address: str, state: DocState) -> None:
        """A connection of `address` left `state` (or disconnected)."""
        held = self._held.get(address, {})
        entry = held.get(state.id)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del held[state.id]
            if not held:
                del self._held[address]

    def holds(self, address: str) -> tuple[int, int]:
        """(documents joined, code points they hold) for `address`."""
        held = self._held.get(address, {})
        return len(held), sum(s.size for s, _ in held.values())
