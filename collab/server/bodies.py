"""Reading a request's body, the one way every route does: whole, within the app's body
limit (MAX_CONTENT_LENGTH, COLLAB_MAX_BODY_BYTES) however it is sent, and as a JSON object;
and writing a large answer's body a slice at a time (`sliced`).

An edge module: flask and werkzeug only.
"""
from __future__ import annotations

import json
from typing import Callable, Iterator

from flask import Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.errors import CollabError


def raw_body() -> bytes:
    """The whole body. Over the limit it is 413 whether it came with a Content-Length
    (werkzeug refuses it) or chunked (werkzeug stops reading at the limit and hands back
    what it read: that body was cut off and parsed as if whole)."""
    data = request.get_data(cache=True, parse_form_data=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        if request.environ["wsgi.input"].read(1):  # more than the limit was sent
            raise RequestEntityTooLarge()
    return data


def json_object() -> dict[str, object]:
    """The body as a JSON object (sent as application/json), or bad_request saying what is
    wrong with it."""
    if request.mimetype != "application/json":
        raise CollabError("bad_request", "the body must be a JSON object, sent as Content-Type: application/json")
    try:
        body = json.loads(raw_body())
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested 100,000 deep (500 before)
        why = "nested too deeply" if isinstance(exc, RecursionError) else "not valid JSON"
        raise CollabError("bad_request", f"the body is {why}") from None
    if not isinstance(body, dict):
        raise CollabError("bad_request", "the body must be a JSON object")
    return body


SLICE_BYTES = 256 * 1024  # bytes of a large answer written at a time, the loop given back between


def sliced(data: bytes, content_type: str) -> Response:
    """An answer of `data` written SLICE_BYTES at a time with the event loop given back
    after each: gevent's server writes a body whole, and to a client that reads fast it
    never waits for the socket, so never yields (16 images of 5 MiB, 4 exports of 20 MB)."""
    sleep = current_app.extensions["socketio"].sleep
    response = Response(_slices(data, sleep), content_type=content_type)
    response.headers["Content-Length"] = str(len(data))
    return response


def _slices(data: bytes, sleep: Callable[[float], object]) -> Iterator[bytes]:
    for at in range(0, len(data), SLICE_BYTES):
        yield data[at:at + SLICE_BYTES]
        sleep(0)
