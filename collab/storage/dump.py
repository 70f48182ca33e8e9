"""Dump and load: every document with its whole history, labels and tokens, as a stream.

The format is JSON Lines, one record per line, so a dump of any size is written and read
in constant memory and can be piped, compressed or diffed:

    {"collab_dump": 1, "schema": 2}                                    the header
    {"document": {"id", "view_token", "head", "created", "updated"}}   then, for it,
    {"revision": {"version", "patch", "author", "op_id", "ts", "hash", "attribution"},
     "snapshot": "text at that version"}                               each, in order
    {"label": {"name", "version", "ts"}}                               its labels
    {"end": {"documents": N, "revisions": M}}                          the last line

`snapshot` appears where the store holds one. `load` reads a dump twice: first to check
every line (shape, order, counts, that no document already exists in the target), then to
write, so a damaged or truncated dump or a clash is refused before anything is written.
Histories are copied as stored; `collab check` verifies the result (the CLI runs it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .base import NewRevision, Revision, Store, StoreError
from .schema import LATEST

FORMAT = 1
PAGE = 1000  # revisions read (and written) per store call
DOC_FIELDS = ("id", "view_token", "head", "created", "updated")
REV_FIELDS = {"version": int, "patch": str, "author": str, "op_id": str, "ts": (int, float), "hash": str}


class DumpError(ValueError):
    """The dump cannot be loaded: it names the line and what is wrong with it."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass
class Counts:
    documents: int = 0
    revisions: int = 0
    ids: list[str] = field(default_factory=list)  # the documents, in order (filled by validate)


Progress = Callable[[Counts], None]


