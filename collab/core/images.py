"""Uploaded images: which bytes are an image collab stores, decided by their content.

An image's type is sniffed from its first bytes (its "magic number"), never taken from the
name or the Content-Type the uploader declared: a file that says image/png and is HTML
would otherwise be stored and served as whatever it claimed. Only raster formats a browser
shows without running anything are taken; SVG is refused (it can hold scripts).

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import hashlib

# the types stored, by what their bytes start with (WebP: RIFF, a 4-byte size, WEBP)
TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
# a declared type that names the same format under another spelling
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# declared types that say nothing about the content: the sniffed type decides alone
UNDECLARED = ("", "application/octet-stream")


def sniff(data: bytes) -> str | None:
    """The type of an image by its first bytes: one of TYPES, or None (not one we store)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def declared(content_type: str) -> str:
    """A declared Content-Type, as the type it names: lower case, without parameters."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return ALIASES.get(kind, kind)


def refusal(data: bytes, content_type: str) -> str | None:
    """Why `data`, declared as `content_type`, is not stored as an image (None: it is)."""
    kind = sniff(data)
    said = declared(content_type)
    if said in ("image/svg+xml", "image/svg"):
        return "SVG images are not taken (an SVG can run scripts): upload a PNG, JPEG, GIF or WebP"
    if kind is None:
        what = f"declared {said[:60]!r}" if said not in UNDECLARED else "its type undeclared"
        return (f"the file ({what}) is not a PNG, JPEG, GIF or WebP image by its content: "
                "only those are taken")
    if said not in UNDECLARED and said != kind:
        return f"the file is declared {said[:60]!r} but its content is {kind}: send it as what it is"
    return None


def digest(data: bytes) -> str:
    """The SHA-256 of an image's bytes, in hex: stored beside it and checked by `collab check`."""
    return hashlib.sha256(data).hexdigest()


def human(n: int) -> str:
    """A number of bytes as people read it: 512 bytes, 300 KiB, 5 MiB, 1.5 GiB."""
    if n < 1024:
        return f"{n} bytes"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) or value >= 100 else f"{value:.1f} {unit}"
    raise AssertionError(n)  # pragma: no cover
