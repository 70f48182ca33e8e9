"""Who may do what with a document: the one decision point of per-document permissions.

`decide(access, user, link)` is the whole rule, pure (no flask, no store): given a
document's stored `Access` (owner, edit and view policies, invited members), the signed-in
person's account id (None: a guest) and the kind of link they came by (`EDIT_LINK`: the
edit id, `VIEW_LINK`: the view token), it returns the role they get, `editor` or
`viewer`, or raises the refusal. Every HTTP route (guard.Lookups) and every socket join and
re-check (realtime.py) asks it; nothing else decides.

    owner, invited editor            -> editor, by either link
    edit link                        -> editor if the edit policy admits the person,
                                        else viewer if the view policy does, else refused
    view link                        -> viewer if the view policy admits the person, else refused
    policy `link`                    admits anyone with the link (the default: as before accounts)
    policy `signed_in`               admits any signed-in person with the link
    policy `invited` (edit)          admits the owner and invited editors only
    policy `invited` (view)          admits the owner and anyone invited

A refusal names nothing of the document (no id, title, owner or members): a guest is told
to sign in (`sign_in_required`, 401), a signed-in person that they were not invited
(`forbidden`, 403).

Also the checks of what the owner's API sends (`check_policy`, `check_role`).
"""
from __future__ import annotations

from typing import Final

from ..core.errors import CollabError
from ..storage import POLICIES, ROLES, Access

EDITOR: Final = "editor"
VIEWER: Final = "viewer"
EDIT_LINK: Final = "edit"  # came by the edit id (/d/<id>)
VIEW_LINK: Final = "view"  # came by the view token (/v/<token>)
SIGN_IN_MESSAGE = "this document is open only to some people: sign in to open it"
FORBIDDEN_MESSAGE = "your account may not open this document: ask its owner to invite you"


def _admits(policy: str, user: str | None, invited: bool) -> bool:
    if policy == "link":
        return True
    if policy == "signed_in":
        return user is not None
    return invited  # "invited" (and any policy this collab does not know: the strictest)


def decide(access: Access, user: str | None, link: str) -> str:
    """The role of `user` (an account id, None for a guest) coming by `link` (EDIT_LINK or
    VIEW_LINK) to a document of `access`: EDITOR or VIEWER, else CollabError."""
    assert link in (EDIT_LINK, VIEW_LINK), link
    invited = access.role_of(user)
    if user is not None and (user == access.owner or invited == EDITOR):
        return EDITOR
    if link == EDIT_LINK and _admits(access.edit, user, False):
        return EDITOR
    if _admits(access.view, user, invited is not None):
        return VIEWER
    raise refusal(user)


def refusal(user: str | None) -> CollabError:
    """What a person a document does not admit is told: nothing of the document."""
    if user is None:
        return CollabError("sign_in_required", SIGN_IN_MESSAGE)
    return CollabError("forbidden", FORBIDDEN_MESSAGE)


def is_open(access: Access) -> bool:
    """Whether the document admits everyone with its links as before accounts (no check
    can refuse anyone): `link` and `link`."""
    return access.edit == "link" and access.view == "link"


def check_policy(value: object, name: str) -> str:
    if value not in POLICIES:
        raise CollabError("bad_request", f"{name} must be one of {', '.join(map(repr, POLICIES))}, not {str(value)[:40]!r}")
    assert isinstance(value, str)
    return value


def check_role(value: object) -> str:
    if value not in ROLES:
        raise CollabError("bad_request", f"role must be 'editor' or 'viewer', not {str(value)[:40]!r}")
    assert isinstance(value, str)
    return value
