"""Images: POST /api/docs/<edit id>/images stores one (sniffed, limited, counted in the
document's quota), GET /images/<id> serves it to whoever has the URL, with headers that let a
browser do nothing but show it. Deleting the document removes its images; renaming keeps them."""
import io
import json

import pytest

from collab.storage import open_store
from imagekit import GIF, HTML, JPEG, SVG, WEBP, png


@pytest.fixture
def http(app):
    return app.test_client()


def created(http, doc="imgdoc"):
    body = http.post("/api/docs", json={"doc": doc}).get_json()
    return doc, body["view_url"].rsplit("/", 1)[1]


def upload(http, doc, data, kind="image/png", **kw):
    return http.post(f"/api/docs/{doc}/images", data=data, content_type=kind, **kw)


def test_an_uploaded_png_is_served_by_its_own_id_with_headers_that_only_let_it_be_shown(http):
    doc, view = created(http)
    data = png(8, 8)
    r = upload(http, doc, data)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert set(body) == {"url", "id", "bytes", "type"}
    assert body["type"] == "image/png" and body["bytes"] == len(data) and body["url"] == f"/images/{body['id']}"
    assert doc not in body["url"] and view not in body["url"] and len(body["id"]) == 24
    got = http.get(body["url"])
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert got.headers["Content-Disposition"].startswith("inline;")
    assert "immutable" in got.headers["Cache-Control"] and "max-age=31536000" in got.headers["Cache-Control"]
    again = http.get(body["url"], headers={"If-None-Match": got.headers["ETag"]})
    assert again.status_code == 304 and not again.data


