"""Pure tests of patch parsing, exact application, moving and canonical patches."""
import random

import pytest
from diff_match_patch import diff_match_patch

from collab.core.errors import CollabError
from collab.core.patches import (
    Edit, apply_edits, apply_patch, diff_edits, make_patch, move_hunks, parse_patch,
    patch_from_edits, text_hash,
)

DMP = diff_match_patch()


def random_edit(rng, alphabet, max_len, max_edits):
    """(old, new): a random text of `alphabet` and the same after a few random edits."""
    old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))
    new = list(old)
    for _ in range(rng.randint(1, max_edits)):
        at = rng.randint(0, len(new))
        if rng.random() < 0.5 and at < len(new):
            del new[at : at + rng.randint(1, 3)]
        else:
            new[at:at] = rng.choice(alphabet) * rng.randint(1, 3)
    return old, "".join(new)

SAMPLES = [
    ("", "hello"),
    ("hello", ""),
    ("hello world", "hallo wonderful world"),
    ("😀", "😁"),  # two emoji sharing a UTF-16 high surrogate
    ("a😀b", "a😁b"),
    ("😀😁😀", "😀😀😁😀"),
    ("中文文本", "中文的文本"),
    ("e\u0301a", "e\u0301\u0302a"),  # combining marks
    ("שלום עולם", "שלום רב עולם"),  # right to left
    ("line\nline\nline\n", "line\nlinX\nline\nline\n"),
    ("𝒳𝒴𝒵" * 10, "𝒳𝒴𝒵" * 5 + "!" + "𝒳𝒴𝒵" * 5),
]


@pytest.mark.parametrize("old,new", SAMPLES)
def test_make_and_apply_roundtrip(old, new):
    patch = make_patch(old, new)
    result, edits = apply_patch(old, parse_patch(patch))
    assert result == new
    assert apply_edits(old, edits) == new


@pytest.mark.parametrize("old,new", SAMPLES)
def test_dmp_patches_apply_exactly_in_code_points(old, new):
    # a patch made by stock diff-match-patch in Python counts code points too
    patch = DMP.patch_toText(DMP.patch_make(old, new))
    assert apply_patch(old, parse_patch(patch))[0] == new


def test_offsets_count_code_points():
    patch = make_patch("😀x", "😀xy")
    (hunk,) = parse_patch(patch)
    # "😀x" is 2 code points (3 UTF-16 units): the insertion is at code point 2
    assert "@@ -1,2 +1,3 @@" in patch
    assert hunk.text1 == "😀x" and hunk.text2 == "😀xy"


def test_text_hash_is_crc32_of_utf8():
    import zlib

    assert text_hash("héllo 😀") == format(zlib.crc32("héllo 😀".encode()) & 0xFFFFFFFF, "08x")
    assert len(text_hash("")) == 8


def test_conflict_when_context_differs_and_nothing_applied():
    patch = make_patch("hello world", "hello brave world")
    with pytest.raises(CollabError) as exc:
        apply_patch("hello there", parse_patch(patch))
    assert exc.value.code == "conflict"


def test_hunk_past_the_end_is_a_conflict():
    with pytest.raises(CollabError) as exc:
        apply_patch("short", parse_patch("@@ -100,3 +100,4 @@\n abc\n+d\n"))
    assert exc.value.code == "conflict"


def test_no_fuzz_on_repeated_lines():
    # dmp.patch_apply would happily apply this on another copy of the line
    base = "same line\n" * 50
    patch = make_patch(base, base[:200] + "X" + base[200:])
    shifted = "zz" + base
    with pytest.raises(CollabError):
        apply_patch(shifted, parse_patch(patch))


@pytest.mark.parametrize("bad", [
    None, 42, "   ", "garbage", "@@ -1,1 +1,1 @@\n*x\n",
    "@@ -1,3 +1,3 @@\n abc\n+x\n",  # header lengths disagree with the body
    "@@ -0,0 +1,1 @@\n+%ED%A0%80\n",  # an encoded lone surrogate
    "@@ -0,0 +1,1 @@\n+%FF\n",  # not UTF-8
    "@@ -0,0 +1,1 @@\n+%00\n",  # NUL
    "@@ -0,0 +1,1 @@\n+\ud800\n",  # a raw lone surrogate
])
def test_bad_patches_are_refused(bad):
    with pytest.raises(CollabError) as exc:
        parse_patch(bad)
    assert exc.value.code == "bad_patch"


def test_empty_patch_is_no_change():
    assert parse_patch("") == []


