"""Dump format 4 carries the accounts (COLLAB_SIGN_IN): users with their password hashes and
access tokens by their hashes, so that people sign in and scripts keep working on a restored
or copied server; sessions are never carried. A database without accounts dumps as format 3,
as before. Bad account records are refused before anything is written."""
from __future__ import annotations

import copy
import secrets
import time

import pytest

from collab.cli import main as collab_main
from collab.service.accounts import AccountService
from collab.storage import open_store
from test_dump import dump_text, lines_of, records_of

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    return f"sqlite:///{tmp_path}/target.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def peopled(make_app, tmp_path):
    """A SQLite database with two accounts (one disabled), Ann's access token, her session,
    and a document she wrote while signed in. (url, Ann's token secret)"""
    url = f"sqlite:///{tmp_path}/people.db"
    app = make_app(database_url=url, sign_in="local", sign_up=1)
    http = app.test_client()
    assert http.post("/api/signup", json={"email": "Ann@Example.org", "name": "Ann", "password": PASSWORD},
                     headers={"Origin": "http://localhost"}).status_code == 201
    secret = http.post("/api/me/tokens", json={"name": "backup", "expires_days": 30},
                       headers={"Origin": "http://localhost"}).get_json()["token"]
    assert http.post("/api/docs", json={"doc": "people-a", "text": "by Ann"}, headers={"Origin": "http://localhost"}).status_code == 201
    accounts = app.extensions["collab.accounts"]
    accounts.add("bo@example.org", "Bo", PASSWORD)
    accounts.disable("bo@example.org")
    app.extensions["collab"].close()
    return url, secret


def load(tmp_path, capsys, recs, target):
    path = tmp_path / f"in-{secrets.token_hex(4)}.jsonl"
    path.write_text(lines_of(recs), encoding="utf-8")
    code = collab_main(["load", "--database", target, str(path)])
    return code, capsys.readouterr()


def test_accounts_and_tokens_go_round_sqlite_and_postgresql_and_sessions_do_not(peopled, target, tmp_path, capsys):
    url, secret = peopled
    recs = records_of(url)
    assert recs[0]["collab_dump"] == 4
    kinds = [next(iter(r)) for r in recs]
    assert kinds[-4:] == ["user", "user", "token", "end"]
    assert recs[-1]["end"]["users"] == 2 and recs[-1]["end"]["tokens"] == 1
    assert all(r["user"]["password"].startswith("$argon2id$") for r in recs if "user" in r)
    assert secret not in dump_text(url)  # the token's hash only
    code, out = load(tmp_path, capsys, recs, target)
    assert code == 0, out.err
    assert dump_text(target) == dump_text(url)  # and back: the same, byte for byte
    store = open_store(target)
    try:
        accounts = AccountService(store.accounts)
        # Ann signs in with her password, her script with its token; Bo stays disabled
        assert accounts.authenticate("ann@example.org", PASSWORD).name == "Ann"
        assert accounts.token_user(secret).email == "Ann@Example.org"
        assert store.accounts.user_by_email("bo@example.org").disabled
        (rev,) = store.revisions("people-a", 0, 10)
        assert rev.account == store.accounts.user_by_email("ann@example.org").id
        # no session came along: nobody is signed in on the copy
        assert store.accounts._read("SELECT COUNT(*) FROM sessions", ()) == [(0,)]
    finally:
        store.close()


def test_a_database_without_accounts_dumps_as_format_3(make_app, tmp_path):
    url = f"sqlite:///{tmp_path}/plain.db"
    app = make_app(database_url=url)
    app.test_client().post("/api/docs", json={"doc": "plain", "text": "x"})
    app.extensions["collab"].close()
    recs = records_of(url)
    assert recs[0]["collab_dump"] == 3 and set(recs[-1]["end"]) == {"documents", "revisions", "tombstones", "images"}


def edited(recs, kind, **changes):
    out = copy.deepcopy(recs)
    body = next(r[kind] for r in out if kind in r)
    body.update(changes)
    return out


@pytest.mark.parametrize(("kind", "changes", "message"), [
    ("user", {"password": PASSWORD}, "must be a password hash"),
    ("user", {"email": "nobody"}, "is not an address"),
    ("user", {"name": " "}, "display name"),
    ("user", {"disabled": 0}, "'disabled' must be true or false"),
    ("user", {"id": ""}, "user id '' is not valid"),
    ("user", {"created": "yesterday"}, "'created' must be a number"),
    ("token", {"token_hash": "collab_pat_plain"}, "token_hash must be a SHA-256"),
    ("token", {"user_id": "u_nobody"}, "who is not in the dump before it"),
    ("token", {"expires": "never"}, "'expires' must be a number"),
    ("token", {"name": "x" * 65}, "name"),
])
def test_bad_account_records_are_refused_before_anything_is_written(peopled, tmp_path, capsys, kind, changes, message):
    target = f"sqlite:///{tmp_path}/t-{secrets.token_hex(4)}.db"
    code, out = load(tmp_path, capsys, edited(records_of(peopled[0]), kind, **changes), target)
    assert code == 1 and message in out.err, out.err
    store = open_store(target)
    try:
        assert list(store.document_ids()) == [] and store.accounts.users() == []
    finally:
        store.close()


