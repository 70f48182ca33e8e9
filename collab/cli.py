"""The `collab` command: serve, export, history, replay, check, migrate, dump, load, copy, delete,
rename, rotate-view, gc-images, user (add, reset-password, disable, list, token add|list|revoke:
COLLAB_SIGN_IN=local accounts and their access tokens).

export/history/replay/check read the database directly (the server may be running: SQLite's
WAL lets them read alongside it). Those and dump, delete and copy's source never create a
database: a URL that names none is one line and exit status 2 (NO_DATABASE). Progress of
long work goes to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import os
import shutil
import sys
import tempfile
import time
import unicodedata
from typing import IO, Callable, Iterator, Sequence, cast

from . import __version__, data_dir
from .core.config import Settings
from .core.errors import CollabError
from .core.replay import ReplayError, replay, text_at
from .core.ids import check_doc_id, new_doc_id, new_view_token
from .core.images import digest, sniff
from .core.patches import parse_patch
from .storage import DocumentRow, NoDatabase, Revision, Store, StoreConflict, StoreError, dump, open_store
from .storage.schema import LATEST
from .service.accounts import AccountService

# `-P`: the current folder is not put on sys.path, so a folder named `collab` there cannot
# stand in for the installed package
NO_DATABASE = 2  # the exit status of a command given a database that does not exist
SERVE = ("from gevent import monkey; monkey.patch_all(); from collab.serve import main; "
         "main(prog='collab serve')")


def _default_database() -> str:
    settings = Settings.from_env()
    return settings.database(data_dir(settings.data_dir)[0])  # COLLAB_DATABASE_URL, else the data folder's SQLite file


def fail(prog: str, exc: BaseException) -> int:
    """Say why a command cannot go on, in one line on stderr ("collab: ...", a message of
    several lines joined, as psycopg's), and return the exit status 1: `collab serve` and
    run.py end a failed start with it, the other commands their errors."""
    lines = [line.strip() for line in str(exc).splitlines()]  # (spaces inside a line are the message's)
    print(f"{prog}: {' '.join(line for line in lines if line)}", file=sys.stderr)
    return 1


def _store(args: argparse.Namespace) -> Store:
    """The existing database of a command that reads or changes what is there (NoDatabase if
    there is none: it is never created)."""
    return open_store(args.database or _default_database(), create=False)


def _revisions(store: Store, doc: str, since: int, until: int) -> Iterator[Revision]:
    """Stored revisions since+1..until in pages; an unreadable one is a ReplayError."""
    while since < until:
        try:
            batch = store.revisions(doc, since, min(1000, until - since))
        except StoreError as exc:  # an unreadable row (not UTF-8): find which, one by one
            bad = since + 1
            while bad < until:
                try:
                    store.revisions(doc, bad - 1, 1)
                except StoreError:
                    break
                bad += 1
            raise ReplayError(bad, f"cannot be read: {exc}") from None
        if not batch:
            return
        yield from batch
        since = batch[-1].version


def _text_at(store: Store, doc: str, version: int) -> str:
    """The text at `version`: the nearest snapshot and the revisions since (core.replay)."""
    base, text = store.latest_snapshot(doc, version)
    return text_at(text, base, _revisions(store, doc, base, version))[1]


def cmd_serve(args: argparse.Namespace, rest: Sequence[str]) -> int:
    # a fresh interpreter, so gevent patches before anything else is imported
    os.execv(sys.executable, [sys.executable, "-P", "-c", SERVE, *rest])
    return 0  # pragma: no cover


def cmd_migrate(args: argparse.Namespace) -> int:
    url = args.database or _default_database()
    store = open_store(url)  # opening applies what the schema lacks, in one transaction
    try:
        for m in store.migrated:
            print(f"applied {m.version}: {m.name}")
        print(f"schema at version {LATEST}" + ("" if store.migrated else ": up to date, nothing applied"))
    finally:
        store.close()
    return 0


def _progress(verb: str) -> "Callable[[dump.Counts], None]":
    def show(counts: dump.Counts) -> None:
        if sys.stderr.isatty() or counts.documents % 100 == 0:
            print(f"{verb} {counts.documents} documents, {counts.revisions} revisions so far", file=sys.stderr)
    return show


def _loaded(store_url: str, counts: dump.Counts, docs: list[str]) -> int:
    print(f"{counts.documents} documents, {counts.revisions} revisions, {counts.images} images, "
          f"{counts.tombstones} tombstones; checking the documents", file=sys.stderr)
    return cmd_check(argparse.Namespace(database=store_url, docs=docs, verbose=False)) if docs else 0


def cmd_dump(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
        try:
            # a dump of some documents is of those only; a whole dump carries the tombstones
            counts = dump.write(dump.records(store, args.docs or None, tombstones=not args.docs), out,
                                _progress("dumped"))
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        store.close()
    print(f"dumped {counts.documents} documents, {counts.revisions} revisions, {counts.images} images, "
          f"{counts.tombstones} tombstones", file=sys.stderr)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    url = args.database or _default_database()
    with contextlib.ExitStack() as stack:
        # binary, so that a line that is not UTF-8 is named by its number (dump.read)
        spool: IO[bytes]
        if args.file == "-":  # read twice (check, then write): keep standard input in a file
            spool = stack.enter_context(tempfile.TemporaryFile("w+b"))
            shutil.copyfileobj(sys.stdin.buffer, spool)
            spool.seek(0)
        else:
            spool = stack.enter_context(open(args.file, "rb"))
        store = open_store(url)
        stack.callback(store.close)
        # nothing is written unless all of it is good; then each document in one transaction
        checked = dump.validate(dump.read(spool), store, progress=_progress("verified"))
        spool.seek(0)
        loaded = dump.load(dump.read(spool), store, _progress("loaded"))
    return _loaded(url, loaded, checked.ids)


def cmd_copy(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        source = _store(argparse.Namespace(database=args.source))
        stack.callback(source.close)
        target = open_store(args.target)
        stack.callback(target.close)
        checked = dump.validate(enumerate(dump.records(source), 1), target, "record", _progress("verified"))
        loaded = dump.load(enumerate(dump.records(source, checked.ids), 1), target, _progress("copied"), "record")
    return _loaded(args.target, loaded, checked.ids)


def cmd_export(args: argparse.Namespace) -> int:
    store = _store(args)
    row = store.get_document(check_doc_id(args.doc))
    if row is None:
        raise SystemExit(f"collab: document {args.doc!r} does not exist")
    version = row.head if args.version is None else args.version
    if not 0 <= version <= row.head:
        raise SystemExit(f"collab: version {version} does not exist (head is {row.head})")
    text = _text_at(store, row.id, version)
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        out.write(text)
    finally:
        if args.output:
            out.close()
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a document for good (as DELETE /api/docs/<doc> does); with COLLAB_MESSAGE_QUEUE
    set, the running servers are told through it, so their open editors get `gone` at once;
    without, a running server finds the tombstones by itself (collab/server/tombstones.py)."""
    store = _store(args)
    doc = check_doc_id(args.doc)
    tomb = store.tombstone(doc)
    row = store.delete_document(doc, time.time())
    if row is None:
        raise SystemExit(f"collab: document {doc!r} " + ("was already deleted" if tomb else "does not exist"))
    print(f"deleted {doc}: {row.head} revisions; its edit id and view token now answer 410 deleted")
    _tell_servers(store, row.id, row.view_token, "deleted", "DELETE /api/docs/<doc>")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    """Give a document a new edit id, NEW or generated (as POST /api/docs/<doc>/rename does):
    its history moves, the old id answers 410 deleted (reason renamed); with
    COLLAB_MESSAGE_QUEUE set, the running servers take its open editors out at once."""
    store = _store(args)
    doc = check_doc_id(args.doc)
    new = check_doc_id(args.new, "new id") if args.new else new_doc_id()
    tomb = store.tombstone(doc)
    try:
        row = store.rename_document(doc, new, time.time())
    except StoreConflict:
        raise SystemExit(f"collab: {new!r} is taken (a document, a view token or an old name): choose another") from None
    if row is None:
        raise SystemExit(f"collab: document {doc!r} " + (f"is gone ({tomb.reason})" if tomb else "does not exist"))
    print(f"renamed {doc} to {row.id}: {row.head} revisions moved; the edit link is now /d/{row.id}, "
          f"the old one answers 410 (renamed); the read-only link /v/{row.view_token} is unchanged")
    _tell_servers(store, doc, row.view_token, "renamed", "POST /api/docs/<doc>/rename")
    return 0


def cmd_rotate_view(args: argparse.Namespace) -> int:
    """Give a document a new view token (as POST /api/docs/<doc>/view-token does): the old
    read-only link answers 410 deleted (reason rotated); its editors are not affected."""
    store = _store(args)
    doc = check_doc_id(args.doc)
    old = store.get_document(doc)
    if old is None:
        tomb = store.tombstone(doc)
        raise SystemExit(f"collab: document {doc!r} " + (f"is gone ({tomb.reason})" if tomb else "does not exist"))
    for _ in range(3):  # a token that names something already: draw again
        try:
            row = store.rotate_view_token(doc, new_view_token(), time.time())
            break
        except StoreConflict:
            continue
    else:
        raise SystemExit("collab: could not draw a free view token; try again")
    if row is None:
        raise SystemExit(f"collab: document {doc!r} was deleted or renamed meanwhile")
    print(f"the read-only link of {doc} is now /v/{row.view_token}; the old one answers 410 (rotated)")
    _tell_servers(store, doc, old.view_token, "rotated", "POST /api/docs/<doc>/view-token")
    return 0


def _tell_servers(store: Store, doc: str, view_token: str, reason: str, route: str) -> None:
    """Publish `gone` to the document's rooms through the message queue, as the server's
    own delete, rename and rotation do (collab/server/realtime.py gone_messages), so that
    every process takes the clients of the dead name out at once. Without a queue a
    running server finds the tombstone by itself (collab/server/tombstones.py)."""
    queue = Settings.from_env().message_queue
    if not queue:
        print("no COLLAB_MESSAGE_QUEUE: the running server finds its tombstones within a second or two "
              f"and tells its open {'viewers' if reason == 'rotated' else 'editors'} then, as {route} on the server does")
        return
    import socketio

    from .server.queue import channel
    from .server.realtime import gone_messages

    manager = socketio.RedisManager(queue, channel=channel(store.deployment_id()), write_only=True)
    for room, message in gone_messages(doc, view_token, reason):
        manager.emit("gone", message, room=room, namespace="/")
    print("the running servers were told through the message queue")


def cmd_history(args: argparse.Namespace) -> int:
    store = _store(args)
    row = store.get_document(check_doc_id(args.doc))
    if row is None:
        raise SystemExit(f"collab: document {args.doc!r} does not exist")
    print(f"{'version':>8}  {'time (UTC)':19}  {'author':20}  {'op id':22}  hash")
    for rev in _revisions(store, row.id, 0, row.head):
        when = dt.datetime.fromtimestamp(rev.ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{rev.version:>8}  {when:19}  {rev.author[:20]:20}  {rev.op_id[:22]:22}  {rev.hash}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Print the text as it evolves from version --from to --to. On a terminal, one screen
    per revision around what it changed, at --speed revisions a second; otherwise (a pipe
    or a file) a header line and the whole text per version, without waiting."""
    store = _store(args)
    row = store.get_document(check_doc_id(args.doc))
    if row is None:
        raise SystemExit(f"collab: document {args.doc!r} does not exist")
    start = args.start
    end = row.head if args.end is None else args.end
    if not 0 <= start <= end <= row.head:
        raise SystemExit(f"collab: need 0 <= --from <= --to <= {row.head} (the head), got {start}..{end}")
    tty = sys.stdout.isatty()
    speed = args.speed if args.speed is not None else (50.0 if tty else 0.0)
    if speed < 0:
        raise SystemExit("collab: --speed must be >= 0 revisions per second (0: no waiting)")
    text = _text_at(store, row.id, start)
    show = _screen if tty else _block
    show(start, "", 0.0, text, 0)
    for replayed, new_text in replay(text, start, _revisions(store, row.id, start, end)):
        rev = cast(Revision, replayed)
        if speed:
            time.sleep(1.0 / speed)
        show(rev.version, rev.author, rev.ts, new_text, _changed_at(rev.patch) if tty else 0)
    return 0


def _changed_at(patch: str) -> int:
    """Where a canonical patch's first change is (after its leading context)."""
    hunks = parse_patch(patch)
    if not hunks:
        return 0
    first = hunks[0]
    return first.start + (len(first.ops[0][1]) if first.ops and first.ops[0][0] == 0 else 0)


def _header(version: int, author: str, ts: float) -> str:
    if not version or not author:
        return f"--- version {version} ---"
    when = dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"--- version {version}  {author}  {when} UTC ---"


def _block(version: int, author: str, ts: float, text: str, at: int) -> None:
    sys.stdout.write(f"{_header(version, author, ts)}\n{text}\n")
    sys.stdout.flush()


def _screen(version: int, author: str, ts: float, text: str, at: int) -> None:
    """Clear the terminal and show the lines around code point `at` (the change)."""
    size = shutil.get_terminal_size()
    lines = text.split("\n")
    line = text.count("\n", 0, at)
    rows = max(1, size.lines - 2)
    first = max(0, min(line - rows // 2, len(lines) - rows))
    body = "\n".join(x[: size.columns] for x in lines[first : first + rows])
    sys.stdout.write(f"\x1b[H\x1b[2J{_header(version, author, ts)}\n{body}")
    sys.stdout.flush()


def cmd_check(args: argparse.Namespace) -> int:
    """Replay every stored history from version 0: each revision applies exactly, its
    hash matches, the snapshots agree, and the head is where the history ends; each image's
    bytes have its size, SHA-256 and sniffed type; and neither
    of its names (edit id, view token) is also a tombstone (CLASH)."""
    store = _store(args)
    docs = args.docs or list(store.document_ids())
    bad = clashes = 0
    for n, doc in enumerate(docs, 1):
        problem = clash = None
        try:
            doc.encode("utf-8")
        except UnicodeEncodeError:  # a damaged id (see Store.document_ids): name its bytes
            row, problem = None, "document id is not valid UTF-8"
            doc = repr(doc.encode("utf-8", "surrogateescape"))
        else:
            try:
                row = store.get_document(doc)
            except StoreError as exc:
                row, problem = None, f"cannot read its row: {exc}"
        if row is None:
            problem = problem or "does not exist"
        else:
            clash = _clash(store, row)
            try:
                version, text = 0, ""
                # snapshots are stored by bytes written, not every 100 revisions: check each one
                snapshots = set(store.snapshot_versions(doc))
                for rev, text in replay("", 0, _revisions(store, doc, 0, row.head)):
                    version = rev.version
                    if version in snapshots and store.latest_snapshot(doc, version) != (version, text):
                        raise ReplayError(version, "snapshot differs from the replayed text")
                if version != row.head:
                    problem = f"history ends at version {version} but the head is {row.head}"
                problem = problem or _image_problem(store, doc)
            except (ReplayError, StoreError) as exc:  # StoreError: e.g. a row that is not UTF-8
                problem = str(exc)
        if problem:
            bad += 1
            print(f"CORRUPT {doc}: {problem}")
        if clash:
            clashes += 1
            print(f"CLASH   {doc}: {clash}")
        if not problem and not clash and args.verbose:
            print(f"ok      {doc}: {row.head} revisions")  # type: ignore[union-attr]
        if sys.stderr.isatty() or n % 100 == 0 or n == len(docs):
            print(f"checked {n}/{len(docs)} documents, {bad} corrupt", file=sys.stderr)
    print(f"{len(docs)} documents checked, {bad} corrupt" + (f", {clashes} clashing with a tombstone" if clashes else ""))
    return 1 if bad or clashes else 0


def cmd_gc_images(args: argparse.Namespace) -> int:
    """Remove the uploaded images that no version of any document shows, uploaded more than
    --older-than days ago (service/imagegc.py says what is kept, and why)."""
    from .core.images import human
    from .service.imagegc import collect_images

    if args.older_than < 0:
        raise ValueError(f"--older-than is in days and cannot be negative (got {args.older_than})")
    store = _store(args)
    show = (lambda n, of: print(f"read {n}/{of} histories", file=sys.stderr)) if sys.stderr.isatty() else None
    result = collect_images(store, grace=args.older_than * 86400, dry_run=args.dry_run, progress=show)
    verb = "would remove" if args.dry_run else "removed"
    for image in result.removed:
        print(f"{verb} {image.id} of {image.doc} ({image.type}, {human(image.size)})")
    print(f"{verb} {len(result.removed)} images ({human(result.freed)}) linked by no version; kept {result.kept} "
          f"of {result.candidates} older than {args.older_than:g} days ({result.revisions} revisions of "
          f"{result.documents} documents read)")
    return 0


def _image_problem(store: Store, doc: str) -> str | None:
    """What is wrong with the first damaged image of a document: bytes that are not the
    size, the SHA-256 or the sniffed type stored with them (read one at a time)."""
    for described in store.images(doc):
        image = store.image(described.id)
        data = image.data if image is not None else None
        if data is None:
            return f"image {described.id!r} went while it was checked"
        if len(data) != described.size:
            return f"image {described.id!r} has {len(data)} bytes, its size says {described.size}"
        if digest(data) != described.sha256:
            return f"image {described.id!r} does not have its SHA-256 (damaged bytes)"
        if sniff(data) != described.type:
            return f"image {described.id!r} is {sniff(data) or 'no image collab takes'}, its type says {described.type}"
    return None


def _clash(store: Store, row: DocumentRow) -> str | None:
    """What is wrong when a live document's edit id or view token is also a tombstone (a
    restored or edited database): the server serves the document, and the tombstone says
    the name is gone for good."""
    for name, what in ((row.id, "edit id"), (row.view_token, "view token")):
        tomb = store.tombstone(name)
        if tomb is not None:
            return (f"its {what} {name!r} is also a tombstone ({tomb.reason}): delete the document or the "
                    "tombstone row, whichever is wrong")
    return None


def _password(args: argparse.Namespace) -> str:
    """A new password: one line of standard input (--password-stdin), else asked twice on
    the terminal, never echoed."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ: nothing was changed")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    """Local accounts (COLLAB_SIGN_IN=local). A password reset or a disable ends every session
    of the account; a running server disconnects their sockets within COLLAB_SESSION_CHECK."""
    # `add` may make the database (an admin's first account before the first start); the others need one
    store = open_store(args.database or _default_database(), create=args.action == "add")
    accounts = AccountService(store.accounts)
    if args.action == "token":
        return _cmd_token(args, accounts)
    if args.action == "list":
        for u in store.accounts.users():
            when = dt.datetime.fromtimestamp(u.created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
            print(f"{u.id}  {_shown(u.email):32}  {_shown(u.name[:24]):24}  {when}" + ("  disabled" if u.disabled else ""))
        return 0
    if args.action == "add":
        user = accounts.add(args.email, args.name, _password(args))
        print(f"added {user.email} as {user.name!r} ({user.id})")
    elif args.action == "reset-password":
        accounts.find(args.email)  # before asking for a password
        user = accounts.set_password(args.email, _password(args))
        print(f"new password for {user.email}; every session of the account was ended and every access token revoked")
    elif args.action == "enable":
        user = accounts.enable(args.email)
        print(f"enabled {_shown(user.email)}: it may sign in again")
    else:
        user = accounts.disable(args.email)
        print(f"disabled {_shown(user.email)}: it may not sign in; every session of the account was ended")
    return 0


def _shown(text: str) -> str:
    """`text` for a terminal: control and invisible characters as \\u escapes, never sent as
    they are (an email or name made before they were refused could clear an admin's screen)."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] == "C" else c for c in text)


def _when(ts: float | None) -> str:
    return "-" if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _cmd_token(args: argparse.Namespace, accounts: AccountService) -> int:
    """`collab user token add|list|revoke EMAIL`: an account's personal access tokens. The
    secret of a new one is printed once, alone on stdout (for `$(...)`); the rest to stderr."""
    user = accounts.find(args.email)
    if args.token_action == "add":
        secret, token = accounts.add_token(user, args.name, args.expires_days)
        until = f"until {_when(token.expires)} UTC" if token.expires is not None else "until revoked"
        print(f"made token {token.id} {token.name!r} for {user.email}, {until}; it is shown this once:",
              file=sys.stderr)
        print(secret)
    elif args.token_action == "list":
        now = time.time()
        for t in accounts.tokens(user):
            state = "  expired" if t.expires is not None and t.expires <= now else ""
            print(f"{t.id}  {t.name[:32]:32}  made {_when(t.created)}  used {_when(t.last_used)}  "
                  f"expires {_when(t.expires)}{state}")
    else:
        token = accounts.revoke_token(user, args.token_id)
        print(f"revoked {token.id} {token.name!r} of {user.email}: it is refused from now on, and a running "
              "server disconnects its sockets within COLLAB_SESSION_CHECK")
    return 0


def _token_parser(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    t = actions.add_parser("token", help="an account's personal access tokens (Authorization: Bearer): add, list, revoke")
    verbs = t.add_subparsers(dest="token_action", required=True)
    for name, help_ in (("add", "make a token and print its secret (shown this once)"),
                        ("list", "list the account's tokens (never their secrets)"),
                        ("revoke", "revoke a token by its id (t_...): refused from now on")):
        a = verbs.add_parser(name, help=help_)
        a.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL or the data folder's SQLite file)")
        a.add_argument("email")
        if name == "add":
            a.add_argument("--name", required=True, help="what the token is for (1-64 characters), e.g. 'nightly backup'")
            a.add_argument("--expires-days", type=float, help="days until it expires (default: until revoked)")
        if name == "revoke":
            a.add_argument("token_id", help="the token's id, as `collab user token list` shows it")


def _user_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("user", help="local accounts (COLLAB_SIGN_IN=local): add, reset-password, disable, list, token")
    actions = p.add_subparsers(dest="action", required=True)
    for name, help_ in (("add", "make an account (asks the password twice, or --password-stdin)"),
                        ("reset-password", "give an account a new password and end its sessions"),
                        ("disable", "stop an account from signing in and end its sessions"),
                        ("enable", "let a disabled account sign in again"),
                        ("list", "list the accounts")):
        a = actions.add_parser(name, help=help_)
        a.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL or the data folder's SQLite file)")
        if name != "list":
            a.add_argument("email", help="the account's email, or its id (u_..., as `list` shows it)")
        if name == "add":
            a.add_argument("--name", help="display name: the author of their revisions (default: the email's user part)")
        if name in ("add", "reset-password"):
            a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _token_parser(actions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collab", description="collab: real-time collaborative documents")
    parser.add_argument("--version", action="version", version=f"collab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the server (options as run.py: --host --port --database)", add_help=False)
    for name, help_ in (("export", "print a document's text"), ("history", "list a document's revisions"),
                        ("check", "re-verify every stored history"),
                        ("migrate", "bring the database's schema up to date (the server does it at start)"),
                        ("dump", "write every document with its whole history, labels and tokens (JSON Lines)"),
                        ("load", "load a dump into a database that does not hold its documents, then check them"),
                        ("copy", "copy every document from one database to another (--from URL --to URL), then check"),
                        ("replay", "show the text evolving, revision by revision"),
                        ("delete", "delete a document for good: its history goes, its links answer 410 deleted"),
                        ("rename", "give a document a new edit id: its history moves, the old link answers 410"),
                        ("rotate-view", "give a document a new read-only link: the old one answers 410"),
                        ("gc-images", "remove uploaded images that no version of any document shows")):
        p = sub.add_parser(name, help=help_)
        if name != "copy":
            p.add_argument("--database", help="database URL (default: COLLAB_DATABASE_URL or the data folder's SQLite file)")
        if name == "check":
            p.add_argument("docs", nargs="*", help="only these documents")
            p.add_argument("-v", "--verbose", action="store_true")
        elif name == "dump":
            p.add_argument("docs", nargs="*", help="only these documents (default: all)")
            p.add_argument("-o", "--output", help="write to this file instead of stdout")
        elif name == "load":
            p.add_argument("file", help="the dump (- for standard input)")
        elif name == "copy":
            p.add_argument("--from", dest="source", required=True, help="database URL to copy from")
            p.add_argument("--to", dest="target", required=True, help="database URL to copy into")
        elif name == "gc-images":
            p.add_argument("--older-than", type=float, default=7.0, metavar="DAYS",
                           help="only images uploaded more than this many days ago (default 7: an upload's edit "
                                "may still be on its way from a tab that was offline)")
            p.add_argument("-n", "--dry-run", action="store_true", help="only list what would be removed")
        elif name != "migrate":
            p.add_argument("doc")
        if name == "rename":
            p.add_argument("new", nargs="?", help="the new edit id (default: a generated one)")
        if name == "export":
            p.add_argument("--version", type=int, help="the version to export (default: the latest)")
            p.add_argument("-o", "--output", help="write to this file instead of stdout")
        if name == "replay":
            p.add_argument("--from", dest="start", type=int, default=0, help="first version shown (default 0)")
            p.add_argument("--to", dest="end", type=int, help="last version shown (default: the latest)")
            p.add_argument("--speed", type=float,
                           help="revisions per second (default 50 on a terminal; 0 or not a terminal: no waiting)")
    _user_parser(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve":
        return cmd_serve(args, rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        commands = {"export": cmd_export, "history": cmd_history, "check": cmd_check, "replay": cmd_replay,
                    "migrate": cmd_migrate, "dump": cmd_dump, "load": cmd_load, "copy": cmd_copy,
                    "delete": cmd_delete, "rename": cmd_rename, "rotate-view": cmd_rotate_view, "user": cmd_user,
                    "gc-images": cmd_gc_images}
        return commands[args.command](args)
    except NoDatabase as exc:
        fail("collab", NoDatabase(f"{exc}: pass --database or set COLLAB_DATABASE_URL"))
        return NO_DATABASE
    except (CollabError, StoreError, ReplayError, ValueError, OSError) as exc:
        return fail("collab", exc)
    except BrokenPipeError:  # e.g. `collab history DOC | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
