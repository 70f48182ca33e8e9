"""`collab gc-images` (collab/service/imagegc.py): an image that no version of any document
shows goes, with its bytes counted out of the quota; one that any version shows stays (a
restore would bring it back), in its own document's history or in another's; a young one
stays (its edit may be on its way); a history that cannot be read removes nothing."""
import sqlite3
import subprocess
import sys

import pytest

from collab.core.patches import make_patch
from collab.service.imagegc import collect_images
from imagekit import png


@pytest.fixture
def http(app):
    return app.test_client()


def upload(http, doc):
    r = http.post(f"/api/docs/{doc}/images", data=png(3, 3), content_type="image/png")
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["id"]


def write(connect, doc, texts):
    """`doc`'s versions 1.. are `texts`, one revision each."""
    c = connect()
    assert c.emit("join", {"doc": doc, "name": "Ann"}, callback=True)["ok"]
    old = ""
    for v, text in enumerate(texts, 1):
        ack = c.emit("patch", {"doc": doc, "base": v - 1, "patch": make_patch(old, text), "id": f"{doc}-{v}"},
                     callback=True)
        assert ack["ok"], ack
        old = text


def test_only_images_no_version_shows_go_and_the_quota_counts_what_is_left(app, http, connect):
    store = app.extensions["collab"].store
    assert http.post("/api/docs", json={"doc": "notes"}).status_code == 201
    once, now, never, elsewhere = (upload(http, "notes") for _ in range(4))
    write(connect, "notes", [f"![a](/images/{once})", "gone again", f"![b](/images/{now})"])
    # another document links one of notes' images (a copy, a pasted link): it stays too
    assert http.post("/api/docs", json={"doc": "other", "text": f"see https://example.org/images/{elsewhere}"}).status_code == 201
    used_before = sum(i.size for i in store.images("notes"))

    dry = collect_images(store, grace=0, dry_run=True)
    assert [i.id for i in dry.removed] == [never] and store.image(never) is not None  # only said
    result = collect_images(store, grace=0)
    assert [i.id for i in result.removed] == [never]
    assert (result.candidates, result.kept, result.freed) == (4, 3, len(png(3, 3)))
    assert http.get(f"/images/{never}").status_code == 404
    for kept in (once, now, elsewhere):
        assert http.get(f"/images/{kept}").status_code == 200
    assert sum(i.size for i in store.images("notes")) == used_before - result.freed
    # restoring version 1 shows `once` again: it was kept for that
    assert collect_images(store, grace=0).removed == []


def test_a_young_image_stays_whatever_links_it(app, http):
    store = app.extensions["collab"].store
    http.post("/api/docs", json={"doc": "fresh"})
    upload(http, "fresh")
    result = collect_images(store)  # the default grace period: a week
    assert (result.candidates, result.removed) == (0, [])


def test_a_history_that_cannot_be_read_removes_nothing(app, http, connect, db_url):
    store = app.extensions["collab"].store
    http.post("/api/docs", json={"doc": "broken"})
    lost = upload(http, "broken")
    write(connect, "broken", ["one", "two"])
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE revisions SET hash = '00000000' WHERE doc = 'broken' AND version = 2")
    from collab.core.errors import CollabError

    with pytest.raises(CollabError) as refused:
        collect_images(store, grace=0)
    assert refused.value.code == "doc_corrupt" and "'broken'" in refused.value.message
    assert "nothing was removed" in refused.value.message
    assert store.image(lost) is not None


def test_the_command_says_what_it_removed(app, http, db_url):
    http.post("/api/docs", json={"doc": "cli"})
    image = upload(http, "cli")
    run = lambda *a: subprocess.run([sys.executable, "-m", "collab.cli", "gc-images", "--database", db_url, *a],
                                    capture_output=True, text=True, timeout=60)
    kept = run()
    assert kept.returncode == 0 and "removed 0 images" in kept.stdout and "older than 7 days" in kept.stdout
    dry = run("--older-than", "0", "--dry-run")
    assert f"would remove {image} of cli (image/png" in dry.stdout
    done = run("--older-than", "0")
    assert done.returncode == 0 and f"removed {image} of cli" in done.stdout and "removed 1 images" in done.stdout
    assert app.extensions["collab"].store.image(image) is None
    bad = run("--older-than", "-1")
    assert bad.returncode == 1 and "cannot be negative" in bad.stderr
