"""Image metadata is taken out losslessly before an upload is stored (collab/core/imagemeta.py):
a phone's EXIF (GPS, camera), XMP, IPTC, comments and appended data go, the orientation and
what decoding needs stay, the compressed data is untouched; broken structure is refused
clearly, whatever the bytes, never a crash."""
import random
import struct

import pytest

from collab.core.imagemeta import Malformed, _orientation, strip_jpeg, strip_metadata, strip_png, strip_webp
from imagekit import (COMMENT, GIF, GPS_ITXT, GPS_TEXT, GPS_ZTXT, ICC, IPTC, PNG_EXIF, WEBP, WEBP_EXIF, WEBP_XMP, XMP, exif,
                      jpeg, png, png_chunk, png_with, segment, webp_with)

PRIVATE = [b"PhoneCo", b"GPS", b"Jane Doe", b"Rue Example", b"xmpmeta", b"home address"]


def markers(data: bytes) -> list[int]:
    """The JPEG's segment markers up to its scan (the test images have one scan)."""
    out, at = [], 2
    while data[at + 1] != 0xDA:
        out.append(data[at + 1])
        at += 2 + struct.unpack_from(">H", data, at + 2)[0]
    return out


def test_a_phones_jpeg_loses_its_gps_camera_and_text_but_keeps_orientation_and_pixels():
    clean = jpeg(32, 16)
    photo = jpeg(32, 16, before=[exif(orientation=6), XMP, IPTC, COMMENT, ICC], trailer=jpeg(8, 8, before=[exif()]))
    assert all(p in photo for p in PRIVATE[:4])
    stripped = strip_jpeg(photo)
    assert not [p for p in PRIVATE if p in stripped]
    # JFIF header, the minimal orientation EXIF, the colour profile; then the image as it was
    assert markers(stripped) == [0xE1, 0xE0, 0xE2, 0xDB, 0xC0, 0xC4]
    kept_exif = stripped[2:2 + 2 + struct.unpack_from(">H", stripped, 4)[0]]
    assert _orientation(kept_exif[4:]) == 6
    assert stripped.endswith(clean[clean.index(b"\xff\xdb"):])  # tables, frame, scan, end: byte for byte
    assert strip_jpeg(stripped) == stripped  # nothing left to take out


@pytest.mark.parametrize("orientation", [None, 1])
def test_an_upright_photo_keeps_no_exif_at_all(orientation):
    stripped = strip_jpeg(jpeg(before=[exif(orientation=orientation)]))
    assert stripped == jpeg()


def test_a_jpeg_without_metadata_is_unchanged():
    assert strip_jpeg(jpeg(24, 24)) == jpeg(24, 24)


def test_unreadable_exif_is_dropped_and_the_image_taken():
    """EXIF is not what decoding needs: garbage in it is no reason to refuse the image."""
    for body in [b"Exif\x00\x00", b"Exif\x00\x00II*\x00\xff\xff\xff\xff", b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x09",
                 b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00" + b"\x12\x01\x03\x00"]:
        assert strip_jpeg(jpeg(before=[segment(0xE1, body)])) == jpeg()


def test_a_pngs_text_and_exif_chunks_go_and_the_rest_is_byte_for_byte():
    tagged = png_with(GPS_TEXT, GPS_ITXT, GPS_ZTXT, PNG_EXIF, png_chunk(b"pHYs", b"\x00\x00\x0b\x13" * 2 + b"\x01"),
                      trailer=b"appended secrets")
    stripped = strip_png(tagged)
    assert not [p for p in PRIVATE if p in stripped] and b"appended" not in stripped
    assert stripped == png_with(png_chunk(b"pHYs", b"\x00\x00\x0b\x13" * 2 + b"\x01"))
    assert strip_png(png(5, 5)) == png(5, 5)


def test_a_webps_exif_and_xmp_chunks_go_and_its_header_says_so():
    tagged = webp_with(WEBP_EXIF, WEBP_XMP, flags=0x0C | 0x10)  # EXIF, XMP and alpha flags
    stripped = strip_webp(tagged + b"trailing")
    assert not [p for p in PRIVATE if p in stripped]
    assert stripped == webp_with(flags=0x10)  # the alpha flag kept, the size right
    assert strip_webp(WEBP) == WEBP and strip_metadata(WEBP, "image/webp") == WEBP


def test_gif_is_stored_as_it_came():
    assert strip_metadata(GIF, "image/gif") == GIF


@pytest.mark.parametrize("image, strip", [(jpeg(16, 16, before=[exif(), ICC]), strip_jpeg),
                                          (png_with(GPS_TEXT), strip_png), (webp_with(WEBP_EXIF), strip_webp)])
def test_every_truncation_is_refused_clearly(image, strip):
    for n in range(len(image)):
        with pytest.raises(Malformed) as refused:
            strip(image[:n])
        assert refused.value.args[0].startswith(("the JPEG", "the PNG", "the WebP")), refused.value


def test_lengths_that_lie_and_damaged_chunks_are_refused_naming_where():
    photo = jpeg(before=[exif()])
    at = photo.index(b"\xff\xe1")
    with pytest.raises(Malformed, match=r"segment 0xe1 at byte 20 says it is 65535 bytes long"):
        strip_jpeg(photo[:at + 2] + b"\xff\xff" + photo[at + 4:])
    with pytest.raises(Malformed, match="says it is 1 bytes long"):
        strip_jpeg(photo[:at + 2] + b"\x00\x01" + photo[at + 4:])
    with pytest.raises(Malformed, match="no segment marker at byte 20"):
        strip_jpeg(photo[:at] + b"\x00" + photo[at + 1:])
    plain = png()
    with pytest.raises(Malformed, match=r"b'IDAT' chunk at byte 33 is damaged \(its CRC"):
        strip_png(plain[:45] + bytes([plain[45] ^ 1]) + plain[46:])
    with pytest.raises(Malformed, match="first chunk is b'tEXt', not IHDR"):
        strip_png(plain[:8] + GPS_TEXT + plain[8:])
    with pytest.raises(Malformed, match="says it holds 4294967295 bytes"):
        strip_png(plain[:33] + b"\xff\xff\xff\xff" + plain[37:])


def test_random_damage_is_refused_or_stripped_never_a_crash():
    """Seeded: flipped, inserted and removed bytes anywhere. Whatever comes back is itself
    well formed (stripping it again changes nothing)."""
    rng = random.Random(15)
    for image, strip in [(jpeg(16, 16, before=[exif(), XMP, ICC]), strip_jpeg), (png_with(GPS_TEXT, PNG_EXIF), strip_png),
                         (webp_with(WEBP_EXIF, WEBP_XMP), strip_webp)]:
        for _ in range(3000):
            data = bytearray(image)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(data))
                action = rng.random()
                if action < 0.6:
                    data[at] = rng.randrange(256)
                elif action < 0.8:
                    data.insert(at, rng.randrange(256))
                else:
                    del data[at]
            try:
                out = strip(bytes(data))
            except Malformed:
                continue
            assert strip(out) == out
