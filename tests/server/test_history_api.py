"""History over HTTP and the socket: blame, diff, restore, revert, labels, export, import."""
import gzip
import json
import tracemalloc
import zlib

import pytest

from collab.core.patches import apply_patch, make_patch, parse_patch, text_hash


@pytest.fixture
def http(app):
    return app.test_client()


def join(client, doc, **extra):
    return client.emit("join", {"doc": doc, **extra}, callback=True)


def write(client, doc, base, old, new, op):
    ack = client.emit("patch", {"doc": doc, "base": base, "patch": make_patch(old, new), "id": op}, callback=True)
    assert ack["ok"], ack
    return ack


@pytest.fixture
def story(connect, doc_id):
    """Ann and Bob write in turns: texts[v] is the text at version v."""
    ann, bob = connect(), connect()
    join(ann, doc_id, name="Ann")
    join(bob, doc_id, name="Bob")
    texts = ["", "The cat sat.", "The cat sat. 😀 Bob was here.", "The black cat sat. 😀 Bob was here.",
             "The black cat sat on the mat. 😀 Bob was here!"]
    who = [None, ann, bob, ann, bob]
    for v in range(1, len(texts)):
        write(who[v], doc_id, v - 1, texts[v - 1], texts[v], f"s-{v}")
    return doc_id, texts, ann, bob


def view_token(app, doc):
    return app.extensions["collab"].open(doc).view_token


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.get_json()["error"]["code"] == code
    return r.get_json()["error"]["message"]


def test_blame_names_who_wrote_each_part(http, story):
    doc, texts, _, _ = story
    body = http.get(f"/api/docs/{doc}/blame").get_json()
    assert body["doc"] == doc and body["version"] == 4
    text = texts[4]
    assert body["spans"][0]["start"] == 0 and body["spans"][-1]["end"] == len(text)
    by = {text[s["start"]:s["end"]]: (s["author"], s["version"]) for s in body["spans"]}
    assert by["black "] == ("Ann", 3) and by[" on the mat"] == ("Bob", 4)
    old = http.get(f"/api/docs/{doc}/blame?version=1").get_json()
    assert old["spans"] == [{"start": 0, "end": len(texts[1]), "version": 1, "author": "Ann"}]
    assert http.get(f"/api/docs/{doc}/blame?version=0").get_json()["spans"] == []
    error(http.get(f"/api/docs/{doc}/blame?version=9"), 404, "not_found")
    error(http.get(f"/api/docs/{doc}/blame?version=x"), 400, "bad_request")


def test_diff_between_any_two_versions(http, story):
    doc, texts, _, _ = story
    for a, b in [(0, 4), (1, 3), (4, 2), (3, 3)]:
        body = http.get(f"/api/docs/{doc}/diff?from={a}&to={b}").get_json()
        assert (body["from"], body["to"]) == (a, b)
        assert apply_patch(texts[a], parse_patch(body["patch"]))[0] == texts[b]
        out, cur = [], 0
        for e in body["edits"]:
            assert texts[a][e["pos"]:e["pos"] + len(e["delete"])] == e["delete"]
            out += [texts[a][cur:e["pos"]], e["insert"]]
            cur = e["pos"] + len(e["delete"])
        assert "".join(out) + texts[a][cur:] == texts[b]
    error(http.get(f"/api/docs/{doc}/diff"), 400, "bad_request")
    error(http.get(f"/api/docs/{doc}/diff?from=0&to=99"), 404, "not_found")


def test_restore_is_a_new_revision_everyone_receives(app, http, story, connect):
    doc, texts, ann, bob = story
    ann.get_received(), bob.get_received()
    r = http.post(f"/api/docs/{doc}/restore", json={"version": 1, "name": "Cy"})
    assert r.status_code == 201 and r.get_json() == {"doc": doc, "version": 5, "restored_from": 1}
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == texts[1]
    for client in (ann, bob):
        (rev,) = [e["args"][0] for e in client.get_received() if e["name"] == "revision"]
        assert rev["version"] == 5 and rev["author"] == "Cy" and rev["id"].startswith("restore-")
        assert apply_patch(texts[4], parse_patch(rev["patch"]))[0] == texts[1]
    # the history is kept: version 4 is still there
    assert http.get(f"/api/docs/{doc}/versions/4").get_json()["text"] == texts[4]
    again = http.post(f"/api/docs/{doc}/restore", json={"version": 1})
    assert again.status_code == 200 and again.get_json()["unchanged"] is True and again.get_json()["version"] == 5


