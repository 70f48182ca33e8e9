"""The chunked text (core/rope.py) and its CRC-32 (core/crc32.py): always the text a str
would be, and exactly zlib.crc32 of its UTF-8, over thousands of seeded random edits."""
import importlib
import os
import random
import sys
import threading
import zlib

import pytest

from diff_match_patch import diff_match_patch

from collab.core import rope as rope_module
from collab.core.crc32 import combine
from collab.core.errors import CollabError
from collab.core.patches import Edit, apply_edits, apply_patch, make_patch, parse_patch, text_hash
from collab.core.rope import CHUNK, MAX_CHUNK, MIN_CHUNK, Rope

# edits per seed: make check runs fewer (COLLAB_FUZZ_EXAMPLES=100), make test 4 x 1,400
STEPS = 2 * int(os.environ.get("COLLAB_FUZZ_EXAMPLES", "700"))
dmp = diff_match_patch()
ALPHABET = "ab \n" + "éß" + "日本語" + "😀🎉" + "\u0301"  # ASCII, 2-, 3- and 4-byte UTF-8, a combining mark


def check_tree(rope):
    """Every node's sizes and CRC are its children's, heights are AVL, chunks are in bounds."""
    root = rope._root
    if root is None:
        return
    leaves = 0

    def walk(node):
        nonlocal leaves
        if node.text is not None:
            leaves += 1
            data = node.text.encode("utf-8")
            assert (node.cp, node.nbytes, node.crc, node.height) == (len(node.text), len(data), zlib.crc32(data), 0)
            assert len(node.text) <= MAX_CHUNK
            return
        walk(node.left)
        walk(node.right)
        assert node.cp == node.left.cp + node.right.cp
        assert node.nbytes == node.left.nbytes + node.right.nbytes
        assert node.height == max(node.left.height, node.right.height) + 1
        assert abs(node.left.height - node.right.height) <= 1, "AVL"

    walk(root)
    if leaves > 1:
        assert all(MIN_CHUNK <= len(leaf.text) for leaf in rope_module._leaves(root)), "no sliver chunks"


def test_combine_is_zlibs_crc_of_the_concatenation():
    rng = random.Random(1)
    for _ in range(3000):
        a = rng.randbytes(rng.choice([0, 1, rng.randint(0, 300)]))
        b = rng.randbytes(rng.choice([0, 1, 2, 3, rng.randint(0, 70_000)]))
        assert combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.parametrize("text", ["", "a", "😀", "日本" * 5000, "x" * (3 * CHUNK + 7)])
def test_a_rope_is_its_text(text):
    rope = Rope(text)
    assert str(rope) == text
    assert len(rope) == len(text)
    assert rope.nbytes == len(text.encode("utf-8"))
    assert rope.hash() == text_hash(text)
    assert rope[1:-1] == text[1:-1] and rope[:] == text and rope[5:2] == ""
    check_tree(rope)


def random_edit(rng, length):
    """Mostly keystrokes and backspaces, sometimes a paste or a cut across chunks."""
    pos = rng.randint(0, length)
    kind = rng.random()
    if kind < 0.5:
        return Edit(pos, "", rng.choice(ALPHABET)), 0
    if kind < 0.75:
        return Edit(max(0, pos - 1), "", ""), min(1, pos)  # a backspace (delete 1)
    if kind < 0.88:
        return Edit(pos, "", "".join(rng.choices(ALPHABET, k=rng.randint(1, 2 * CHUNK)))), 0
    return Edit(pos, "", rng.choice(["", "z"])), rng.randint(0, min(length - pos, 3 * CHUNK))


@pytest.mark.parametrize("seed", range(4))
def test_thousands_of_random_edits_keep_text_and_hash(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 10, 5 * CHUNK])))
    rope = Rope(text)
    versions = []
    for step in range(STEPS):
        edit, delete = random_edit(rng, len(text))
        end = edit.pos + delete
        rope = rope.replace(edit.pos, end, edit.insert)
        text = text[:edit.pos] + edit.insert + text[end:]
        assert len(rope) == len(text)
        assert rope.hash() == text_hash(text), f"step {step}"
        if step % 100 == 0:
            assert str(rope) == text
            check_tree(rope)
            versions.append((rope, text))
    for old, old_text in versions:  # an edit makes a new rope: the old ones are unchanged
        assert str(old) == old_text and old.hash() == text_hash(old_text)


def test_emptied_and_refilled():
    rope = Rope("ab" * CHUNK)
    rope = rope.replace(0, len(rope), "")
    assert (str(rope), rope.hash(), len(rope)) == ("", text_hash(""), 0)
    rope = rope.replace(0, 0, "😀")
    assert (str(rope), rope.hash()) == ("😀", text_hash("😀"))


def test_edit_applies_sorted_edits_from_the_end():
    text = "hello wonderful world"
    rope = Rope(text).edit([Edit(0, "h", "H"), Edit(6, "wonderful ", ""), Edit(21, "", "!")])
    assert str(rope) == "Hello world!"


