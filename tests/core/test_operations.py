"""Pure tests of the text operations clients use to keep local edits across revisions."""
import random

import pytest

from collab.core import operations as ops
from collab.core.patches import apply_edits, diff_edits


def op_of(base, text):
    return ops.from_edits(diff_edits(base, text), len(base))


def merge(base, local_op, remote_op):
    """Remote (committed) first: the text a client shows after a revision arrives."""
    remote2, local2 = ops.transform(remote_op, local_op)
    left = ops.apply(ops.apply(base, remote_op), local2)
    right = ops.apply(ops.apply(base, local_op), remote2)
    assert left == right  # both orders give the same text
    return left


def test_replacing_the_same_word_keeps_both_words_whole():
    base = "hello world"
    local = ops.single(11, 6, 5, "folks")
    remote = ops.single(11, 6, 5, "there")
    assert merge(base, local, remote) == "hello therefolks"


def test_insert_inside_a_deleted_range_survives():
    assert merge("abcdef", ops.single(6, 1, 4, ""), ops.single(6, 3, 0, "X")) == "aXf"


def test_both_delete_the_same_text_once():
    assert merge("abcdef", ops.single(6, 2, 2, ""), ops.single(6, 2, 3, "")) == "abf"


def test_same_point_inserts_put_the_first_argument_first():
    assert merge("ab", ops.single(2, 1, 0, "L"), ops.single(2, 1, 0, "R")) == "aRLb"


def test_compose_is_the_same_as_applying_in_turn():
    rng = random.Random(5)
    for _ in range(500):
        text = "".join(rng.choice("ab😀c ") for _ in range(rng.randint(0, 20)))
        a = op_of(text, _mutate(rng, text))
        mid = ops.apply(text, a)
        b = op_of(mid, _mutate(rng, mid))
        assert ops.apply(text, ops.compose(a, b)) == ops.apply(mid, b)


def test_edits_roundtrip():
    base = "The quick brown fox"
    op = ops.compose(ops.single(19, 4, 5, "slow"), ops.single(18, 0, 0, "A "))
    assert apply_edits(base, ops.to_edits(op, base)) == ops.apply(base, op) == "A The slow brown fox"


def test_operations_on_the_wrong_text_are_refused():
    with pytest.raises(ValueError):
        ops.apply("abc", ops.single(5, 0, 0, "x"))
    with pytest.raises(ValueError):
        ops.transform(ops.single(3, 0, 0, "x"), ops.single(4, 0, 0, "y"))
    with pytest.raises(ValueError):
        ops.compose(ops.single(3, 0, 0, "x"), ops.single(3, 0, 0, "y"))


def _mutate(rng, text, alphabet_start=None):
    out = list(text)
    for _ in range(rng.randint(0, 4)):
        if out and rng.random() < 0.5:
            pos = rng.randrange(len(out))
            del out[pos : pos + rng.randint(1, 4)]
        else:
            pos = rng.randint(0, len(out))
            if alphabet_start is None:
                out[pos:pos] = rng.choice(["x", "yz", "😁"])
            else:
                out[pos:pos] = [chr(alphabet_start + rng.randrange(10_000)) for _ in range(rng.randint(1, 3))]
    return "".join(dict.fromkeys(out)) if alphabet_start is not None else "".join(out)


def test_random_merges_keep_everything_each_side_meant():
    rng = random.Random(11)
    for _ in range(2000):
        base = "".join(chr(0x4E00 + i) for i in range(rng.randint(0, 30)))
        local = _mutate(rng, base, 0x10000)  # inserted characters are unique per side,
        remote = _mutate(rng, base, 0x20000)  # so every character can be traced
        result = merge(base, op_of(base, local), op_of(base, remote))
        kept = set(base) & set(local) & set(remote)
        assert set(result) == kept | (set(local) - set(base)) | (set(remote) - set(base))
        assert len(result) == len(set(result))
        gone_remote = set(base) - set(remote)
        gone_local = set(base) - set(local)
        assert [c for c in result if c in set(base) | set(local)] == [c for c in local if c not in gone_remote]
        assert [c for c in result if c in set(base) | set(remote)] == [c for c in remote if c not in gone_local]
