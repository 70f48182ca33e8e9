"""The `collab` command: export, history, check (against a database the app wrote)."""
import sqlite3
import subprocess
import sys

import pytest

from collab.core.patches import make_patch


@pytest.fixture
def written(connect, doc_id, db_url):
    c = connect()
    c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    texts = [""]
    for v in range(1, 251):  # past two snapshots
        texts.append(texts[-1] + f"{v} 😀\n")
        ack = c.emit("patch", {"doc": doc_id, "base": v - 1, "patch": make_patch(texts[-2], texts[-1]),
                               "id": f"cli-{v}"}, callback=True)
        assert ack["ok"]
    return doc_id, texts


def collab(*args):
    return subprocess.run([sys.executable, "-m", "collab.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=60)


def test_export_latest_and_any_version(written, db_url, tmp_path):
    doc, texts = written
    assert collab("export", doc, "--database", db_url).stdout == texts[-1]
    assert collab("export", doc, "--version", "123", "--database", db_url).stdout == texts[123]
    out = tmp_path / "out.txt"
    assert collab("export", doc, "--database", db_url, "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == texts[-1]


def test_export_errors(written, db_url, tmp_path):
    doc, _ = written
    r = collab("export", doc, "--version", "999", "--database", db_url)
    assert r.returncode != 0 and "does not exist" in r.stderr
    r = collab("export", "no-such-doc", "--database", db_url)
    assert r.returncode != 0 and "does not exist" in r.stderr
    r = collab("export", doc, "--database", f"sqlite:///{tmp_path}/missing.db")
    assert r.returncode == 2 and "no SQLite database at" in r.stderr


def test_history_lists_every_revision(written, db_url):
    doc, texts = written
    lines = collab("history", doc, "--database", db_url).stdout.splitlines()
    assert len(lines) == 1 + 250
    assert lines[1].split()[0] == "1" and "Ann" in lines[1] and "cli-1" in lines[1]


def test_check_passes_then_finds_corruption(written, db_url, tmp_path):
    doc, _ = written
    ok = collab("check", "--database", db_url)
    assert ok.returncode == 0 and "0 corrupt" in ok.stdout
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE revisions SET hash = 'deadbeef' WHERE doc = ? AND version = 77", (doc,))
    bad = collab("check", "--database", db_url)
    assert bad.returncode == 1 and f"CORRUPT {doc}: revision 77" in bad.stdout
    db.execute("UPDATE snapshots SET text = 'wrong' WHERE doc = ? AND version = 200", (doc,))
    db.execute("UPDATE revisions SET hash = (SELECT hash FROM revisions WHERE doc = ? AND version = 77) "
               "WHERE doc = ? AND version = 77", (doc, doc))
    assert collab("check", "--database", db_url).returncode == 1


def test_usage_errors():
    assert collab("frobnicate").returncode == 2
    assert collab("export").returncode == 2


def test_replay_prints_each_version_when_not_a_terminal(written, db_url):
    doc, texts = written
    out = collab("replay", doc, "--from", "98", "--to", "101", "--database", db_url).stdout
    blocks = out.split("--- version ")[1:]
    assert [b.split()[0] for b in blocks] == ["98", "99", "100", "101"]
    for block, v in zip(blocks, range(98, 102)):
        assert block.split("\n", 1)[1] == texts[v] + "\n"
    assert "Ann" in blocks[1].splitlines()[0]


def test_replay_errors(written, db_url):
    doc, _ = written
    r = collab("replay", doc, "--from", "5", "--to", "3", "--database", db_url)
    assert r.returncode != 0 and "--from" in r.stderr
    assert collab("replay", doc, "--speed", "-1", "--database", db_url).returncode != 0
    assert collab("replay", "no-such-doc", "--database", db_url).returncode != 0


def test_check_reports_every_undecodable_document_and_goes_on(make_app, db_url, tmp_path):
    """Rows that are not UTF-8 (a patch, a snapshot, an author, even a document id) in
    several documents: every bad document is named, the good ones are checked, exit 1.
    Before: the first undecodable row stopped the whole check without naming a document."""
    from collab.core.patches import make_patch as mk

    app = make_app()
    service = app.extensions["collab"]
    names = ["a-bad-patch", "b-good", "c-bad-snapshot", "d-bad-author", "e-good"]
    for name in names:
        state = service.open(name, create=True)
        text = ""
        for v in range(1, 121):
            service.submit(state, v - 1, mk(text, text + f"{v} "), f"{name}-{v}", "me")
            text += f"{v} "
    service.close()
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE revisions SET patch = CAST(X'4080ff' AS TEXT) WHERE doc = 'a-bad-patch' AND version = 7")
    db.execute("UPDATE snapshots SET text = CAST(X'80' AS TEXT) WHERE doc = 'c-bad-snapshot' AND version = 100")
    db.execute("UPDATE revisions SET author = CAST(X'ff' AS TEXT) WHERE doc = 'd-bad-author' AND version = 3")
    db.execute("INSERT INTO documents (id, view_token, head, created, updated) "
               "VALUES (CAST(X'66ff' AS TEXT), 'vt-undecodable', 0, 0, 0)")
    db.close()
    r = collab("check", "--database", db_url)
    print(r.stdout, r.stderr)
    assert r.returncode == 1, r.stderr
    out = r.stdout
    for bad in ("a-bad-patch: revision 7", "c-bad-snapshot:", "d-bad-author: revision 3"):
        assert f"CORRUPT {bad}" in out, out
    assert "CORRUPT b'f\\xff': document id is not valid UTF-8" in out, out
    assert "CORRUPT b-good" not in out and "CORRUPT e-good" not in out
    assert "6 documents checked, 4 corrupt" in out


def test_export_reads_a_version_as_the_server_does(written, db_url, tmp_path, make_app):
    """One replay (core.replay.text_at) for the CLI's export and the server's read of a
    version: the same text, and the same refusal of a text that does not match its hash."""
    doc, texts = written
    assert collab("export", doc, "--version", "123", "--database", db_url).stdout == texts[123]
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE revisions SET hash = 'deadbeef' WHERE doc = ? AND version = 123", (doc,))
    db.close()
    r = collab("export", doc, "--version", "123", "--database", db_url)
    assert r.returncode == 1 and "revision 123: text hash does not match" in r.stderr, r.stderr
    fresh = make_app().test_client()  # a server that has not the document in memory
    answer = fresh.get(f"/api/docs/{doc}/versions/123")
    assert answer.status_code == 500 and answer.get_json()["error"]["code"] == "doc_corrupt"
    assert "revision 123: text hash does not match" in answer.get_json()["error"]["message"]


def test_delete_removes_the_document_for_good_and_a_running_server_refuses_it(connect, doc_id, db_url, app):
    import os

    c = connect()
    c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)
    assert c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "x"), "id": "d-1"}, callback=True)["ok"]
    env = {k: v for k, v in os.environ.items() if k != "COLLAB_MESSAGE_QUEUE"}
    cmd = [sys.executable, "-m", "collab.cli", "delete", doc_id, "--database", db_url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert f"deleted {doc_id}: 1 revisions" in r.stdout and "finds its tombstones" in r.stdout
    # the server that had it open refuses it: `deleted` at the next change, or `not_joined`
    # if its tombstone watch (tests/server/test_tombstones.py) took the editor out first
    ack = c.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("x", "xy"), "id": "d-2"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] in ("deleted", "not_joined"), ack
    assert app.test_client().get(f"/api/docs/{doc_id}").status_code == 410
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 1 and "already deleted" in again.stderr
    never = subprocess.run(cmd[:4] + ["never-was", *cmd[5:]], capture_output=True, text=True, timeout=60, env=env)
    assert never.returncode == 1 and "does not exist" in never.stderr


