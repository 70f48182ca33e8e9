"""HTTP JSON API of a document's history: blame, diff, restore, revert, named versions,
authors' colours, export and import.

Documents are named by edit id or view token, exactly as in api.py (whose `_resolve` and
error translation this reuses); answers and file names use the name the client used, so
a view token never reveals the edit id. Viewers may read everything here; every write
needs the edit id and is an ordinary new revision (history is never rewritten).
"""
from __future__ import annotations

import json
import re
import zlib
from functools import partial
from typing import cast

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import UnsupportedMediaType

from .api import _author, _edit, _int_arg, _resolve, _written
from ..core import wire
from ..core.blame import Span
from ..core.errors import CollabError
from .bodies import json_object, raw_body, sliced
from .guard import client_address
from ..core.ids import check_name, check_version
from ..core.patches import Edit, diff_edits, patch_from_edits
from ..core.ratelimit import KeyedBuckets
from ..core.revert import Reverted
from ..service.documents import DocState, DocumentService, Rewrite

bp = Blueprint("history", __name__)


def _service() -> DocumentService:
    return cast(DocumentService, current_app.extensions["collab"])  # set by create_app


@bp.before_request
def _rate_limit() -> None:
    """Every history route costs its caller a token of their address's bucket: the reads
    here (blame, diff, replays) are the costliest a viewer can ask for."""
    limits = current_app.extensions.get("collab.history_limits")
    if limits is None:
        settings = _service().settings
        limits = current_app.extensions["collab.history_limits"] = KeyedBuckets(
            settings.history_rate, settings.history_burst)
    wait = limits.take(client_address(request.environ))  # the client behind a trusted proxy
    if wait:
        raise CollabError("rate_limited", f"too many history requests from this address; retry in {wait:.2f} s",
                          retry_after=round(wait, 3))


@bp.before_request
def _read_session() -> None:
    """This request's computations share one turn of the read lane, and this address may
    have only a few requests waiting for it (service/runtime.py read_session)."""
    g.read_session = _service().runtime.read_session(client_address(request.environ))
    g.read_session.__enter__()


@bp.teardown_request
def _end_read_session(_exc: BaseException | None) -> None:
    session = g.pop("read_session", None)
    if session is not None:
        session.__exit__(None, None, None)


def _json(body: str) -> Response:
    return Response(body, content_type="application/json")


def _body() -> wire.Received:
    return json_object()


# -- reads ----------------------------------------------------------------------


@bp.get("/api/docs/<doc>/blame")
def get_blame(doc: str) -> Response:
    state, _ = _resolve(doc)
    version = _int_arg("version", state.committed)
    # encoded off the loop with the blame itself (10,000s of spans are not free): a partial of
    # a module-level function, which the read worker process can import
    return _json(_service().blame(state, version, partial(_blame_body, doc, version)))


def _blame_body(doc: str, version: int, spans: list[Span]) -> str:
    """Pure: the JSON answer of blame."""
    return json.dumps(wire.blame_body(doc, version, spans), ensure_ascii=False)


@bp.get("/api/docs/<doc>/diff")
def get_diff(doc: str) -> Response:
    state, _ = _resolve(doc)
    a = _int_arg("from")
    b = _int_arg("to", state.committed)
    return _json(_service().diff(state, a, b, partial(_diff_body, doc, a, b)))


def _diff_body(doc: str, a: int, b: int, old: str, new: str) -> str:
    """Pure: the JSON answer of a diff between two versions' texts."""
    edits: list[Edit] = diff_edits(old, new)
    return json.dumps(wire.diff_body(doc, a, b, patch_from_edits(old, edits), edits), ensure_ascii=False)


ACCOUNT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an account id as revisions and blame give it


def _revert(state: DocState, author: object, since: int, head: int, account: object = None) -> Reverted:
    """The revert of `account` (a signed-in person's revisions, as blame names them), or of
    the guest `author` (revisions by that name without an account), since `since` on version
    `head`: the one computation behind the preview, the write and the browser's preview
    (which shows `edits` as they come)."""
    if account is not None and author is not None:
        raise CollabError("bad_request", "name the author by `account` (signed in) or by `author` (a guest), not both")
    if account is not None:
        if not isinstance(account, str) or not ACCOUNT_RE.fullmatch(account):
            raise CollabError("bad_request", "account must be an account id, as blame and the revisions give it")
        return _service().revert(state, "", since, head, account)
    if not isinstance(author, str) or not author:
        raise CollabError("bad_request", "author must be the name of the author whose changes to revert "
                                         "(or account, the account id of a signed-in author)")
    return _service().revert(state, author, since, head)