@pytest.mark.parametrize("seed", range(6))
def test_many_edits_at_once_give_the_text_either_way_and_share_what_they_do_not_touch(seed):
    """Rope.edit picks by cost: dense edits remake their span once, sparse ones a chunk each;
    both give exactly apply_edits's text and hash, and chunks outside the span are shared.
    (A hunk of 650,000 alternating lines was applied one replace per edit: 47 s.)"""
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.choice([3, 40 * CHUNK])))
    rope = Rope(text)
    dense = rng.random() < 0.5
    edits, pos = [], rng.randint(0, len(text) // 3)
    while pos < len(text) and len(edits) < 3000:
        delete = rng.randint(0, 3)
        edits.append(Edit(pos, text[pos:pos + delete], rng.choice(["", "b\n", "😀"])))
        pos += delete + (rng.randint(1, 8) if dense else rng.randint(CHUNK, 3 * CHUNK))
    after = rope.edit(edits)
    expected = apply_edits(text, edits)
    assert str(after) == expected and after.hash() == text_hash(expected)
    check_tree(after)
    if edits and len(text) > 4 * CHUNK:
        old = {id(n) for n in rope_module._leaves(rope._root)}
        untouched_before = [n for n in rope_module._leaves(rope._root)]
        shared = {id(n) for n in rope_module._leaves(after._root)} & old
        assert shared or edits[0].pos < CHUNK, "the chunks before the first edit are shared"
        assert len(untouched_before) >= len(shared)


def test_a_keystroke_copies_one_chunk_and_one_path():
    rope = Rope("x" * 200 * CHUNK)
    after = rope.replace(100 * CHUNK + 5, 100 * CHUNK + 5, "y")
    old = {id(n) for n in rope_module._leaves(rope._root)}
    new = {id(n) for n in rope_module._leaves(after._root)}
    assert len(new - old) == 1, "one chunk made again, the others shared"
    assert rope.hash() != after.hash() == text_hash("x" * (100 * CHUNK + 5) + "y" + "x" * (100 * CHUNK - 5))


def test_out_of_range_replace_is_refused():
    with pytest.raises(IndexError):
        Rope("abc").replace(2, 4, "")
    with pytest.raises(ValueError):
        Rope("abc")[::2]


def _outcome(fn):
    try:
        return fn()
    except CollabError as exc:
        return type(exc), exc.message


@pytest.mark.parametrize("seed", range(6))
def test_a_patch_applied_to_a_rope_is_the_patch_applied_to_the_whole_text(seed):
    """Rope.apply reads only patch_span's part: the same edits, text and refusals (with the
    same messages, positions and all) as apply_patch on the whole text, for canonical patches,
    diff-match-patch's own (hunks whose contexts reach back) and patches that do not fit."""
    rng = random.Random(seed)
    for case in range(STEPS // 10):
        text = "".join(rng.choices(ALPHABET, k=rng.choice([0, 5, 3 * CHUNK])))
        new = text
        for _ in range(rng.randint(1, 4)):
            pos = rng.randint(0, len(new))
            new = new[:pos] + rng.choice(["", "x", "ab😀" * rng.randint(1, 50)]) + new[pos + rng.randint(0, 20):]
        patch = make_patch(text, new) if rng.random() < 0.5 else dmp.patch_toText(dmp.patch_make(text, new))
        try:
            hunks = parse_patch(patch)
        except CollabError:
            continue
        if hunks and rng.random() < 0.3:  # moved: a conflict, or past the end
            k = rng.randrange(len(hunks))
            hunks[k] = hunks[k].moved(max(0, hunks[k].start + rng.choice([-2, 1, 5, len(text)])))
        if not hunks:
            continue
        whole = _outcome(lambda: apply_patch(text, hunks))
        rope = Rope(text)
        result = _outcome(lambda: rope.apply(hunks))
        if isinstance(whole, tuple) and isinstance(whole[0], str):
            assert isinstance(result, tuple) and isinstance(result[0], Rope), (seed, case, result)
            assert (str(result[0]), result[1]) == whole, (seed, case)
            assert result[0].hash() == text_hash(whole[0])
        else:
            assert result == whole, (seed, case)


def test_combine_is_right_on_several_threads_from_a_fresh_import():
    """Found by tests/e2e/test_e2e.py (every hash wrong after some version): the shift tables
    were made on first use, and the event loop and a write offloaded to a worker thread
    could both append the same one, putting every later table one place off. They are made
    at import now."""
    crc32_module = importlib.reload(importlib.import_module("collab.core.crc32"))
    sizes = [1 << k for k in range(21)] + [(1 << k) + 3 for k in range(21)]
    blobs = {n: (bytes(range(256)) * (n // 256 + 1))[:n] for n in sizes}
    head = b"head \xf0\x9f\x98\x80"
    wrong = []

    def work():
        for n in reversed(sizes):
            if crc32_module.combine(zlib.crc32(head), zlib.crc32(blobs[n]), n) != zlib.crc32(head + blobs[n]):
                wrong.append(n)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong
