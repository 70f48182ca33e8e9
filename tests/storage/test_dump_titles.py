"""A title chosen by a document's editors is theirs, not a cache: `collab dump` carries it
(a `title` record after the document's history, only when one was chosen) and `load` gives
it back, on SQLite and PostgreSQL; a malformed one is refused naming its line."""
from __future__ import annotations

import pytest

from collab.storage import open_store
from test_dump import assert_doubled_record_refused, assert_record_refused, good, load_cli, records_of, source  # noqa: F401 (fixtures)


@pytest.fixture
def titled(source):  # noqa: F811
    store = open_store(source)
    try:
        store.visits.choose_title("dump-a", "Ann & Bob’s plan", 10.0)
        store.visits.set_title("dump-empty", "a heading, not chosen", 11.0)
    finally:
        store.close()
    return source


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_chosen_title_goes_through_dump_and_load(titled, tmp_path, capsys, request, backend):
    recs = records_of(titled)
    kinds = [next(iter(r)) for r in recs]
    assert kinds.count("title") == 1  # the chosen one only: a heading's is worked out again
    assert recs[kinds.index("title")] == {"title": {"chosen": "Ann & Bob’s plan"}}
    assert kinds.index("title") < kinds.index("document", kinds.index("document") + 1)  # inside dump-a
    target = f"sqlite:///{tmp_path}/target.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    code, out = load_cli(tmp_path, capsys, recs, target)
    assert code == 0, out.err
    store = open_store(target)
    try:
        assert store.visits.chosen_title("dump-a") == "Ann & Bob’s plan"
        assert store.visits.chosen_title("dump-empty") is None
    finally:
        store.close()
    assert records_of(target) == recs  # and dumped again, the same


@pytest.mark.parametrize("bad, message", [
    ({"chosen": "x" * 81}, "at most 80 characters"),
    ({"chosen": "\u202eevil"}, "direction overrides"),
    ({"chosen": "  padded "}, "as PUT /api/docs/<id>/title stores it"),
    ({"chosen": "\u200b"}, "as PUT /api/docs/<id>/title stores it"),
    ({"chosen": 5}, "title must be a string"),
    ({"chosen": "ok", "extra": 1}, "unknown fields"),
])
def test_a_malformed_chosen_title_is_refused_naming_its_line(titled, tmp_path, capsys, bad, message):
    assert_record_refused(tmp_path, capsys, titled, "title", bad, message)


def test_two_chosen_titles_of_one_document_are_refused(titled, tmp_path, capsys):
    assert_doubled_record_refused(tmp_path, capsys, titled, "title", "has two chosen titles")
