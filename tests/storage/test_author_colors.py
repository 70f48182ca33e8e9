"""The colour each author of a document last wrote in (migration 12, storage/colors.py), on
both backends: one row per person (an account, or a guest's name: never mixed up), the
latest written first, gone when they write in the automatic colour, moved by a rename and
removed with the document; and `collab dump` / `load` carry it."""
from __future__ import annotations

import pytest

from collab.core.palette import PALETTE
from collab.storage import AuthorColor, open_store
from test_dump import assert_doubled_record_refused, assert_record_refused, load_cli, records_of, source  # noqa: F401 (fixtures)

RED, ORANGE, BLUE = PALETTE[0], PALETTE[1], PALETTE[7]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path}/colors.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.close()


def test_one_row_per_person_the_latest_first(store):
    store.create_document("d", "view-d", 1.0)
    c = store.colors
    c.wrote("d", "Ann", None, RED, 10.0)
    c.wrote("d", "Ann", "u_ann", BLUE, 11.0)  # a guest named Ann and the account u_ann: two people
    c.wrote("d", "Bob", None, ORANGE, 12.0)
    c.wrote("d", "Ann", None, ORANGE, 13.0)  # Ann again, another colour: one row, the later
    assert c.colors("d") == [AuthorColor("Ann", None, ORANGE, 13.0), AuthorColor("Bob", None, ORANGE, 12.0),
                             AuthorColor("Ann", "u_ann", BLUE, 11.0)]
    c.wrote("d", "Ann B", "u_ann", BLUE, 14.0)  # an account keeps its row when its name changes
    assert c.colors("d")[0] == AuthorColor("Ann B", "u_ann", BLUE, 14.0) and len(c.colors("d")) == 3
    c.wrote("d", "Bob", None, None, 15.0)  # Bob writes in the automatic colour: no row
    c.wrote("d", "Nobody", None, None, 15.0)  # (forgetting a row that is not there is nothing)
    assert [(x.author, x.account) for x in c.colors("d")] == [("Ann B", "u_ann"), ("Ann", None)]
    assert c.colors("other") == []


def test_a_guest_called_like_an_account_id_is_not_that_account(store):
    store.create_document("d", "view-d", 1.0)
    store.colors.wrote("d", "u_ann", None, RED, 10.0)
    store.colors.wrote("d", "Ann", "u_ann", BLUE, 11.0)
    assert {(x.author, x.account, x.color) for x in store.colors.colors("d")} == {
        ("u_ann", None, RED), ("Ann", "u_ann", BLUE)}


def test_a_rename_moves_the_colours_and_a_delete_removes_them(store):
    store.create_document("d", "view-d", 1.0)
    store.create_document("e", "view-e", 1.0)
    store.colors.wrote("d", "Ann", None, RED, 10.0)
    store.colors.wrote("e", "Eve", None, BLUE, 10.0)
    store.rename_document("d", "d2", 20.0)
    assert store.colors.colors("d") == [] and store.colors.colors("d2") == [AuthorColor("Ann", None, RED, 10.0)]
    store.delete_document("d2", 30.0)
    assert store.colors.colors("d2") == []
    assert store.colors.colors("e") == [AuthorColor("Eve", None, BLUE, 10.0)]


def test_the_list_is_bounded(store):
    from collab.storage.colors import MAX_COLORS

    store.create_document("d", "view-d", 1.0)
    for i in range(MAX_COLORS + 5):
        store.colors.wrote("d", f"Guest {i}", None, PALETTE[i % len(PALETTE)], float(i))
    listed = store.colors.colors("d")
    assert len(listed) == MAX_COLORS and listed[0].author == f"Guest {MAX_COLORS + 4}"


# ---- dump and load ----

@pytest.fixture
def coloured(source):  # noqa: F811
    store = open_store(source)
    try:
        store.colors.wrote("dump-a", "Ann", None, RED, 10.0)
        store.colors.wrote("dump-a", "Ann", "u_ann", BLUE, 11.0)
    finally:
        store.close()
    return source


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_colours_go_through_dump_and_load(coloured, tmp_path, capsys, request, backend):
    recs = records_of(coloured)
    kinds = [next(iter(r)) for r in recs]
    assert [r for r in recs if "color" in r] == [
        {"color": {"author": "Ann", "account": "u_ann", "color": BLUE, "ts": 11.0}},
        {"color": {"author": "Ann", "color": RED, "ts": 10.0}}]  # a guest's has no account
    assert kinds.index("color") < kinds.index("document", kinds.index("document") + 1)  # inside dump-a
    target = f"sqlite:///{tmp_path}/target.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    code, out = load_cli(tmp_path, capsys, recs, target)
    assert code == 0, out.err
    store = open_store(target)
    try:
        assert store.colors.colors("dump-a") == [AuthorColor("Ann", "u_ann", BLUE, 11.0),
                                                 AuthorColor("Ann", None, RED, 10.0)]
    finally:
        store.close()
    assert records_of(target) == recs  # and dumped again, the same


def test_a_dump_of_documents_nobody_picked_a_colour_in_has_no_colour_records(source):  # noqa: F811
    assert not [r for r in records_of(source) if "color" in r]


@pytest.mark.parametrize("bad, message", [
    ({"author": "Ann", "color": "red;background:url(x)", "ts": 1.0}, "one of the palette's"),
    ({"author": "Ann", "color": RED.upper(), "ts": 1.0}, "one of the palette's"),
    ({"author": " Ann ", "color": RED, "ts": 1.0}, "as a join stores it"),
    ({"author": "Ann", "account": "", "color": RED, "ts": 1.0}, "'account' must be an account id"),
    ({"author": "Ann", "color": RED}, "missing 'ts'"),
    ({"author": "Ann", "color": RED, "ts": 1.0, "extra": 1}, "unknown fields"),
])
def test_a_malformed_colour_is_refused_naming_its_line(coloured, tmp_path, capsys, bad, message):
    assert_record_refused(tmp_path, capsys, coloured, "color", bad, message)


def test_two_colours_of_one_person_are_refused(coloured, tmp_path, capsys):
    assert_doubled_record_refused(tmp_path, capsys, coloured, "color", "has two colours of 'u_ann'")