def _no_queue():
    import os

    return {k: v for k, v in os.environ.items() if k != "COLLAB_MESSAGE_QUEUE"}


def test_rename_moves_the_document_and_a_running_server_refuses_the_old_id(connect, doc_id, db_url, app):
    c = connect()
    view = c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)["view"]
    assert c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "x"), "id": "r-1"}, callback=True)["ok"]
    cmd = [sys.executable, "-m", "collab.cli", "rename", doc_id, doc_id + "-new", "--database", db_url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=_no_queue())
    assert r.returncode == 0, r.stderr
    assert f"renamed {doc_id} to {doc_id}-new: 1 revisions moved" in r.stdout and "finds its tombstones" in r.stdout
    # the server that had it open refuses the old id: `deleted`, reason renamed, at the next
    # change, or `not_joined` if its tombstone watch took the editor out first
    ack = c.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("x", "xy"), "id": "r-2"}, callback=True)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "not_joined" or ack["error"].get("reason") == "renamed", ack
    http = app.test_client()
    assert http.get(f"/api/docs/{doc_id}").get_json()["error"]["reason"] == "renamed"
    assert http.get(f"/api/docs/{doc_id}-new").get_json()["text"] == "x"
    assert http.get(f"/api/docs/{view}").get_json()["text"] == "x"  # the read-only link goes with it
    # the old id, and any other taken name, cannot be renamed to again
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=_no_queue())
    assert again.returncode == 1 and "is gone (renamed)" in again.stderr
    taken = subprocess.run([*cmd[:4], doc_id + "-new", view, *cmd[6:]], capture_output=True, text=True, timeout=60,
                           env=_no_queue())
    assert taken.returncode == 1 and "is taken" in taken.stderr
    generated = subprocess.run([*cmd[:4], doc_id + "-new", *cmd[6:]], capture_output=True, text=True, timeout=60,
                               env=_no_queue())
    assert generated.returncode == 0, generated.stderr
    new = generated.stdout.split(" to ", 1)[1].split(":", 1)[0]
    assert http.get(f"/api/docs/{new}").get_json()["text"] == "x" and len(new) >= 16


