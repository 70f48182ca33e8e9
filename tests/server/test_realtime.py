"""In-process Socket.IO tests: every ack shape and every error code of wire contract v1."""
import json
import sqlite3

import pytest

from collab import create_app
from collab.core.ids import log_id
from collab.core.patches import make_patch, text_hash
from collab.service.observer import Observer, Observers, compose
from socketkit import events, patch


def join(client, doc, **extra):
    return client.emit("join", {"doc": doc, **extra}, callback=True)




def error_code(ack):
    assert ack["ok"] is False and set(ack["error"]) >= {"code", "message"}, ack
    return ack["error"]["code"]


def test_join_creates_the_document_and_answers_its_state(connect, doc_id):
    c = connect()
    ack = join(c, doc_id, name="Ann")
    assert ack["ok"] and ack["doc"] == doc_id and ack["version"] == 0 and ack["text"] == ""
    assert ack["role"] == "editor"
    assert [p["name"] for p in ack["peers"]] == ["Ann"] and ack["you"] == ack["peers"][0]["id"]


def test_patch_ack_and_broadcast_to_the_others_only(connect, doc_id):
    a, b = connect(), connect()
    join(a, doc_id, name="A")
    join(b, doc_id, name="B")
    a.get_received(), b.get_received()
    ack = patch(a, doc_id, 0, "", "hello 😀", "op-1")
    assert ack == {"ok": True, "version": 1, "hash": text_hash("hello 😀")}
    assert events(a, "revision") == []
    (rev,) = events(b, "revision")
    assert rev["doc"] == doc_id and rev["version"] == 1 and rev["author"] == "A" and rev["id"] == "op-1"
    assert rev["hash"] == text_hash("hello 😀") and isinstance(rev["ts"], float)
    assert rev["patch"] == make_patch("", "hello 😀")


def test_duplicate_op_is_answered_with_its_original_version(connect, doc_id):
    a = connect()
    join(a, doc_id)
    first = patch(a, doc_id, 0, "", "x", "same-op")
    patch(a, doc_id, 1, "x", "xy", "other-op")
    again = a.emit("patch", {"doc": doc_id, "base": 999, "patch": "garbage", "id": "same-op"}, callback=True)
    assert again["ok"] and again["duplicate"] is True and again["version"] == first["version"] == 1
    assert again["hash"] == text_hash("x")
    assert a.emit("sync", {"doc": doc_id, "since": 0}, callback=True)["version"] == 2


def test_duplicate_survives_a_restart(make_app, connect, doc_id):
    app1 = make_app()
    a = connect(app1)
    join(a, doc_id)
    assert patch(a, doc_id, 0, "", "x", "op-r")["version"] == 1
    app1.extensions["collab"].close()
    app2 = make_app()
    b = connect(app2)
    join(b, doc_id)
    again = patch(b, doc_id, 0, "", "x", "op-r")
    assert again["ok"] and again["duplicate"] and again["version"] == 1
    assert join(b, doc_id)["text"] == "x"


def test_stale_base_is_moved_and_the_ack_carries_the_canonical_patch(connect, doc_id):
    a, b = connect(), connect()
    join(a, doc_id)
    join(b, doc_id)
    base = "line\n" * 10
    patch(a, doc_id, 0, "", base, "p0")
    patch(a, doc_id, 1, base, "TOP\n" + base, "p1")
    ack = patch(b, doc_id, 1, base, base[:25] + "B" + base[25:], "p2")
    assert ack["ok"] and ack["version"] == 3
    expected = "TOP\n" + base[:25] + "B" + base[25:]
    assert ack["hash"] == text_hash(expected)
    assert ack["patch"] == make_patch("TOP\n" + base, expected)


