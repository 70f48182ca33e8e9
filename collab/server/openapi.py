"""The OpenAPI 3 description of the HTTP API (docs/protocol.md, "HTTP"), served by api.py at
`/api/openapi.json`. A static document, written here once: tests/server/test_api_openapi.py
checks it against Flask's url_map (every /api route with its methods, nothing else).

An edge module: imports nothing of collab.
"""
from __future__ import annotations

from typing import Any

JSON = "application/json"
Spec = dict[str, Any]


def _ref(name: str) -> Spec:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> Spec:
    """The error answers a route may give (always the Error body)."""
    what = {400: "bad input", 401: "bad_credentials (the same for a wrong password and an unknown email); "
                                   "bad_token (a wrong, revoked or expired Bearer token: WWW-Authenticate says "
                                   "invalid_token); sign_in_required (a guest asking for what is a signed-in person's, or a "
                                   "document whose access admits only people who sign in)",
            403: "read_only (a view token; a person who may only read), or forbidden (a cross-site write; "
                 "sign-up off; a person the document's access does not admit; not the owner; not an admin)",
            404: "not_found or bad_doc", 409: "conflict (a taken id)", 410: "deleted: the name is a tombstone",
            413: "too_large", 415: "a body type the route does not read", 429: "rate_limited (retry_after)",
            500: "internal or doc_corrupt", 503: "unavailable (retry_after)"}
    return {str(s): _json(_ref("Error"), what[s]) for s in (*statuses, 429, 500, 503)}


DOC: Spec = {"name": "doc", "in": "path", "required": True, "description": "an edit id or a view token",
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
EDIT: Spec = {**DOC, "description": "the document's edit id (a view token is 403 read_only)"}


def _query(name: str, description: str, kind: str = "integer", required: bool = False) -> Spec:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": kind, **({"minimum": 0} if kind == "integer" else {})}}


def _body(schema: Spec, plain: bool = False, required: bool = True) -> Spec:
    content: Spec = {JSON: {"schema": schema}}
    if plain:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"required": required, "content": content}


def _op(summary: str, responses: Spec, parameters: list[Spec] | None = None, body: Spec | None = None) -> Spec:
    op: Spec = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    return op


TEXT_FIELDS: Spec = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string"}, "name": {"type": "string", "maxLength": 64}}}
WRITTEN = _json(_ref("Written"), "the new version")
UNCHANGED = _json(_ref("Written"), "nothing to change: the head, `unchanged: true`")