def test_restore_over_the_socket(app, http, story):
    doc, texts, ann, bob = story
    bob.get_received()
    ack = ann.emit("restore", {"doc": doc, "version": 2}, callback=True)
    assert ack["ok"] and ack["version"] == 5 and ack["hash"] == text_hash(texts[2])
    (rev,) = [e["args"][0] for e in bob.get_received() if e["name"] == "revision"]
    assert rev["author"] == "Ann" and rev["version"] == 5
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == texts[2]
    assert ann.emit("restore", {"doc": doc, "version": 9}, callback=True)["error"]["code"] == "not_found"
    assert ann.emit("restore", {"doc": doc, "version": "2"}, callback=True)["error"]["code"] == "bad_request"
    assert ann.emit("restore", {"doc": "other", "version": 2}, callback=True)["error"]["code"] == "not_joined"


def test_viewers_read_history_but_never_write_it(app, http, story, connect):
    doc, texts, _, _ = story
    token = view_token(app, doc)
    answers = [
        http.get(f"/api/docs/{token}/blame"), http.get(f"/api/docs/{token}/diff?from=0&to=4"),
        http.get(f"/api/docs/{token}/revert?author=Bob&since=0"), http.get(f"/api/docs/{token}/labels"),
        http.get(f"/api/docs/{token}/export?format=html"),
    ]
    assert all(r.status_code == 200 for r in answers)
    assert token in answers[-1].headers["Content-Disposition"]
    for r in answers:
        assert doc not in r.get_data(as_text=True) and doc not in json.dumps(dict(r.headers))
    error(http.post(f"/api/docs/{token}/restore", json={"version": 1}), 403, "read_only")
    error(http.post(f"/api/docs/{token}/revert", json={"author": "Bob", "since": 0}), 403, "read_only")
    error(http.post(f"/api/docs/{token}/labels", json={"version": 1, "name": "x"}), 403, "read_only")
    error(http.delete(f"/api/docs/{token}/labels/x"), 403, "read_only")
    error(http.post(f"/api/docs/{token}/import", data="hacked", content_type="text/plain"), 403, "read_only")
    viewer = connect()
    viewer.emit("join", {"view": token}, callback=True)
    assert viewer.emit("restore", {"doc": token, "version": 1}, callback=True)["error"]["code"] == "read_only"
    assert http.get(f"/api/docs/{doc}").get_json()["version"] == 4


def test_revert_an_author_keeps_the_others_work(http, story):
    doc, texts, _, _ = story
    preview = http.get(f"/api/docs/{doc}/revert?author=Bob&since=0").get_json()
    assert preview["version"] == 4 and preview["text"] == "The black cat sat."
    assert apply_patch(texts[4], parse_patch(preview["patch"]))[0] == preview["text"]
    ann_only = http.get(f"/api/docs/{doc}/revert?author=Ann&since=2").get_json()
    assert ann_only["text"] == "The cat sat on the mat. 😀 Bob was here!"
    assert http.get(f"/api/docs/{doc}").get_json()["version"] == 4  # a preview writes nothing
    r = http.post(f"/api/docs/{doc}/revert", json={"author": "Bob", "since": 0, "name": "Ann"})
    assert r.status_code == 201 and r.get_json() == {"doc": doc, "version": 5}
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == "The black cat sat."
    nothing = http.post(f"/api/docs/{doc}/revert", json={"author": "Nobody", "since": 0})
    assert nothing.status_code == 200 and nothing.get_json()["unchanged"] is True
    error(http.get(f"/api/docs/{doc}/revert?since=0"), 400, "bad_request")
    error(http.get(f"/api/docs/{doc}/revert?author=Bob"), 400, "bad_request")
    error(http.get(f"/api/docs/{doc}/revert?author=Bob&since=99"), 404, "not_found")
    error(http.post(f"/api/docs/{doc}/revert", json={"author": "Bob", "since": -1}), 400, "bad_request")
    error(http.post(f"/api/docs/{doc}/revert", json={"since": 0}), 400, "bad_request")
    assert http.get(f"/api/docs/{doc}").get_json()["version"] == 5


