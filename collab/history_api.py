"""HTTP JSON API of a document's history: blame, diff, restore, revert, named versions,
export and import.

Documents are named by edit id or view token, exactly as in api.py (whose `_resolve` and
error translation this reuses); answers and file names use the name the client used, so
a view token never reveals the edit id. Viewers may read everything here; every write
needs the edit id and is an ordinary new revision (history is never rewritten).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .api import _int_arg, _resolve
from .blame import attribution_at, blame
from .errors import CollabError
from .exports import export
from .history import HistoryError
from .ids import check_name
from .patches import Edit, diff_edits, patch_from_edits
from .revert import Reverted, revert
from .service import DocState, DocumentService, PatchResult, Rewrite

bp = Blueprint("history", __name__)
log = logging.getLogger("collab.history")
# a revert or a restore replays the history from version 1 at ~50-100 us a revision (mostly
# parsing patches): past ~200 revisions (service.OFFLOAD_OVER) it runs off the event loop
REPLAY_WEIGHT = 1_000


def _service() -> DocumentService:
    return current_app.extensions["collab"]


def _editor(doc: str) -> DocState:
    state, role = _resolve(doc)
    if role != "editor":
        raise CollabError("read_only", "this link is read-only: writing needs the edit link")
    return state


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CollabError("bad_request", "body must be a JSON object")
    return body


def _version_field(body: dict, key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CollabError("bad_request", f"{key} must be a version number >= 0")
    return value


def _author(body: dict) -> str:
    """The display name of whoever makes the change (`name`, as in `join`)."""
    return check_name(body.get("name"))


def _corrupt(doc: str, exc: HistoryError) -> CollabError:
    log.error("doc=%s corrupt: %s", doc, exc)  # (no app context needed: the socket's restore comes here)
    return CollabError("doc_corrupt", f"the stored history does not replay: {exc}; run `collab check`")


def _written(doc: str, result: PatchResult | None, head: int, **extra: Any) -> Any:
    """201 with the new version; 200 `unchanged` when the write would have changed nothing."""
    if result is None:
        return jsonify(doc=doc, version=head, unchanged=True, **extra), 200
    return jsonify(doc=doc, version=result.version, **extra), 201


# -- reads ----------------------------------------------------------------------


@bp.get("/api/docs/<doc>/blame")
def get_blame(doc: str) -> Any:
    state, _ = _resolve(doc)
    service = _service()
    version = _int_arg("version", state.committed)
    text = service.text_at(state, version)  # also checks that the version exists
    try:
        revisions = list(service.history(state, 0, version))  # read here; computed off the loop
        spans = service.offload(len(revisions) * 100, blame, revisions)
    except HistoryError as exc:
        raise _corrupt(state.id, exc) from None
    if (spans[-1]["end"] if spans else 0) != len(text):
        raise _corrupt(state.id, HistoryError(version, "attribution does not cover the text"))
    return jsonify(doc=doc, version=version, spans=spans)


@bp.get("/api/docs/<doc>/diff")
def get_diff(doc: str) -> Any:
    state, _ = _resolve(doc)
    service = _service()
    a = _int_arg("from")
    b = _int_arg("to", state.committed)
    old, new = service.text_at(state, a), service.text_at(state, b)
    edits = service.offload(len(old) + len(new), diff_edits, old, new)
    return jsonify(
        doc=doc, **{"from": a, "to": b}, patch=patch_from_edits(old, edits),
        edits=_edits(edits),
    )


def _revert(state: DocState, author: Any, since: int, head: int) -> Reverted:
    """The revert of `author` since `since` on version `head`: the one computation behind the
    preview, the write and the browser's preview (which shows `edits` as they come)."""
    if not isinstance(author, str) or not author:
        raise CollabError("bad_request", "author must be the name of the author whose changes to revert")
    service = _service()
    if since > head:
        raise CollabError("not_found", f"version {since} does not exist (head is {head})")
    try:
        # the whole history: a restore after `since` may bring back text deleted before it
        revisions = list(service.history(state, 0, head))  # read here; computed off the loop
        r = service.offload(len(revisions) * REPLAY_WEIGHT, revert, revisions, author, since)
    except HistoryError as exc:
        raise _corrupt(state.id, exc) from None
    if r.head_text != service.text_at(state, head):
        raise _corrupt(state.id, HistoryError(head, "the revert's weave does not make the stored text"))
    return r


