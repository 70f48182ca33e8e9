"""Removing uploaded images that no version of any document shows (`collab gc-images`).

What may go (core/imagerefs.py says why): an image none of whose 24-character id appears in
any version of any live document, uploaded more than `grace` seconds ago. History keeps
every version, so an image that was ever shown stays (a restore would bring it back); what
goes are uploads that never made it into a saved text: a paste whose edit was never sent,
an image uploaded through the API and not linked. The grace period covers an upload whose
edit is still on its way (a tab offline keeps unsent edits for as long as it stays closed:
the default is a week). A deleted document's images went with it already.

It reads the store directly, beside a running server, and takes no lock: it first replays
every history and notes each head, then reads again the revisions committed meanwhile until
none came, and removes in one transaction only images still uploaded before the grace
period. What is left open is a revision committed in the moment between that last look and
the removal that links an image nobody had linked for the whole grace period: someone
pasting the URL of a long-abandoned upload then. Its quota (SUM of sizes) counts only what
is left, since it is computed from what is stored.

Imports the core and the storage; never the edges.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..core.errors import CollabError
from ..core.imagerefs import ids_after
from ..core.replay import ReplayError, Replayer
from ..storage import Image, Revision, Store, StoreError

DEFAULT_GRACE = 7 * 24 * 3600.0  # seconds: a week
PAGE = 1000  # revisions read at a time
CATCH_UP_PASSES = 10  # looks at what was committed meanwhile, at most, before removing


@dataclass
class Collection:
    """What a collection found and did."""

    candidates: int = 0  # images uploaded before the grace period
    removed: list[Image] = field(default_factory=list)  # descriptions (data None), by id
    kept: int = 0  # candidates some version shows
    documents: int = 0  # documents whose histories were read
    revisions: int = 0  # revisions read

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.removed)


def _pages(store: Store, doc: str, since: int, until: int) -> Iterator[Revision]:
    while since < until:
        batch = store.revisions(doc, since, min(PAGE, until - since))
        if not batch:
            return
        yield from batch
        since = batch[-1].version


class _Scan:
    """The candidates' ids that some version shows, read one document at a time."""

    def __init__(self, store: Store, candidates: set[str]) -> None:
        self.store = store
        self.unseen = set(candidates)  # candidates no version read so far shows
        self.heads: dict[str, int] = {}  # doc -> the version its history was read up to
        self.revisions = 0

    def read(self, doc: str) -> bool:
        """Read what `doc` committed since last time (everything, the first time); whether
        there was anything new."""
        row = self.store.get_document(doc)
        if row is None:  # deleted meanwhile: its images went with it
            return False
        done = self.heads.get(doc, 0)
        if row.head <= done and doc in self.heads:
            return False
        # from the snapshot at or before where this document was read to, looking only at
        # what comes after that (the text before it was looked at last time)
        base, text = self.store.latest_snapshot(doc, done) if done else (0, "")
        replayer = Replayer(text, base)
        try:
            for rev in _pages(self.store, doc, base, row.head):
                edits = replayer.apply(rev)
                if rev.version > done:
                    self.revisions += 1
                    if self.unseen:
                        self.unseen -= ids_after(replayer.rope(), edits, self.unseen)
            replayer.rope()  # the last revision's hash checked too
        except ReplayError as exc:
            raise CollabError("doc_corrupt", f"cannot tell which images document {doc!r} shows: {exc} (run "
                                             "`collab check`); nothing was removed") from None
        self.heads[doc] = row.head
        return True


def collect_images(store: Store, *, grace: float = DEFAULT_GRACE, dry_run: bool = False,
                   now: Callable[[], float] = time.time,
                   progress: Callable[[int, int], None] | None = None) -> Collection:
    """Remove the images no version of any document shows, uploaded over `grace` seconds
    ago (dry_run: only say which). `progress(done, of)` after each document's history."""
    if grace < 0:
        raise CollabError("bad_request", f"the grace period must be 0 or more seconds, not {grace}")
    before = now() - grace
    result = Collection()
    docs = list(store.document_ids())
    candidates = {i.id: i for d in docs for i in store.images(d) if i.created < before}
    result.candidates = len(candidates)
    if not candidates:
        return result
    scan = _Scan(store, set(candidates))
    for n, doc in enumerate(docs, 1):
        scan.read(doc)
        if progress is not None:
            progress(n, len(docs))
    for _ in range(CATCH_UP_PASSES):  # what was committed (or created) while the rest was read
        if not any([scan.read(doc) for doc in store.document_ids()]):
            break
    result.documents, result.revisions = len(scan.heads), scan.revisions
    result.kept = len(candidates) - len(scan.unseen)
    if dry_run:
        result.removed = sorted((candidates[i] for i in scan.unseen), key=lambda i: i.id)
        return result
    try:
        result.removed = store.delete_images(sorted(scan.unseen), before)
    except StoreError as exc:
        raise CollabError("unavailable", f"cannot remove the images: {exc}; nothing was removed") from None
    return result
