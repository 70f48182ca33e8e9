"""Pure tests of merging a stale patch whose hunks overlap the revisions since its base."""
import os
import random

import pytest
from test_rope import _outcome  # what a call gives, or the error it raises

from collab.core.errors import CollabError
from collab.core.merge import merge_span, merge_stale, undo
from collab.core.patches import (
    Edit, apply_edits, apply_patch, diff_edits, make_patch, move_hunks, parse_patch, patch_from_edits,
)


def history(base, *texts):
    """The edits of each revision base -> texts[0] -> texts[1] ..."""
    out, prev = [], base
    for t in texts:
        out.append(diff_edits(prev, t))
        prev = t
    return out


def test_undo_gives_the_text_before():
    before, after = "hello brave world", "hello new world!"
    assert undo(after, diff_edits(before, after)) == before


def test_both_replacing_one_word_keep_both_words_whole():
    # as clients send them: the replacement as the user made it, not a letter-level diff
    base = "hello world"
    revisions = [[Edit(6, "world", "there")]]
    patch = parse_patch(patch_from_edits(base, [Edit(6, "world", "folks")]))
    with pytest.raises(CollabError):  # moving alone refuses: the revision touched the hunk
        move_hunks(patch, revisions)
    text, edits = merge_stale("hello there", revisions, patch)
    assert text == "hello therefolks"
    assert apply_edits("hello there", edits) == text


def test_a_patch_that_does_not_fit_its_base_is_still_a_conflict():
    revisions = history("hello world", "hello there")
    with pytest.raises(CollabError) as exc:
        merge_stale("hello there", revisions, parse_patch(make_patch("goodbye world", "goodbye folks")))
    assert exc.value.code == "conflict"


def test_random_merges_agree_with_moving_and_keep_every_insert():
    rng = random.Random(4)
    alphabet = "ab \n😀中"
    for _ in range(400):
        base = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        texts, t = [], base
        for _ in range(rng.randint(1, 4)):
            t = _mutate(rng, t, alphabet)
            texts.append(t)
        revisions = history(base, *texts)
        head = texts[-1]
        local = _mutate(rng, base, "XYZ")  # the author's inserts use letters nobody else types
        if local == base:
            continue
        hunks = parse_patch(make_patch(base, local))
        merged, edits = merge_stale(head, revisions, hunks)
        assert apply_edits(head, edits) == merged
        inserted = sum(local.count(c) for c in "XYZ")
        assert sum(merged.count(c) for c in "XYZ") == inserted  # nothing the author typed is lost
        try:
            moved = apply_patch(head, move_hunks(hunks, revisions))[0]
        except CollabError:
            continue  # moving refused: only merging can do it
        assert merged == moved  # where moving works, merging agrees with it


def _mutate(rng, text, alphabet):
    out = list(text)
    for _ in range(rng.randint(1, 3)):
        if out and rng.random() < 0.4:
            pos = rng.randrange(len(out))
            del out[pos : pos + rng.randint(1, 3)]
        else:
            pos = rng.randint(0, len(out))
            out[pos:pos] = rng.choice(alphabet) * rng.randint(1, 2)
    return "".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_merging_on_the_part_merge_span_gives_is_merging_on_the_whole_text(seed):
    """The service merges on the part of the head the revisions and the patch cover: the
    same edits (in the whole text's positions) and the same refusals as on the whole text."""
    rng = random.Random(seed)
    alphabet = "ab \n😀é日"
    for case in range(int(os.environ.get("COLLAB_FUZZ_EXAMPLES", "700")) // 5):  # make check: 20
        base = "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 30, 3000])))
        texts, revisions = [base], []
        for _ in range(rng.randint(1, 3)):  # revisions since the patch's base, near each other or not
            old = texts[-1]
            pos = rng.randint(0, len(old))
            edit = Edit(pos, old[pos:pos + rng.choice([0, 0, 1, 3])], rng.choice(["", "x", "yz😀"]))
            revisions.append([edit])
            texts.append(apply_edits(old, [edit]))
        head = texts[-1]
        pos = rng.randint(0, len(base))
        mine = [Edit(pos, base[pos:pos + rng.choice([0, 1, 2])], rng.choice(["Q", "", "日本"]))]
        hunks = parse_patch(patch_from_edits(base, mine))
        if rng.random() < 0.2 and hunks:  # a patch that does not fit its base
            h = hunks[0]
            hunks = [h.moved(max(0, h.start + rng.choice([-3, 1, 7])))] + hunks[1:]
        if not hunks:
            continue
        whole = _outcome(lambda: merge_stale(head, revisions, hunks)[1])
        lo, hi = merge_span(len(head), revisions, hunks)
        assert 0 <= lo <= hi <= len(head)
        part = _outcome(lambda: merge_stale(head[lo:hi], revisions, hunks, lo)[1])
        assert part == whole, (seed, case)
        if isinstance(whole, list):
            assert apply_edits(head, whole) == merge_stale(head, revisions, hunks)[0]
