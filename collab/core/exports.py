"""Exporting a version of a document as a file: .txt, .md or .html, and its file name.

The HTML is a complete small document with the text escaped inside <pre>: no scripts,
no links, nothing from the text is ever markup. Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import html
from typing import NamedTuple

from .errors import CollabError


class Export(NamedTuple):
    body: bytes
    content_type: str
    filename: str


FORMATS = {  # format -> (content type, extension)
    "txt": ("text/plain; charset=utf-8", "txt"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
}

_HTML = """<!doctype html>
<html lang="und">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>pre {{ white-space: pre-wrap; overflow-wrap: anywhere; font: 14px/1.5 monospace; }}</style>
</head>
<body>
<pre>{text}</pre>
</body>
</html>
"""


def filename(key: str, version: int, fmt: str) -> str:
    """`<key>-v<version>.<ext>`; `key` is how the client named the document (an edit id
    or a view token: the edit id never leaks into a viewer's download)."""
    return f"{key}-v{version}.{FORMATS[fmt][1]}"


def export(text: str, key: str, version: int, fmt: str) -> Export:
    if fmt not in FORMATS:
        raise CollabError("bad_request", f"format {fmt[:20]!r} is not supported: use txt, md or html")
    if fmt == "html":
        title = html.escape(f"{key} — version {version}")
        body = _HTML.format(title=title, text=html.escape(text, quote=True))
    else:
        body = text  # Markdown is plain text: the document is exported as typed
    return Export(body.encode("utf-8"), FORMATS[fmt][0], filename(key, version, fmt))
