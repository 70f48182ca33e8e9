"""Sign-in by a trusted reverse proxy's header (COLLAB_SIGN_IN=proxy): honoured from the
COLLAB_TRUSTED_PROXIES only, ignored (and logged once) from anyone else, refused when it is
there but is not one plain value (a second header, spaces, too long), and the same person on
the Socket.IO handshake, in the same session model as every sign-in."""
import logging

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from collab.core.config import ConfigError, Settings
from collab.server.accounts import COOKIE
from collab.server.guard import TrustedProxies, TrustedProxyFix, client_address
from socketkit import patch
from tests.server.test_accounts import wait_until

ORIGIN = {"Origin": "http://localhost"}
PROXY = "127.0.0.1"  # the Flask test client's peer address: here, the proxy
STRANGER = "10.9.9.9"
PAT = {"X-Forwarded-Email": "Pat@Example.org", "X-Forwarded-Preferred-Username": "Pat Proxy"}


@pytest.fixture
def proxy_app(make_app):
    return make_app(sign_in="proxy", trusted_proxies=f"{PROXY}/32,::1", proxy_sign_out_url="/oauth2/sign_out",
                    session_check=0.1)


def client(app, address=PROXY):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    return http


def me(http, headers=PAT):
    return http.get("/api/me", headers=headers)


def test_the_header_of_a_trusted_proxy_signs_the_person_in(proxy_app):
    http = client(proxy_app)
    account = me(http).get_json()["account"]
    assert account["email"] == "pat@example.org" and account["name"] == "Pat Proxy"
    store = proxy_app.extensions["collab"].store
    assert store.accounts.user_by_identity("proxy", "pat@example.org").id == account["id"]
    # one session for as long as the proxy names the same person: not one per request
    first = http.get_cookie(COOKIE).value
    assert me(http).get_json()["account"]["id"] == account["id"] and http.get_cookie(COOKIE).value == first
    # the proxy names the same person however it spells the email
    other = client(proxy_app)
    assert me(other, {"X-Forwarded-Email": "pat@example.ORG"}).get_json()["account"]["id"] == account["id"]
    # no header from the proxy: a guest, whatever the cookie holds (the proxy is the authority)
    assert me(http, {}).get_json()["account"] is None


def test_another_person_named_by_the_proxy_gets_a_new_session(proxy_app):
    http = client(proxy_app)
    pat = me(http).get_json()["account"]
    first = http.get_cookie(COOKIE).value
    sam = me(http, {"X-Forwarded-Email": "sam@example.org"}).get_json()["account"]
    assert sam["id"] != pat["id"] and sam["name"] == "sam"
    assert http.get_cookie(COOKIE).value != first
    accounts = proxy_app.extensions["collab.accounts"]
    with proxy_app.test_request_context(headers={"Cookie": f"{COOKIE}={first}"}):
        from flask import session

        assert accounts.session_user(session.get("t")) is None  # the previous session was ended


def test_the_header_from_anyone_else_is_ignored_and_logged_once(proxy_app, caplog):
    stranger = client(proxy_app, STRANGER)
    with caplog.at_level(logging.WARNING, logger="collab.proxyauth"):
        for _ in range(3):
            assert me(stranger).get_json()["account"] is None
    assert stranger.get_cookie(COOKIE) is None
    logged = [r for r in caplog.records if r.name == "collab.proxyauth"]
    assert len(logged) == 1 and STRANGER in logged[0].getMessage() and "X-Forwarded-Email" in logged[0].getMessage()
    assert proxy_app.extensions["collab"].store.accounts.user_by_identity("proxy", "pat@example.org") is None


@pytest.mark.parametrize("value", [
    "eve@example.org, pat@example.org",  # a second header line: the WSGI server joins them with a comma
    "pat@example.org pat",
    "",
    "a" * 255,
    "pat\x07@example.org",
], ids=["two-values", "space", "empty", "too-long", "control"])
def test_a_malformed_header_from_the_proxy_is_refused(proxy_app, value):
    http = client(proxy_app)
    r = me(http, {"X-Forwarded-Email": value})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    assert "X-Forwarded-Email" in r.get_json()["error"]["message"]
    page = http.get("/", headers={"X-Forwarded-Email": value})
    assert page.status_code == 400 and page.mimetype == "text/html" and b"Sign-in refused" in page.data
    assert http.get_cookie(COOKIE) is None


