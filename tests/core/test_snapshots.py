"""Snapshots: when one is due; the one replay (core.replay): chunked, the same text and edits as
patching whole, every hash checked."""
import random

import pytest

from collab.core.replay import Replayer, ReplayError, replay, text_at
from collab.core.patches import Edit, apply_patch, make_patch, parse_patch, patch_from_edits, text_hash
from collab.core.rope import CHUNK, Rope
from collab.core.snapshots import snapshot_due
from collab.storage import Revision


def test_chunked_patching_matches_patching_the_whole_text():
    rng = random.Random(13)
    text = "".join(rng.choice("ab \n😀é") for _ in range(3 * CHUNK + 77))
    rope = Rope(text)
    for n in range(150):
        edits, at = [], 0
        for _ in range(rng.randint(1, 4)):
            pos = rng.randint(at, len(text))
            end = min(len(text), pos + rng.choice([0, 0, 1, 5, 300, CHUNK + 9]))
            edits.append(Edit(pos, text[pos:end], rng.choice(["", "x", "yz" * rng.randint(1, 3000)])))
            at = end + 1
            if at > len(text):
                break
        hunks = parse_patch(patch_from_edits(text, edits))
        text, whole = apply_patch(text, hunks)
        rope, edits = rope.apply(hunks)  # reads only patch_span's part of the text
        assert edits == whole, n  # the same edits, at offsets in the whole text
        assert str(rope) == text and rope.hash() == text_hash(text), n


def _history(seed: int, count: int) -> tuple[list[str], list[Revision]]:
    rng = random.Random(seed)
    texts, revs = [""], []
    for v in range(1, count + 1):
        old = texts[-1]
        pos = rng.randint(0, len(old))
        new = old[:pos] + rng.choice(["hello ", "😀", "line\n" * 40]) + old[pos + rng.randint(0, 3):]
        texts.append(new)
        revs.append(Revision("d", v, make_patch(old, new), "me", f"o{v}", 0.0, text_hash(new)))
    return texts, revs


def _wrong_hash(rev: Revision) -> Revision:
    return Revision(rev.doc, rev.version, rev.patch, rev.author, rev.op_id, rev.ts, "00000000")


def test_text_at_matches_replay_and_checks_the_hash():
    texts, revs = _history(7, 119)
    assert text_at(texts[30], 30, revs[30:])[:2] == (119, texts[-1])
    assert [t for _, t in replay("", 0, revs)] == texts[1:]
    with pytest.raises(ReplayError, match="hash") as info:
        text_at("", 0, revs[:-1] + [_wrong_hash(revs[-1])])
    assert info.value.version == 119


def test_replay_checks_every_version_and_text_at_the_last():
    """`collab check` (replay) finds a wrong hash anywhere; reading a version checks its own."""
    texts, revs = _history(11, 40)
    bad = revs[:19] + [_wrong_hash(revs[19])] + revs[20:]
    with pytest.raises(ReplayError, match="hash") as info:
        list(replay("", 0, bad))
    assert info.value.version == 20
    assert text_at("", 0, bad)[1] == texts[-1]


def test_a_gap_or_a_patch_that_does_not_apply_names_the_revision():
    texts, revs = _history(3, 10)
    with pytest.raises(ReplayError, match="missing") as info:
        text_at("", 0, revs[:4] + revs[5:])
    assert info.value.version == 5
    replayer = Replayer(texts[4], 4)
    with pytest.raises(ReplayError, match="does not apply") as info:
        replayer.apply(Revision("d", 5, make_patch("nothing like it", "x"), "me", "o", 0.0, ""))
    assert info.value.version == 5


def test_the_replayer_gives_each_revision_its_edits():
    texts, revs = _history(5, 60)
    replayer = Replayer(texts[10], 10)
    for rev in revs[10:]:
        assert replayer.apply(rev) == apply_patch(texts[rev.version - 1], parse_patch(rev.patch))[1]
    assert replayer.text() == texts[-1]


def test_snapshot_due_by_count_and_by_bytes_written():
    assert not snapshot_due(99, 200_000, 10, 100)  # small: not before COLLAB_SNAPSHOT_EVERY revisions
    assert snapshot_due(2, 6_000_000, 1_500_000, 100)  # but whole rewrites of a large text: after 4 texts
    assert not snapshot_due(2, 3_000_000, 1_500_000, 100)
    assert snapshot_due(100, 30_000, 20_000, 100)  # small text: every 100 revisions, as before
    assert not snapshot_due(100, 30_000, 2_000_000, 100)  # large text, little written: wait
    assert snapshot_due(1_000, 30_000, 2_000_000, 100)  # but at most 1,000 revisions to replay