def test_sync_pages_and_more(make_app, connect, doc_id):
    app = make_app(sync_limit=3)
    a = connect(app)
    join(a, doc_id)
    text = ""
    for i in range(5):
        patch(a, doc_id, i, text, text + str(i), f"op{i}")
        text += str(i)
    first = a.emit("sync", {"doc": doc_id, "since": 0}, callback=True)
    assert first["ok"] and first["version"] == 5 and first["more"] is True
    assert [r["version"] for r in first["revisions"]] == [1, 2, 3]
    rest = a.emit("sync", {"doc": doc_id, "since": 3}, callback=True)
    assert [r["version"] for r in rest["revisions"]] == [4, 5] and "more" not in rest
    assert a.emit("sync", {"doc": doc_id, "since": 5}, callback=True) == {"ok": True, "version": 5, "revisions": []}


def test_leave_then_writes_are_not_joined(connect, doc_id):
    a = connect()
    join(a, doc_id)
    assert a.emit("leave", {"doc": doc_id}, callback=True) == {"ok": True}
    assert error_code(patch(a, doc_id, 0, "", "x", "op")) == "not_joined"


def test_viewer_is_read_only_and_never_sees_the_edit_id(make_app, connect, doc_id):
    app = make_app(presence_interval=0.01)
    editor, viewer = connect(app), connect(app)
    join(editor, doc_id, name="Ed")
    token = app.extensions["collab"].open(doc_id).view_token
    ack = viewer.emit("join", {"view": token, "name": "Vi"}, callback=True)
    assert ack["ok"] and ack["role"] == "viewer" and ack["doc"] == token
    patch(editor, doc_id, 0, "", "secret-free text", "e1")
    assert error_code(viewer.emit("patch", {"doc": token, "base": 1, "patch": make_patch("secret-free text", "x"),
                                            "id": "v1"}, callback=True)) == "read_only"
    synced = viewer.emit("sync", {"doc": token, "since": 0}, callback=True)
    assert synced["revisions"][0]["doc"] == token
    app.extensions["socketio"].sleep(0.05)  # let the throttled presence update go out (its content is checked)
    frames = json.dumps([ack, synced, viewer.get_received()])
    assert "revision" in frames and "presence" in frames
    assert doc_id not in frames


def test_presence_and_seen(make_app, connect, doc_id):
    app = make_app(presence_interval=0.01)
    a, b = connect(app), connect(app)
    join(a, doc_id, name="A")
    join(b, doc_id, name="B")
    patch(a, doc_id, 0, "", "x", "s1")
    b.emit("seen", {"doc": doc_id, "version": 1})
    socketio = app.extensions["socketio"]
    for _ in range(100):  # wait for the throttled presence update
        socketio.sleep(0.01)
        seen = [p for m in events(a, "presence") for p in m["peers"] if p["name"] == "B" and p["version"] == 1]
        if seen:
            break
    assert seen
    b.disconnect()
    last = None
    for _ in range(100):  # the leave goes out at once, or at the end of the throttle interval
        last = (events(a, "presence") or [last])[-1]
        if last is not None and [p["name"] for p in last["peers"]] == ["A"]:
            break
        socketio.sleep(0.01)
    assert last is not None and [p["name"] for p in last["peers"]] == ["A"]


@pytest.mark.parametrize("payload,code", [
    ("not a dict", "bad_request"),
    ({"doc": "bad id!"}, "bad_doc"),
    ({"doc": "x" * 65}, "bad_doc"),
    ({"doc": 7}, "bad_doc"),
    ({"view": "nosuchtoken"}, "bad_doc"),
    ({"doc": "ok-id", "name": 42}, "bad_request"),
    ({"doc": "ok-id", "name": "x" * 65}, "bad_request"),
])
def test_join_errors(connect, payload, code):
    assert error_code(connect().emit("join", payload, callback=True)) == code