def test_rotate_view_retires_the_read_only_link_only(connect, doc_id, db_url, app):
    c = connect()
    view = c.emit("join", {"doc": doc_id, "name": "Ann"}, callback=True)["view"]
    assert c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "x"), "id": "v-1"}, callback=True)["ok"]
    r = subprocess.run([sys.executable, "-m", "collab.cli", "rotate-view", doc_id, "--database", db_url],
                       capture_output=True, text=True, timeout=60, env=_no_queue())
    assert r.returncode == 0, r.stderr
    new = r.stdout.split("/v/", 1)[1].split(";", 1)[0]
    assert new != view
    http = app.test_client()
    error = http.get(f"/api/docs/{view}").get_json()["error"]
    assert error["code"] == "deleted" and error["reason"] == "rotated"
    assert http.get(f"/api/docs/{new}").get_json()["text"] == "x"
    # the editor goes on writing; a viewer joins by the new token, not the old one
    assert c.emit("patch", {"doc": doc_id, "base": 1, "patch": make_patch("x", "xy"), "id": "v-2"}, callback=True)["ok"]
    viewer = connect()
    assert viewer.emit("join", {"view": new}, callback=True)["text"] == "xy"
    assert viewer.emit("join", {"view": view}, callback=True)["error"]["reason"] == "rotated"
    never = subprocess.run([sys.executable, "-m", "collab.cli", "rotate-view", "never-was", "--database", db_url],
                           capture_output=True, text=True, timeout=60, env=_no_queue())
    assert never.returncode == 1 and "does not exist" in never.stderr


def test_load_refuses_a_bad_dump_in_one_line_with_exit_code_1(tmp_path):
    """The command as a user runs it: two documents with one view token, and a document id
    that is a path. Before: an uncaught TypeError (a traceback), and the path was loaded."""
    import json

    def dump_of(*docs):
        recs = [{"collab_dump": 1, "schema": 2},
                *({"document": {"id": d, "view_token": t, "head": 0, "created": 1.0, "updated": 1.0}} for d, t in docs),
                {"end": {"documents": len(docs), "revisions": 0}}]
        path = tmp_path / f"dump-{len(list(tmp_path.iterdir()))}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
        return str(path)

    target = f"sqlite:///{tmp_path}/target.db"
    for path, message in ((dump_of(("a", "same-token"), ("b", "same-token")),
                           "collab: line 3: document 'b': view token 'same-token' is already document 'a''s view token"),
                          (dump_of(("../../etc", "some-token")),
                           "collab: line 2: document id '../../etc' is not valid: use 1-64 of A-Z a-z 0-9 _ -")):
        r = collab("load", "--database", target, path)
        assert r.returncode == 1 and r.stderr.splitlines() == [message], r.stderr
        assert r.stdout == ""
    assert sqlite3.connect(tmp_path / "target.db").execute("SELECT COUNT(*) FROM documents").fetchone() == (0,)


READ_ONLY = {  # the commands that only read or change what exists, with their arguments
    "dump": [], "export": ["some-doc"], "history": ["some-doc"], "replay": ["some-doc"], "check": [],
    "delete": ["some-doc"],
}


