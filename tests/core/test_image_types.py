"""core/images.py: an image's type comes from its bytes, never from what the upload says."""
import pytest

from collab.core.images import digest, human, refusal, sniff
from imagekit import GIF, HTML, JPEG, SVG, WEBP, png


@pytest.mark.parametrize("data, kind", [(png(), "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"),
                                        (WEBP, "image/webp"), (SVG, None), (HTML, None), (b"", None),
                                        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None)])
def test_the_type_is_sniffed_from_the_first_bytes(data, kind):
    assert sniff(data) == kind


@pytest.mark.parametrize("declared", ["", "application/octet-stream", "image/png", "IMAGE/PNG; charset=x", "image/x-png"])
def test_a_png_declared_as_itself_or_as_nothing_is_taken(declared):
    assert refusal(png(), declared) is None


def test_a_mismatch_an_unknown_type_and_svg_are_refused_saying_why():
    assert "declared 'image/gif' but its content is image/png" in refusal(png(), "image/gif")
    assert "not a PNG, JPEG, GIF or WebP" in refusal(HTML, "image/png")
    assert "its type undeclared" in refusal(HTML, "")
    assert "SVG" in refusal(SVG, "image/svg+xml")
    assert refusal(JPEG, "image/jpg") is None  # another spelling of the same type


def test_sizes_are_said_in_human_units_and_digests_are_sha256():
    assert [human(n) for n in (0, 1023, 1024, 1536, 5 * 1024 * 1024, 50 * 1024 * 1024, 3 << 30)] == [
        "0 bytes", "1023 bytes", "1 KiB", "1.5 KiB", "5 MiB", "50 MiB", "3 GiB"]
    assert digest(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_image_ids_are_random_base62_of_their_own_length_and_checked_as_such():
    from collab.core.errors import CollabError
    from collab.core.ids import check_image_id, new_image_id

    ids = {new_image_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 24 and i.isalnum() for i in ids)
    assert check_image_id(next(iter(ids))) in ids
    for bad in ("short", "x" * 25, "a" * 23 + "-", None, 5):
        with pytest.raises(CollabError, match="is not valid: 24 of A-Z a-z 0-9"):
            check_image_id(bad)