def restore(service: DocumentService, state: DocState, version: int, author: str,
            origin: object = None) -> PatchResult | None:
    """Make the text of `version` the text again, as a new revision by `author` whose text
    keeps the identity (and so the author) of whoever first wrote it. The socket's `restore`
    and the HTTP route both come here."""
    text = service.text_at(state, version)  # also checks that the version exists
    try:
        revisions = list(service.history(state, 0, version))  # read here; computed off the loop
        attribution = service.offload(len(revisions) * REPLAY_WEIGHT, attribution_at, revisions)
    except HistoryError as exc:
        raise _corrupt(state.id, exc) from None
    return service.rewrite(state, author, "restore", lambda _v, _t: Rewrite(text, attribution), origin)


def _edits(edits: list[Edit]) -> list[dict[str, Any]]:
    return [{"pos": e.pos, "delete": e.delete, "insert": e.insert} for e in edits]


@bp.get("/api/docs/<doc>/revert")
def preview_revert(doc: str) -> Any:
    state, _ = _resolve(doc)
    r = _revert(state, request.args.get("author"), _int_arg("since"), state.committed)
    return jsonify(doc=doc, version=r.version, text=r.text, patch=r.patch, edits=_edits(r.edits))


@bp.get("/api/docs/<doc>/labels")
def get_labels(doc: str) -> Any:
    state, _ = _resolve(doc)
    labels = _service().labels(state)
    return jsonify(doc=doc, labels=[{"version": x.version, "name": x.name, "ts": x.ts} for x in labels])


@bp.get("/api/docs/<doc>/export")
def get_export(doc: str) -> Any:
    state, _ = _resolve(doc)
    version = _int_arg("version", state.committed)
    fmt = request.args.get("format", "txt")
    out = export(_service().text_at(state, version), doc, version, fmt)
    response = Response(out.body, content_type=out.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{out.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# -- writes (edit id only) -----------------------------------------------------------


@bp.post("/api/docs/<doc>/restore")
def post_restore(doc: str) -> Any:
    state = _editor(doc)
    body = _body()
    version = _version_field(body, "version")
    result = restore(_service(), state, version, _author(body))
    return _written(doc, result, state.committed, restored_from=version)


@bp.post("/api/docs/<doc>/revert")
def post_revert(doc: str) -> Any:
    state = _editor(doc)
    body = _body()
    since, author = _version_field(body, "since"), body.get("author")
    first = _revert(state, author, since, state.committed)  # bad input fails here, before anything

    def target(head: int, _text: str) -> Rewrite:  # recomputed only if the head moved meanwhile
        r = first if head == first.version else _revert(state, author, since, head)
        return Rewrite(r.text, r.attribution)

    result = _service().rewrite(state, _author(body), "revert", target)
    return _written(doc, result, state.committed)


@bp.post("/api/docs/<doc>/labels")
def post_label(doc: str) -> Any:
    state = _editor(doc)
    body = _body()
    label = _service().set_label(state, _version_field(body, "version"), body.get("name"))  # type: ignore[arg-type]
    return jsonify(doc=doc, version=label.version, name=label.name, ts=label.ts), 201


@bp.delete("/api/docs/<doc>/labels/<path:name>")
def delete_label(doc: str, name: str) -> Any:
    state = _editor(doc)
    _service().delete_label(state, name)
    return jsonify(doc=doc, deleted=name)


@bp.post("/api/docs/<doc>/import")
def post_import(doc: str) -> Any:
    state = _editor(doc)
    service = _service()
    if request.files:
        upload = request.files.get("file")
        if upload is None:
            raise CollabError("bad_request", "send the file in the multipart field `file`")
        raw = upload.read()
    else:
        raw = request.get_data()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollabError(
            "bad_request", f"the file is not UTF-8 text (invalid byte at offset {exc.start}): save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte order mark is not part of the text
    if "\x00" in text:
        raise CollabError("bad_request", "the file contains NUL characters: it is not a text file")
    if len(text) > service.settings.max_doc_chars:
        raise CollabError(
            "too_large", f"the file has {len(text)} code points; at most {service.settings.max_doc_chars} are allowed"
        )
    result = service.rewrite(state, check_name(request.args.get("name")), "import", lambda _v, _t: text)
    return _written(doc, result, state.committed)
