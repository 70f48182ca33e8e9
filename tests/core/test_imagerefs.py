"""Which image ids some version shows, found by looking only around each revision's edits
(collab/core/imagerefs.py), is exactly what reading every version's whole text finds."""
import random

from collab.core.ids import new_image_id
from collab.core.imagerefs import changed_windows, ids_after, ids_in
from collab.core.patches import Edit, diff_edits
from collab.core.rope import Rope


def scanned(texts, ids):
    """What the incremental look finds over the versions `texts` (texts[0] == "")."""
    found = set()
    for old, new in zip(texts, texts[1:]):
        found |= ids_after(Rope(new), diff_edits(old, new), ids)
    return found


def everywhere(texts, ids):
    return set().union(*(ids_in(t, ids) for t in texts))


def test_an_id_made_by_a_deletion_joining_its_halves_or_typed_one_character_at_a_time_is_found():
    a, b, never = new_image_id(), new_image_id(), new_image_id()
    ids = {a, b, never}
    joined = [""]
    joined.append(f"![x](/images/{a[:10]}REMOVED{a[10:]})")
    joined.append(joined[-1].replace("REMOVED", ""))  # only now does version 2 show `a`
    assert scanned(joined, ids) == {a}
    typed = [""]
    for ch in f"see https://host/images/{b}?x":
        typed.append(typed[-1] + ch)
    typed.append("")  # and gone again: still shown by a version
    assert scanned(typed, ids) == {b}
    inside = ["", "x" * 5 + b + "y" * 5]  # within a longer run of letters: counted (cautious)
    assert scanned(inside, ids) == {b}


def test_windows_are_where_the_new_text_changed_widened_and_merged():
    edits = [Edit(0, "", "ab"), Edit(10, "xyz", ""), Edit(100, "", "q")]
    # "ab" at 0..2, then the deletion at 12 (within 23 of it: merged), then "q" at 99..100
    assert changed_windows(edits, 200) == [(0, 35), (76, 123)]
    assert changed_windows([Edit(5, "", "abc")], 10) == [(0, 10)]  # clipped to the text

def test_random_histories_agree_with_reading_every_version():
    rng = random.Random(1515)
    for _ in range(60):
        ids = [new_image_id() for _ in range(4)]
        pieces = ids + ["/images/", "![a](", ")", "\n\n", "word ", "Ab9", "x"]
        texts = [""]
        for _ in range(rng.randint(1, 25)):
            t = texts[-1]
            at = rng.randint(0, len(t))
            if t and rng.random() < 0.4:
                end = min(len(t), at + rng.randint(1, 30))
                t = t[:at] + t[end:]
            else:
                piece = rng.choice(pieces)
                if rng.random() < 0.3:  # a part of one (an id built up, or cut)
                    lo = rng.randint(0, len(piece))
                    piece = piece[lo:rng.randint(lo, len(piece))]
                t = t[:at] + piece + t[at:]
            texts.append(t)
        assert scanned(texts, set(ids)) == everywhere(texts, set(ids)), texts