PATHS: Spec = {
    "/api/openapi.json": {"get": _op("This description", {"200": {"description": "OpenAPI 3"}})},
    "/api/docs": {"post": _op(
        "Create a document, by a generated id or a chosen one, optionally with a text",
        {"201": _json(_ref("Created"), "its links (and `version` when a text was given)"),
         **_errors(400, 401, 404, 409, 410, 413, 415)},
        body=_body({"type": "object", "properties": {"doc": {"type": "string"}, "text": {"type": "string"},
                                                     "name": {"type": "string"}}}, plain=True, required=False))},
    "/api/docs/{doc}": {
        "get": _op("The document's head: version and text", {
            "200": _json(_ref("Document"), "the head"), **_errors(404, 410)}, [DOC]),
        "delete": _op("Delete the document for good: its names become tombstones (410)", {
            "200": _json({"type": "object", "properties": {"doc": {"type": "string"}, "deleted": {"type": "number"}}},
                         "deleted"), **_errors(403, 404, 410)}, [EDIT])},
    "/api/docs/{doc}/rename": {"post": _op(
        "A new edit id (`id` or generated): the history moves, the old id becomes a tombstone (410, reason renamed)",
        {"200": _json(_ref("Created"), "its links under the new id"), **_errors(400, 403, 404, 409, 410, 415)},
        [EDIT], _body({"type": "object", "properties": {"id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}},
                      required=False))},
    "/api/docs/{doc}/view-token": {"post": _op(
        "A new view token: the old read-only link becomes a tombstone (410, reason rotated)",
        {"200": _json(_ref("Created"), "its links, with the new view_url"), **_errors(403, 404, 410)}, [EDIT])},
    "/api/docs/{doc}/title": {"put": _op(
        "Choose the document's title for everyone (null: its first heading again)",
        {"200": _json({"type": "object", "required": ["doc", "title"], "properties": {
            "doc": {"type": "string"}, "title": {"type": "string", "nullable": True}}}, "the title now"),
         **_errors(400, 403, 404, 410, 415)}, [EDIT],
        _body({"type": "object", "required": ["title"], "properties": {
            "title": {"type": "string", "nullable": True, "maxLength": 80}}}))},
    "/api/docs/{doc}/links": {"get": _op("An existing document's edit and view links", {
        "200": _json(_ref("Created"), "its links"), **_errors(403, 404, 410)}, [EDIT])},
    "/api/docs/{doc}/revisions": {"get": _op("Revisions since+1.., in pages", {
        "200": _json({"type": "object"}, "{doc, version, revisions, more?}"), **_errors(400, 404, 410)},
        [DOC, _query("since", "after this version (default 0)"), _query("limit", "at most this many")])},
    "/api/docs/{doc}/versions/{version}": {"get": _op("The text as of a version", {
        "200": _json(_ref("Document"), "{doc, version, text}"), **_errors(400, 404, 410)},
        [DOC, {"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}])},
    "/api/docs/{doc}/text": {"put": _op("Replace the text, as one revision", {
        "201": WRITTEN, "200": UNCHANGED, **_errors(400, 403, 404, 410, 413, 415)}, [EDIT],
        _body(TEXT_FIELDS, plain=True))},
    "/api/docs/{doc}/append": {"post": _op("Add text at the end, as one revision", {
        "201": WRITTEN, **_errors(400, 403, 404, 410, 413, 415)}, [EDIT], _body(TEXT_FIELDS, plain=True))},
    "/api/docs/{doc}/copy": {"post": _op("Copy the text of a version into a new document", {
        "201": _json(_ref("Created"), "the copy's links, `version`, `copied_from`"),
        **_errors(400, 401, 403, 404, 409, 410, 413, 415)}, [EDIT],
        _body({"type": "object", "properties": {"version": {"type": "integer", "minimum": 0},
                                                "to": {"type": "string"}, "name": {"type": "string"}}},
              required=False))},
    "/api/docs/{doc}/people": {"get": _op("Who is here: counts, and the listed editors' names", {
        "200": _json({"type": "object", "properties": {
            "doc": {"type": "string"}, "editors": {"type": "integer"}, "viewers": {"type": "integer"},
            "names": {"type": "array", "items": {"type": "string"}}}}, "presence"),
        **_errors(404, 410)}, [DOC])},
    "/api/docs/{doc}/blame": {"get": _op("Who wrote each code point of a version", {
        "200": _json({"type": "object"}, "{doc, version, spans}"), **_errors(400, 404, 410)},
        [DOC, _query("version", "default: the head")])},
    "/api/docs/{doc}/diff": {"get": _op("The canonical patch and edits between two versions", {
        "200": _json({"type": "object"}, "{doc, from, to, patch, edits}"), **_errors(400, 404, 410)},
        [DOC, _query("from", "the older version", required=True), _query("to", "default: the head")])},
    "/api/docs/{doc}/restore": {"post": _op("Make a version's text the text again, as a new revision", {
        "201": WRITTEN, "200": UNCHANGED, **_errors(400, 403, 404, 410, 413)}, [EDIT],
        _body({"type": "object", "required": ["version"], "properties": {
            "version": {"type": "integer"}, "name": {"type": "string"}}}))},
    "/api/docs/{doc}/revert": {
        "get": _op("Preview taking out an author's changes since a version", {
            "200": _json({"type": "object"}, "{doc, version, text, patch, edits}"), **_errors(400, 404, 410)},
            [DOC, _query("author", "whose changes: a guest's name (or give account)", "string"),
             _query("account", "whose changes: a signed-in author's account id", "string"),
             _query("since", "after this version", required=True)]),
        "post": _op("Take out an author's changes since a version, as a new revision", {
            "201": WRITTEN, "200": UNCHANGED, **_errors(400, 403, 404, 410, 413)}, [EDIT],
            _body({"type": "object", "required": ["since"], "properties": {
                "author": {"type": "string"}, "account": {"type": "string"}, "since": {"type": "integer"},
                "name": {"type": "string"}}}))},
    "/api/docs/{doc}/labels": {
        "get": _op("Named versions", {"200": _json({"type": "object"}, "{doc, labels}"), **_errors(404, 410)}, [DOC]),
        "post": _op("Name a version", {"201": _json({"type": "object"}, "{doc, version, name, ts}"),
                                       **_errors(400, 403, 404, 410)}, [EDIT],
                    _body({"type": "object", "required": ["version", "name"], "properties": {
                        "version": {"type": "integer"}, "name": {"type": "string"}}}))},
    "/api/docs/{doc}/colors": {"get": _op("The colour each author last wrote in, if they picked one", {
        "200": _json({"type": "object", "properties": {
            "doc": {"type": "string"}, "colors": {"type": "array", "items": {
                "type": "object", "required": ["author", "color", "ts"], "properties": {
                    "author": {"type": "string"}, "account": {"type": "string"},
                    "color": {"type": "string"}, "ts": {"type": "number"}}}}}},
            "{doc, colors}: the latest written first"),
        **_errors(404, 410)}, [DOC])},
    "/api/docs/{doc}/labels/{name}": {"delete": _op("Remove a named version", {
        "200": _json({"type": "object"}, "{doc, deleted}"), **_errors(403, 404, 410)},
        [EDIT, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}])},
    "/api/docs/{doc}/export": {"get": _op("A version as a file", {
        "200": {"description": "text/plain, text/markdown or text/html, as an attachment"}, **_errors(400, 404, 410)},
        [DOC, _query("version", "default: the head"), _query("format", "txt (default), md or html", "string")])},
    "/api/docs/{doc}/import": {"post": _op("Replace the text with a file, as one revision", {
        "201": WRITTEN, "200": UNCHANGED, **_errors(400, 403, 404, 410, 413, 415)},
        [EDIT, _query("name", "the author's display name", "string")],
        {"required": True, "content": {"text/plain": {"schema": {"type": "string"}},
                                       "multipart/form-data": {"schema": {"type": "object", "properties": {
                                           "file": {"type": "string", "format": "binary"}}}}}})},
    "/api/docs/{doc}/images": {"post": _op(
        "Upload an image (PNG, JPEG, GIF or WebP, by its content) into the document; it is served to anyone "
        "with its URL at /images/{id} (a random id, never the document's), and deleted with the document", {
            "201": _json(_ref("ImageStored"), "its URL, id, size and sniffed type"),
            **_errors(400, 403, 404, 410, 413, 415)}, [EDIT],
        {"required": True, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                       "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                                       "multipart/form-data": {"schema": {"type": "object", "properties": {
                                           "file": {"type": "string", "format": "binary"}}}}}})},
    # accounts (COLLAB_SIGN_IN; server/accounts.py): 404 while sign-in is off, but /api/me; the
    # password routes 404 but with COLLAB_SIGN_IN=local
    "/api/me": {"get": _op("Who this browser is signed in as, and what the server offers", {
        "200": _json(_ref("Me"), "{sign_in, sign_up, account (null: a guest)}"), **_errors()})},
    "/api/signin": {"post": _op("Sign in with an email and password (a new session cookie)", {
        "200": _json(_ref("Me"), "{account}"), **_errors(400, 401, 403, 404)}, None,
        _body({"type": "object", "required": ["email", "password"], "properties": {
            "email": {"type": "string"}, "password": {"type": "string"}}}))},
    "/api/signup": {"post": _op("Make an account and sign in (COLLAB_SIGN_UP=1)", {
        "201": _json(_ref("Me"), "{account}"), **_errors(400, 403, 404, 409)}, None,
        _body({"type": "object", "required": ["email", "password"], "properties": {
            "email": {"type": "string"}, "name": {"type": "string", "maxLength": 64},
            "password": {"type": "string", "minLength": 8}}}))},
    "/api/signout": {"post": _op("End this browser's session and its sockets", {
        "200": _json(_ref("Me"), "{account: null, next?}"), **_errors(403, 404)})},
    "/api/me/tokens": {
        "get": _op("The signed-in person's access tokens (never their secrets)", {
            "200": _json({"type": "object", "properties": {"tokens": {"type": "array", "items": _ref("Token")}}},
                         "{tokens}"), **_errors(401, 404)}),
        "post": _op("Make an access token (with a signed-in browser, not a token): its secret is in this answer only", {
            "201": _json({"allOf": [_ref("Token"), {"type": "object", "required": ["token"], "properties": {
                "token": {"type": "string", "description": "the secret: send it as Authorization: Bearer <token>"}}}]},
                "the token, with its secret"), **_errors(400, 401, 403, 404, 409)}, None,
            _body({"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 64},
                "expires_days": {"type": "number", "description": "days it lasts; absent: until revoked"}}}))},
    "/api/admin/docs": {"get": _op("Every document, by id, a page at a time (admins only: COLLAB_ADMINS)", {
        "200": _json({"type": "object", "properties": {
            "docs": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "created": {"type": "number"}, "updated": {"type": "number"},
                "head": {"type": "integer"}}}},
            "next": {"type": "string", "nullable": True, "description": "the `after` of the next page"}}},
            "{docs, next}"), **_errors(400, 401, 403, 404)},
        [_query("after", "the `next` of the page before (default: from the first)", "string"),
         _query("limit", "documents per page (default 100, at most 1,000)")])},
    "/api/me/tokens/{token_id}": {"delete": _op("Revoke an access token: refused from now on, its sockets ended", {
        "200": _json({"type": "object", "properties": {"id": {"type": "string"}, "revoked": {"type": "boolean"}}},
                     "revoked"), **_errors(401, 404)},
        [{"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
    # per-document permissions (server/access_api.py): the owner's only
    "/api/docs/{doc}/access": {
        "get": _op("Who may edit and view the document, its owner and its invited people (the owner only)", {
            "200": _json(_ref("Access"), "the access"), **_errors(401, 403, 404, 410)}, [EDIT]),
        "put": _op("Change who may edit and who may view (the owner only); connected clients are re-checked live", {
            "200": _json(_ref("Access"), "the access now"), **_errors(400, 401, 403, 404, 410)}, [EDIT],
            _body({"type": "object", "properties": {"edit": _ref("Policy"), "view": _ref("Policy")}}))},
    "/api/docs/{doc}/members": {"post": _op(
        "Invite an account, by email or display name, as editor or viewer (the owner only)", {
            "201": _json(_ref("Access"), "the access now"), **_errors(400, 401, 403, 404, 410)}, [EDIT],
        _body({"type": "object", "required": ["person"], "properties": {
            "person": {"type": "string"}, "role": {"type": "string", "enum": ["editor", "viewer"]}}}))},
    "/api/docs/{doc}/members/{user_id}": {"delete": _op(
        "No longer invited (the owner only); their open connections are re-checked live", {
            "200": _json(_ref("Access"), "the access now"), **_errors(401, 403, 404, 410)},
        [EDIT, {"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
    # "my documents" (server/mydocs.py): signed in only
    "/api/me/docs": {"get": _op("The documents this person opened, by the links they used, with their titles", {
        "200": _json(_ref("MyDocuments"), "{docs}"), **_errors(400, 401, 404)},
        [_query("q", "keep the titles holding this (ignoring case; at most 200 characters)", "string"),
         _query("sort", "changed (default), opened or title", "string")])},
    "/api/me/docs/{kind}/{link}": {"delete": _op("Take a document off the list (the document stays)", {
        "204": {"description": "off the list"}, **_errors(400, 401, 403, 404)},
        [{"name": "kind", "in": "path", "required": True, "description": "d (an edit id) or v (a view token)",
          "schema": {"type": "string", "enum": ["d", "v"]}},
         {"name": "link", "in": "path", "required": True, "description": "the id or token of its URL",
          "schema": {"type": "string"}}])},
}

SPEC: Spec = {
    "openapi": "3.0.3",
    "info": {"title": "collab HTTP API", "version": "1",
             "description": "Documents, their history and their text over HTTP (docs/protocol.md). "
                            "A state-changing request from a browser must come from the server's own origin. "
                            "With sign-in on, `Authorization: Bearer <token>` (a personal access token) "
                            "makes a request its token's person."},
    "paths": PATHS,
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "retry_after": {"type": "number"}, "version": {"type": "integer"},
                "reason": {"type": "string", "enum": ["deleted", "renamed", "rotated"],
                           "description": "deleted (410): why the name is a tombstone"}}}}},
        "Created": {"type": "object", "required": ["doc", "edit_url", "view_url"], "properties": {
            "doc": {"type": "string"}, "edit_url": {"type": "string"}, "view_url": {"type": "string"},
            "version": {"type": "integer"}, "copied_from": {"type": "integer"}}},
        "Document": {"type": "object", "required": ["doc", "version", "text"], "properties": {
            "doc": {"type": "string"}, "version": {"type": "integer"}, "text": {"type": "string"},
            "created": {"type": "number"}, "updated": {"type": "number"}, "title": {"type": "string"}}},
        "ImageStored": {"type": "object", "required": ["url", "id", "bytes", "type"], "properties": {
            "url": {"type": "string", "description": "/images/{id}, on this server"}, "id": {"type": "string"},
            "bytes": {"type": "integer"},
            "type": {"type": "string", "enum": ["image/png", "image/jpeg", "image/gif", "image/webp"]}}},
        "Policy": {"type": "string", "enum": ["link", "signed_in", "invited"],
                   "description": "link: anyone with the link; signed_in: signed-in people with it; invited: "
                                  "the owner and the people invited (as editors, for edit)"},
        "Access": {"type": "object", "required": ["doc", "owner", "edit", "view", "members", "links"], "properties": {
            "doc": {"type": "string"}, "edit": _ref("Policy"), "view": _ref("Policy"),
            "owner": {"type": "object", "nullable": True, "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}}},
            "members": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string", "nullable": True},
                "role": {"type": "string", "enum": ["editor", "viewer"]}}}},
            "links": {"type": "object", "properties": {"edit": {"type": "string"}, "view": {"type": "string"}}}}},
        "Me": {"type": "object", "properties": {
            "sign_in": {"type": "string", "enum": ["", "local", "oidc", "proxy"]}, "sign_up": {"type": "boolean"},
            # /api/signout, COLLAB_SIGN_IN=proxy with COLLAB_PROXY_SIGN_OUT_URL: where the browser goes next
            "next": {"type": "string"},
            "admin": {"type": "boolean", "description": "present (true) for an admin (COLLAB_ADMINS) only"},
            "account": {"type": "object", "nullable": True, "required": ["id", "name", "email"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}}}}},
        "MyDocuments": {"type": "object", "required": ["docs"], "properties": {"docs": {"type": "array", "items": {
            "type": "object", "required": ["title", "url", "role", "relation", "manage", "opened", "changed", "created", "version"],
            "properties": {"title": {"type": "string"}, "url": {"type": "string"},
                           "role": {"type": "string", "enum": ["editor", "viewer"]},
                           "relation": {"type": "string", "enum": ["owned", "shared", "opened"]},
                           "manage": {"type": "boolean"},
                           "opened": {"type": "number", "nullable": True},
                           "changed": {"type": "number"}, "created": {"type": "number"},
                           "version": {"type": "integer"}}}}}},
        "Token": {"type": "object", "required": ["id", "name", "created"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "created": {"type": "number"},
            "last_used": {"type": "number", "nullable": True, "description": "coarse: to the hour"},
            "expires": {"type": "number", "nullable": True}, "expired": {"type": "boolean"}}},
        "Written": {"type": "object", "required": ["doc", "version"], "properties": {
            "doc": {"type": "string"}, "version": {"type": "integer"}, "unchanged": {"type": "boolean"},
            "restored_from": {"type": "integer"}}},
    }},
}
