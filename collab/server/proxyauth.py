"""Sign-in by a trusted reverse proxy's header (COLLAB_SIGN_IN=proxy: oauth2-proxy, Authelia,
Authentik in front of this server).

The proxy signs the person in and names them in COLLAB_PROXY_USER_HEADER (an email or a user
name; optionally their display name in COLLAB_PROXY_NAME_HEADER). That header is believed
only when the peer is one of COLLAB_TRUSTED_PROXIES (guard.TrustedProxies, the same notion
that decides whether X-Forwarded-For counts); from anyone else it is ignored, the request is
a guest's, and that is logged once per process. A header that is there but is not one plain
value (two values, spaces, control characters, too long: a client's own header the proxy let
through beside its own) is refused, never read as either value.

The person is the identity ("proxy", the value, case folded), found or made an account by
service/accounts.py `identity_user`. Every request names them again: accounts.py's
`current_user()` asks `ProxyHeader.user` and keeps a session (the same sessions table and
signed cookie as every sign-in) for as long as the header names that same account, starting a
new one when it names another; the Socket.IO handshake is authenticated from the same headers
(`socket_user`), with the cookie's session when it is that account's, so that Sign out ends
the sockets of that session.

An edge module: the core, the account service, guard.py.
"""
from __future__ import annotations

import logging
import re

from ..core.config import Settings
from ..core.errors import CollabError
from ..service.accounts import AccountService
from ..storage import User
from .guard import Environ, TrustedProxies, peer_address

log = logging.getLogger("collab.proxyauth")
ISSUER = "proxy"  # identities.issuer of the people a proxy names
# one email or user name, nothing else: no comma (two values joined: a second header), no space
USER_RE = re.compile(r"[A-Za-z0-9._%+@!#$&'*/=?^`{|}~-]{1,254}")
MAX_NAME_HEADER = 256  # characters of the display name header read at all


def environ_key(header: str) -> str:
    """Where a WSGI server puts a header: X-Forwarded-Email is HTTP_X_FORWARDED_EMAIL. (gevent's
    server and gunicorn drop a header with an underscore in its name, which would map here too.)"""
    return "HTTP_" + header.upper().replace("-", "_")


class ProxyHeader:
    def __init__(self, settings: Settings, accounts: AccountService) -> None:
        self.header = settings.proxy_user_header
        self.user_key = environ_key(settings.proxy_user_header)
        self.name_key = environ_key(settings.proxy_name_header) if settings.proxy_name_header else ""
        self.trusted = TrustedProxies(settings.trusted_networks)
        self.accounts = accounts
        self.warned = False  # an untrusted peer's header was logged (once per process)

    def subject(self, environ: Environ) -> str | None:
        """The identity the proxy vouches for, or None (no header, or not from a trusted
        proxy: a guest). `bad_request` when a trusted proxy's header is malformed."""
        raw = environ.get(self.user_key)
        if raw is None:
            return None
        if not self.trusted.trusts(environ):
            if not self.warned:
                self.warned = True
                log.warning("ignoring %s from %s, which is not in COLLAB_TRUSTED_PROXIES: its requests are a "
                            "guest's (logged once)", self.header, peer_address(environ) or "an unknown address")
            return None
        value = str(raw).strip()
        if not USER_RE.fullmatch(value):
            raise CollabError("bad_request", f"the {self.header} header from the proxy must be one email or user "
                                             "name (no spaces, no second value): sign-in refused")
        return value.casefold()

    def user(self, environ: Environ) -> User | None:
        """The account of the person the proxy names (made at their first request), or None."""
        subject = self.subject(environ)
        if subject is None:
            return None
        name = environ.get(self.name_key) if self.name_key else None
        name = name[:MAX_NAME_HEADER] if isinstance(name, str) else None
        email = subject if "@" in subject else None
        # the proxy signed them in with this address: as good as the proxy (oauth2-proxy
        # passes verified emails only, unless told otherwise)
        return self.accounts.identity_user(ISSUER, subject, email, name, email_verified=True)
