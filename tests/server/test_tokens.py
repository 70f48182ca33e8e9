"""Personal access tokens (COLLAB_SIGN_IN=local): made, listed and revoked by their person,
`Authorization: Bearer` as that person on HTTP and on the Socket.IO handshake, and every
wrong one refused (401 bad_token, WWW-Authenticate), never taken for a guest."""
import hashlib
import subprocess
import sys

import time

import pytest

from collab.service.accounts import TOKEN_PREFIX
from socketkit import patch
from test_accounts import wait_until

ORIGIN = {"Origin": "http://localhost"}
EVIL = {"Origin": "https://evil.example"}
PASSWORD = "correct horse battery"


@pytest.fixture
def signin_app(make_app):
    return make_app(sign_in="local", sign_up=1, sign_in_burst=3, sign_in_rate=0.001, session_check=0.1)


def browser(app, email="ann@example.org", name="Ann"):
    """A test client signed in (by sign-up) as a new account."""
    http = app.test_client()
    assert http.post("/api/signup", json={"email": email, "name": name, "password": PASSWORD},
                     headers=ORIGIN).status_code == 201
    return http


def make_token(http, name="ci", **fields):
    r = http.post("/api/me/tokens", json={"name": name, **fields}, headers=ORIGIN)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def refused(r, why=None):
    """A 401 bad_token with its challenge; `why` in its message."""
    body = r.get_json()
    assert r.status_code == 401 and body["error"]["code"] == "bad_token", (r.status_code, body)
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="collab", error="invalid_token"'), challenge
    if why is not None:
        assert why in body["error"]["message"], body
    return body


# -- making, listing, revoking -------------------------------------------------------------


def test_a_token_is_shown_once_stored_as_its_hash_and_signs_its_person_in(signin_app, doc_id):
    http = browser(signin_app)
    made = make_token(http, "nightly backup", expires_days=30)
    secret = made["token"]
    assert secret.startswith(TOKEN_PREFIX) and made["name"] == "nightly backup" and made["id"].startswith("t_")
    assert made["expires"] == pytest.approx(made["created"] + 30 * 86_400)
    listed = http.get("/api/me/tokens").get_json()["tokens"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0] and listed[0]["last_used"] is None
    # the database holds the SHA-256 of the secret, never the secret
    store = signin_app.extensions["collab"].store
    (row,) = store.accounts.tokens()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(store.accounts._read("SELECT * FROM tokens", ()))
    # a client without any cookie is Ann with the token
    api = signin_app.test_client()
    assert api.get("/api/me", headers=bearer(secret)).get_json()["account"]["name"] == "Ann"
    assert api.put(f"/api/docs/{doc_id}/text", json={"text": "x"}, headers=bearer(secret)).status_code == 404
    assert api.post("/api/docs", json={"doc": doc_id, "text": "hi", "name": "Mallory"},
                    headers=bearer(secret)).status_code == 201
    (rev,) = api.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Ann"
    assert rev["account"] == http.get("/api/me").get_json()["account"]["id"]
    # last use recorded (coarsely: once, not per request)
    used = http.get("/api/me/tokens").get_json()["tokens"][0]["last_used"]
    assert used is not None
    api.get("/api/me", headers=bearer(secret))
    assert http.get("/api/me/tokens").get_json()["tokens"][0]["last_used"] == used


def test_a_revoked_token_is_refused_at_once(signin_app):
    http = browser(signin_app)
    made = make_token(http)
    assert http.delete(f"/api/me/tokens/{made['id']}", headers=ORIGIN).get_json() == {"id": made["id"], "revoked": True}
    refused(signin_app.test_client().get("/api/me", headers=bearer(made["token"])), "revoked")
    assert http.get("/api/me/tokens").get_json()["tokens"] == []
    again = http.delete(f"/api/me/tokens/{made['id']}", headers=ORIGIN)
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"


def test_one_person_cannot_list_or_revoke_anothers_tokens(signin_app):
    ann, bo = browser(signin_app), browser(signin_app, "bo@example.org", "Bo")
    made = make_token(ann)
    assert bo.get("/api/me/tokens").get_json()["tokens"] == []
    assert bo.delete(f"/api/me/tokens/{made['id']}", headers=ORIGIN).status_code == 404
    assert signin_app.test_client().get("/api/me", headers=bearer(made["token"])).get_json()["account"]["name"] == "Ann"


