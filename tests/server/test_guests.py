"""With sign-in on, a signed-in person's entries (presence, cursors, revisions, blame) carry
their `account`, set by the server from the session, and a guest's never do: a guest who
calls themselves by a registered person's display name is not attributed to that account
(the pages then show them as "Ann (guest)")."""
from socketkit import events, patch

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery"


def test_a_guest_named_like_an_account_is_not_given_the_account(make_app, connect, doc_id):
    app = make_app(sign_in="local", sign_up=1, presence_interval=0.01)
    http = app.test_client()
    account = http.post("/api/signup", json={"email": "ann@example.org", "name": "Ann", "password": PASSWORD},
                        headers=ORIGIN).get_json()["account"]
    ann = connect(app, flask_test_client=http)
    assert ann.emit("join", {"doc": doc_id}, callback=True)["ok"]
    assert patch(ann, doc_id, 0, "", "Ann's.", "op-ann")["ok"]
    guest = connect(app)
    ack = guest.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    assert ack["ok"]
    # presence: the same name twice, one with the account, the guest's without
    entries = sorted((p["name"], p.get("account", "")) for p in ack["peers"])
    assert entries == [("Ann", ""), ("Ann", account["id"])]
    assert patch(guest, doc_id, 1, "Ann's.", "Ann's. Not Ann's.", "op-guest")["ok"]
    revs = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert [(r["author"], r.get("account")) for r in revs] == [("Ann", account["id"]), ("Ann", None)]
    spans = http.get(f"/api/docs/{doc_id}/blame").get_json()["spans"]
    assert [(s["author"], s.get("account")) for s in spans] == [("Ann", account["id"]), ("Ann", None)]
    # cursors say whose they are the same way
    ann.get_received()
    guest.get_received()
    guest.emit("cursor", {"doc": doc_id, "anchor": 1, "head": 1})
    ann.emit("cursor", {"doc": doc_id, "anchor": 2, "head": 2})
    (from_guest,) = events(ann, "cursor")
    (from_ann,) = events(guest, "cursor")
    assert from_guest["name"] == "Ann" and "account" not in from_guest
    assert from_ann["account"] == account["id"]


def test_without_sign_in_nobody_carries_an_account(app, connect, doc_id):
    c = connect(app)
    ack = c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    assert ack["peers"] == [{"id": ack["you"], "name": "Ann", "role": "editor", "version": 0}]  # as before accounts
