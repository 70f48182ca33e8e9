"""Taking out what an uploaded image says about the person who made it, without touching
its pixels: a phone's JPEG carries its GPS position, the camera's serial number and the
time in EXIF (APP1), a PNG may carry the same in text chunks or an eXIf chunk. Anyone with
an image's URL can read them, so they go before the image is stored.

The strip is lossless: segments and chunks are dropped or kept whole, the compressed image
data is copied byte for byte (re-encoding with an image library would change every pixel's
bytes, and cost a decoder's attack surface). What is kept is what decoding needs:

- JPEG: every segment but APPn and COM, plus APP0 (JFIF), APP2 ICC_PROFILE (colours) and
  APP14 (Adobe: how CMYK is stored). Dropped: APP1 (EXIF, XMP), APP13 (Photoshop IPTC),
  the other APPn, comments, and anything after the end marker (an appended second image,
  a thumbnail with its own EXIF). Of the EXIF only its orientation survives, in a new
  minimal EXIF segment, since a phone's photo is stored sideways and says so there: without
  it the photo would show sideways.
- PNG: every chunk but tEXt, iTXt, zTXt (text, often XMP) and eXIf, and nothing after IEND.
- WebP: every chunk but EXIF and XMP (their flags in the extended header cleared), and
  nothing after the RIFF's end.

The structure is checked while it is walked: a segment or chunk whose length runs past the
end, a missing start or end, a PNG chunk whose CRC is wrong, are refused (`Malformed`, with
what and where), never passed on half-read. GIF is stored as it came (its comment and
application blocks sit among LZW data sub-blocks; they are rare in what browsers paste).

Pure: no I/O, no framework imports.
"""
from __future__ import annotations

import struct
import zlib


class Malformed(ValueError):
    """The image's structure is broken (truncated, or not what its first bytes promised)."""


# -- JPEG ---------------------------------------------------------------------------------

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP1, APP2, APP13, APP14, APP15, COM = 0xE0, 0xE1, 0xE2, 0xED, 0xEE, 0xEF, 0xFE
# markers with no length after them (TEM, the restart markers) besides SOI and EOI
STANDALONE = {0x01, *range(0xD0, 0xD8)}
ORIENTATION = 0x0112  # the EXIF tag: 1-8, how the stored pixels must be turned to be upright


def _keeps(marker: int, body: bytes) -> bool:
    """Whether a JPEG segment stays: all but APPn and COM, and of those what decoding needs."""
    if marker == COM:
        return False
    if not APP0 <= marker <= APP15:
        return True
    if marker == APP0:
        return body.startswith((b"JFIF\x00", b"JFXX\x00"))
    if marker == APP2:
        return body.startswith(b"ICC_PROFILE\x00")
    return marker == APP14 and body.startswith(b"Adobe")


def _orientation(body: bytes) -> int | None:
    """The orientation an APP1 EXIF segment's first IFD gives (2-8), or None: absent, 1
    (upright: nothing to keep), or unreadable (EXIF that cannot be read is dropped whole;
    it is not what decoding needs, so it is no reason to refuse the image)."""
    if not body.startswith(b"Exif\x00\x00"):
        return None
    tiff = body[6:]
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            return None
        tag, kind, n = struct.unpack_from(order + "HHI", tiff, at)
        if tag == ORIENTATION and kind == 3 and n == 1:  # one SHORT, held in the entry itself
            (value,) = struct.unpack_from(order + "H", tiff, at + 8)
            return value if 2 <= value <= 8 else None
    return None


