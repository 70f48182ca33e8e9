"""Dump format 3 carries the images uploaded into documents (one line each, base64), and a
dump of format 1 or 2 still loads. Each image is checked before anything is written: base64,
size, SHA-256, sniffed type, an id unique in the dump and unused in the target."""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets

import pytest

from collab.cli import main as collab_main
from collab.storage import open_store
from imagekit import GIF, png
from test_dump import dump_text, records_of


@pytest.fixture
def pictured(make_app, tmp_path):
    """A SQLite database with two documents holding images (one with two, one with one), and
    one without."""
    url = f"sqlite:///{tmp_path}/pictured.db"
    app = make_app(database_url=url)
    http = app.test_client()
    ids = {}
    for doc, images in (("pic-a", [png(3, 3), GIF]), ("pic-b", [png(6, 2, (0, 90, 200))]), ("pic-none", [])):
        assert http.post("/api/docs", json={"doc": doc, "text": f"# {doc}"}).status_code == 201
        for data in images:
            r = http.post(f"/api/docs/{doc}/images", data=data, content_type="application/octet-stream")
            assert r.status_code == 201, r.get_data(as_text=True)
            ids.setdefault(doc, []).append(r.get_json()["id"])
    app.extensions["collab"].close()
    return url, ids


def load(tmp_path, capsys, text, target=None):
    target = target or f"sqlite:///{tmp_path}/t-{secrets.token_hex(4)}.db"
    path = tmp_path / f"in-{secrets.token_hex(4)}.jsonl"
    path.write_text(text, encoding="utf-8")
    code = collab_main(["load", "--database", target, str(path)])
    return code, capsys.readouterr(), target


def test_images_go_sqlite_to_postgres_and_back_byte_for_byte(pictured, pg_url, tmp_path, capsys):
    url, ids = pictured
    text = dump_text(url)
    recs = [json.loads(x) for x in text.splitlines()]
    assert recs[0]["collab_dump"] == 3 and recs[-1]["end"]["images"] == 3
    kinds = [next(iter(r)) for r in recs]
    # each image follows its document's revisions and labels
    assert kinds[:4] == ["collab_dump", "document", "revision", "image"] and kinds.count("image") == 3
    first = next(r["image"] for r in recs if "image" in r)
    assert set(first) == {"id", "type", "size", "sha256", "created", "data"}
    code, out, _ = load(tmp_path, capsys, text, pg_url)
    assert code == 0 and "3 documents checked, 0 corrupt" in out.out, out.err
    assert "3 images" in out.err
    assert dump_text(pg_url) == text
    store = open_store(pg_url)
    try:
        assert [i.id for i in store.images("pic-a")] == sorted(ids["pic-a"])
        assert store.image(ids["pic-b"][0]).data == png(6, 2, (0, 90, 200))
    finally:
        store.close()


def test_collab_copy_carries_the_images(pictured, tmp_path, capsys):
    url, ids = pictured
    target = f"sqlite:///{tmp_path}/copied.db"
    assert collab_main(["copy", "--from", url, "--to", target]) == 0
    assert dump_text(target) == dump_text(url)


def test_a_format_2_dump_still_loads_and_cannot_hold_images(pictured, tmp_path, capsys):
    url, _ = pictured
    recs = records_of(url)
    old = [r for r in copy.deepcopy(recs) if "image" not in r]
    old[0]["collab_dump"] = 2
    del old[-1]["end"]["images"]
    code, out, _ = load(tmp_path, capsys, "".join(json.dumps(r) + "\n" for r in old))
    assert code == 0, out.err
    with_image = copy.deepcopy(recs)
    with_image[0]["collab_dump"] = 2
    del with_image[-1]["end"]["images"]
    code, out, _ = load(tmp_path, capsys, "".join(json.dumps(r) + "\n" for r in with_image))
    assert code == 1 and "line 4: an image in a dump of format 2 (images came with format 3)" in out.err


def _changed(recs, change):
    recs = copy.deepcopy(recs)
    image = next(r["image"] for r in recs if "image" in r and r["image"]["type"] == "image/png")
    change(image, recs)
    return "".join(json.dumps(r) + "\n" for r in recs)


@pytest.mark.parametrize("change, message", [
    (lambda i, _: i.update(data="not base64!"), "its data is not base64"),
    (lambda i, _: i.update(size=i["size"] + 1), "bytes, its size says"),
    (lambda i, _: i.update(sha256="0" * 64), "its data does not have its SHA-256"),
    (lambda i, _: i.update(type="image/gif"), "its data is image/png, its type says image/gif"),
    (lambda i, _: i.update(type="image/svg+xml"), "type 'image/svg+xml' is not one of"),
    (lambda i, _: i.update(data=base64.b64encode(b"<svg/>").decode(), size=6, sha256=hashlib.sha256(b"<svg/>").hexdigest()),
     "its data is no image collab takes, its type says image/png"),
    (lambda i, _: i.update(id="../x"), "image id '../x' is not valid"),
    (lambda i, _: i.pop("created"), "missing 'created'"),
    (lambda i, recs: recs[-1]["end"].update(images=9), "the end record says"),
], ids=["base64", "size", "hash", "type", "svg", "html", "id", "field", "count"])
def test_a_bad_image_is_refused_before_anything_is_written(pictured, tmp_path, capsys, change, message):
    url, _ = pictured
    recs = records_of(url)
    code, out, target = load(tmp_path, capsys, _changed(recs, change))
    assert code == 1 and message in out.err, out.err
    store = open_store(target)
    try:
        assert list(store.document_ids()) == []
    finally:
        store.close()


def test_an_image_id_twice_or_already_in_the_target_is_refused(pictured, tmp_path, capsys):
    url, ids = pictured
    recs = records_of(url)
    twice = copy.deepcopy(recs)
    images = [r for r in twice if "image" in r]
    images[1]["image"] = dict(images[0]["image"])
    code, out, _ = load(tmp_path, capsys, "".join(json.dumps(r) + "\n" for r in twice))
    assert code == 1 and f"image {images[0]['image']['id']!r} appears twice" in out.err, out.err
    # the target holds one of the images already (under another document)
    target = f"sqlite:///{tmp_path}/taken.db"
    store = open_store(target)
    try:
        store.create_document("other", "other-view", 1.0)
        first = next(r["image"] for r in recs if "image" in r)
        from collab.storage import Image

        data = base64.b64decode(first["data"])
        store.add_image(Image(first["id"], "other", first["type"], len(data), first["sha256"], 1.0, data), 10**6)
    finally:
        store.close()
    code, out, _ = load(tmp_path, capsys, dump_text(url), target)
    assert code == 1 and "an image of that id exists in the target database" in out.err, out.err