def test_hunk_limit():
    old = "".join(f"{i:04d}" + "-" * 12 for i in range(100))
    new = old.replace("0", "o")
    patch = make_patch(old, new)
    assert len(parse_patch(patch)) > 10
    with pytest.raises(CollabError) as exc:
        parse_patch(patch, max_hunks=10)
    assert exc.value.code == "bad_patch"


def test_overlapping_hunk_contexts_apply_sequentially():
    # dmp grows a context until it is unique, so the second hunk's context overlaps
    # what the first wrote
    old = "aaaa bbbb aaaa bbbb aaaa"
    new = "aaaXa bbbb aaaa bbYbb aaaa"
    patch = DMP.patch_toText(DMP.patch_make(old, new))
    result, edits = apply_patch(old, parse_patch(patch))
    assert result == new
    assert edits == [Edit(3, "", "X"), Edit(17, "", "Y")]


def test_stock_dmp_patches_of_repetitive_text_apply_exactly():
    """On repetitive text dmp grows a hunk's context until it is unique, so a context can
    reach back over one or several short hunks before it (the browser client's patches of
    the automerge-paper trace did, and were refused as out of order before). Any patch
    dmp.patch_make makes must apply exactly, with edits that give the same text."""
    rng = random.Random(7)
    reached_back = 0
    for _ in range(3000):
        old, new = random_edit(rng, rng.choice(["ab", "abc", "a b\n", "xyzw"]), 200, 12)
        hunks = parse_patch(DMP.patch_toText(DMP.patch_make(old, new)))
        end = 0
        for h in hunks:
            reached_back += h.start < end
            end = h.start + len(h.text2)
        result, edits = apply_patch(old, hunks)
        assert result == new, (old, new)
        assert apply_edits(old, edits) == new
        assert all(a.pos + len(a.delete) <= b.pos for a, b in zip(edits, edits[1:])), edits
    assert reached_back > 100  # the case this test is about occurred often


def test_a_hunk_may_reach_back_over_earlier_hunks_but_not_far():
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    # hunk 2 starts at 0, before hunk 1: it applies to the text hunk 1 made (dmp semantics)
    p1 = make_patch(alphabet, alphabet[:-1] + "Z")
    p2 = make_patch(alphabet, "A" + alphabet[1:])
    result, edits = apply_patch(alphabet, parse_patch(p1 + p2))
    assert result == "A" + alphabet[1:-1] + "Z"
    assert apply_edits(alphabet, edits) == result
    # reaching back further than REACH_BACK (1,024 code points) is refused: applying stays linear
    long = "x" * 2000
    far = make_patch(long, long + "!") + make_patch(long + "!", "y" + long[1:] + "!")
    with pytest.raises(CollabError) as exc:
        apply_patch(long, parse_patch(far))
    assert exc.value.code == "bad_patch" and "1024" in exc.value.message


def test_patch_from_edits_merges_close_edits_and_applies_exactly():
    old = "The quick brown fox jumps over the lazy dog"
    edits = [Edit(4, "quick", "slow"), Edit(10, "brown", "red"), Edit(40, "dog", "cat")]
    patch = patch_from_edits(old, edits)
    assert patch.count("@@ -") == 2  # the first two share a hunk
    assert apply_patch(old, parse_patch(patch))[0] == apply_edits(old, edits)


def test_random_roundtrips_are_exact():
    rng = random.Random(7)
    alphabet = "ab \n😀中é\u0301"
    for _ in range(300):
        old, new_s = random_edit(rng, alphabet, 60, 5)
        if new_s == old:
            assert make_patch(old, new_s) == "" and apply_patch(old, parse_patch(""))[0] == old
            continue
        result, edits = apply_patch(old, parse_patch(make_patch(old, new_s)))
        assert result == new_s
        assert apply_edits(old, edits) == new_s
        assert apply_edits(old, diff_edits(old, new_s)) == new_s


# -- moving a stale patch over concurrent revisions ------------------------------------------


def _stale_case(rng, lines=60, shift=400):
    """A document of identical lines; the author edits line k against the base while
    others insert `shift` characters before it (and edit after it)."""
    base = "".join("the same line of text\n" for _ in range(lines))
    k = rng.randrange(5, lines - 5)
    line_start = 22 * k
    author_edit = Edit(line_start + rng.randint(0, 20), "", "<" + str(k) + ">")
    author_patch = patch_from_edits(base, [author_edit])
    filler = "".join(rng.choice("xyz \n") for _ in range(shift))
    revisions = [[Edit(rng.randint(0, line_start - 22), "", filler)],
                 [Edit(len(base) - 10, "", "tail")]]
    return base, author_edit, author_patch, revisions


