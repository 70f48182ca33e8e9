"""HTTP edge of uploaded images: `POST /api/docs/<edit id>/images` stores one, `GET
/images/<image id>` serves it.

An image is named by a random id of its own (core.ids.new_image_id), never by its
document's edit id or view token: the Markdown that shows it is read by viewers, who must
not learn the edit id, and a rename must not break it. Whoever has the URL may see the
image (the text that carries it is the capability, as in HedgeDoc). Its type is sniffed
from its bytes (core.images), its metadata (EXIF with GPS, XMP, PNG text chunks) taken out
losslessly before it is stored (core.imagemeta), and it is served so that a browser can do nothing with it
but show it: its sniffed type, `nosniff`, a CSP that allows nothing and sandboxes it.

An edge module, as api.py: parses, calls the store through the service's writer, answers.
"""
from __future__ import annotations

import time
from typing import cast

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import UnsupportedMediaType

from ..core.errors import CollabError, gone_error
from ..core.ids import IMAGE_ID_RE, log_id, new_image_id
from ..core.imagemeta import Malformed, strip_metadata
from ..core.images import EXTENSIONS, digest, human, refusal, sniff
from ..service.documents import DocumentService
from ..storage import Image
from ..service.access import EDIT_LINK, decide, is_open
from .accounts import current_user
from .api import _edit, _lookups
from .bodies import sliced
from .history_api import READ_BYTES, _rate_limit

bp = Blueprint("images", __name__)

# what a browser may do with an image answer: show it, nothing else (were it opened as a
# page, it could run nothing, load nothing, and would sit in an origin of its own)
IMAGE_CSP = "default-src 'none'; sandbox"
# an image never changes under its id: cached for a year, by the browser only (`private`), so
# that deleting its document takes it off every shared cache at once
IMAGE_CACHE = "private, max-age=31536000, immutable"


def _service() -> DocumentService:
    return cast(DocumentService, current_app.extensions["collab"])  # set by create_app


def _limit_error(what: str, size: int, limit: int, setting: str) -> CollabError:
    return CollabError("too_large", f"{what} is {human(size)}: at most {human(limit)} are allowed ({setting})")


def _read(limit: int) -> tuple[bytes, str]:
    """The uploaded file and its declared type: the raw body (its Content-Type), or the
    multipart field `file`. Past `limit` bytes it is refused (413) before more is read."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise CollabError("bad_request", "send the image in the multipart field `file`")
        data = upload.read(limit + 1)
        declared = upload.mimetype or ""
    else:
        if request.content_length is not None and request.content_length > limit:
            raise _limit_error("the image", request.content_length, limit, "COLLAB_MAX_IMAGE_BYTES")
        chunks: list[bytes] = []
        size = 0
        for chunk in iter(lambda: request.stream.read(READ_BYTES), b""):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        data = b"".join(chunks)
        declared = request.mimetype
    if len(data) > limit:  # a multipart field, or a body of no declared length: only its first bytes were read
        raise CollabError("too_large", f"the image is over {human(limit)}: at most {human(limit)} are allowed "
                                       "(COLLAB_MAX_IMAGE_BYTES)")
    if not data:
        raise CollabError("bad_request", "the image is empty: send its bytes as the body, or as the multipart "
                                         "field `file`")
    return data, declared


@bp.post("/api/docs/<doc>/images")
def post_image(doc: str) -> tuple[Response, int]:
    """Store an image of the document (edit id only): 201 {url, id, bytes, type}."""
    state = _edit(doc)
    _rate_limit()  # a write, charged as import is (history_api.py)
    service = _service()
    settings = service.settings
    data, declared = _read(settings.max_image_bytes)
    why = refusal(data, declared)
    if why is not None:
        raise UnsupportedMediaType(why)
    kind = sniff(data)
    assert kind is not None  # refusal() said it is one of core.images.TYPES
    try:
        # what the image says of whoever made it (GPS, camera, XMP) goes before it is stored;
        # its size, hash and quota are those of what is stored
        data = strip_metadata(data, kind)
    except Malformed as exc:
        raise CollabError("bad_request", f"{exc}: nothing was stored") from None
    image = Image(new_image_id(), state.id, kind, len(data), digest(data), time.time(), data)
    used = service.commits.store_write(service.store.add_image, image, settings.max_images_bytes)
    if used is None:  # deleted or renamed since _edit found it (here, elsewhere, or the CLI)
        tomb = service.store.tombstone(state.id)
        raise gone_error(tomb.reason if tomb is not None else "deleted")
    if used + image.size > settings.max_images_bytes:
        raise CollabError(
            "too_large", f"the document's images would take {human(used + image.size)}: a document holds at most "
                         f"{human(settings.max_images_bytes)} of images (COLLAB_MAX_IMAGES_BYTES), and its own "
                         f"take {human(used)}; nothing was stored")
    current_app.logger.info("doc=%s image stored (%s, %d bytes)", log_id(state.id), kind, image.size)
    return jsonify({"url": f"/images/{image.id}", "id": image.id, "bytes": image.size, "type": kind}), 201


def _may_see(doc: str) -> bool:
    """Whether the document of an image admits whoever asks by some link: its images are
    as open as it is (per-document permissions). Anyone, for a document open by its links."""
    access = _service().store.access.get(doc)
    if is_open(access):
        return True
    user = current_user()
    try:
        decide(access, user.id if user is not None else None, EDIT_LINK)  # (the edit link admits the most)
    except CollabError:
        return False
    return True


@bp.get("/images/<image_id>")
def get_image(image_id: str) -> Response:
    """An image by its id, to anyone who has its URL and whom its document admits (a
    document open by its links: anyone); 404 when there is none (its document was deleted,
    or it never was) or it is not for this person. Read off the loop (DocumentService.image)
    and written a slice at a time (bodies.sliced). An unknown id costs the address a
    lookup token, as an unknown document does (guard.Lookups)."""
    lookups, address = _lookups()
    lookups.check(address)
    found = _service().image(image_id) if IMAGE_ID_RE.fullmatch(image_id) else None
    if found is not None and not _may_see(found.doc):
        found = None  # the same answer as no image: it tells nothing of its document
    if found is None or found.data is None:
        lookups.miss(address)
        raise CollabError("not_found", "there is no such image (the document it was uploaded into may have been "
                                       "deleted)")
    resp = sliced(found.data, found.type)
    # every stored type is raster (SVG is never stored): shown inline, saved under a plain name
    resp.headers["Content-Disposition"] = f'inline; filename="image-{found.id}.{EXTENSIONS[found.type]}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = IMAGE_CSP
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = IMAGE_CACHE
    resp.set_etag(found.sha256)
    resp.make_conditional(request)  # 304 when the browser holds it (its ETag is its SHA-256)
    return resp

