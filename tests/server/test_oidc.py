"""OpenID Connect sign-in (COLLAB_SIGN_IN=oidc) against a real OpenID provider on 127.0.0.1
(tests/oidckit.py): the whole redirect dance with a real HTTP client at the provider, this
server's own calls to it (discovery, token, JWKS) over HTTP, and each way it can go wrong:
refused at the provider, a bad or used state, a replayed code, an id token for another
audience, expired, of another nonce or issuer, the provider down. None of them signs anyone in."""
import socket
import time
from urllib.parse import urlsplit

import pytest

from collab.server.accounts import COOKIE, TOKEN
from oidckit import query, run_provider
from socketkit import patch
from test_accounts import token  # the session token a browser's cookie holds

CLIENT = "collab-test"


@pytest.fixture
def provider():
    yield from run_provider()


@pytest.fixture
def oidc_app(make_app, provider):
    return make_app(sign_in="oidc", oidc_issuer=provider.issuer, oidc_client_id=CLIENT,
                    oidc_client_secret="s3cret", session_check=0.1)


def start(http, next_path="/d/abc"):
    """GET /sign-in/oidc: the provider's authorization URL this server sends the browser to."""
    r = http.get(f"/sign-in/oidc?next={next_path}")
    assert r.status_code == 302, r.data[:300]
    return r.headers["Location"]


def back(http, callback_url):
    """The browser arriving at this server's callback."""
    parts = urlsplit(callback_url)
    assert parts.path == "/sign-in/oidc/callback", callback_url
    return http.get(f"{parts.path}?{parts.query}")


def sign_in(http, provider, sub):
    r = back(http, provider.authorize(start(http), sub))
    assert r.status_code == 303, r.data[:500]
    return r


def me(http):
    return http.get("/api/me").get_json()["account"]


def refused(r, status, words):
    """A page that says what went wrong (never a 500), and nobody signed in."""
    assert r.status_code == status, (r.status_code, r.data[:500])
    assert r.mimetype == "text/html" and words.encode() in r.data, r.data[:800]


# -- the flow -------------------------------------------------------------------------


def test_the_authorization_request_has_state_nonce_and_pkce(oidc_app, provider):
    url = start(oidc_app.test_client())
    q = query(url)
    assert q["response_type"] == "code" and q["client_id"] == CLIENT
    assert q["scope"].split() == ["openid", "email", "profile"]
    assert q["redirect_uri"] == "http://localhost/sign-in/oidc/callback"
    assert len(q["state"]) >= 20 and len(q["nonce"]) >= 20
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43  # base64url of a SHA-256
    assert query(start(oidc_app.test_client()))["state"] != q["state"]  # a new one for every sign-in