def test_accounts_that_clash_are_refused(peopled, tmp_path, capsys):
    recs = records_of(peopled[0])
    users = [i for i, r in enumerate(recs) if "user" in r]
    twice = copy.deepcopy(recs)
    twice[users[1]]["user"]["email"] = "ANN@example.org"
    code, out = load(tmp_path, capsys, twice, f"sqlite:///{tmp_path}/t1.db")
    assert code == 1 and "appears twice" in out.err
    # an account of the target with the same email: refused, nothing written
    target = f"sqlite:///{tmp_path}/t2.db"
    store = open_store(target)
    AccountService(store.accounts).add("ann@example.org", "Other Ann", PASSWORD)
    store.close()
    code, out = load(tmp_path, capsys, recs, target)
    assert code == 1 and "exists in the target database" in out.err
    # accounts in an older format, or before the tombstones, are refused
    old = copy.deepcopy(recs)
    old[0]["collab_dump"] = 3
    code, out = load(tmp_path, capsys, old, f"sqlite:///{tmp_path}/t3.db")
    assert code == 1 and "accounts came with format 4" in out.err
    moved = copy.deepcopy(recs)
    moved.insert(users[0] + 1, {"tombstone": {"name": "late", "reason": "deleted", "ts": time.time()}})
    moved[-1]["end"]["tombstones"] += 1
    code, out = load(tmp_path, capsys, moved, f"sqlite:///{tmp_path}/t4.db")
    assert code == 1 and "a tombstone after the accounts" in out.err
    uncounted = copy.deepcopy(recs)
    del uncounted[-1]["end"]["users"]
    code, out = load(tmp_path, capsys, uncounted, f"sqlite:///{tmp_path}/t5.db")
    assert code == 1 and "the end record says" in out.err


def test_a_dump_of_some_documents_carries_no_accounts(peopled, tmp_path):
    out = tmp_path / "some.jsonl"
    assert collab_main(["dump", "--database", peopled[0], "-o", str(out), "people-a"]) == 0
    text = out.read_text(encoding="utf-8")
    assert '"user"' not in text and text.startswith('{"collab_dump":3')


def test_identities_of_other_sign_ins_go_round_with_the_keys_their_accounts_are_found_by(peopled, target, tmp_path,
                                                                                          capsys):
    """OpenID Connect and proxy sign-ins (migration 8): an account made for an identity has no
    password ("!external") and, without a free verified email, a key of its issuer and subject;
    both come back as they were, so the person is the same account after a restore."""
    url, _ = peopled
    store = open_store(url)
    try:
        accounts = AccountService(store.accounts)
        cy = accounts.identity_user("https://id.example", "sub-Cy", email="cy@example.org", name="Cy")  # unverified
        dee = accounts.identity_user("proxy", "dee", email="dee@example.org", email_verified=True)
        keys = store.accounts.user_keys()
    finally:
        store.close()
    recs = records_of(url)
    identities = [r["identity"] for r in recs if "identity" in r]
    assert sorted((i["issuer"], i["subject"]) for i in identities) == [("https://id.example", "sub-Cy"), ("proxy", "dee")]
    users = {r["user"]["id"]: r["user"] for r in recs if "user" in r}
    assert users[cy.id]["email_key"] == "https://id.example sub-Cy" and "email_key" not in users[dee.id]
    assert users[cy.id]["password"].startswith("!")
    assert recs[-1]["end"]["identities"] == 2
    code, out = load(tmp_path, capsys, recs, target)
    assert code == 0, out.err
    assert dump_text(target) == dump_text(url)
    loaded = open_store(target)
    try:
        assert loaded.accounts.user_by_identity("https://id.example", "sub-Cy").id == cy.id
        assert loaded.accounts.user_by_identity("proxy", "dee").id == dee.id
        assert loaded.accounts.user_keys() == keys
        # the same person signing in again is the same account, not a new one
        assert AccountService(loaded.accounts).identity_user("https://id.example", "sub-Cy").id == cy.id
    finally:
        loaded.close()
    orphan = copy.deepcopy(recs)
    next(r for r in orphan if "identity" in r)["identity"]["user_id"] = "u_nobody"
    code, out = load(tmp_path, capsys, orphan, f"sqlite:///{tmp_path}/orphan.db")
    assert code == 1 and "who is not in the dump before it" in out.err