def test_patch_errors(make_app, connect, doc_id):
    app = make_app(max_patch_chars=2000, max_doc_chars=100)
    a = connect(app)
    join(a, doc_id)
    ok = patch(a, doc_id, 0, "", "hello world", "ok-1")
    assert ok["ok"]

    def send(**fields):
        msg = {"doc": doc_id, "base": 1, "patch": make_patch("hello world", "hello there"), "id": "e-op"}
        msg.update(fields)
        msg = {k: v for k, v in msg.items() if v is not ...}
        return error_code(a.emit("patch", msg, callback=True))

    assert send(id=...) == "bad_request"
    assert send(id="") == "bad_request"
    assert send(id=5) == "bad_request"
    assert send(base="1") == "bad_request"
    assert send(base=-1) == "bad_request"
    assert send(base=True) == "bad_request"
    assert send(doc="other-doc") == "not_joined"
    assert send(doc="bad id") == "bad_doc"
    assert send(patch="nonsense") == "bad_patch"
    assert send(patch=None) == "bad_patch"
    assert send(patch="") == "bad_patch"
    assert send(patch="@@ -0,0 +1,1 @@\n+%ED%A0%80\n") == "bad_patch"
    assert send(patch="@@ -0,2 +0,3 @@\n he\n+!\n") == "bad_patch"  # starts before the text (was internal)
    assert send(patch=make_patch("goodbye world", "goodbye there")) == "conflict"
    assert send(base=9) == "future_base"
    assert send(patch="@@ -1,1 +1,1 @@\n" + "+x\n" * 1000) == "too_large"
    assert send(patch=make_patch("hello world", "hello world" + "!" * 100)) == "too_large"
    conflict = a.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("goodbye world", "x"), "id": "c"},
                      callback=True)
    assert conflict["error"]["version"] == 1
    # nothing of the above changed anything
    assert join(a, doc_id)["version"] == 1 and join(a, doc_id)["text"] == "hello world"


def test_rate_limited(make_app, connect, doc_id):
    app = make_app(rate_limit=1, rate_burst=3)
    a = connect(app)
    answers = [join(a, doc_id) for _ in range(5)]
    limited = [x for x in answers if not x["ok"]]
    assert limited and all(error_code(x) == "rate_limited" and x["error"]["retry_after"] > 0 for x in limited)


def test_sync_errors(connect, doc_id):
    a = connect()
    assert error_code(a.emit("sync", {"doc": doc_id, "since": 0}, callback=True)) == "not_joined"
    join(a, doc_id)
    assert error_code(a.emit("sync", {"doc": doc_id}, callback=True)) == "bad_request"
    assert error_code(a.emit("sync", {"doc": doc_id, "since": 5}, callback=True)) == "future_base"
    assert error_code(a.emit("sync", {"doc": doc_id, "since": 0}, "extra", callback=True)) == "bad_request"


def test_failed_write_is_internal_and_changes_nothing(make_app, connect, doc_id, tmp_path):
    app = make_app(database_url=f"sqlite:///{tmp_path}/locked.db?timeout=0.1")
    a, b = connect(app), connect(app)
    join(a, doc_id)
    join(b, doc_id)
    assert patch(a, doc_id, 0, "", "one", "w1")["version"] == 1
    b.get_received()
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database: the write fails
    assert error_code(patch(a, doc_id, 1, "one", "one two", "w2")) == "internal"
    blocker.execute("ROLLBACK")
    assert events(b, "revision") == []
    assert join(a, doc_id)["version"] == 1
    again = patch(a, doc_id, 1, "one", "one two", "w2")  # the same op id goes through now
    assert again["ok"] and again["version"] == 2 and "duplicate" not in again


def _app_of_a_corrupt_document(make_app, connect, doc_id, tmp_path):
    """An app whose store holds `doc_id` with a revision that does not apply any more."""
    app1 = make_app()
    a = connect(app1)
    join(a, doc_id)
    patch(a, doc_id, 0, "", "fine text", "k1")
    app1.extensions["collab"].close()
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE revisions SET patch = '@@ -5,1 +5,1 @@\n-q\n+r\n' WHERE doc = ?", (doc_id,))
    return make_app()