@pytest.mark.parametrize("data, kind", [(JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")])
def test_jpeg_gif_and_webp_are_taken_as_raw_bodies_of_any_undeclared_type(http, data, kind):
    doc, _ = created(http)
    r = upload(http, doc, data, "application/octet-stream")
    assert r.status_code == 201 and r.get_json()["type"] == kind
    assert http.get(r.get_json()["url"]).headers["Content-Type"] == kind


def test_a_multipart_upload_is_taken_too(http):
    doc, _ = created(http)
    r = http.post(f"/api/docs/{doc}/images", data={"file": (io.BytesIO(png()), "shot.png", "image/png")},
                  content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["type"] == "image/png"
    assert http.get(r.get_json()["url"]).data == png()


@pytest.mark.parametrize("data, kind, said", [
    (HTML, "image/png", "not a PNG, JPEG, GIF or WebP"),  # the declared type is not trusted
    (png(), "image/jpeg", "declared 'image/jpeg' but its content is image/png"),
    (SVG, "image/svg+xml", "SVG images are not taken"),
    (b"just text", "text/plain", "not a PNG"),
])
def test_what_is_not_a_raster_image_by_its_content_is_415_and_nothing_is_stored(app, http, data, kind, said):
    doc, _ = created(http)
    r = upload(http, doc, data, kind)
    assert r.status_code == 415, r.get_data(as_text=True)
    assert said in r.get_json()["error"]["message"]
    assert app.extensions["collab"].store.images(doc) == []


def test_an_empty_body_is_400(http):
    doc, _ = created(http)
    assert upload(http, doc, b"").status_code == 400


def test_one_image_over_the_limit_is_413_naming_it_in_human_units(make_app):
    http = make_app(max_image_bytes=2048).test_client()
    doc, _ = created(http)
    big = png(200, 200, (1, 2, 3)) + b"\x00" * 4096  # a PNG with trailing bytes: over 2 KiB
    r = upload(http, doc, big)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    assert "at most 2 KiB" in r.get_json()["error"]["message"]
    assert "COLLAB_MAX_IMAGE_BYTES" in r.get_json()["error"]["message"]
    # as a multipart field, the same limit, found while reading it
    r = http.post(f"/api/docs/{doc}/images", data={"file": (io.BytesIO(big), "big.png", "image/png")},
                  content_type="multipart/form-data")
    assert r.status_code == 413 and "at most 2 KiB" in r.get_json()["error"]["message"]


def test_the_documents_images_share_its_quota(make_app):
    app = make_app(max_images_bytes=3 * len(png()))
    http = app.test_client()
    doc, _ = created(http)
    for _ in range(3):
        assert upload(http, doc, png()).status_code == 201
    r = upload(http, doc, png())
    assert r.status_code == 413
    message = r.get_json()["error"]["message"]
    assert "COLLAB_MAX_IMAGES_BYTES" in message and "nothing was stored" in message
    assert len(app.extensions["collab"].store.images(doc)) == 3
    other, _ = created(http, "another")  # the quota is per document
    assert upload(http, other, png()).status_code == 201


def test_a_viewer_cannot_upload_and_a_cross_site_upload_is_refused(app, http):
    doc, view = created(http)
    r = upload(http, view, png())
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"
    assert doc not in r.get_data(as_text=True)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = upload(http, doc, png(), headers=headers)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert upload(http, doc, png(), headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}).status_code == 201
    assert len(app.extensions["collab"].store.images(doc)) == 1
    assert upload(http, "nosuchdoc", png()).status_code == 404


def test_uploads_are_rate_limited_as_other_writes_are(make_app):
    http = make_app(history_rate=0.001, history_burst=2).test_client()
    doc, _ = created(http)
    answers = [upload(http, doc, png()).status_code for _ in range(3)]
    assert answers == [201, 201, 429]


def test_an_unknown_image_is_404_and_costs_a_lookup(make_app):
    app = make_app(lookup_rate=0.001, lookup_burst=2)
    http = app.test_client()
    assert [http.get(f"/images/{'x' * 24}").status_code for _ in range(3)] == [404, 404, 429]
    assert app.test_client().get("/images/../api").status_code in (404, 429)


def test_deleting_the_document_removes_its_images_and_renaming_keeps_their_urls(app, http):
    doc, _ = created(http)
    kept = upload(http, doc, png()).get_json()["url"]
    r = http.post(f"/api/docs/{doc}/rename", json={"id": "renamed"})
    assert r.status_code == 200
    assert http.get(kept).status_code == 200  # the URL names no document
    assert upload(http, doc, png()).status_code == 410  # the old id is dead
    assert upload(http, "renamed", png()).status_code == 201
    store = app.extensions["collab"].store
    assert len(store.images("renamed")) == 2 and store.images(doc) == []
    assert http.delete("/api/docs/renamed").status_code == 200
    assert http.get(kept).status_code == 404
    assert store.images("renamed") == []


def test_dump_and_load_carry_the_images(app, http, tmp_path, db_url):
    from collab.cli import main

    doc, _ = created(http)
    url = upload(http, doc, png(5, 5)).get_json()["url"]
    out = tmp_path / "dump.jsonl"
    assert main(["dump", "--database", db_url, "-o", str(out)]) == 0
    header = json.loads(out.read_text().splitlines()[0])
    assert header["collab_dump"] == 3
    target = f"sqlite:///{tmp_path}/restored.db"
    assert main(["load", "--database", target, str(out)]) == 0
    store = open_store(target)
    try:
        image = store.image(url.rsplit("/", 1)[1])
        assert image is not None and image.doc == doc and image.data == png(5, 5)
    finally:
        store.close()


def test_a_phones_metadata_never_reaches_the_store_and_the_quota_counts_what_is_stored(make_app):
    """issue 15: EXIF with GPS, XMP and PNG text chunks are taken out before storing; the
    answer's `bytes`, the stored size and the quota are those of the stripped image."""
    from imagekit import GPS_ITXT, GPS_TEXT, PNG_EXIF, XMP, exif, jpeg, png_with

    photo = jpeg(64, 32, before=[exif(orientation=6), XMP])
    app = make_app(max_images_bytes=len(photo) + 10)
    http = app.test_client()
    doc, _ = created(http)
    r = upload(http, doc, photo, "image/jpeg")
    assert r.status_code == 201, r.get_data(as_text=True)
    served = http.get(r.get_json()["url"]).data
    assert b"PhoneCo" not in served and b"GPS" not in served and b"xmpmeta" not in served
    assert r.get_json()["bytes"] == len(served) < len(photo)
    [stored] = app.extensions["collab"].store.images(doc)
    assert stored.size == len(served)
    # the quota holds what was stored: a second copy fits although two originals would not
    assert upload(http, doc, photo, "image/jpeg").status_code == 201
    other, _ = created(http, "pngdoc")
    r = upload(http, other, png_with(GPS_TEXT, GPS_ITXT, PNG_EXIF))
    assert r.status_code == 201 and http.get(r.get_json()["url"]).data == png()


@pytest.mark.parametrize("cut", [10, 30, -3])
def test_a_truncated_image_is_400_saying_so_and_nothing_is_stored(app, http, cut):
    from imagekit import exif, jpeg

    doc, _ = created(http)
    r = upload(http, doc, jpeg(before=[exif()])[:cut], "image/jpeg")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "bad_request" and "truncated" in error["message"] and "nothing was stored" in error["message"]
    assert app.extensions["collab"].store.images(doc) == []
    r = upload(http, doc, png()[:40])
    assert r.status_code == 400 and "PNG" in r.get_json()["error"]["message"]
