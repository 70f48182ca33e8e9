"""Sign-in by OpenID Connect (COLLAB_SIGN_IN=oidc): GET /sign-in/oidc and its callback.

Authlib does the protocol, nothing is written here of OAuth or JWT: discovery (the issuer's
/.well-known/openid-configuration, read at the first sign-in and kept), the authorization
code flow with `state`, `nonce` and PKCE (S256; the three kept in Flask's signed session
cookie until the callback, and dropped there: a callback is good once), the code exchanged at
the token endpoint, and the id token verified: its signature by the issuer's JWKS (fetched
again when a token names a key it lacks), `iss` (the configured issuer, which the discovery
document must also name), `aud` (this client), `exp` and the `nonce`.

Here: the person is the identity (issuer, `sub`) -- never their email -- found or made an
account by service/accounts.py `identity_user`, whose session accounts.py `_sign_in` starts
as for every sign-in (a new token: no fixation). Whatever goes wrong (the provider refused or
is down, a bad or used state, a replayed code, a token for another client) answers a page that
says so, signs nobody in, and is logged as one line.

An edge module: flask, Authlib's Flask client, the core, the account service, accounts.py.
"""
from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import quote

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth, OAuthError
from flask import Blueprint, Flask, Response, current_app, redirect, request, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

from ..core.config import Settings
from ..core.errors import CollabError
from . import accounts, pages

log = logging.getLogger("collab.oidc")
bp = Blueprint("oidc", __name__)
PROVIDER = "oidc"  # Authlib's name of the client; its state keys are _state_oidc_<state>
NEXT = "oidc_next"  # the session cookie's key: where to go after the callback
TIMEOUT = 10.0  # seconds for each request to the provider (discovery, JWKS, token)
DISCOVERY = "/.well-known/openid-configuration"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")  # what the flow needs of it
# what the provider sends back in `error` (RFC 6749 4.1.2.1, OpenID Connect 3.1.2.6) that the
# person did (or may fix by signing in at the provider), as against a broken configuration
REFUSED = {"access_denied", "login_required", "consent_required", "interaction_required",
           "account_selection_required"}


def install(app: Flask, settings: Settings) -> None:
    """Register the provider with Authlib (no request is made until the first sign-in)."""
    oauth = OAuth(app)
    client_kwargs: dict[str, Any] = {"scope": settings.oidc_scopes, "code_challenge_method": "S256",
                                     "default_timeout": TIMEOUT}
    if not settings.oidc_client_secret:  # a public client: PKCE alone
        client_kwargs["token_endpoint_auth_method"] = "none"
    app.extensions["collab.oidc"] = oauth.register(
        PROVIDER, client_id=settings.oidc_client_id.strip(), client_secret=settings.oidc_client_secret or None,
        server_metadata_url=settings.oidc_issuer_url + DISCOVERY, client_kwargs=client_kwargs)


def _client() -> FlaskOAuth2App:
    client = current_app.extensions.get("collab.oidc")
    if client is None:
        raise CollabError("not_found", "OpenID Connect sign-in is off on this server (COLLAB_SIGN_IN)")
    return cast(FlaskOAuth2App, client)


def _issuer(client: FlaskOAuth2App) -> str:
    """The provider's issuer from its discovery document, which must be the configured one
    (OpenID Connect Discovery 4.3): tokens are then checked against exactly it."""
    configured = cast(Settings, current_app.extensions["collab.settings"]).oidc_issuer_url
    metadata = client.load_server_metadata()
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != configured:
        raise _ProviderError(f"the provider's discovery document names the issuer {str(issuer)[:100]!r}, "
                             f"not COLLAB_OIDC_ISSUER {configured!r}")
    lacking = [k for k in ENDPOINTS if not isinstance(metadata.get(k), str)]
    if lacking:
        raise _ProviderError(f"the provider's discovery document has no {', '.join(lacking)}")
    return issuer


class _ProviderError(Exception):
    """The provider answered something this server cannot use."""