def test_corrupt_document_is_reported_and_others_still_work(make_app, connect, doc_id, tmp_path):
    app2 = _app_of_a_corrupt_document(make_app, connect, doc_id, tmp_path)
    b = connect(app2)
    assert error_code(join(b, doc_id)) == "doc_corrupt"
    assert join(b, doc_id + "-other")["ok"]


def test_foreign_origins_are_refused(app):
    http = app.test_client()
    same = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"})
    assert same.status_code == 200
    foreign = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 400


def test_cursor_is_relayed_to_the_others(app, connect, doc_id):
    a, b, v = connect(), connect(), connect()
    ack = join(a, doc_id, name="A")
    join(b, doc_id, name="B")
    v.emit("join", {"view": ack["view"]}, callback=True)
    a.get_received(), b.get_received(), v.get_received()
    a.emit("cursor", {"doc": doc_id, "anchor": 0, "head": 0})
    a.emit("cursor", {"doc": doc_id, "anchor": -1, "head": "x"})  # dropped
    assert events(b, "cursor") == [{"doc": doc_id, "peer": ack["you"], "name": "A", "anchor": 0, "head": 0}]
    assert events(v, "cursor") == [{"doc": ack["view"], "peer": ack["you"], "name": "A", "anchor": 0, "head": 0}]
    assert events(a, "cursor") == []
    v.emit("cursor", {"doc": ack["view"], "anchor": 0, "head": 0})  # viewers have no cursor to share
    assert events(b, "cursor") == []


def test_connections_that_never_join_are_closed(make_app, connect, doc_id):
    app = make_app(join_timeout=0.05)
    idle, member = connect(app), connect(app)
    join(member, doc_id)
    socketio = app.extensions["socketio"]
    for _ in range(200):  # wait for the server's timer
        if not idle.is_connected():
            break
        socketio.sleep(0.01)
    assert not idle.is_connected()
    assert member.is_connected() and member.emit("sync", {"doc": doc_id, "since": 0}, callback=True)["ok"]


def received_revisions(received, doc):
    """(messages, revisions) received for doc: `revision` and `revisions` alike."""
    messages, revs = [], []
    for e in received:
        if e["name"] == "revision" and e["args"][0]["doc"] == doc:
            messages.append([e["args"][0]])
        elif e["name"] == "revisions" and e["args"][0]["doc"] == doc:
            messages.append(e["args"][0]["revisions"])
    for m in messages:
        revs.extend(m)
    return messages, revs


def test_revisions_committed_together_reach_each_client_as_one_message(connect, doc_id):
    """A busy document: patches of several authors made durable by one group commit go to
    every editor as one `revisions` message with everyone else's revisions (its own are
    acknowledged, never sent; the rest in runs of consecutive versions), and to viewers
    as one message with all of them, by view token."""
    import gevent

    a, b, c, v = connect(), connect(), connect(), connect()
    for name, client in zip("ABC", (a, b, c)):
        join(client, doc_id, name=name)
    token = join(a, doc_id)["view"]
    assert v.emit("join", {"view": token}, callback=True)["ok"]
    start = "0123456789"
    assert patch(a, doc_id, 0, "", start, "first")["version"] == 1
    for client in (a, b, c, v):
        client.get_received()

    acks = {}

    def send(name, client, pos):
        acks[name] = patch(client, doc_id, 1, start, start[:pos] + name + start[pos:], "op-" + name)

    # spawned together, all three are applied before the committer runs: one group commit
    gevent.joinall([gevent.spawn(send, name, client, pos) for name, client, pos in
                    (("A", a, 2), ("B", b, 5), ("C", c, 8))], raise_error=True)
    assert all(ack["ok"] for ack in acks.values()), acks
    versions = {name: ack["version"] for name, ack in acks.items()}
    assert sorted(versions.values()) == [2, 3, 4]
    final = a.emit("sync", {"doc": doc_id, "since": 1}, callback=True)["revisions"]
    assert [r["version"] for r in final] == [2, 3, 4]
    for name, client in (("A", a), ("B", b), ("C", c)):
        messages, revs = received_revisions(client.get_received(), doc_id)
        others = [r for r in final if r["id"] != "op-" + name]
        assert revs == others, name  # every other revision once, in order; never its own
        # one message per run of consecutive versions
        runs = 1 + sum(1 for x, y in zip(others, others[1:]) if y["version"] != x["version"] + 1)
        assert len(messages) == runs, (name, messages)
    seen_by_viewer = v.get_received()
    messages, revs = received_revisions(seen_by_viewer, token)
    assert len(messages) == 1 and [r["version"] for r in revs] == [2, 3, 4]
    assert doc_id not in json.dumps(seen_by_viewer)