def test_an_expired_token_is_refused_saying_so(signin_app):
    http = browser(signin_app)
    made = make_token(http, "short", expires_days=1)
    accounts = signin_app.extensions["collab.accounts"]
    real = accounts.clock
    accounts.clock = lambda: real() + 2 * 86_400
    refused(signin_app.test_client().get("/api/me", headers=bearer(made["token"])), "expired")
    assert http.get("/api/me/tokens").get_json()["tokens"][0]["expired"] is True


def test_the_token_of_a_disabled_account_is_refused(signin_app):
    made = make_token(browser(signin_app))
    signin_app.extensions["collab.accounts"].disable("ann@example.org")  # `collab user disable`
    refused(signin_app.test_client().get("/api/me", headers=bearer(made["token"])), "disabled")


@pytest.mark.parametrize("fields", [{}, {"name": ""}, {"name": "   "}, {"name": None}, {"name": 5}, {"name": ["x"]}, {"name": "x" * 65}, {"name": "ci", "expires_days": 0},
                                    {"name": "ci", "expires_days": -1}, {"name": "ci", "expires_days": "7"},
                                    {"name": "ci", "expires_days": True}, {"name": "ci", "expires_days": 10 ** 9}])
def test_a_token_asked_for_wrongly_is_400_and_none_is_made(signin_app, fields):
    http = browser(signin_app)
    r = http.post("/api/me/tokens", json=fields, headers=ORIGIN)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    assert http.get("/api/me/tokens").get_json()["tokens"] == []


def test_tokens_need_a_signed_in_browser_and_a_token_cannot_make_tokens(signin_app):
    guest = signin_app.test_client()
    for r in (guest.get("/api/me/tokens"), guest.post("/api/me/tokens", json={"name": "x"}, headers=ORIGIN)):
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign_in_required"
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="collab"'
    http = browser(signin_app)
    made = make_token(http)
    r = signin_app.test_client().post("/api/me/tokens", json={"name": "successor"}, headers=bearer(made["token"]))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert len(http.get("/api/me/tokens").get_json()["tokens"]) == 1
    # a token may list its person's tokens and revoke itself (a leaked one, by whoever finds it)
    api = signin_app.test_client()
    assert len(api.get("/api/me/tokens", headers=bearer(made["token"])).get_json()["tokens"]) == 1
    assert api.delete(f"/api/me/tokens/{made['id']}", headers=bearer(made["token"])).status_code == 200
    refused(api.get("/api/me", headers=bearer(made["token"])))


def test_a_token_signs_nobody_in_or_out(signin_app):
    http = browser(signin_app)
    made = make_token(http)
    api = signin_app.test_client()
    for path in ("/api/signin", "/api/signout", "/signout"):
        r = api.post(path, json={"email": "ann@example.org", "password": PASSWORD}, headers=bearer(made["token"]))
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request", path
    assert api.get_cookie("collab_session") is None


