"""Attribution from a stored history: spans cover the text exactly, each span names the
revision that inserted it (checked against a per-code-point model of random histories)."""
import random
from urllib.parse import unquote
from dataclasses import dataclass

import pytest

from collab.core.blame import IdentityMap, blame
from collab.core.replay import ReplayError
from collab.core.patches import Edit, apply_edits, make_patch, patch_from_edits


@dataclass
class Rev:
    version: int
    patch: str
    author: str
    hash: str = ""
    attribution: str | None = None


ALPHABET = "ab \n😀中e\u0301"


def random_edits(rng, text):
    """Sorted, non-overlapping random edits on text."""
    edits, pos = [], 0
    for _ in range(rng.randint(1, 3)):
        if pos > len(text):
            break
        start = rng.randint(pos, min(len(text), pos + 20))
        end = rng.randint(start, min(len(text), start + rng.choice([0, 1, 3, 8])))
        insert = "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 2, 5])))
        if start == end and not insert:
            continue
        edits.append(Edit(start, text[start:end], insert))
        pos = end + 1
    return edits


def random_history(seed, steps=120, authors=("ann", "bob", "cy")):
    """(revisions, texts, model): model[v] = the version that inserted each code point at v."""
    rng = random.Random(seed)
    text, model = "", []
    revs, texts, models = [], [""], [[]]
    for v in range(1, steps + 1):
        edits = random_edits(rng, text) or [Edit(len(text), "", "x")]
        revs.append(Rev(v, patch_from_edits(text, edits), rng.choice(authors)))
        for e in reversed(edits):
            model[e.pos : e.end] = [v] * len(e.insert)
        text = apply_edits(text, edits)
        texts.append(text)
        models.append(list(model))
    return revs, texts, models


def merged(model):
    spans = []
    for i, v in enumerate(model):
        if spans and spans[-1][2] == v:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1, v])
    return [tuple(s) for s in spans]


@pytest.mark.parametrize("seed", range(12))
def test_spans_match_a_per_code_point_model(seed):
    revs, texts, models = random_history(seed)
    for v in (0, 1, 7, 60, len(revs)):
        spans = blame(revs[:v])
        text = texts[v]
        assert [(s["start"], s["end"], s["version"]) for s in spans] == merged(models[v])
        # the spans cover the text exactly, in order, without gaps
        assert [s["start"] for s in spans] == [0, *[s["end"] for s in spans[:-1]]][: len(spans)]
        assert (spans[-1]["end"] if spans else 0) == len(text)
        for s in spans:
            assert s["author"] == revs[s["version"] - 1].author
            assert 1 <= s["version"] <= v


@pytest.mark.parametrize("seed", range(6))
def test_diff_made_patches_attribute_each_span_to_text_its_revision_inserted(seed):
    rng = random.Random(100 + seed)
    text, revs, texts = "", [], [""]
    for v in range(1, 80):
        new = text
        for _ in range(rng.randint(1, 3)):
            i = rng.randint(0, len(new))
            j = min(len(new), i + rng.choice([0, 0, 2, 6]))
            new = new[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4))) + new[j:]
        if new == text:
            new += "z"
        revs.append(Rev(v, make_patch(text, new), rng.choice("AB")))
        text = new
        texts.append(text)
    spans = blame(revs)
    assert sum(s["end"] - s["start"] for s in spans) == len(text)
    for s in spans:
        inserted = "".join(line[1:] for line in revs[s["version"] - 1].patch.splitlines() if line.startswith("+"))
        assert set(text[s["start"]:s["end"]]) <= set(unquote(inserted))


def test_long_texts_cross_chunks():
    vm = IdentityMap()
    vm.insert(0, 20_000, 1)
    vm.insert(10_000, 5, 2)
    vm.delete(12_000, 5_000)
    vm.insert(vm.length, 3, 3)
    assert vm.runs() == [(0, 10_000, 1), (10_000, 10_005, 2), (10_005, 15_005, 1), (15_005, 15_008, 3)]
    assert vm.length == 15_008
    vm.delete(0, 15_008)
    assert vm.runs() == [] and vm.length == 0


def test_a_broken_history_names_the_revision():
    revs = [Rev(1, make_patch("", "abc"), "a"), Rev(2, "@@ -8,1 +8,1 @@\n-x\n+y\n", "b")]
    with pytest.raises(ReplayError) as info:
        blame(revs)
    assert info.value.version == 2
    with pytest.raises(ReplayError):
        blame([Rev(2, make_patch("", "abc"), "a")])