def _exif_orientation_segment(value: int) -> bytes:
    """A minimal APP1 EXIF segment that says only the orientation: a TIFF header and one IFD
    of one entry (Orientation, SHORT, 1), then no next IFD."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) \
        + struct.pack("<HHIHH", ORIENTATION, 3, 1, value, 0) + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff" + bytes([APP1]) + struct.pack(">H", len(body) + 2) + body


def _scan_end(data: bytes, at: int) -> int:
    """Where the entropy-coded data that starts at `at` ends: at the next marker that is not
    a stuffed 0xFF00 or a restart marker. Refused when the file ends first."""
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            raise Malformed("the JPEG ends inside its image data (truncated): no end marker")
        nxt = data[at + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            at += 1 if nxt == 0xFF else 2  # 0xFF 0xFF: fill, the marker is the next byte
            continue
        return at


def strip_jpeg(data: bytes) -> bytes:
    """`data` without its metadata segments (module docstring); Malformed if it is broken."""
    if not data.startswith(b"\xff\xd8"):
        raise Malformed("the JPEG does not start with its start-of-image marker")
    out = [b"\xff\xd8"]
    orientation: int | None = None
    at = 2
    while True:
        if at >= len(data):
            raise Malformed(f"the JPEG ends at byte {len(data)} before its end-of-image marker (truncated)")
        if data[at] != 0xFF:
            raise Malformed(f"the JPEG has no segment marker at byte {at} (0x{data[at]:02x}): its structure is broken")
        while at + 1 < len(data) and data[at + 1] == 0xFF:  # fill bytes before a marker
            at += 1
        if at + 1 >= len(data):
            raise Malformed("the JPEG ends inside a segment marker (truncated)")
        marker = data[at + 1]
        if marker == EOI:
            out.append(b"\xff\xd9")
            break  # what follows the end (an appended image, a trailer) is dropped
        if marker in STANDALONE or marker == SOI:
            out.append(data[at:at + 2])
            at += 2
            continue
        if at + 4 > len(data):
            raise Malformed(f"the JPEG ends inside the length of segment 0x{marker:02x} at byte {at} (truncated)")
        (length,) = struct.unpack_from(">H", data, at + 2)
        end = at + 2 + length
        if length < 2 or end > len(data):
            raise Malformed(f"the JPEG's segment 0x{marker:02x} at byte {at} says it is {length} bytes long, "
                            f"but the file ends {len(data) - at - 2} bytes after its marker (truncated or damaged)")
        body = data[at + 4:end]
        if marker == APP1 and orientation is None:
            orientation = _orientation(body)
        if _keeps(marker, body):
            out.append(data[at:end])
        at = end
        if marker == SOS:  # the scan's data follows, up to the next marker
            scan = _scan_end(data, at)
            out.append(data[at:scan])
            at = scan
    if orientation is not None:
        out.insert(1, _exif_orientation_segment(orientation))
    return b"".join(out)


# -- PNG ----------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROPPED = {b"tEXt", b"iTXt", b"zTXt", b"eXIf"}


def strip_png(data: bytes) -> bytes:
    """`data` without its text and EXIF chunks (module docstring); Malformed if it is broken."""
    if not data.startswith(PNG_SIGNATURE):
        raise Malformed("the PNG does not start with its signature")
    out = [PNG_SIGNATURE]
    at = len(PNG_SIGNATURE)
    first = True
    while True:
        if at + 8 > len(data):
            raise Malformed(f"the PNG ends at byte {len(data)} before its IEND chunk (truncated)")
        length, kind = struct.unpack_from(">I4s", data, at)
        end = at + 12 + length
        if end > len(data):
            raise Malformed(f"the PNG's {kind!r} chunk at byte {at} says it holds {length} bytes, but the file "
                            f"ends {len(data) - at - 8} bytes after its header (truncated or damaged)")
        if not kind.isalpha():
            raise Malformed(f"the PNG has no chunk at byte {at} (type {kind!r}): its structure is broken")
        if first and kind != b"IHDR":
            raise Malformed(f"the PNG's first chunk is {kind!r}, not IHDR")
        first = False
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[at + 4:end - 4]) != crc:
            raise Malformed(f"the PNG's {kind!r} chunk at byte {at} is damaged (its CRC does not match)")
        if kind not in PNG_DROPPED:
            out.append(data[at:end])
        at = end
        if kind == b"IEND":
            return b"".join(out)  # what follows IEND is dropped


# -- WebP ---------------------------------------------------------------------------------

WEBP_DROPPED = {b"EXIF", b"XMP "}
VP8X_EXIF, VP8X_XMP = 0x08, 0x04  # the extended header's flags that say those chunks are there


def strip_webp(data: bytes) -> bytes:
    """`data` without its EXIF and XMP chunks, its extended header's flags for them cleared and
    the RIFF size made right; Malformed if it is broken. Nothing after the RIFF's end is kept."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("the WebP does not start with its RIFF header")
    (size,) = struct.unpack_from("<I", data, 4)
    end = 8 + size
    if end > len(data):
        raise Malformed(f"the WebP says it is {end} bytes long, but the file ends at byte {len(data)} (truncated)")
    chunks = []
    at = 12
    while at < end:
        if at + 8 > end:
            raise Malformed(f"the WebP ends inside the header of a chunk at byte {at} (truncated)")
        kind, length = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        stop = at + 8 + length + (length & 1)  # (a chunk of odd length is padded)
        if at + 8 + length > end:
            raise Malformed(f"the WebP's {kind!r} chunk at byte {at} says it holds {length} bytes, but the file "
                            f"ends {end - at - 8} bytes after its header (truncated or damaged)")
        chunk = data[at:min(stop, end)]
        if kind == b"VP8X" and length >= 1:
            chunk = chunk[:8] + bytes([chunk[8] & ~(VP8X_EXIF | VP8X_XMP) & 0xFF]) + chunk[9:]
        if kind not in WEBP_DROPPED:
            chunks.append(chunk)
        at = stop
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def strip_metadata(data: bytes, kind: str) -> bytes:
    """An image of type `kind` (core.images.TYPES, as sniffed) without what it says about
    whoever made it; Malformed when its structure is broken. GIF: as it is."""
    if kind == "image/jpeg":
        return strip_jpeg(data)
    if kind == "image/png":
        return strip_png(data)
    if kind == "image/webp":
        return strip_webp(data)
    return data
