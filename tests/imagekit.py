"""Real images for the tests, made here: a PNG of one colour (any size), a JPEG of mid-grey
(any size), the metadata a phone writes into them (EXIF with GPS, XMP, IPTC, PNG text
chunks), and the first bytes of the other formats collab takes, sniffed as browsers and
`file` do."""
from __future__ import annotations

import struct
import zlib


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid PNG of `width` x `height` pixels of one colour (8-bit RGB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><script>alert(document.domain)</script>"


# -- a real JPEG, and the metadata a phone puts in one ---------------------------------------

def segment(marker: int, body: bytes) -> bytes:
    """A JPEG segment: 0xFF, its marker, its length (counting itself), its body."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def jpeg(width: int = 16, height: int = 8, *, before: list[bytes] | None = None, trailer: bytes = b"") -> bytes:
    """A valid baseline JPEG of `width` x `height` mid-grey pixels (one component), with the
    segments `before` placed after its JFIF header (where a camera puts EXIF) and `trailer`
    after its end marker. Every 8x8 block is DC 0, end of block: two bits of code "0" from
    one-code Huffman tables, so the scan is all zero bits (padded with ones)."""
    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes([1] * 64))
    sof = segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0
    dht = segment(0xC4, b"\x00" + one_code + b"\x10" + one_code)  # DC table 0, AC table 0
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return (b"\xff\xd8" + jfif + b"".join(before or []) + dqt + sof + dht + sos + scan + b"\xff\xd9" + trailer)


def exif(*, orientation: int | None = 6, make: bytes = b"PhoneCo X1\x00", latitude: tuple[int, int, int] = (48, 51, 29)) -> bytes:
    """An APP1 EXIF segment as a phone writes one (little-endian TIFF): IFD0 with the camera's
    make, the orientation and a pointer to a GPS IFD holding the latitude (N, degrees,
    minutes, seconds as rationals)."""
    entries = [(0x010F, 2, len(make), None)]  # Make: ASCII, at an offset (below)
    if orientation is not None:
        entries.append((0x0112, 3, 1, orientation))
    entries.append((0x8825, 4, 1, None))  # GPS IFD pointer
    ifd0 = 8
    after_ifd0 = ifd0 + 2 + 12 * len(entries) + 4
    make_at, gps_at = after_ifd0, after_ifd0 + len(make)
    out = b""
    for tag, kind, count, value in entries:
        if tag == 0x010F:
            out += struct.pack("<HHII", tag, kind, count, make_at)
        elif tag == 0x8825:
            out += struct.pack("<HHII", tag, kind, count, gps_at)
        else:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
    gps_entries = 2
    rationals_at = gps_at + 2 + 12 * gps_entries + 4
    gps = struct.pack("<H", gps_entries) + struct.pack("<HHI4s", 0x0001, 2, 2, b"N\x00\x00\x00") \
        + struct.pack("<HHII", 0x0002, 5, 3, rationals_at) + struct.pack("<I", 0)
    rationals = b"".join(struct.pack("<II", v, 1) for v in latitude)
    tiff = b"II*\x00" + struct.pack("<I", ifd0) + struct.pack("<H", len(entries)) + out + struct.pack("<I", 0) \
        + make + gps + rationals
    return segment(0xE1, b"Exif\x00\x00" + tiff)


XMP = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>48,51.48N</exif:GPSLatitude></x:xmpmeta>")
IPTC = segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x50\x00\x08Jane Doe")
COMMENT = segment(0xFE, b"shot at 12 Rue Example")
ICC = segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 32)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(*extra: bytes, trailer: bytes = b"") -> bytes:
    """png() with the chunks `extra` after its IHDR (tEXt, iTXt, eXIf, ...) and `trailer` after IEND."""
    plain = png()
    ihdr_end = 8 + 12 + 13
    return plain[:ihdr_end] + b"".join(extra) + plain[ihdr_end:] + trailer


GPS_TEXT = png_chunk(b"tEXt", b"GPSPosition\x0048 deg 51' 29\" N, 2 deg 17' 40\" E")
GPS_ITXT = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<exif:GPSLatitude>48,51N</exif:GPSLatitude>")
GPS_ZTXT = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"home address"))
PNG_EXIF = png_chunk(b"eXIf", exif()[10:])  # the TIFF data of an EXIF segment


JPEG = jpeg()  # (a real one: the strip walks its segments, and a browser shows it)


def webp_with(*extra: tuple[bytes, bytes], flags: int = 0x0C) -> bytes:
    """An extended WebP (a VP8X header saying `flags`, then WEBP's VP8L image) with the chunks
    `extra` ((FourCC, body), e.g. EXIF and XMP) after its image, the RIFF size right."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")

    vp8x = chunk(b"VP8X", bytes([flags, 0, 0, 0]) + (0).to_bytes(3, "little") + (0).to_bytes(3, "little"))
    image = WEBP[12:]  # its VP8L chunk
    body = b"WEBP" + vp8x + image + b"".join(chunk(k, b) for k, b in extra)
    return b"RIFF" + struct.pack("<I", len(body)) + body


WEBP_EXIF = (b"EXIF", exif()[10:])
WEBP_XMP = (b"XMP ", b"<x:xmpmeta><exif:GPSLatitude>48,51N</exif:GPSLatitude></x:xmpmeta>")
