"""Local accounts (COLLAB_SIGN_IN=local): sign-up, sign-in, sign-out, the session cookie,
throttling, and the identity the server gives a signed-in person's sockets and revisions."""
import time

import gevent
import pytest
from argon2 import PasswordHasher

from collab.server.accounts import COOKIE, TOKEN
from socketkit import events, patch

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse battery"


@pytest.fixture
def signin_app(make_app):
    return make_app(sign_in="local", sign_up=1, sign_in_burst=3, sign_in_rate=0.001, session_check=0.1)


@pytest.fixture
def http(signin_app):
    return signin_app.test_client()


def sign_up(http, email="ann@example.org", name="Ann", password=PASSWORD):
    return http.post("/api/signup", json={"email": email, "name": name, "password": password}, headers=ORIGIN)


def sign_in(http, email="ann@example.org", password=PASSWORD):
    return http.post("/api/signin", json={"email": email, "password": password}, headers=ORIGIN)


def token(app, http):
    """The session token the browser's cookie holds (None: no session)."""
    cookie = http.get_cookie(COOKIE)
    if cookie is None:
        return None
    with app.test_request_context(headers={"Cookie": f"{COOKIE}={cookie.value}"}):
        from flask import session

        return session.get(TOKEN)


def wait_until(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        gevent.sleep(0.05)  # the session watch runs on the event loop
    return predicate()


# -- the default -----------------------------------------------------------------------


def test_without_settings_there_is_no_sign_in_and_no_cookie(app):
    http = app.test_client()
    me = http.get("/api/me")
    assert me.get_json() == {"sign_in": "", "sign_up": False, "account": None}
    assert http.post("/api/signin", json={"email": "a@b.c", "password": PASSWORD}, headers=ORIGIN).status_code == 404
    assert http.get("/signin").status_code == 404
    assert http.get_cookie(COOKIE) is None and http.get_cookie("session") is None


# -- sign-up, sign-in, sign-out ----------------------------------------------------------


def test_sign_up_signs_in_and_me_names_the_account(signin_app, http):
    r = sign_up(http)
    assert r.status_code == 201
    account = r.get_json()["account"]
    assert account["name"] == "Ann" and account["email"] == "ann@example.org" and account["id"].startswith("u_")
    assert http.get("/api/me").get_json()["account"] == account
    cookie = http.get_cookie(COOKIE)
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure  # plain http here
    # the database keeps a hash of the token, never the token
    store = signin_app.extensions["collab"].store
    assert store.accounts.session_user(token(signin_app, http), time.time()) is None


def test_the_cookie_is_secure_when_the_request_came_by_https(signin_app):
    http = signin_app.test_client()
    r = http.post("/api/signup", json={"email": "s@example.org", "password": PASSWORD},
                  base_url="https://localhost", headers={"Origin": "https://localhost"})
    assert r.status_code == 201
    assert http.get_cookie(COOKIE, domain="localhost").secure


def test_emails_are_one_account_whatever_their_case(http):
    assert sign_up(http).status_code == 201
    again = sign_up(http.application.test_client(), email="ANN@Example.org")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert sign_in(http.application.test_client(), email="Ann@EXAMPLE.org").status_code == 200


def test_sign_up_off_leaves_account_making_to_the_admin(make_app):
    app = make_app(sign_in="local")
    http = app.test_client()
    r = sign_up(http)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert http.get("/signup", headers={"Accept": "text/html"}).status_code == 403
    assert http.get("/api/me").get_json() == {"sign_in": "local", "sign_up": False, "account": None}
    accounts = app.extensions["collab.accounts"]
    accounts.add("bo@example.org", "Bo", PASSWORD)  # what `collab user add` does
    assert sign_in(http, "bo@example.org").get_json()["account"]["name"] == "Bo"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer_and_the_same_work(signin_app, http):
    sign_up(http)
    accounts = signin_app.extensions["collab.accounts"]
    verified = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            verified.append(hash)
            return super().verify(hash, password)

    accounts.hasher = Counting()
    wrong = sign_in(signin_app.test_client(), password="not the password")
    unknown = sign_in(signin_app.test_client(), email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "bad_credentials"
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)  # a dummy hash for nobody


def test_failed_sign_ins_are_throttled_per_account_and_per_address(signin_app, http):
    sign_up(http)
    for _ in range(3):  # the burst
        assert sign_in(signin_app.test_client(), password="wrong password").status_code == 401
    # the right password now waits too: the account is throttled, from any address
    r = signin_app.test_client().post("/api/signin", json={"email": "ann@example.org", "password": PASSWORD},
                                      headers=ORIGIN, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited" and "Retry-After" in r.headers
    # and this address is throttled for every account
    r = sign_in(signin_app.test_client(), email="other@example.org")
    assert r.status_code == 429


def test_a_strangers_failures_do_not_lock_out_a_browser_that_signed_in_before(signin_app, http):
    """One wrong password every 20 s for someone's email kept them out for good, from any
    address (found from outside). A browser that signed in to the account before carries a
    signed device cookie: the account's bucket does not apply to it (its address's still
    does); any other browser, and a forged cookie, still waits."""
    sign_up(http)
    assert sign_in(http).status_code == 200  # Ann's own browser, once: it is known now
    device = http.get_cookie("collab_device")
    assert device is not None and device.http_only and device.same_site == "Lax"
    for _ in range(3):  # a stranger elsewhere spends the account's burst
        stranger = signin_app.test_client()
        stranger.environ_base["REMOTE_ADDR"] = "203.0.113.66"
        assert sign_in(stranger, password="wrong password").status_code == 401
    http.environ_base["REMOTE_ADDR"] = "10.0.0.9"  # Ann, on her laptop elsewhere
    assert sign_in(http).status_code == 200
    new_browser = signin_app.test_client()
    new_browser.environ_base["REMOTE_ADDR"] = "10.0.0.10"
    assert sign_in(new_browser).status_code == 429  # unknown browsers still wait
    forged = signin_app.test_client()
    forged.environ_base["REMOTE_ADDR"] = "10.0.0.11"
    forged.set_cookie("collab_device", device.value[:-3] + "abc")
    assert sign_in(forged).status_code == 429
    other = signin_app.test_client()  # a cookie of another account is no key to this one
    sign_up(other, email="bo@example.org", name="Bo")
    assert sign_in(other, email="bo@example.org").status_code == 200
    other.environ_base["REMOTE_ADDR"] = "10.0.0.12"
    assert sign_in(other).status_code == 429


def test_sign_in_gives_a_new_session_each_time_and_ends_the_one_before(signin_app, http):
    sign_up(http)
    first = token(signin_app, http)
    assert sign_in(http).status_code == 200
    second = token(signin_app, http)
    assert first and second and first != second
    accounts = signin_app.extensions["collab.accounts"]
    assert accounts.session_user(first) is None and accounts.session_user(second).name == "Ann"


def test_a_planted_session_cookie_is_replaced_at_sign_in(signin_app):
    attacker = signin_app.test_client()
    sign_up(attacker, email="eve@example.org", name="Eve")
    planted = attacker.get_cookie(COOKIE).value
    victim = signin_app.test_client()
    sign_up(signin_app.test_client())  # Ann's account
    victim.set_cookie(COOKIE, planted, domain="localhost")
    assert sign_in(victim).get_json()["account"]["name"] == "Ann"
    assert victim.get_cookie(COOKIE).value != planted
    # and the planted session is ended: the attacker's own browser holds nothing any more
    assert attacker.get("/api/me").get_json()["account"] is None


def test_a_foreign_origin_may_not_sign_in_up_or_out(signin_app, http):
    sign_up(http)
    evil = {"Origin": "https://evil.example"}
    for path in ("/api/signin", "/api/signup", "/api/signout", "/signin", "/signout"):
        r = http.post(path, json={"email": "ann@example.org", "password": PASSWORD}, headers=evil)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden", path
    assert http.get("/api/me").get_json()["account"]["name"] == "Ann"  # still signed in


def test_the_sign_in_form_signs_in_and_goes_back_only_to_this_site(signin_app, http):
    sign_up(signin_app.test_client())
    page = http.get("/signin?next=/d/abc")
    assert page.status_code == 200 and b'name="password"' in page.data and b'value="/d/abc"' in page.data
    r = http.post("/signin", data={"email": "ann@example.org", "password": PASSWORD, "next": "/d/abc"}, headers=ORIGIN)
    assert r.status_code == 303 and r.headers["Location"] == "/d/abc"
    # never another site: browsers drop tabs and newlines inside a URL, "/\t/evil" is "//evil";
    # a newline was a 500 after the session was made (found from outside)
    for evil in ("//evil.example/x", "/\t/evil.example", "/\n/evil.example", "\t//evil.example", "/\\evil.example",
                 "/\r\nSet-Cookie: x=1", "https://evil.example", "/%09/ok-escaped", "/d/caf\u00e9"):
        r = http.post("/signin", data={"email": "ann@example.org", "password": PASSWORD, "next": evil}, headers=ORIGIN)
        assert r.status_code == 303, (evil, r.status_code)
        assert r.headers["Location"] in ("/", evil) and not r.headers["Location"].startswith("//"), evil
        assert r.headers["Location"] == ("/%09/ok-escaped" if evil == "/%09/ok-escaped" else "/"), evil
    bad = http.post("/signin", data={"email": "ann@example.org", "password": "wrong password"}, headers=ORIGIN)
    assert bad.status_code == 401 and b"do not match" in bad.data


# -- sockets and identity ------------------------------------------------------------------


def signed_in_socket(signin_app, connect, http):
    return connect(signin_app, flask_test_client=http)


def test_a_signed_in_author_is_set_by_the_server_and_a_forged_name_is_ignored(signin_app, connect, http, doc_id):
    sign_up(http)
    account = http.get("/api/me").get_json()["account"]
    ann = signed_in_socket(signin_app, connect, http)
    ack = ann.emit("join", {"doc": doc_id, "name": "Bo"}, callback=True)
    assert [p["name"] for p in ack["peers"]] == ["Ann"]
    assert patch(ann, doc_id, 0, "", "hello", "op-1")["ok"]
    guest = connect(signin_app)
    guest.emit("join", {"doc": doc_id, "name": "Bo"}, callback=True)
    guest.get_received()
    assert patch(guest, doc_id, 1, "hello", "hello world", "op-2")["ok"]
    revisions = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert [(r["author"], r.get("account")) for r in revisions] == [("Ann", account["id"]), ("Bo", None)]
    assert "account" not in revisions[1]  # a guest's revision is as before accounts
    spans = http.get(f"/api/docs/{doc_id}/blame").get_json()["spans"]
    assert [(s["author"], s.get("account")) for s in spans] == [("Ann", account["id"]), ("Bo", None)]
    # the others are told who wrote it, with the account
    (seen,) = [m for m in events(ann, "revision") if m["version"] == 2] or [None]
    assert seen["author"] == "Bo" and "account" not in seen


def test_an_http_write_by_a_signed_in_person_carries_their_account(signin_app, http, doc_id):
    sign_up(http)
    r = http.post("/api/docs", json={"doc": doc_id, "text": "hi", "name": "Mallory"}, headers=ORIGIN)
    assert r.status_code == 201
    (rev,) = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Ann" and rev["account"].startswith("u_")


def test_sign_out_ends_every_socket_of_that_session_only(signin_app, connect, http, doc_id):
    sign_up(http)
    a, b = signed_in_socket(signin_app, connect, http), signed_in_socket(signin_app, connect, http)
    other = signin_app.test_client()
    sign_up(other, email="bo@example.org", name="Bo")
    c = signed_in_socket(signin_app, connect, other)
    for s in (a, b, c):
        assert s.emit("join", {"doc": doc_id}, callback=True)["ok"]
    assert http.post("/api/signout", headers=ORIGIN).get_json() == {"account": None}
    assert not a.is_connected() and not b.is_connected() and c.is_connected()
    assert http.get("/api/me").get_json()["account"] is None
    # connecting again, the browser is a guest
    guest = signed_in_socket(signin_app, connect, http)
    ack = guest.emit("join", {"doc": doc_id, "name": "Guest"}, callback=True)
    assert "Guest" in [p["name"] for p in ack["peers"]]


def test_a_password_reset_elsewhere_ends_the_sockets_of_the_account(signin_app, connect, http, doc_id):
    sign_up(http)
    s = signed_in_socket(signin_app, connect, http)
    assert s.emit("join", {"doc": doc_id}, callback=True)["ok"]
    # as `collab user reset-password` does, in another process: only the database changes
    from collab.service.accounts import AccountService

    AccountService(signin_app.extensions["collab"].store.accounts).set_password("ann@example.org", "a new password")
    assert wait_until(lambda: not s.is_connected())
    assert http.get("/api/me").get_json()["account"] is None
    assert sign_in(signin_app.test_client(), password="a new password").status_code == 200


def test_a_guest_connects_when_sign_in_is_on(signin_app, connect, doc_id):
    guest = connect(signin_app)
    ack = guest.emit("join", {"doc": doc_id, "name": "Cy"}, callback=True)
    assert ack["ok"] and [p["name"] for p in ack["peers"]] == ["Cy"]


def test_the_sign_in_form_says_when_to_retry_after_too_many_failures(signin_app, http):
    for _ in range(3):
        http.post("/signin", data={"email": "ann@example.org", "password": "wrong password"}, headers=ORIGIN)
    r = http.post("/signin", data={"email": "ann@example.org", "password": "wrong password"}, headers=ORIGIN)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and b"too many failed sign-ins" in r.data


def test_a_socket_whose_session_cannot_be_looked_up_is_refused_not_made_a_guest(signin_app, connect, http):
    sign_up(http)
    signin_app.extensions["collab"].store._reader.close()  # the database stops answering reads
    s = connect(signin_app, flask_test_client=http)
    assert not s.is_connected()


def test_revert_tells_a_signed_in_person_from_a_guest_of_the_same_name(signin_app, connect, http, doc_id):
    """Revert by `account` takes out exactly that person's text (whatever name they had);
    by `author`, a guest's of that name (no account). Before, both went by display name:
    a guest calling themselves Ann was reverted along with Ann's account, and the other way round."""
    sign_up(http)
    account = http.get("/api/me").get_json()["account"]["id"]
    ann = signed_in_socket(signin_app, connect, http)
    assert ann.emit("join", {"doc": doc_id, "name": "ignored"}, callback=True)["ok"]
    assert patch(ann, doc_id, 0, "", "by the account. ", "a1")["ok"]
    guest = connect(signin_app)
    assert guest.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)["ok"]  # Ann's display name, as a guest
    assert patch(guest, doc_id, 1, "by the account. ", "by the account. by the guest.", "g1")["ok"]
    other = signin_app.test_client()
    as_account = other.get(f"/api/docs/{doc_id}/revert", query_string={"account": account, "since": 0}).get_json()
    as_guest = other.get(f"/api/docs/{doc_id}/revert", query_string={"author": "Ann", "since": 0}).get_json()
    assert as_account["text"] == "by the guest."
    assert as_guest["text"] == "by the account. "
    for bad in ({"account": "", "since": 0}, {"account": "u_1 OR 1", "since": 0}, {"since": 0},
                {"account": account, "author": "Ann", "since": 0}):  # both: which one? (it went by the account)
        r = other.get(f"/api/docs/{doc_id}/revert", query_string=bad)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    r = other.post(f"/api/docs/{doc_id}/revert", json={"account": account, "since": 0, "name": "Reverter"}, headers=ORIGIN)
    assert r.status_code == 201, r.get_json()
    assert other.get(f"/api/docs/{doc_id}").get_json()["text"] == "by the guest."
