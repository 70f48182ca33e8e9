"""Reverting one author's changes since a version, on random histories."""
import random
from dataclasses import dataclass

import pytest

from collab.core.patches import apply_patch, make_patch, parse_patch
from collab.core.revert import revert


@dataclass
class Rev:
    version: int
    patch: str
    author: str
    hash: str = ""
    attribution: str | None = None


class Atoms:
    """Unique code points, so every character in a text says which insert made it."""

    def __init__(self):
        self.next = 0x4E00

    def take(self, n):
        out = "".join(chr(self.next + i) for i in range(n))
        self.next += n
        return out


def random_history(seed, steps=60, authors="ABC", only=None):
    """(revisions, texts, inserted_by, deleted_by): which author inserted/deleted each atom
    and in which version. `only` limits an author to "insert" or "delete"."""
    rng = random.Random(seed)
    atoms = Atoms()
    text = atoms.take(30)  # version 0 is "", version 1 inserts a base text
    revs = [Rev(1, make_patch("", text), "base")]
    texts = ["", text]
    inserted = {c: (1, "base") for c in text}
    deleted = {}
    for v in range(2, steps + 2):
        author = rng.choice(authors)
        new = text
        for _ in range(rng.randint(1, 3)):
            kind = (only or {}).get(author) or rng.choice(["insert", "delete", "replace"])
            i = rng.randint(0, len(new))
            j = min(len(new), i + rng.randint(1, 5)) if kind != "insert" else i
            ins = atoms.take(rng.randint(1, 4)) if kind != "delete" else ""
            for c in new[i:j]:
                deleted[c] = (v, author)
            for c in ins:
                inserted[c] = (v, author)
            new = new[:i] + ins + new[j:]
        if new == text:
            new = text + atoms.take(1)
            inserted[new[-1]] = (v, author)
        revs.append(Rev(v, make_patch(text, new), author))
        text = new
        texts.append(text)
    return revs, texts, inserted, deleted


def expected_atoms(texts, since, author, inserted, deleted):
    by_author = lambda info: info is not None and info[0] > since and info[1] == author  # noqa: E731
    head = set(texts[-1])
    ever = set().union(*map(set, texts))
    keep = {c for c in head if not by_author(inserted[c])}
    back = {c for c in ever if by_author(deleted.get(c)) and not by_author(inserted[c])}
    return keep | back


def is_subsequence(short, long):
    it = iter(long)
    return all(c in it for c in short)


@pytest.mark.parametrize("seed", range(25))
def test_revert_keeps_the_others_work_and_undoes_the_author(seed):
    revs, texts, inserted, deleted = random_history(seed)
    rng = random.Random(seed)
    since = rng.randint(0, len(revs) // 2)
    author = rng.choice("AB")
    r = revert(revs, author, since)
    assert r.version == len(revs) and r.head_text == texts[-1]
    assert set(r.text) == expected_atoms(texts, since, author, inserted, deleted)
    assert len(r.text) == len(set(r.text))  # nothing came back twice
    # what stays of the head keeps its order
    assert is_subsequence([c for c in texts[-1] if c in set(r.text)], r.text)
    # the patch is exact
    assert apply_patch(texts[-1], parse_patch(r.patch))[0] == r.text


@pytest.mark.parametrize("seed", range(10))
def test_revert_then_reapply_gives_the_original(seed):
    revs, texts, _, _ = random_history(seed)
    since = len(revs) // 3
    r = revert(revs, "A", since)
    # the revert is a new revision; reverting its author restores the original head exactly
    history = revs + [Rev(len(revs) + 1, r.patch, "reverter", attribution=r.attribution)] if r.patch else revs
    again = revert(history, "reverter", since)
    assert again.text == texts[-1]


@pytest.mark.parametrize("seed", range(10))
def test_an_author_who_only_typed_is_taken_out_exactly(seed):
    revs, texts, inserted, _ = random_history(seed, only={"A": "insert"})
    r = revert(revs, "A", 0)
    assert r.text == "".join(c for c in texts[-1] if inserted[c][1] != "A")


@pytest.mark.parametrize("seed", range(5))
def test_an_author_who_did_nothing_changes_nothing(seed):
    revs, texts, _, _ = random_history(seed)
    for since in (0, 10, len(revs)):
        r = revert(revs, "nobody", since)
        assert r.text == texts[-1] and r.edits == [] and r.patch == ""


def test_the_authors_last_revisions_revert_to_before_them():
    texts = ["", "hello", "hello world", "hello brave world", "hello brave new world"]
    authors = ["X", "Y", "Z", "Z"]
    revs = [Rev(v, make_patch(texts[v - 1], texts[v]), authors[v - 1]) for v in range(1, 5)]
    assert revert(revs, "Z", 1).text == "hello world"
    # Y typed " world"; Z's "brave " went in after that space, so the space goes with Y
    assert revert(revs, "Y", 0).text == "hellobrave new "
    assert revert(revs, "X", 0).text == " brave new world"