def test_stale_patches_land_where_meant_every_time():
    rng = random.Random(3)
    misplaced_by_fuzz = 0
    for _ in range(200):
        base, author_edit, author_patch, revisions = _stale_case(rng)
        head = base
        for edits in revisions:
            head = apply_edits(head, edits)
        hunks = move_hunks(parse_patch(author_patch), revisions)
        result, _ = apply_patch(head, hunks)
        # where the author meant it: its position carried through the revisions
        pos = author_edit.pos
        for edits in revisions:
            pos += sum(len(e.insert) - len(e.delete) for e in edits if e.end <= pos)
        expected = head[:pos] + author_edit.insert + head[pos:]
        assert result == expected
        fuzzy, ok = DMP.patch_apply(DMP.patch_fromText(author_patch), head)
        misplaced_by_fuzz += all(ok) and fuzzy != expected
    # not an assertion on our code: shows the test is a real one (plain fuzz misplaces some)
    assert misplaced_by_fuzz > 0


def test_moving_over_a_revision_that_touched_the_hunk_is_a_conflict():
    base = "hello brave new world"
    patch = make_patch(base, "hello brave NEW world")
    revision = diff_edits(base, "hello brave nu world")
    with pytest.raises(CollabError) as exc:
        move_hunks(parse_patch(patch), [revision])
    assert exc.value.code == "conflict"


def test_inserts_at_the_same_point_keep_commit_order():
    hunks = move_hunks(parse_patch(make_patch("", "B")), [[Edit(0, "", "A")]])
    assert apply_patch("A", hunks)[0] == "AB"


# -- escaping: what diff-match-patch's patch_toText and patch_fromText do, faster -----------------


def test_canonical_patches_are_what_diff_match_patch_writes():
    """patch_from_edits writes its hunks itself (an ASCII line escaped at C speed): the text
    is the one diff-match-patch's patch_obj gives, character for character."""
    from diff_match_patch import patch_obj

    from collab.core.patches import CONTEXT, DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT

    def dmp_text(old, edits):  # the construction patch_from_edits made with patch_obj
        out, growth, i = [], 0, 0
        while i < len(edits):
            j = i
            while j + 1 < len(edits) and edits[j + 1].pos - edits[j].end <= 2 * CONTEXT:
                j += 1
            group = edits[i : j + 1]
            start, end = max(0, group[0].pos - CONTEXT), min(len(old), group[-1].end + CONTEXT)
            diffs = [(DIFF_EQUAL, old[start : group[0].pos])]
            for k, e in enumerate(group):
                diffs += [(DIFF_DELETE, e.delete), (DIFF_INSERT, e.insert)]
                diffs.append((DIFF_EQUAL, old[e.end : group[k + 1].pos if k + 1 < len(group) else end]))
            p = patch_obj()
            p.diffs = [d for d in diffs if d[1]]
            change = sum(len(e.insert) - len(e.delete) for e in group)
            p.start1, p.start2, p.length1, p.length2 = start, start + growth, end - start, end - start + change
            growth += change
            out.append(str(p))
            i = j + 1
        return "".join(out)

    rng = random.Random(11)
    alphabet = "ab \n%=+#&?<>\"'`{}|\\^[]~\t\r\x7f\x01😀中é\u0301"
    for _ in range(500):
        old, new = random_edit(rng, alphabet, 80, 6)
        edits = diff_edits(old, new)
        assert patch_from_edits(old, edits) == dmp_text(old, edits)
    everything = "".join(map(chr, range(1, 256))) + "中😀"
    assert patch_from_edits("", [Edit(0, "", everything)]) == dmp_text("", [Edit(0, "", everything)])


def test_patch_lines_are_read_as_diff_match_patch_reads_them():
    """parse_patch decodes an ASCII line's escapes with binascii's quoted-printable decoder:
    the same text as urllib's unquote (strict), or the same refusal, for escapes well formed
    or not (a bare "%", one at the end, "%%", "%" before a carriage return, broken UTF-8)."""
    import urllib.parse

    from collab.core.patches import _unquote

    rng = random.Random(5)
    pieces = ["%", "=", "\r", "A", "f", "0", "9", "G", " ", "中", "%E4", "%B8", "%AD", "%2", "%%", "=3D",
              "%0D", "%FF", "%c3%a9", "😀", "~", "+"]
    for _ in range(50_000):
        s = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        try:
            want = urllib.parse.unquote(s, errors="strict")
        except UnicodeDecodeError:
            with pytest.raises(UnicodeDecodeError):
                _unquote(s)
        else:
            assert _unquote(s) == want, s