def test_a_second_header_line_is_refused_not_read_as_either(proxy_app):
    http = client(proxy_app)
    r = http.get("/api/me", headers=[("X-Forwarded-Email", "eve@example.org"), ("X-Forwarded-Email", "pat@example.org")])
    assert r.status_code == 400 and http.get_cookie(COOKIE) is None
    accounts = proxy_app.extensions["collab"].store.accounts
    assert accounts.user_by_identity("proxy", "eve@example.org") is None
    assert accounts.user_by_identity("proxy", "pat@example.org") is None


def test_the_socket_is_the_person_of_the_handshake_headers(proxy_app, connect, doc_id):
    http = client(proxy_app)
    assert http.get("/api/me", headers=PAT).status_code == 200  # a first request (the page) starts the session
    account = me(http).get_json()["account"]
    s = connect(proxy_app, flask_test_client=http, headers=PAT)
    ack = s.emit("join", {"doc": doc_id, "name": "Forged"}, callback=True)
    assert [p["name"] for p in ack["peers"]] == ["Pat Proxy"]
    assert patch(s, doc_id, 0, "", "by Pat", "op-1")["ok"]
    (rev,) = http.get(f"/api/docs/{doc_id}/revisions").get_json()["revisions"]
    assert rev["author"] == "Pat Proxy" and rev["account"] == account["id"]
    # sign-out ends the session's sockets and sends the browser to the proxy's sign-out
    out = http.post("/api/signout", headers={**ORIGIN, **PAT})
    assert out.get_json() == {"account": None, "next": "/oauth2/sign_out"}
    assert not s.is_connected()
    assert http.post("/signout", headers={**ORIGIN, **PAT}).headers["Location"] == "/oauth2/sign_out"


def test_a_socket_without_a_trusted_header_is_a_guest_and_a_malformed_one_is_refused(proxy_app, connect, doc_id):
    stranger = client(proxy_app, STRANGER)
    s = connect(proxy_app, flask_test_client=stranger, headers=PAT)
    ack = s.emit("join", {"doc": doc_id, "name": "Guest"}, callback=True)
    assert [p["name"] for p in ack["peers"]] == ["Guest"]
    bad = connect(proxy_app, flask_test_client=client(proxy_app), headers={"X-Forwarded-Email": "a@b.c, d@e.f"})
    assert not bad.is_connected()
    # a client of the proxy without a cookie (no page loaded first) is still the person named
    bare = connect(proxy_app, flask_test_client=client(proxy_app), headers=PAT)
    ack = bare.emit("join", {"doc": doc_id, "name": "Forged"}, callback=True)
    assert "Pat Proxy" in [p["name"] for p in ack["peers"]]


def test_no_password_and_no_form_in_proxy_mode(proxy_app):
    http = client(proxy_app)
    assert http.post("/api/signin", json={"email": "pat@example.org", "password": "x" * 12},
                     headers=ORIGIN).status_code == 404
    assert http.get("/signin").status_code == 404 and b"proxy" in http.get("/signin").data


def test_without_sign_in_the_header_means_nothing(make_app):
    app = make_app()
    r = client(app).get("/api/me", headers=PAT)
    assert r.get_json()["account"] is None and client(app).get_cookie(COOKIE) is None