def test_the_pkce_challenge_is_the_s256_of_a_verifier_kept_for_the_callback(oidc_app, provider):
    import base64
    import hashlib

    http = oidc_app.test_client()
    q = query(start(http))
    with oidc_app.test_request_context(headers={"Cookie": f"{COOKIE}={http.get_cookie(COOKIE).value}"}):
        from flask import session

        kept = session[f"_state_oidc_{q['state']}"]["data"]  # (Authlib's place for it)
    verifier = kept["code_verifier"]
    assert len(verifier) >= 43 and kept["nonce"] == q["nonce"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == q["code_challenge"]


def test_a_person_signs_in_and_is_known_by_issuer_and_subject_not_email(oidc_app, provider):
    provider.set_user("alice-sub", email="alice@example.org", email_verified=True, name="Alice Liddell")
    http = oidc_app.test_client()
    r = sign_in(http, provider, "alice-sub")
    assert r.headers["Location"] == "/d/abc"  # where the sign-in started
    account = me(http)
    assert account["name"] == "Alice Liddell" and account["email"] == "alice@example.org"
    cookie = http.get_cookie(COOKIE)
    assert cookie.http_only and cookie.same_site == "Lax"
    store = oidc_app.extensions["collab"].store
    user = store.accounts.user_by_identity(provider.issuer, "alice-sub")
    assert user.id == account["id"] and store.accounts.identities(user.id) == [(provider.issuer, "alice-sub")]
    assert store.accounts.user_by_email("alice@example.org").id == user.id  # a verified email finds the account
    # no password signs in as such an account, and local sign-in is off in this mode
    accounts = oidc_app.extensions["collab.accounts"]
    assert not accounts._verify(user.password, "") and not accounts._verify(user.password, user.password)
    r = http.post("/api/signin", json={"email": "alice@example.org", "password": "x" * 10},
                  headers={"Origin": "http://localhost"})
    assert r.status_code == 404 and "OpenID Connect" in r.get_json()["error"]["message"]

    # signing in again (another browser) is the same account, in a new session
    other = oidc_app.test_client()
    sign_in(other, provider, "alice-sub")
    assert me(other)["id"] == account["id"]
    assert token(oidc_app, other) != token(oidc_app, http)

    # another subject claiming the same email is another person, and takes nothing of Alice's
    provider.set_user("mallory", email="alice@example.org", email_verified=True, name="Mallory")
    evil = oidc_app.test_client()
    sign_in(evil, provider, "mallory")
    assert me(evil)["id"] != account["id"] and me(evil)["name"] == "Mallory"
    assert store.accounts.user_by_email("alice@example.org").id == user.id


def test_an_unverified_email_is_shown_but_finds_no_account(oidc_app, provider):
    provider.set_user("bob-sub", email="bob@example.org", name="Bob")  # no email_verified
    http = oidc_app.test_client()
    sign_in(http, provider, "bob-sub")
    assert me(http)["email"] == "bob@example.org"
    assert oidc_app.extensions["collab"].store.accounts.user_by_email("bob@example.org") is None


def test_every_sign_in_gets_a_new_session_token_whatever_the_cookie_held(oidc_app, provider):
    attacker = oidc_app.test_client()
    sign_in(attacker, provider, "eve")
    planted = attacker.get_cookie(COOKIE).value
    victim = oidc_app.test_client()
    victim.set_cookie(COOKIE, planted, domain="localhost")
    provider.set_user("victim", name="Victim")
    sign_in(victim, provider, "victim")
    assert me(victim)["name"] == "Victim" and victim.get_cookie(COOKIE).value != planted
    assert me(attacker) is None  # the planted session was ended


def test_an_oidc_person_edits_and_their_revisions_carry_the_account(oidc_app, provider, connect, doc_id):
    provider.set_user("carol", name="Carol")
    http = oidc_app.test_client()
    sign_in(http, provider, "carol")
    account = me(http)
    s = connect(oidc_app, flask_test_client=http)
    ack = s.emit("join", {"doc": doc_id, "name": "Somebody else"}, callback=True)
    assert [p["name"] for p in ack["peers"]] == ["Carol"]
    assert patch(s, doc_id, 0, "", "by Carol", "op-1")["ok"]
    (rev,) = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Carol" and rev["account"] == account["id"]
    # sign-out ends that session's socket, as for every sign-in
    assert http.post("/api/signout", headers={"Origin": "http://localhost"}).status_code == 200
    assert not s.is_connected() and me(http) is None


def test_the_sign_in_link_of_the_pages_goes_to_the_provider(oidc_app, provider):
    r = oidc_app.test_client().get("/signin?next=/d/xyz")
    assert r.status_code == 303 and r.headers["Location"] == "/sign-in/oidc?next=/d/xyz"
    assert oidc_app.test_client().get("/api/me").get_json() == {"sign_in": "oidc", "sign_up": False, "account": None}


def test_next_goes_back_only_to_this_site(oidc_app, provider):
    http = oidc_app.test_client()
    r = back(http, provider.authorize(start(http, "//evil.example/x"), "dan"))
    assert r.status_code == 303 and r.headers["Location"] == "/"
    # a tab the browser drops made "/\t/example.net" a redirect to //example.net (found from outside)
    r = back(http, provider.authorize(start(http, "/\t/example.net/session-expired"), "dan"))
    assert r.status_code == 303 and r.headers["Location"] == "/"


# -- what goes wrong ----------------------------------------------------------------------


def test_access_denied_at_the_provider_gives_a_page_and_signs_nobody_in(oidc_app, provider):
    http = oidc_app.test_client()
    url = provider.authorize(start(http), deny=True)
    assert query(url)["error"] == "access_denied"
    refused(back(http, url), 403, "did not sign you in (access_denied)")
    assert me(http) is None


def test_a_bad_or_missing_state_is_refused(oidc_app, provider):
    http = oidc_app.test_client()
    url = provider.authorize(start(http), "erin")
    good = query(url)
    refused(http.get(f"/sign-in/oidc/callback?code={good['code']}&state=forged"), 400, "was not started here")
    refused(http.get(f"/sign-in/oidc/callback?code={good['code']}"), 400, "was not started here")
    assert me(http) is None
    # a callback reaching a browser that never started a sign-in (login CSRF): refused
    refused(back(oidc_app.test_client(), url), 400, "was not started here")


def test_a_callback_is_good_once_and_a_replayed_code_signs_nobody_in(oidc_app, provider):
    http = oidc_app.test_client()
    url = provider.authorize(start(http), "fay")
    assert back(http, url).status_code == 303 and me(http)["name"] == "fay"
    # the same callback again, in the same browser: its state was used
    again = oidc_app.test_client()
    again.set_cookie(COOKIE, http.get_cookie(COOKIE).value, domain="localhost")
    refused(back(http, url), 400, "was not started here")
    # the code with a fresh state of the attacker's own: the provider refuses the used code
    attacker = oidc_app.test_client()
    state = query(start(attacker))["state"]
    refused(attacker.get(f"/sign-in/oidc/callback?code={query(url)['code']}&state={state}"), 400,
            "refused this sign-in (invalid_grant)")
    assert me(attacker) is None


def test_a_code_issued_to_another_client_is_refused(oidc_app, provider):
    """The attacker signs in at the provider through another client (site) and hands the code over."""
    http = oidc_app.test_client()
    state = query(start(http))["state"]
    theirs = start(oidc_app.test_client()).replace(f"client_id={CLIENT}", "client_id=other-site")
    code = query(provider.authorize(theirs, "gus"))["code"]
    refused(http.get(f"/sign-in/oidc/callback?code={code}&state={state}"), 400, "refused this sign-in")
    assert me(http) is None


@pytest.mark.parametrize("claims", [
    {"aud": "another-client"},  # an id token for another audience
    {"aud": "another-client", "azp": CLIENT},  # ... even naming this client as the party it is for
    {"exp": int(time.time()) - 3600},  # expired an hour ago
    {"nonce": "not-the-nonce-we-sent"},  # replayed from another sign-in
    {"iss": "http://127.0.0.1:1"},  # from another issuer
], ids=["audience", "audience-azp", "expired", "nonce", "issuer"])
def test_an_id_token_not_for_this_sign_in_is_refused(oidc_app, provider, claims):
    provider.set_user("hal", name="Hal", **claims)  # the provider signs these over the standard claims
    http = oidc_app.test_client()
    refused(back(http, provider.authorize(start(http), "hal")), 400, "could not be verified")
    assert me(http) is None
    assert oidc_app.extensions["collab"].store.accounts.user_by_identity(provider.issuer, "hal") is None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_provider_that_is_down_gives_a_page_not_a_500(make_app):
    app = make_app(sign_in="oidc", oidc_issuer=f"http://127.0.0.1:{free_port()}", oidc_client_id=CLIENT)
    http = app.test_client()
    refused(http.get("/sign-in/oidc?next=/d/x"), 502, "cannot be reached")
    refused(http.get("/sign-in/oidc/callback?code=x&state=y"), 502, "cannot be reached")
    assert http.get_cookie(COOKIE) is None or me(http) is None


def test_an_id_token_signed_by_another_key_is_refused(oidc_app, provider):
    """Another provider (its own signing key) issues a token that says it is this issuer's, for
    this client, with this sign-in's nonce: only the signature gives it away."""
    gen = run_provider()
    other = next(gen)
    try:
        other.set_user("ivan", name="Ivan", iss=provider.issuer)
        http = oidc_app.test_client()
        url = start(http)  # discovery read from the configured provider, its keys with it
        client = oidc_app.extensions["collab.oidc"]
        client.server_metadata["token_endpoint"] = other.issuer + "/oauth2/token"  # the code goes to the other
        callback = other.authorize(url.replace(provider.issuer, other.issuer), "ivan")
        refused(back(http, callback), 400, "could not be verified")
        assert me(http) is None
    finally:
        gen.close()


def test_sign_in_by_oidc_is_404_in_the_other_modes(app, make_app):
    assert app.test_client().get("/sign-in/oidc").status_code == 404
    local = make_app(sign_in="local")
    assert local.test_client().get("/sign-in/oidc/callback?code=x&state=y").status_code == 404


@pytest.mark.parametrize("settings, words", [
    ({}, "needs COLLAB_OIDC_ISSUER"),
    ({"oidc_issuer": "https://id.example.org"}, "needs COLLAB_OIDC_CLIENT_ID"),
    ({"oidc_issuer": "http://id.example.org", "oidc_client_id": "c"}, "must be https"),
    ({"oidc_issuer": "id.example.org", "oidc_client_id": "c"}, "issuer URL"),
    ({"oidc_issuer": "https://id.example.org?x=1", "oidc_client_id": "c"}, "no query"),
    ({"oidc_issuer": "https://id.example.org", "oidc_client_id": "c", "oidc_scopes": "email"}, "include openid"),
])
def test_settings_are_checked_at_start(settings, words):
    from collab.core.config import ConfigError, Settings

    with pytest.raises(ConfigError, match=words):
        Settings.from_env({}, sign_in="oidc", **settings)
    Settings.from_env({}, sign_in="oidc", oidc_issuer="http://localhost:8080/realms/x", oidc_client_id="c")


def test_a_disabled_account_cannot_sign_in_by_the_provider(oidc_app, provider):
    provider.set_user("ike", name="Ike", email="ike@example.org", email_verified=True)
    http = oidc_app.test_client()
    sign_in(http, provider, "ike")
    # what `collab user disable ike@example.org` does: the account's sessions end with it
    oidc_app.extensions["collab.accounts"].disable("ike@example.org")
    assert me(http) is None
    again = oidc_app.test_client()
    refused(back(again, provider.authorize(start(again), "ike")), 403, "disabled")
    assert me(again) is None


@pytest.fixture
def bad_provider():
    """An HTTP server on 127.0.0.1 whose discovery document is whatever the test puts in `body`."""
    import threading

    import werkzeug.serving

    served = {"body": b""}

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [served["body"]]

    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    served["issuer"] = f"http://127.0.0.1:{server.server_port}"
    yield served
    server.shutdown()
    server.server_close()


ENDPOINTS = '"authorization_endpoint": "%(issuer)s/a", "token_endpoint": "%(issuer)s/t", "jwks_uri": "%(issuer)s/k"'


@pytest.mark.parametrize("body", ["<html>a login page</html>", "[1, 2]", '{"issuer": "%(issuer)s"}',
                                  '{"issuer": "https://evil.example", ' + ENDPOINTS + '}'],
                         ids=["not-json", "not-an-object", "no-endpoints", "another-issuer"])
def test_a_broken_discovery_document_gives_a_page(make_app, bad_provider, body):
    bad_provider["body"] = (body % bad_provider).encode()
    app = make_app(sign_in="oidc", oidc_issuer=bad_provider["issuer"], oidc_client_id=CLIENT)
    refused(app.test_client().get("/sign-in/oidc"), 502, "cannot be reached")