@pytest.mark.parametrize("command", sorted(READ_ONLY) + ["copy --from"])
def test_a_command_that_only_reads_never_creates_a_database(command, tmp_path):
    """A mistyped SQLite path is one line and exit status 2, and no file appears. Before: an
    empty file (`touch`ed, or another program's) was given collab's tables and read as empty,
    and the status was 1 like any error."""
    missing = tmp_path / "tpyo.db"
    empty = tmp_path / "empty.db"
    empty.touch()
    for path, message in ((missing, f"collab: no SQLite database at {missing}: pass --database or set "
                                    "COLLAB_DATABASE_URL"),
                          (empty, f"collab: no collab database at {empty}: it holds no collab tables")):
        if command == "copy --from":
            args = ["copy", "--from", f"sqlite:///{path}", "--to", f"sqlite:///{tmp_path}/to.db"]
        else:
            args = [command, *READ_ONLY[command], "--database", f"sqlite:///{path}"]
        r = collab(*args)
        assert r.returncode == 2 and r.stderr.splitlines() == [r.stderr.strip()], r.stderr
        assert r.stderr.startswith(message) and "Traceback" not in r.stderr, r.stderr
    assert not missing.exists() and empty.stat().st_size == 0
    assert not (tmp_path / "to.db").exists(), "copy's target is not made before its source is open"


def test_a_sqlite_url_with_options_names_its_file(written, db_url):
    """`?timeout=` is an option of the URL, not part of the file name (the old existence check
    looked for a file named `collab.db?timeout=5` and refused a database that was there)."""
    doc, texts = written
    r = collab("export", doc, "--database", db_url + "?timeout=5")
    assert r.returncode == 0 and r.stdout == texts[-1], r.stderr


def test_commands_that_write_a_new_database_still_create_it(tmp_path):
    """migrate and load make their database; so does copy's target."""
    made = tmp_path / "made.db"
    assert collab("migrate", "--database", f"sqlite:///{made}").returncode == 0 and made.is_file()
    copied = tmp_path / "copied.db"
    r = collab("copy", "--from", f"sqlite:///{made}", "--to", f"sqlite:///{copied}")
    assert r.returncode == 0 and copied.is_file(), r.stderr


@pytest.mark.parametrize("option", ["--database", "--from", "--to"])
def test_a_bare_path_for_a_database_says_the_url_it_means(option, tmp_path):
    """Before: "COLLAB_DATABASE_URL scheme '/tmp/x.db' is not supported", naming a variable
    the user never set and no URL to write instead."""
    path = str(tmp_path / "notes.db")
    args = {"--database": ["check", "--database", path],
            "--from": ["copy", "--from", path, "--to", f"sqlite:///{tmp_path}/to.db"],
            "--to": ["copy", "--from", f"sqlite:///{tmp_path}/from.db", "--to", path]}[option]
    if option == "--to":
        assert collab("migrate", "--database", f"sqlite:///{tmp_path}/from.db").returncode == 0
    r = collab(*args)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"collab: database {path!r} is not a URL: for a SQLite file write sqlite:///{path} "
                                "(three slashes, then the path: four before an absolute one); for PostgreSQL "
                                "postgresql://user@host/dbname")
    assert "COLLAB_DATABASE_URL" not in r.stderr and not (tmp_path / "notes.db").exists()


@pytest.mark.parametrize("url", ["postgresql://collab:secret@127.0.0.1:1/x", "postgres://no-such-host.invalid/x"])
def test_an_unreachable_postgresql_is_one_line_with_its_reason(url):
    """Before: the pool's warning per retry (8 lines over 10 s), then only "couldn't get a
    connection after 10.00 sec"."""
    r = collab("check", "--database", url)
    assert r.returncode == 1
    [line] = r.stderr.splitlines()
    assert line.startswith("collab: cannot reach the database, PostgreSQL ") and "secret" not in line
    assert ("Connection refused" in line) if ":1/" in url else ("resolve host" in line), line


def test_check_verifies_each_images_size_hash_and_sniffed_type(app, db_url, tmp_path):
    from imagekit import png

    http = app.test_client()
    docs = {}
    for name in ("img-size", "img-hash", "img-type", "img-good"):
        http.post("/api/docs", json={"doc": name})
        docs[name] = http.post(f"/api/docs/{name}/images", data=png(), content_type="image/png").get_json()["id"]
    assert collab("check", "--database", db_url).returncode == 0
    db = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
    db.execute("UPDATE images SET size = size + 1 WHERE id = ?", (docs["img-size"],))
    db.execute("UPDATE images SET data = ? WHERE id = ?", (png()[:-1] + b"?", docs["img-hash"]))  # one byte changed
    db.execute("UPDATE images SET type = 'image/jpeg' WHERE id = ?", (docs["img-type"],))
    r = collab("check", "--database", db_url)
    assert r.returncode == 1 and "4 documents checked, 3 corrupt" in r.stdout, r.stdout
    assert f"CORRUPT img-size: image {docs['img-size']!r} has {len(png())} bytes, its size says {len(png()) + 1}" in r.stdout
    assert f"CORRUPT img-hash: image {docs['img-hash']!r} does not have its SHA-256" in r.stdout
    assert f"CORRUPT img-type: image {docs['img-type']!r} is image/png, its type says image/jpeg" in r.stdout
    assert "img-good" not in r.stdout