def test_sign_in_off_reads_no_authorization_header(app, doc_id):
    """The default, unchanged: no accounts, so no tokens; a proxy's header is not ours."""
    http = app.test_client()
    for header in ("Bearer whatever", "Basic YTpi", "Bearer"):
        r = http.post("/api/docs", json={"doc": f"{doc_id}-{len(header)}"}, headers={"Authorization": header})
        assert r.status_code == 201, header
    r = http.post("/api/docs", json={}, headers={**EVIL, "Authorization": "Bearer x"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"  # the Origin check, as before


# -- bad input ------------------------------------------------------------------------------


MALFORMED = ["Bearer", "Bearer ", "bearer    ", "Bearer a b", "Bearer " + "a" * 257, "Bearer " + "x" * 65_536,
             "Bearer a\tb", "Bearer " + TOKEN_PREFIX + "é" * 43, "Bearer %00", "Bearer ===", "Bearer {}"]


@pytest.mark.parametrize("header", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_bearer_header_is_401_never_a_guest(make_app, header, doc_id):
    app = make_app(sign_in="local", sign_in_burst=1_000)
    http = app.test_client()
    http.post("/api/docs", json={"doc": doc_id})
    for r in (http.get(f"/api/docs/{doc_id}", headers={"Authorization": header}),
              http.put(f"/api/docs/{doc_id}/text", json={"text": "guest?"}, headers={"Authorization": header}),
              http.get("/api/me", headers={"Authorization": header})):
        refused(r)
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == ""  # nothing was written


def test_an_unknown_token_and_other_schemes(signin_app, doc_id):
    http = signin_app.test_client()
    refused(http.get("/api/me", headers=bearer(TOKEN_PREFIX + "A" * 43)), "revoked, or never existed")
    # another scheme is a proxy's (nginx auth_basic passes it on): read as no token at all
    r = http.get("/api/me", headers={"Authorization": "Basic YW5uOnB3"})
    assert r.status_code == 200 and r.get_json()["account"] is None
    # a huge header of another scheme costs no lookup and is no one
    assert http.get("/api/me", headers={"Authorization": "Basic " + "A" * 65_536}).get_json()["account"] is None


def test_a_bearer_request_is_its_tokens_person_whatever_cookie_it_brings(signin_app):
    ann = browser(signin_app)
    bo = browser(signin_app, "bo@example.org", "Bo")
    bos = make_token(bo)
    assert ann.get("/api/me", headers=bearer(bos["token"])).get_json()["account"]["name"] == "Bo"
    # a wrong token with Ann's cookie is refused, not Ann
    refused(ann.get("/api/me", headers=bearer(TOKEN_PREFIX + "B" * 43)))
    assert ann.get("/api/me").get_json()["account"]["name"] == "Ann"


def test_wrong_tokens_are_throttled_per_address(signin_app):
    made = make_token(browser(signin_app))
    http = signin_app.test_client()
    for _ in range(3):  # the burst
        refused(http.get("/api/me", headers=bearer(TOKEN_PREFIX + "C" * 43)))
    r = http.get("/api/me", headers=bearer(made["token"]))  # the right one waits too, from this address
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited" and "Retry-After" in r.headers
    other = http.get("/api/me", headers=bearer(made["token"]), environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other.get_json()["account"]["name"] == "Ann"


# -- the Origin check ---------------------------------------------------------------------------


def test_a_bearer_write_passes_the_origin_check_a_cookie_write_does_not(signin_app, doc_id):
    http = browser(signin_app)
    made = make_token(http)
    # the cookie is ambient: a write from another origin riding it is refused
    r = http.post("/api/docs", json={"doc": doc_id}, headers=EVIL)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = http.post("/api/me/tokens", json={"name": "stolen"}, headers=EVIL)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    # a Bearer request carries its own credential: its origin does not matter
    r = signin_app.test_client().post("/api/docs", json={"doc": doc_id}, headers={**EVIL, **bearer(made["token"])})
    assert r.status_code == 201
    # and a wrong Bearer from another origin is refused before any route: not a guest's write
    r = signin_app.test_client().put(f"/api/docs/{doc_id}/text", json={"text": "forged"},
                                     headers={**EVIL, "Authorization": "Bearer nonsense"})
    refused(r)
    r = http.put(f"/api/docs/{doc_id}/text", json={"text": "forged"}, headers={**EVIL, "Authorization": "Bearer x"})
    refused(r)
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == ""


# -- sockets --------------------------------------------------------------------------------


def test_a_socket_with_a_token_is_its_person_and_a_wrong_one_is_refused(signin_app, connect, doc_id):
    made = make_token(browser(signin_app))
    s = connect(signin_app, headers=bearer(made["token"]))
    ack = s.emit("join", {"doc": doc_id, "name": "Mallory"}, callback=True)
    assert [p["name"] for p in ack["peers"]] == ["Ann"]
    assert patch(s, doc_id, 0, "", "by token", "op-t")["ok"]
    (rev,) = signin_app.test_client().get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Ann" and rev["account"].startswith("u_")
    for header in ("Bearer " + TOKEN_PREFIX + "D" * 43, "Bearer", "Bearer a b"):
        wrong = connect(signin_app, headers={"Authorization": header})
        assert not wrong.is_connected(), header


def test_revoking_a_token_ends_its_sockets(signin_app, connect, doc_id):
    http = browser(signin_app)
    made, other = make_token(http, "a"), make_token(http, "b")
    s, t = connect(signin_app, headers=bearer(made["token"])), connect(signin_app, headers=bearer(other["token"]))
    for c in (s, t):
        assert c.emit("join", {"doc": doc_id}, callback=True)["ok"]
    http.delete(f"/api/me/tokens/{made['id']}", headers=ORIGIN)
    assert not s.is_connected() and t.is_connected()


def test_a_token_revoked_elsewhere_ends_its_sockets_at_the_next_session_check(signin_app, connect, doc_id):
    http = browser(signin_app)
    made = make_token(http)
    s = connect(signin_app, headers=bearer(made["token"]))
    assert s.emit("join", {"doc": doc_id}, callback=True)["ok"]
    # what the session check asks: a live token counts as a live session (its socket stays)
    store = signin_app.extensions["collab"].store
    digest = hashlib.sha256(made["token"].encode()).hexdigest()
    assert store.accounts.live_sessions([digest], time.time()) == {digest}
    # as `collab user token revoke` does, in another process: only the database changes
    from collab.service.accounts import AccountService

    accounts = AccountService(signin_app.extensions["collab"].store.accounts)
    accounts.revoke_token(accounts.find("ann@example.org"), made["id"])
    assert wait_until(lambda: not s.is_connected())


# -- the command line -------------------------------------------------------------------------


def collab(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "collab.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_collab_user_token_add_list_revoke(signin_app, db_url):
    browser(signin_app)
    made = collab("user", "token", "add", "ann@example.org", "--name", "backup", "--expires-days", "7",
                  "--database", db_url)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith(TOKEN_PREFIX) and "\n" not in secret and "shown this once" in made.stderr
    assert signin_app.test_client().get("/api/me", headers=bearer(secret)).get_json()["account"]["name"] == "Ann"
    listed = collab("user", "token", "list", "ann@example.org", "--database", db_url)
    assert listed.returncode == 0 and "backup" in listed.stdout and secret not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert token_id.startswith("t_")
    revoked = collab("user", "token", "revoke", "ann@example.org", token_id, "--database", db_url)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    refused(signin_app.test_client().get("/api/me", headers=bearer(secret)))
    wrong = collab("user", "token", "revoke", "ann@example.org", token_id, "--database", db_url)
    assert wrong.returncode == 1 and "no token" in wrong.stderr
    nobody = collab("user", "token", "add", "nobody@example.org", "--name", "x", "--database", db_url)
    assert nobody.returncode == 1 and "no account" in nobody.stderr


def test_a_password_reset_revokes_the_accounts_tokens(signin_app):
    """reset-password is what an admin does for an account someone else may hold: a token
    that someone made kept full access (found from outside)."""
    made = make_token(browser(signin_app))
    assert signin_app.test_client().get("/api/me", headers=bearer(made["token"])).status_code == 200
    signin_app.extensions["collab.accounts"].set_password("ann@example.org", "a brand new password")
    refused(signin_app.test_client().get("/api/me", headers=bearer(made["token"])))


def test_a_token_revokes_itself_only(signin_app):
    """A leaked token could revoke every other token of its person (any Origin: a Bearer
    request passes that check): now only itself; a signed-in browser revokes any."""
    http = browser(signin_app)
    one, two = make_token(http, "one"), make_token(http, "two")
    other = signin_app.test_client()
    r = other.delete(f"/api/me/tokens/{two['id']}", headers={**bearer(one["token"]), "Origin": "http://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert other.get("/api/me", headers=bearer(two["token"])).status_code == 200  # still works
    assert other.delete(f"/api/me/tokens/{one['id']}", headers=bearer(one["token"])).status_code == 200
    refused(other.get("/api/me", headers=bearer(one["token"])))
    assert http.delete(f"/api/me/tokens/{two['id']}", headers=ORIGIN).status_code == 200