def test_named_versions(http, story):
    doc, _, _, _ = story
    r = http.post(f"/api/docs/{doc}/labels", json={"version": 2, "name": "first draft"})
    assert r.status_code == 201 and r.get_json()["name"] == "first draft"
    http.post(f"/api/docs/{doc}/labels", json={"version": 4, "name": "final 😀"})
    body = http.get(f"/api/docs/{doc}/labels").get_json()
    assert [(x["version"], x["name"]) for x in body["labels"]] == [(2, "first draft"), (4, "final 😀")]
    assert http.delete(f"/api/docs/{doc}/labels/first%20draft").status_code == 200
    assert [x["name"] for x in http.get(f"/api/docs/{doc}/labels").get_json()["labels"]] == ["final 😀"]
    error(http.delete(f"/api/docs/{doc}/labels/first%20draft"), 404, "not_found")
    error(http.post(f"/api/docs/{doc}/labels", json={"version": 9, "name": "x"}), 404, "not_found")
    error(http.post(f"/api/docs/{doc}/labels", json={"version": 1, "name": "  "}), 400, "bad_request")
    error(http.post(f"/api/docs/{doc}/labels", json={"version": 1, "name": "x" * 65}), 400, "bad_request")
    error(http.post(f"/api/docs/{doc}/labels", json={"version": 1}), 400, "bad_request")
    error(http.post(f"/api/docs/{doc}/labels", data="nope"), 400, "bad_request")


def test_export_formats(http, story, doc_id):
    doc, texts, ann, _ = story
    write(ann, doc, 4, texts[4], texts[4] + "\n<script>alert('x')</script> & more", "x-1")
    txt = http.get(f"/api/docs/{doc}/export?version=1")
    assert txt.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert txt.headers["Content-Disposition"] == f'attachment; filename="{doc}-v1.txt"'
    assert txt.get_data().decode("utf-8") == texts[1]
    md = http.get(f"/api/docs/{doc}/export?format=md")
    assert md.headers["Content-Type"].startswith("text/markdown") and md.get_data(as_text=True).endswith("& more")
    page = http.get(f"/api/docs/{doc}/export?format=html")
    html = page.get_data(as_text=True)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.startswith("<!doctype html>") and "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html and "😀" in html
    assert f'filename="{doc}-v5.html"' in page.headers["Content-Disposition"]
    error(http.get(f"/api/docs/{doc}/export?format=pdf"), 400, "bad_request")
    error(http.get(f"/api/docs/{doc}/export?version=99"), 404, "not_found")


def test_import_replaces_the_text_as_one_revision(http, story, connect):
    doc, texts, ann, _ = story
    new = "Imported 😀 text\nline two\n"
    r = http.post(f"/api/docs/{doc}/import?name=Ann", data=new.encode("utf-8"), content_type="text/plain")
    assert r.status_code == 201 and r.get_json() == {"doc": doc, "version": 5}
    revs = http.get(f"/api/docs/{doc}/revisions?since=4").get_json()["revisions"]
    assert [(x["version"], x["author"]) for x in revs] == [(5, "Ann")] and revs[0]["id"].startswith("import-")
    from io import BytesIO
    up = http.post(f"/api/docs/{doc}/import", data={"file": (BytesIO(b"\xef\xbb\xbffrom a file"), "a.txt")},
                   content_type="multipart/form-data")
    assert up.status_code == 201 and http.get(f"/api/docs/{doc}").get_json()["text"] == "from a file"
    same = http.post(f"/api/docs/{doc}/import", data=b"from a file", content_type="text/plain")
    assert same.status_code == 200 and same.get_json()["unchanged"] is True
    assert "UTF-8" in error(http.post(f"/api/docs/{doc}/import", data=b"caf\xe9", content_type="text/plain"),
                            400, "bad_request")
    error(http.post(f"/api/docs/{doc}/import", data=b"a\x00b", content_type="text/plain"), 400, "bad_request")
    error(http.post(f"/api/docs/{doc}/import", data={"other": (BytesIO(b"x"), "a.txt")},
                    content_type="multipart/form-data"), 400, "bad_request")
    assert http.get(f"/api/docs/{doc}").get_json() | {"created": 0, "updated": 0} == {
        "doc": doc, "version": 6, "text": "from a file", "created": 0, "updated": 0}


def test_import_is_limited_by_the_document_size(make_app, connect, doc_id):
    app = make_app(max_doc_chars=10)
    http = app.test_client()
    http.post("/api/docs", json={"doc": doc_id})
    error(http.post(f"/api/docs/{doc_id}/import", data=b"x" * 11, content_type="text/plain"), 413, "too_large")
    assert http.post(f"/api/docs/{doc_id}/import", data=b"x" * 10, content_type="text/plain").status_code == 201


