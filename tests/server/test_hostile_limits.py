"""Limits in code points, whatever the script (issue 13 item 9).

The document limit counts code points; a patch's limit bounds one message on the wire (its
%-escaped text, where a CJK character takes 9 characters). So a paste of any size within the
document limit is saved, split by the client into several patches when one message would be
too big (the join answer tells clients the limits); import and restore are limited by the
document they make, never by the size of the server's own patch; and a refusal speaks of
what the user did. Sizes are the defaults (4,194,304 code points), as a user meets them.
"""
from __future__ import annotations

import time
import urllib.parse

import gevent
import pytest
import requests

from collab import create_app
from collab.client.document import CollabClientError, Document
from collab.core.patches import make_patch
from collab.service.observer import Observer

MiB = 1_048_576
CJK = "中文字符汉字编辑器协作文档"  # 3 UTF-8 bytes, 9 escaped patch characters each


def escaped_length(s: str) -> int:
    """Characters `s` takes in a patch text (%-escaped UTF-8, as diff-match-patch writes it)."""
    return len(urllib.parse.quote(s, safe="!~*'();/?:@&=+$,# "))


def cjk_text(n: int) -> str:
    """n code points of CJK prose, with a line break every 40 characters."""
    line = (CJK * (40 // len(CJK) + 1))[:39] + "\n"
    return (line * (n // len(line) + 1))[:n]


def mixed_text(n: int) -> str:
    """n code points of mixed scripts: ASCII, accented Latin, CJK, emoji, Hebrew, newlines."""
    unit = "Hello, wörld! 中文字符 😀👍 שלום\n"
    return (unit * (n // len(unit) + 1))[:n]


def test_join_answer_tells_the_limits(connect, doc_id):
    c = connect()
    ack = c.emit("join", {"doc": doc_id}, callback=True)
    assert ack["limits"] == {"patch": 4_194_304, "hunks": 5_000, "doc": 4_194_304, "lines": 10_000}


def test_a_1_5_MB_cjk_paste_is_saved_and_seen_by_another_client(live_server, doc_id):  # noqa: F811
    """521k CJK characters (1.5 MB of UTF-8, 4.7 M escaped patch characters): before, one
    patch, refused as "patch has 4,683,023 characters"; now several, all saved."""
    paste = cjk_text(521_000)
    print(f"paste: {len(paste):,} code points, {len(paste.encode('utf-8')):,} UTF-8 bytes, "
          f"{escaped_length(paste):,} escaped patch characters")
    with Document(live_server.url, doc_id, name="paster") as a, Document(live_server.url, doc_id, name="reader") as b:
        a.insert(0, "start ")
        a.wait_synced(10)
        t0 = time.monotonic()
        a.insert(6, paste)
        a.wait_synced(120)
        print(f"saved in {time.monotonic() - t0:.1f} s, as versions 2..{a.version}")
        deadline = time.monotonic() + 60
        while b.version < a.version and time.monotonic() < deadline:
            b.wait_synced(60)  # a bound, not a figure: the machine may be loaded
        assert b.text == a.text == "start " + paste
    stored = requests.get(f"{live_server.url}/api/docs/{doc_id}", timeout=30).json()
    assert stored["text"] == "start " + paste


def test_a_paste_over_the_document_limit_is_refused_clearly_then_editing_goes_on(live_server, doc_id):  # noqa: F811
    """5.1 M characters is over the 4.2 M limit: refused with a message about the paste,
    nothing saved of it, and after undoing it the next edit is saved (no sticky error)."""
    with Document(live_server.url, doc_id, name="paster") as a:
        a.insert(0, "keep ")
        a.wait_synced(10)
        a.insert(5, "x" * 5_100_000)
        with pytest.raises(CollabClientError) as refused:
            a.wait_synced(60)
        message = refused.value.error["message"]
        print(f"refusal: {message}")
        assert refused.value.error["code"] == "too_large"
        assert "5.1 M" in message and "4.2 M" in message
        a.delete(5, 5_100_000)  # undo
        a.insert(5, "more")
        a.wait_synced(30)
        assert a.text == "keep more"
    stored = requests.get(f"{live_server.url}/api/docs/{doc_id}", timeout=30).json()
    assert stored["text"] == "keep more"


def test_import_of_2_8_M_code_points_of_mixed_text(app, doc_id):
    """2.8 M code points (5.1 MB of UTF-8) are within the 4,194,304 code point limit: saved.
    Before: 413 (the body limit was the patch limit in bytes)."""
    text = mixed_text(2_800_000)
    body = text.encode("utf-8")
    print(f"import: {len(text):,} code points, {len(body):,} bytes")
    http = app.test_client()
    assert http.post("/api/docs", json={"doc": doc_id}).status_code == 201
    r = http.post(f"/api/docs/{doc_id}/import", data=body, content_type="text/plain; charset=utf-8")
    assert r.status_code == 201, r.get_json()
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == text


def test_import_over_the_document_limit_is_413_and_changes_nothing(app, doc_id):
    http = app.test_client()
    assert http.post("/api/docs", json={"doc": doc_id}).status_code == 201
    assert http.post(f"/api/docs/{doc_id}/import", data=b"keep", content_type="text/plain").status_code == 201
    r = http.post(f"/api/docs/{doc_id}/import", data=b"y" * 4_194_305, content_type="text/plain")
    assert r.status_code == 413
    print(f"refusal: {r.get_json()['error']['message']}")
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == "keep"


def _write_in_chunks(c, doc: str, base: int, old: str, new: str, step: int) -> int:
    """Edit `old` into `new` with patches of at most `step` code points each (an honest
    client within the patch limit); the version after."""
    text = old
    while text != new:
        if len(text) < len(new):
            nxt = new[: len(text) + step]  # `new` starts with `text`
        else:
            nxt = text[: max(len(new), len(text) - step)]
        ack = c.emit("patch", {"doc": doc, "base": base, "patch": make_patch(text, nxt), "id": f"w{base}"},
                     callback=True)
        assert ack["ok"], ack
        base, text = ack["version"], nxt
    return base


def test_restore_of_a_2_5_M_character_version(app, connect, doc_id):
    """A version of 2.5 M characters (5 M escaped patch characters) made by honest patches,
    then emptied: restoring it is one patch the server makes itself. Before: refused by the
    server's own patch limit (too_large); now limited by the document only."""
    big = "a\n" * 1_250_000
    c = connect()
    c.emit("join", {"doc": doc_id}, callback=True)
    v_big = _write_in_chunks(c, doc_id, 0, "", big, 1_000_000)
    v_empty = _write_in_chunks(c, doc_id, v_big, big, "", 1_000_000)
    http = app.test_client()
    t0 = time.monotonic()
    r = http.post(f"/api/docs/{doc_id}/restore", json={"version": v_big})
    print(f"restore of {len(big):,} characters ({escaped_length(big):,} escaped): {r.status_code} "
          f"in {time.monotonic() - t0:.1f} s")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == v_empty + 1
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == big


def test_a_patch_over_the_message_limit_is_refused_in_words_of_its_size(connect, doc_id):
    """A client that ignores the announced limits: its one huge patch is refused, and the
    message says how big it was and what the limits are."""
    c = connect()
    c.emit("join", {"doc": doc_id}, callback=True)
    paste = cjk_text(521_000)
    ack = c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", paste), "id": "huge"}, callback=True)
    assert ack["error"]["code"] == "too_large"
    message = ack["error"]["message"]
    print(f"refusal: {message}")
    assert "521,000 characters" in message and "split" in message


def test_a_patch_of_more_lines_than_the_limit_is_refused_before_it_is_parsed(db_url, doc_id):
    """Two connections each send a hunk of 650,000 alternating context and insert lines (1.3
    million operations in 3.9 MB, within the patch's character limit): each held a write-lane
    thread for seconds, parsed then applied, and there are two; an honest paste of another
    document (parsed on a write-lane thread too) waited behind them. Now each is refused
    `too_large` from its count of lines, never parsed, nothing stored, its connection goes on;
    the paste is saved."""
    parsed: list[str] = []

    class Parses(Observer):
        def parsed(self, op_id: str) -> None:
            parsed.append(op_id)

    app = create_app({"database_url": db_url}, observer=Parses())
    try:
        sio = app.extensions["socketio"]
        hostile = [sio.test_client(app) for _ in range(2)]
        honest = sio.test_client(app)
        n = 650_000
        for k, c in enumerate(hostile):
            c.emit("join", {"doc": f"{doc_id}-{k}"}, callback=True)
            seed = c.emit("patch", {"doc": f"{doc_id}-{k}", "base": 0, "patch": make_patch("", "a" * n),
                                    "id": f"seed-{k}"}, callback=True)
            assert seed["ok"], seed
        honest.emit("join", {"doc": doc_id}, callback=True)
        attack = f"@@ -1,{n} +1,{2 * n} @@\n" + " a\n+b\n" * n
        paste = "honest paste " * 3_000  # 39,000 characters: parsed on a write-lane thread
        answers: list[tuple[str, dict]] = []

        def send(who: str, c, doc: str, base: int, patch: str) -> None:
            answers.append((who, c.emit("patch", {"doc": doc, "base": base, "patch": patch, "id": who},
                                        callback=True)))

        workers = [gevent.spawn(send, f"attack-{k}", c, f"{doc_id}-{k}", 1, attack) for k, c in enumerate(hostile)]
        workers.append(gevent.spawn(send, "paste", honest, doc_id, 0, make_patch("", paste)))
        gevent.joinall(workers, timeout=120, raise_error=True)
        acks = dict(answers)
        assert acks["paste"]["ok"], acks["paste"]
        for k in range(2):
            refused = acks[f"attack-{k}"]
            assert not refused["ok"] and refused["error"]["code"] == "too_large", refused
            message = refused["error"]["message"]
            assert "1,300,001 lines" in message and "10,000 one message may carry" in message, message
        print(f"refusal: {acks['attack-0']['error']['message']}")
        assert "attack-0" not in parsed and "attack-1" not in parsed and "paste" in parsed
        http = app.test_client()
        for k, c in enumerate(hostile):
            stored = http.get(f"/api/docs/{doc_id}-{k}").get_json()
            assert (stored["version"], stored["text"]) == (1, "a" * n)  # nothing of it stored
            # the connection goes on: its next patch, within the limit, is saved
            ack = c.emit("patch", {"doc": f"{doc_id}-{k}", "base": 1, "patch": make_patch("a" * n, "b" + "a" * n),
                                   "id": f"next-{k}"}, callback=True)
            assert ack["ok"] and ack["version"] == 2, ack
        assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == paste
    finally:
        app.extensions["collab"].close()


def test_a_patch_at_the_line_limit_is_saved(make_app, connect, doc_id):
    """The limit is of lines as sent, headers included: a patch of exactly that many applies."""
    app = make_app(max_patch_lines=9)
    c = connect(app)
    c.emit("join", {"doc": doc_id}, callback=True)
    assert c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "abcd"), "id": "seed"},
                  callback=True)["ok"]
    four = "@@ -1,4 +1,8 @@\n a\n+x\n b\n+x\n c\n+x\n d\n+x\n"  # 9 lines
    assert c.emit("patch", {"doc": doc_id, "base": 1, "patch": four + "\n", "id": "ten"}, callback=True)["error"]["code"] \
        == "too_large"
    ack = c.emit("patch", {"doc": doc_id, "base": 1, "patch": four, "id": "nine"}, callback=True)
    assert ack["ok"] and ack["version"] == 2, ack
    assert c.emit("join", {"doc": doc_id}, callback=True)["text"] == "axbxcxdx"
