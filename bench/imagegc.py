"""What `collab gc-images` costs: reading every history once (service/imagegc.py).

    .venv/bin/python -m bench.imagegc [--docs 20] [--revisions 2000]

Writes, into SQLite in a temporary folder, --docs documents of ~11,000 characters, each with
--revisions one-character revisions at random places (a snapshot every 100) and four images,
one of which a revision links; then times a dry run of the collection, which replays every
history and looks around each revision's edits, and prints the revisions read per second.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time

from collab.core.ids import new_image_id
from collab.core.patches import make_patch, text_hash
from collab.service.imagegc import collect_images
from collab.storage import Image, NewRevision, Revision, open_store

# a valid 1x1 PNG's bytes do not matter here: only ids and sizes are read
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(64)


def fill(store, docs: int, revisions: int, rng: random.Random) -> None:
    for d in range(docs):
        doc = f"doc{d}"
        store.create_document(doc, f"view{d}", 1.0)
        ids = [new_image_id() for _ in range(4)]
        for i in ids:
            store.add_image(Image(i, doc, "image/png", len(IMAGE), hashlib.sha256(IMAGE).hexdigest(), 1.0, IMAGE), 10**9)
        text = "# notes\n\n" + "lorem ipsum dolor sit amet " * 400
        batch = [NewRevision(Revision(doc, 1, make_patch("", text), "a", f"o{d}-1", 1.0, text_hash(text)), None)]
        for v in range(2, revisions + 1):
            at = rng.randrange(len(text))
            new = text[:at] + (f"![x](/images/{ids[0]})" if v == 5 else rng.choice("abc \n")) + text[at:]
            batch.append(NewRevision(Revision(doc, v, make_patch(text, new), "a", f"o{d}-{v}", float(v), text_hash(new)),
                                     new if v % 100 == 0 else None))
            text = new
            if len(batch) == 500:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--revisions", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/gc.db")
        fill(store, args.docs, args.revisions, random.Random(1))
        start = time.perf_counter()
        result = collect_images(store, grace=0, dry_run=True)
        took = time.perf_counter() - start
        store.close()
    print(f"command: {' '.join([os.path.basename(sys.executable), '-m', 'bench.imagegc', *sys.argv[1:]])}")
    print("| documents | revisions each | read in | revisions/s | would remove |")
    print("|---|---|---|---|---|")
    print(f"| {args.docs} | {args.revisions} | {took:.2f} s | {result.revisions / took:,.0f} | "
          f"{len(result.removed)} of {result.candidates} |")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