def gzip_members(*parts):
    """Concatenated gzip members: one gzip file, as `cat a.gz b.gz` makes."""
    return b"".join(gzip.compress(p) for p in parts)


def test_import_decodes_a_gzip_or_deflate_body(http, story):
    """Issue 13: a body sent with Content-Encoding: gzip was taken as the file itself (400,
    "not UTF-8"); it is decompressed, as curl --compressed or any HTTP library sends it."""
    doc, texts, _, _ = story
    text = "Imported 😀 中文\nline two\n" * 50

    def imported(body, coding, **kw):
        r = http.post(f"/api/docs/{doc}/import", data=body, content_type="text/plain",
                      headers={"Content-Encoding": coding}, **kw)
        assert r.status_code == 201, r.get_data(as_text=True)
        assert http.get(f"/api/docs/{doc}").get_json()["text"] == text
        return r.get_json()["version"]

    assert imported(gzip.compress(text.encode()), "gzip") == 5
    text = text.upper()
    assert imported(zlib.compress(text.encode()), "deflate") == 6  # deflate as RFC 9110 says: zlib
    text = "bare " + text
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert imported(raw.compress(text.encode()) + raw.flush(), "Deflate") == 7  # a bare deflate stream too
    text = "two files, one gzip: " + text
    half = len(text.encode()) // 2
    assert imported(gzip_members(text.encode()[:half], text.encode()[half:]), "x-gzip") == 8
    text = "identity is no encoding"
    assert imported(text.encode(), "identity") == 9


def test_import_refuses_what_it_cannot_decode_and_changes_nothing(http, story):
    doc, texts, _, _ = story
    url = f"/api/docs/{doc}/import"
    body = gzip.compress("fine text".encode())

    def post(data, coding, content_type="text/plain"):
        return http.post(url, data=data, content_type=content_type, headers={"Content-Encoding": coding})

    assert "gzip or deflate" in error(post(body, "br"), 415, "bad_request")
    assert "gzip or deflate" in error(post(body, "gzip, gzip"), 415, "bad_request")
    assert "truncated" in error(post(body[:-9], "gzip"), 400, "bad_request")
    assert "not valid gzip" in error(post(b"plain, not gzip", "gzip"), 400, "bad_request")
    assert "not valid gzip" in error(post(body + b"junk after it", "gzip"), 400, "bad_request")
    assert "after the end" in error(post(zlib.compress(b"fine text") + b"junk", "deflate"), 400, "bad_request")
    assert "UTF-8" in error(post(gzip.compress(b"caf\xe9"), "gzip"), 400, "bad_request")
    from io import BytesIO
    multipart = http.post(url, data={"file": (BytesIO(body), "a.txt")}, content_type="multipart/form-data",
                          headers={"Content-Encoding": "gzip"})
    assert "raw body" in error(multipart, 415, "bad_request")
    assert http.get(f"/api/docs/{doc}").get_json()["version"] == 4
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == texts[4]


def test_a_gzip_bomb_is_refused_without_inflating_it(make_app, connect, doc_id):
    """200 KB of gzip that inflates to 200 MiB: 413 once the output passes what the document
    may hold (4 bytes per code point of the limit), with memory far below the bomb's size."""
    app = make_app(max_doc_chars=1000)
    http = app.test_client()
    http.post("/api/docs", json={"doc": doc_id})
    url = f"/api/docs/{doc_id}/import"
    headers = {"Content-Encoding": "gzip"}
    assert http.post(url, data=gzip.compress(b"x" * 1000), content_type="text/plain", headers=headers).status_code == 201
    assert "1001 code points" in error(
        http.post(url, data=gzip.compress(b"y" * 1001), content_type="text/plain", headers=headers), 413, "too_large")
    bomb = gzip_members(*[b"z" * (1 << 20)] * 200)
    assert len(bomb) < 250_000
    tracemalloc.start()
    try:
        r = http.post(url, data=bomb, content_type="text/plain", headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "decompressed" in error(r, 413, "too_large")
    assert peak < 8 * 1024 * 1024, peak  # the bomb is 200 MiB inflated; one member alone is 1 MiB
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == "x" * 1000


def test_unknown_documents(http):
    error(http.get("/api/docs/never-made/blame"), 404, "not_found")
    error(http.post("/api/docs/never-made/restore", json={"version": 0}), 404, "not_found")
    error(http.get("/api/docs/bad%20id/labels"), 404, "bad_doc")