def _failed(status: int, title: str, message: str) -> Response:
    retry = f"/sign-in/oidc?next={quote(session.get(NEXT) or accounts._next())}"
    resp = pages.error_page(status, title, message, [(retry, "Try again"), ("/", "Start page")])
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/sign-in/oidc")
def start() -> BaseResponse:
    """Off to the provider, with a new state, nonce and PKCE verifier in the session cookie."""
    client = _client()
    try:
        _issuer(client)
    except (requests.RequestException, ValueError, TypeError, _ProviderError) as exc:  # (TypeError: not an object)
        log.warning("OpenID sign-in cannot start: the provider's discovery failed: %s", exc)
        return _failed(502, "The sign-in provider cannot be reached",
                       "this server could not read the sign-in provider's configuration; try again in a moment, "
                       "or tell the server's admin")
    session[NEXT] = accounts._next()
    return cast(BaseResponse, client.authorize_redirect(url_for("oidc.callback", _external=True)))


@bp.get("/sign-in/oidc/callback")
def callback() -> BaseResponse:
    """Back from the provider: the code exchanged, the id token verified, the person signed in."""
    client = _client()
    try:
        issuer = _issuer(client)
        # iss: exactly the discovered issuer; aud: holds this client (Authlib's CodeIDToken checks
        # exp, the nonce and azp, but aud only against claims_options: without it, an id token
        # the provider made for another client, naming this one as azp, was taken); sub: there
        options = {"iss": {"essential": True, "values": [issuer]},
                   "aud": {"essential": True, "values": [client.client_id]}, "sub": {"essential": True}}
        token = client.authorize_access_token(claims_options=options)
        claims = token.get("userinfo")
        if not claims or not isinstance(claims.get("sub"), str):
            raise _ProviderError("the token answer holds no id token")
    except OAuthError as exc:
        return _oauth_failed(exc)
    except (AuthlibBaseError, JoseError) as exc:  # the id token: signature, iss, aud, exp, nonce
        log.warning("OpenID sign-in refused: the id token is not valid for this server: %s", exc)
        return _failed(400, "Sign-in failed", "the sign-in provider's answer could not be verified, so nobody "
                                              "was signed in; try again")
    except (requests.RequestException, ValueError, TypeError, _ProviderError) as exc:
        log.warning("OpenID sign-in failed: the provider cannot be used: %s", exc)
        return _failed(502, "The sign-in provider cannot be reached",
                       "the sign-in provider did not answer as it should, so nobody was signed in; try again "
                       "in a moment, or tell the server's admin")
    try:
        user = accounts._accounts().identity_user(
            issuer.rstrip("/"), claims["sub"], claims.get("email"),
            claims.get("name") or claims.get("preferred_username"), email_verified=claims.get("email_verified") is True)
    except CollabError as exc:
        log.info("OpenID sign-in refused: %s", exc.message)
        return _failed(exc.http_status, "Sign-in refused", exc.message)
    target = session.get(NEXT) or "/"
    accounts._sign_in(user)  # (clears the session: the state and NEXT with it)
    return redirect(target, 303)


def _oauth_failed(exc: OAuthError) -> Response:
    error = str(exc.error or "")
    described = f" ({str(exc.description)[:200]})" if exc.description else ""
    log.warning("OpenID sign-in failed: %s%s", error[:64], described)
    if error == "mismatching_state":
        return _failed(400, "Sign-in expired", "this sign-in was not started here, or was finished already "
                                               "(a link can be used once); start again")
    if error in REFUSED:
        return _failed(403, "Sign-in was refused", f"the sign-in provider did not sign you in ({error})")
    if request.args.get("error"):
        return _failed(400, "Sign-in failed", f"the sign-in provider answered {error[:64]!r}, so nobody was "
                                              "signed in")
    # the token endpoint's refusal: a used or expired code (invalid_grant), a wrong client secret
    return _failed(400, "Sign-in failed", f"the sign-in provider refused this sign-in ({error[:64]}): "
                                          "start again")
