"""Snapshots: when one is due, and the chunked replay (the same text as patching whole)."""
import random

from collab.core.replay import replay
from collab.core.patches import Edit, apply_patch, make_patch, parse_patch, patch_from_edits, text_hash
from collab.core.snapshots import CHUNK, ChunkedText, replay_text, snapshot_due
from collab.storage import Revision


def test_chunked_patching_matches_patching_the_whole_text():
    rng = random.Random(13)
    text = "".join(rng.choice("ab \n😀é") for _ in range(3 * CHUNK + 77))
    buf = ChunkedText(text)
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
        text = apply_patch(text, hunks)[0]
        buf.apply(hunks)
        assert buf.text() == text, n
        assert buf.starts == [sum(len(c) for c in buf.chunks[:i]) for i in range(len(buf.chunks))]


def test_replay_text_matches_replay_and_checks_the_hash():
    rng = random.Random(7)
    texts, revs = [""], []
    for v in range(1, 120):
        old = texts[-1]
        pos = rng.randint(0, len(old))
        new = old[:pos] + rng.choice(["hello ", "😀", "line\n" * 40]) + old[pos + rng.randint(0, 3):]
        texts.append(new)
        revs.append(Revision("d", v, make_patch(old, new), "me", f"o{v}", 0.0, text_hash(new)))
    assert replay_text(texts[30], 30, revs[30:])[:2] == (119, texts[-1])
    assert [t for _, t in replay("", 0, revs)][-1] == texts[-1]
    bad = revs[:-1] + [Revision("d", 119, revs[-1].patch, "me", "x", 0.0, "00000000")]
    try:
        replay_text("", 0, bad)
    except Exception as exc:
        assert "hash" in str(exc)
    else:
        raise AssertionError("a wrong hash was not found")


def test_snapshot_due_by_count_and_by_bytes_written():
    assert not snapshot_due(99, 200_000, 10, 100)  # small: not before COLLAB_SNAPSHOT_EVERY revisions
    assert snapshot_due(2, 6_000_000, 1_500_000, 100)  # but whole rewrites of a large text: after 4 texts
    assert not snapshot_due(2, 3_000_000, 1_500_000, 100)
    assert snapshot_due(100, 30_000, 20_000, 100)  # small text: every 100 revisions, as before
    assert not snapshot_due(100, 30_000, 2_000_000, 100)  # large text, little written: wait
    assert snapshot_due(1_000, 30_000, 2_000_000, 100)  # but at most 1,000 revisions to replay
