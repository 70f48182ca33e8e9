"""collab/core/wire.py builds the messages of docs/protocol.md, and collab/core/ids.check_version is
the one check of a version number. What the server really sends is proved against these in
test_realtime, test_access and test_api; here, the builders' own rules and the check's."""
import json

import pytest

from collab.core import wire
from collab.core.errors import CollabError
from collab.core.ids import check_version
from collab.core.patches import Edit
from collab.storage import Revision


def test_revision_names_the_document_as_given_and_keeps_the_contract_order():
    r = Revision("edit-id", 3, "@@ -1,0 +1,1 @@\n+a\n", "Ann", "op-1", 1.5, "0a1b2c3d")
    message = wire.revision("view-token", r)
    # the frame is this dict as JSON, so its key order is part of the wire bytes
    assert json.dumps(message) == ('{"doc": "view-token", "version": 3, "patch": "@@ -1,0 +1,1 @@\\n+a\\n", '
                                   '"author": "Ann", "id": "op-1", "ts": 1.5, "hash": "0a1b2c3d"}')


def test_sync_ack_and_revisions_body_say_more_only_before_the_head():
    r = Revision("d", 1, "p", "a", "o", 0.0, "h")
    revs = [wire.revision("d", r)]
    assert "more" not in wire.sync_ack(1, revs)
    assert wire.sync_ack(2, revs)["more"] is True
    assert "more" not in wire.sync_ack(2, [])  # nothing after `since`: nothing more either
    assert wire.revisions_body("d", 2, revs)["more"] is True
    assert "more" not in wire.revisions_body("d", 1, revs)


def test_patch_ack_carries_patch_and_duplicate_only_when_given():
    assert list(wire.patch_ack(4, "h")) == ["ok", "version", "hash"]
    assert list(wire.patch_ack(4, "h", "p", duplicate=True)) == ["ok", "version", "hash", "duplicate", "patch"]


def test_restore_ack_is_unchanged_without_a_patch():
    assert wire.restore_ack(5, "h") == {"ok": True, "version": 5, "hash": "h", "unchanged": True}
    assert wire.restore_ack(6, "h", "p") == {"ok": True, "version": 6, "hash": "h", "patch": "p"}


def test_join_ack_gives_view_to_editors_only():
    counts: wire.Counts = {"editors": 1, "viewers": 0}
    limits = wire.limits(10, 2, 30, 40)
    editor = wire.join_ack("d", 0, "", "editor", [], counts, "p1", limits, view="tok")
    viewer = wire.join_ack("tok", 0, "", "viewer", [], counts, "p1", limits)
    assert editor["view"] == "tok" and "view" not in viewer
    assert list(viewer) == ["ok", "doc", "version", "text", "role", "peers", "editors", "viewers", "you", "limits"]
    assert viewer["limits"] == {"patch": 10, "hunks": 2, "doc": 30, "lines": 40}


def test_presence_full_and_delta():
    peer = wire.peer("p1", "Ann", "editor", 3)
    counts: wire.Counts = {"editors": 1, "viewers": 2}
    assert wire.presence("d", [peer], counts) == {"doc": "d", "peers": [peer], "editors": 1, "viewers": 2}
    assert list(wire.presence_delta("d", [], ["p2"], counts)) == ["doc", "delta", "peers", "gone", "editors",
                                                                  "viewers"]


def test_error_ack_and_http_error_share_the_error_object():
    exc = CollabError("conflict", "moved", version=7)
    assert wire.error_ack(exc.code, exc.message, exc.extra) == {
        "ok": False, "error": {"code": "conflict", "message": "moved", "version": 7}}
    assert wire.http_error(exc.code, exc.message, exc.extra) == {"error": exc.to_dict()}
    assert wire.error_ack("internal", "x") == {"ok": False, "error": {"code": "internal", "message": "x"}}


def test_diff_body_uses_the_keyword_field_from():
    body = wire.diff_body("d", 1, 2, "p", [Edit(0, "a", "b")])
    assert body == {"doc": "d", "from": 1, "to": 2, "patch": "p", "edits": [{"pos": 0, "delete": "a", "insert": "b"}]}


def test_written_marks_unchanged_and_restored_from():
    assert wire.written("d", 3) == {"doc": "d", "version": 3}
    assert wire.written("d", 3, unchanged=True, restored_from=1) == {"doc": "d", "version": 3, "unchanged": True,
                                                                    "restored_from": 1}


def test_health_is_ok_unless_something_is_down():
    assert wire.health("ok", "none") == {"ok": True, "database": "ok", "queue": "none"}
    down = wire.health("down", "none", wire.error_body("unavailable", "database: gone"))
    assert down["ok"] is False and down["error"]["code"] == "unavailable"


@pytest.mark.parametrize("value", [0, 1, 2**40])
def test_check_version_takes_whole_numbers(value):
    assert check_version(value, "base") == value
    assert check_version(str(value), "since", text=True) == value


@pytest.mark.parametrize("value", [-1, True, False, 1.0, "1", None, [1], {"v": 1}])
def test_check_version_refuses_anything_else_in_json(value):
    with pytest.raises(CollabError) as exc:
        check_version(value, "base")
    assert exc.value.code == "bad_request"
    assert exc.value.message.startswith("base must be a whole number >= 0, got ")


@pytest.mark.parametrize("raw", ["", "x", "-1", "1.5", "1e3", "x" * 5000])
def test_check_version_refuses_other_text(raw):
    with pytest.raises(CollabError) as exc:
        check_version(raw, "to", text=True)
    assert exc.value.code == "bad_request" and exc.value.message.startswith("to must be a whole number >= 0, got ")
    assert len(exc.value.message) < 100  # the value is shown cut short


def test_check_version_minimum_is_for_counts():
    assert check_version("1", "limit", minimum=1, text=True) == 1
    with pytest.raises(CollabError, match="limit must be a whole number >= 1, got 0"):
        check_version(0, "limit", minimum=1)


def test_requests_name_the_document_one_way():
    assert wire.join_request("d", name="Ann") == {"doc": "d", "name": "Ann"}
    assert wire.join_request(view="tok", presence="delta") == {"view": "tok", "presence": "delta"}
    with pytest.raises(AssertionError):
        wire.join_request("d", view="tok")
    assert wire.patch_request("d", 0, "p", "op") == {"doc": "d", "base": 0, "patch": "p", "id": "op"}
    assert wire.sync_request("d", 3) == {"doc": "d", "since": 3}
    assert wire.seen("d", 3) == {"doc": "d", "version": 3}