HOOKS = [name for name in vars(Observer) if not name.startswith("_")]


class Recorder(Observer):
    """Records every hook it is called with, in order: (hook, its arguments)."""

    def __init__(self):
        self.calls = []


for _hook in HOOKS:
    setattr(Recorder, _hook, lambda self, *args, _hook=_hook: self.calls.append((_hook, args)))


def test_an_observer_sees_the_steps_of_one_patch_in_order(db_url, doc_id):
    """The hooks of collab/service/observer.py, from the handler's side and the service's:
    the patch reaches its handler, is parsed, applied, committed, stored, announced, and
    answered with the ack the client gets. Observers composed see the same calls."""
    first, second = Recorder(), Recorder()
    app = create_app({"database_url": db_url}, observer=compose(first, None, second))
    try:
        assert isinstance(app.extensions["collab.observer"], Observers)
        c = app.extensions["socketio"].test_client(app)
        join(c, doc_id)
        assert [name for name, _ in first.calls] == ["received", "answered"]
        first.calls.clear()
        second.calls.clear()
        ack = patch(c, doc_id, 0, "", "hi", "op-seen")
        assert ack["ok"] and ack["version"] == 1
        names = [name for name, _ in first.calls]
        assert names == ["received", "parsed", "revised", "committing", "stored", "announced", "answered"]
        calls = dict(first.calls)
        assert calls["received"] == ("patch", "op-seen")
        assert calls["parsed"] == calls["revised"] == ("op-seen",)
        for step in ("committing", "stored", "announced"):
            (revisions,) = calls[step]
            assert [(r.version, r.op_id) for r in revisions] == [(1, "op-seen")]
        assert calls["answered"] == ("patch", "op-seen", ack)
        assert second.calls == first.calls
        first.calls.clear()
        refused = patch(c, doc_id + "-other", 0, "", "x", "op-refused")
        assert error_code(refused) == "not_joined"
        assert first.calls == [("received", ("patch", "op-refused")), ("answered", ("patch", "op-refused", refused))]
    finally:
        app.extensions["collab"].close()


def test_no_observer_is_none_everywhere(app):
    """Without an instrument every hook's caller holds None (one `is not None` check)."""
    assert compose(None, None) is None
    assert app.extensions["collab.observer"] is None
    assert app.extensions["collab"].observer is None


def test_logs_name_documents_by_hash_even_in_tracebacks(make_app, connect, doc_id, tmp_path, caplog):
    """A corrupt history and an unexpected failure are logged for the operator, with the
    document as its log_id: not in the line, not in the error's message, not in the
    traceback (an exception's message often quotes the key it failed on)."""
    app2 = _app_of_a_corrupt_document(make_app, connect, doc_id, tmp_path)
    service = app2.extensions["collab"]
    b = connect(app2)
    other = doc_id + "-other"

    def broken_refresh(state, force=False):  # a bug of ours, as it would show: a KeyError on the id
        raise KeyError(state.id)

    with caplog.at_level("INFO", logger="collab"):
        assert error_code(join(b, doc_id)) == "doc_corrupt"
        service.refresh = broken_refresh
        assert error_code(join(b, other)) == "internal"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "corrupt" in logged and "Traceback" in logged and "KeyError" in logged
    assert doc_id not in logged and other not in logged
    assert log_id(doc_id) in logged and log_id(other) in logged