def collab_in(stdin, *args):
    return subprocess.run([sys.executable, "-m", "collab.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=60, input=stdin)


def test_user_add_list_reset_and_disable(tmp_path, make_app):
    url = f"sqlite:///{tmp_path}/users.db"
    r = collab_in("first password\n", "user", "add", "Ann@Example.org", "--name", "Ann", "--password-stdin",
                  "--database", url)
    assert r.returncode == 0 and "added Ann@Example.org as 'Ann'" in r.stdout, r.stderr
    again = collab_in("other password\n", "user", "add", "ann@example.org", "--password-stdin", "--database", url)
    assert again.returncode == 1 and "exists already" in again.stderr
    short = collab_in("short\n", "user", "add", "bo@example.org", "--password-stdin", "--database", url)
    assert short.returncode == 1 and "8 to 1024 characters" in short.stderr
    listed = collab_in("", "user", "list", "--database", url)
    assert listed.returncode == 0 and "Ann@Example.org" in listed.stdout and "disabled" not in listed.stdout

    app = make_app(database_url=url, sign_in="local")
    accounts = app.extensions["collab.accounts"]
    token = accounts.start_session(accounts.authenticate("ann@example.org", "first password"))
    r = collab_in("second password\n", "user", "reset-password", "ann@example.org", "--password-stdin",
                  "--database", url)
    assert r.returncode == 0 and "every session of the account was ended" in r.stdout
    assert accounts.session_user(token) is None  # the session the server gave is over
    assert accounts.authenticate("ann@example.org", "second password").name == "Ann"
    nobody = collab_in("x" * 10 + "\n", "user", "reset-password", "nobody@example.org", "--password-stdin",
                       "--database", url)
    assert nobody.returncode == 1 and "no account has the email" in nobody.stderr

    token = accounts.start_session(accounts.authenticate("ann@example.org", "second password"))
    r = collab_in("", "user", "disable", "ann@example.org", "--database", url)
    assert r.returncode == 0 and accounts.session_user(token) is None
    assert "disabled" in collab_in("", "user", "list", "--database", url).stdout
    with pytest.raises(Exception, match="do not match"):
        accounts.authenticate("ann@example.org", "second password")


def test_a_disabled_account_is_enabled_again_by_email_or_id_and_listed_safely(tmp_path, make_app):
    """There was no way back from `user disable` but an edit of the database, an account
    without a usable email (a provider's, unverified) could not be named at all, and an
    email holding a terminal's escape codes cleared the admin's screen (found from outside)."""
    url = f"sqlite:///{tmp_path}/users.db"
    assert collab_in("first password\n", "user", "add", "dan@example.org", "--password-stdin",
                     "--database", url).returncode == 0
    app = make_app(database_url=url, sign_in="local")
    accounts = app.extensions["collab.accounts"]
    user_id = accounts.find("dan@example.org").id
    assert collab_in("", "user", "disable", user_id, "--database", url).returncode == 0  # by its id
    with pytest.raises(Exception, match="do not match"):
        accounts.authenticate("dan@example.org", "first password")
    r = collab_in("", "user", "enable", "dan@example.org", "--database", url)
    assert r.returncode == 0 and "may sign in again" in r.stdout, r.stderr
    assert accounts.authenticate("dan@example.org", "first password").id == user_id
    # an account made before such emails were refused is listed with its controls escaped
    from collab.storage import User
    accounts.accounts.add_user(User("u_evil", "\x1b[2Jx@example.org", "N\u202eame", "!external", 1.0))
    listed = collab_in("", "user", "list", "--database", url).stdout
    assert "\x1b" not in listed and "\\u001b[2Jx@example.org" in listed and "\\u202e" in listed
    for evil in ("\x1b[2J@x.org", "ann@example.org\u200b", "a\u0007@x.org", "a@x.org\u202e"):
        r = collab_in("a long password\n", "user", "add", evil, "--password-stdin", "--database", url)
        assert r.returncode == 1 and "control or invisible" in r.stderr, (evil, r.stderr)


def test_user_commands_other_than_add_never_make_a_database(tmp_path):
    r = collab_in("", "user", "list", "--database", f"sqlite:///{tmp_path}/none.db")
    assert r.returncode == 2 and "no SQLite database" in r.stderr
    assert not (tmp_path / "none.db").exists()