@bp.get("/api/docs/<doc>/revert")
def preview_revert(doc: str) -> Response:
    state, _ = _resolve(doc)
    r = _revert(state, request.args.get("author"), _int_arg("since"), state.committed, request.args.get("account"))
    return jsonify(wire.revert_preview(doc, r.version, r.text, r.patch, r.edits))


@bp.get("/api/docs/<doc>/labels")
def get_labels(doc: str) -> Response:
    state, _ = _resolve(doc)
    labels = _service().labels(state)
    return jsonify(wire.labels_body(doc, [wire.label(x.version, x.name, x.ts) for x in labels]))


@bp.get("/api/docs/<doc>/colors")
def get_colors(doc: str) -> Response:
    """The colour each author last wrote in, if they picked one (issue 15): the history page
    shows people as the editor did, and everyone else as the editor would (from their name)."""
    state, _ = _resolve(doc)
    colors = _service().colors.listing(state)
    return jsonify(wire.colors_body(doc, [wire.author_color(c.author, c.account, c.color, c.ts) for c in colors]))


@bp.get("/api/docs/<doc>/export")
def get_export(doc: str) -> Response:
    state, _ = _resolve(doc)
    version = _int_arg("version", state.committed)
    fmt = request.args.get("format", "txt")
    out = _service().export(state, version, doc, fmt)
    response = sliced(out.body, out.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{out.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# -- writes (edit id only) -----------------------------------------------------------


@bp.post("/api/docs/<doc>/restore")
def post_restore(doc: str) -> tuple[Response, int]:
    state = _edit(doc)
    body = _body()
    version = check_version(body.get("version"))
    author = _author(body)
    result = _service().restore(state, version, author.name, account=author.account)
    return _written(doc, result, state, restored_from=version)


@bp.post("/api/docs/<doc>/revert")
def post_revert(doc: str) -> tuple[Response, int]:
    state = _edit(doc)
    body = _body()
    since, author, account = check_version(body.get("since"), "since"), body.get("author"), body.get("account")
    first = _revert(state, author, since, state.committed, account)  # bad input fails here, before anything

    def target(head: int, _text: str) -> Rewrite:  # recomputed only if the head moved meanwhile
        r = first if head == first.version else _revert(state, author, since, head, account)
        return Rewrite(r.text, r.attribution)

    by = _author(body)
    result = _service().rewrite(state, by.name, "revert", target, account=by.account)
    return _written(doc, result, state)


@bp.post("/api/docs/<doc>/labels")
def post_label(doc: str) -> tuple[Response, int]:
    state = _edit(doc)
    body = _body()
    version, name = check_version(body.get("version")), body.get("name")
    if not isinstance(name, str):  # (the service checks the rest of a label's name)
        raise CollabError("bad_request", "name must be a non-empty string of at most 64 characters")
    label = _service().set_label(state, version, name)
    return jsonify(wire.label_set(doc, label.version, label.name, label.ts)), 201


@bp.delete("/api/docs/<doc>/labels/<path:name>")
def delete_label(doc: str, name: str) -> Response:
    state = _edit(doc)
    _service().delete_label(state, name)
    return jsonify(wire.label_deleted(doc, name))


# bodies import reads as the file itself; multipart/form-data carries it in field `file`
RAW_TYPES = {"", "text/plain", "text/markdown", "application/octet-stream"}
# the Content-Encodings an import may come in, as zlib's wbits: gzip (and its old name x-gzip),
# and deflate, which RFC 9110 says is zlib-wrapped (a bare deflate stream, as some clients
# send, is taken too: see _decompressor)
CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
READ_BYTES = 64 * 1024  # compressed bytes read at a time
INFLATE_BYTES = 1 << 20  # decompressed bytes made at a time; the event loop is given back between
BOM = b"\xef\xbb\xbf"


def _coding() -> str | None:
    """The body's Content-Encoding (None for none or identity); 415 for one not taken."""
    codings = [c.strip().lower() for c in request.headers.get("Content-Encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in CODINGS:
        raise UnsupportedMediaType(
            f"cannot import a body with Content-Encoding {', '.join(codings)[:80]!r}: send it uncompressed, "
            "or compressed once with gzip or deflate")
    return codings[0]


def _decompressor(coding: str, start: bytes) -> zlib._Decompress:
    # deflate: a zlib header (CMF with method 8, and CMF·256 + FLG a multiple of 31), else a bare stream
    zlib_header = len(start) >= 2 and start[0] & 0x0F == 8 and (start[0] << 8 | start[1]) % 31 == 0
    return zlib.decompressobj(-zlib.MAX_WBITS if coding == "deflate" and not zlib_header else CODINGS[coding])


def _inflate(coding: str, limit: int) -> bytes:
    """The body, decompressed, at most `limit` bytes: past that it is refused (413) at once, so a
    small body that would inflate to gigabytes (a zip bomb) is never inflated beyond the limit.
    Concatenated gzip members are one file, as gzip itself reads them."""
    sleep = current_app.extensions["socketio"].sleep
    out = bytearray()
    inflater: zlib._Decompress | None = None
    for chunk in iter(lambda: request.stream.read(READ_BYTES), b""):
        data, held = chunk, False
        while data or held:  # held: the last slice was full, so output may come without input
            if inflater is None or inflater.eof:  # the first member, or bytes after one
                if inflater is not None and coding == "deflate":
                    raise CollabError("bad_request", "the body has bytes after the end of its deflate stream: "
                                      "nothing was imported")
                inflater = _decompressor(coding, data)
            room = min(INFLATE_BYTES, limit + 1 - len(out))
            try:
                piece = inflater.decompress(data, room)
            except zlib.error as exc:
                raise CollabError("bad_request", f"the body is not valid {coding} ({exc}): nothing was imported") from None
            out += piece
            if len(out) > limit:
                raise CollabError("too_large", f"decompressed, the file is over {limit} bytes: at most "
                                  f"{_service().settings.max_doc_chars} code points are allowed")
            held = len(piece) == room and not inflater.eof
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            if held:
                sleep(0)
    if inflater is not None and not inflater.eof:
        raise CollabError("bad_request", f"the {coding} body ends before its end (truncated?): nothing was imported")
    return bytes(out)


def _import_bytes() -> bytes:
    """The file an import sends, by its declared type and encoding. A form-encoded body is
    refused, never parsed: the form parser would consume it (the text became "") and `curl -d`
    strips the file's line breaks before sending."""
    kind = request.mimetype
    coding = _coding()
    if kind == "multipart/form-data":
        if coding:
            raise UnsupportedMediaType(
                f"a multipart body with Content-Encoding {coding} cannot be read: send the compressed file "
                "as the raw body (curl --data-binary @notes.txt.gz -H 'Content-Encoding: gzip' "
                "-H 'Content-Type: text/plain' ...)")
        upload = request.files.get("file")
        if upload is None:
            raise CollabError("bad_request", "send the file in the multipart field `file`")
        data: bytes = upload.read()
        return data
    if kind == "application/x-www-form-urlencoded":
        raise UnsupportedMediaType(
            "the body is form-encoded (curl -d sends that, and drops the file's line breaks): send the file as "
            "text/plain, e.g. curl --data-binary @notes.txt -H 'Content-Type: text/plain' ..., "
            "or as the multipart field `file` (curl -F file=@notes.txt ...)")
    if kind not in RAW_TYPES:
        raise UnsupportedMediaType(
            f"cannot import a body of type {kind[:80]!r}: send UTF-8 text as text/plain (or text/markdown, "
            "application/octet-stream), or as the multipart field `file`")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body says charset={charset[:40]}: only UTF-8 is imported; save the file as UTF-8")
    if coding:
        # what the document may hold, in UTF-8 bytes (4 per code point at most, and a BOM)
        return _inflate(coding, 4 * _service().settings.max_doc_chars + len(BOM))
    return raw_body()


@bp.post("/api/docs/<doc>/import")
def post_import(doc: str) -> tuple[Response, int]:
    state = _edit(doc)
    service = _service()
    raw = _import_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollabError(
            "bad_request", f"the file is not UTF-8 text (invalid byte at offset {exc.start}): save it as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte order mark is not part of the text
    if not text:
        # an empty body is almost always a mistake (a wrong path, a failed upload), and
        # importing it would wipe the document; emptying it on purpose is a restore of version 0
        raise CollabError("bad_request", "the file is empty: nothing was imported "
                          "(to empty the document, restore version 0)")
    if "\x00" in text:
        raise CollabError("bad_request", "the file contains NUL characters: it is not a text file")
    if len(text) > service.settings.max_doc_chars:
        raise CollabError(
            "too_large", f"the file has {len(text)} code points; at most {service.settings.max_doc_chars} are allowed"
        )
    by = _author({"name": request.args.get("name")})  # (the body is the file: the name is in the query)
    result = service.rewrite(state, by.name, "import", lambda _v, _t: text, account=by.account)
    return _written(doc, result, state)