def records(store: Store, docs: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """The dump of `store` (of `docs` only, if given), record by record."""
    yield {"collab_dump": FORMAT, "schema": LATEST}
    counts = Counts()
    for doc in (store.document_ids() if docs is None else docs):
        row = store.get_document(doc)
        if row is None:
            raise StoreError(f"document {doc!r} does not exist")
        yield {"document": {f: getattr(row, f) for f in DOC_FIELDS}}
        snapshots = set(store.snapshot_versions(doc))
        since = 0
        while since < row.head:
            page = store.revisions(doc, since, min(PAGE, row.head - since))
            if not page:
                raise StoreError(f"document {doc!r}: history ends at version {since}, its head is {row.head}")
            for rev in page:
                record: dict[str, Any] = {"revision": {
                    "version": rev.version, "patch": rev.patch, "author": rev.author, "op_id": rev.op_id,
                    "ts": rev.ts, "hash": rev.hash, "attribution": rev.attribution}}
                if rev.version in snapshots:
                    record["snapshot"] = store.latest_snapshot(doc, rev.version)[1]
                yield record
            since = page[-1].version
            counts.revisions += len(page)
        for label in store.labels(doc):
            yield {"label": {"name": label.name, "version": label.version, "ts": label.ts}}
        counts.documents += 1
    yield {"end": {"documents": counts.documents, "revisions": counts.revisions}}


def write(recs: Iterable[dict[str, Any]], out: Any, progress: Progress | None = None) -> Counts:
    """Write records as JSON Lines to a text file; the counts written."""
    counts = Counts()
    for rec in recs:
        out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        if "revision" in rec:
            counts.revisions += 1
        elif "document" in rec:
            counts.documents += 1
            if progress:
                progress(counts)
    return counts


def read(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each line of a dump; a line that is not a JSON object is refused."""
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise DumpError(n, f"not JSON ({exc})") from None
        if not isinstance(rec, dict):
            raise DumpError(n, "not a JSON object")
        yield n, rec


def _field(n: int, obj: Any, name: str, kind: Any) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise DumpError(n, f"missing {name!r}")
    value = obj[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DumpError(n, f"{name!r} has the wrong type ({type(value).__name__})")
    return value


def validate(recs: Iterable[tuple[int, dict[str, Any]]], target: Store | None = None) -> Counts:
    """Check a whole dump without writing: its header, every record's shape, versions that
    follow each other from 1 to the head, labels of existing versions, the closing counts,
    and (with `target`) that none of its documents exists there yet."""
    counts = Counts()
    doc: dict[str, Any] | None = None
    version = 0
    seen: set[str] = set()
    state = "header"
    last = 0

    def close_document(n: int) -> None:
        if doc is not None and version != doc["head"]:
            raise DumpError(n, f"document {doc['id']!r} ends at version {version}, its head is {doc['head']}")

    for n, rec in recs:
        last = n
        if state == "header":
            if rec.get("collab_dump") != FORMAT:
                raise DumpError(n, f"not a collab dump of format {FORMAT} (the first line must be its header)")
            schema = rec.get("schema")
            if not isinstance(schema, int) or schema > LATEST:
                raise DumpError(n, f"made by a collab with schema {schema}, newer than this one ({LATEST})")
            state = "body"
            continue
        if state == "end":
            raise DumpError(n, "data after the end record")
        kind = next((k for k in ("document", "revision", "label", "end") if k in rec), None)
        if kind != "revision" and len(rec) != 1:
            raise DumpError(n, f"unknown fields {sorted(rec)[:4]}")
        if kind == "document":
            close_document(n)
            body = rec["document"]
            doc = {"id": _field(n, body, "id", str), "head": _field(n, body, "head", int)}
            _field(n, body, "view_token", str)
            _field(n, body, "created", (int, float))
            _field(n, body, "updated", (int, float))
            if doc["id"] in seen:
                raise DumpError(n, f"document {doc['id']!r} appears twice")
            if target is not None and target.get_document(doc["id"]) is not None:
                raise DumpError(n, f"document {doc['id']!r} already exists in the target database "
                                   "(load into an empty database, or leave it out of the dump)")
            seen.add(doc["id"])
            counts.ids.append(doc["id"])
            version = 0
            counts.documents += 1
        elif kind == "revision":
            if doc is None:
                raise DumpError(n, "a revision before any document")
            body = rec["revision"]
            for name, t in REV_FIELDS.items():
                _field(n, body, name, t)
            if body.get("attribution") is not None and not isinstance(body["attribution"], str):
                raise DumpError(n, "'attribution' must be a string or null")
            if "snapshot" in rec and not isinstance(rec["snapshot"], str):
                raise DumpError(n, "'snapshot' must be a string")
            if set(rec) - {"revision", "snapshot"}:
                raise DumpError(n, f"unknown fields {sorted(set(rec) - {'revision', 'snapshot'})}")
            if body["version"] != version + 1:
                raise DumpError(n, f"document {doc['id']!r}: version {body['version']} after {version}")
            version += 1
            counts.revisions += 1
        elif kind == "label":
            if doc is None:
                raise DumpError(n, "a label before any document")
            body = rec["label"]
            _field(n, body, "name", str)
            _field(n, body, "ts", (int, float))
            if not 0 <= _field(n, body, "version", int) <= doc["head"]:
                raise DumpError(n, f"label of version {body['version']}, outside 0..{doc['head']}")
        elif kind == "end":
            close_document(n)
            doc = None
            want = rec["end"]
            if not isinstance(want, dict) or (want.get("documents"), want.get("revisions")) != (
                    counts.documents, counts.revisions):
                raise DumpError(n, f"the end record says {want}, the dump holds {counts.documents} "
                                   f"documents and {counts.revisions} revisions")
            state = "end"
        else:
            raise DumpError(n, f"unknown record {sorted(rec)[:3]}")
    if state == "header":
        raise DumpError(1, "the dump is empty")
    if state != "end":
        raise DumpError(last + 1, "the dump ends without its end record (truncated?)")
    return counts


def load(recs: Iterable[tuple[int, dict[str, Any]]], store: Store, progress: Progress | None = None) -> Counts:
    """Write a dump that `validate` accepted into `store`, a page of revisions per transaction."""
    counts = Counts()
    batch: list[NewRevision] = []
    doc = ""

    def flush() -> None:
        if batch:
            store.append(batch)
            batch.clear()

    for _, rec in recs:
        if "document" in rec:
            flush()
            body = rec["document"]
            doc = body["id"]
            store.create_document(doc, body["view_token"], float(body["created"]))
            counts.documents += 1
            if progress:
                progress(counts)
        elif "revision" in rec:
            body = rec["revision"]
            rev = Revision(doc, body["version"], body["patch"], body["author"], body["op_id"], float(body["ts"]),
                           body["hash"], body.get("attribution"))
            batch.append(NewRevision(rev, rec.get("snapshot")))
            counts.revisions += 1
            if len(batch) >= PAGE:
                flush()
        elif "label" in rec:
            flush()
            body = rec["label"]
            store.set_label(doc, body["version"], body["name"], float(body["ts"]))
    flush()
    return counts