@pytest.mark.parametrize("settings, words", [
    ({}, "needs COLLAB_TRUSTED_PROXIES"),
    ({"trusted_proxies": "0.0.0.0/0"}, "from anyone"),
    ({"trusted_proxies": "::/0"}, "from anyone"),
    ({"trusted_proxies": "10.0.0.300"}, "COLLAB_TRUSTED_PROXIES must be"),
    ({"trusted_proxies": "10.0.0.1", "proxy_user_header": "X Email"}, "COLLAB_PROXY_USER_HEADER must be"),
    ({"trusted_proxies": "10.0.0.1", "proxy_sign_out_url": "javascript:x"}, "COLLAB_PROXY_SIGN_OUT_URL"),
])
def test_proxy_settings_are_checked_at_start(settings, words):
    with pytest.raises(ConfigError, match=words):
        Settings.from_env({}, sign_in="proxy", **settings)
    Settings.from_env({}, sign_in="proxy", trusted_proxies="10.0.0.0/24", proxy_name_header="")


# -- one notion of a trusted proxy: X-Forwarded-* too ------------------------------------------


def seen_by_app(trusted, peer, headers):
    """What the app behind TrustedProxyFix(ProxyFix) takes as the client's address and scheme."""
    seen = {}

    def app(environ, start_response):
        seen.update(address=client_address(environ), scheme=environ["wsgi.url_scheme"])
        start_response("200 OK", [])
        return [b""]

    fixed = TrustedProxyFix(app, ProxyFix(app, x_for=1, x_proto=1, x_host=1),
                            TrustedProxies(Settings(trusted_proxies=trusted).trusted_networks))
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "HTTP_HOST": "localhost", "REQUEST_METHOD": "GET",
               **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}}
    fixed(environ, lambda *a: None)
    return seen


def test_forwarded_headers_count_only_from_a_trusted_proxy():
    forged = {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}
    assert seen_by_app("10.0.0.0/24", "10.0.0.7", forged) == {"address": "1.2.3.4", "scheme": "https"}
    assert seen_by_app("10.0.0.0/24", "203.0.113.9", forged) == {"address": "203.0.113.9", "scheme": "http"}
    assert seen_by_app("::1", "::ffff:10.0.0.7", forged)["address"] == "10.0.0.7"  # untrusted, as it is


def test_forwarded_headers_from_this_machine_when_no_proxy_is_listed(make_app):
    """COLLAB_PROXY_HOPS alone believes an nginx on this machine (127.0.0.0/8, ::1), no other
    peer (tests/server/test_hostile_http.py: a forged X-Forwarded-For from elsewhere)."""
    http = make_app(proxy_hops=1, lookup_burst=1, lookup_rate=0.001).test_client()
    for local in ("127.0.0.1", "127.0.0.2", "::1"):
        http.environ_base["REMOTE_ADDR"] = local
        codes = [http.get(f"/api/docs/nope-{local}-{i}", headers={"X-Forwarded-For": f"192.0.2.{i}{len(local)}"}).status_code
                 for i in range(3)]
        assert codes == [404] * 3, local  # each forwarded client its own bucket


def test_a_disabled_account_named_by_the_proxy_is_refused(proxy_app, connect):
    http = client(proxy_app)
    assert me(http).status_code == 200
    proxy_app.extensions["collab.accounts"].disable("pat@example.org")  # `collab user disable`
    r = me(http)
    assert r.status_code == 403 and "disabled" in r.get_json()["error"]["message"]
    assert not connect(proxy_app, flask_test_client=client(proxy_app), headers=PAT).is_connected()


def test_a_socket_signed_in_by_the_header_alone_ends_when_its_account_is_disabled(proxy_app, connect, doc_id):
    """A client without the session cookie (a script behind the proxy): its socket is the
    header's person with no session, so no session check could end it. Before: it stayed
    connected and writing after `collab user disable`."""
    http = client(proxy_app)
    assert me(http).status_code == 200  # the account exists
    bare = connect(proxy_app, flask_test_client=client(proxy_app), headers=PAT)  # a client with no cookie
    other = connect(proxy_app, flask_test_client=client(proxy_app))  # a guest stays
    assert bare.emit("join", {"doc": doc_id, "name": "x"}, callback=True)["ok"]
    assert other.emit("join", {"doc": doc_id, "name": "Guest"}, callback=True)["ok"]
    proxy_app.extensions["collab.accounts"].disable("pat@example.org")
    assert wait_until(lambda: not bare.is_connected())
    assert other.is_connected()
