"""What an uploaded image costs: uploads and fetches over HTTP on a real server, and the parts
that run on its event loop.

    .venv/bin/python -m bench.images [--mib 5] [--n 9]

Starts a server (bench/liveserver.py, SQLite in a temporary folder, durability `disk`),
uploads --n images of --mib MiB into one document (a well-formed PNG whose bulk is a private
chunk of random bytes: incompressible), fetches each back, and prints p50 and max of each; then times, in
this process, what the server does on its event loop for one image (its SHA-256 at upload,
the read of its row when it is served) and the durable write of its row (on the writer
thread). Nothing else should run meanwhile; the load average is printed with the results.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import requests

from collab.storage import Image, open_store

from .liveserver import LiveServer

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of(size: int) -> bytes:
    """A well-formed PNG of `size` bytes (1x1 pixels, then a private ancillary chunk of random,
    incompressible bytes): the server checks an upload's structure before it strips metadata,
    and refused the header-then-noise this bench sent before."""
    head = PNG_HEADER + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    tail = _chunk(b"IDAT", zlib.compress(b"\x00\x00")) + _chunk(b"IEND", b"")
    filler = size - len(head) - len(tail) - 12
    return head + _chunk(b"prIv", os.urandom(max(0, filler))) + tail


def row(name: str, seconds: list[float]) -> str:
    return f"{name:<28} {statistics.median(seconds) * 1000:8.1f} {max(seconds) * 1000:8.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.images", description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=float, default=5.0, help="size of each image, MiB (default 5, the default limit)")
    parser.add_argument("--n", type=int, default=9, help="images (default 9: the default quota holds 10 of 5 MiB)")
    args = parser.parse_args(argv)
    data = png_of(int(args.mib * 1024 * 1024))
    ups: list[float] = []
    gets: list[float] = []
    with tempfile.TemporaryDirectory() as folder, LiveServer(Path(folder)) as server:
        requests.post(f"{server.url}/api/docs", json={"doc": "bench-images"}, timeout=30).raise_for_status()
        urls = []
        for _ in range(args.n):
            t = time.perf_counter()
            r = requests.post(f"{server.url}/api/docs/bench-images/images", data=data,
                              headers={"Content-Type": "image/png"}, timeout=60)
            ups.append(time.perf_counter() - t)
            r.raise_for_status()
            urls.append(r.json()["url"])
        for url in urls:
            t = time.perf_counter()
            r = requests.get(server.url + url, timeout=60)
            gets.append(time.perf_counter() - t)
            assert r.content == data
    hashes, reads = [], []
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/bench.db")
        try:
            store.create_document("d", "view-d", 1.0)
            image = Image("b" * 24, "d", "image/png", len(data), hashlib.sha256(data).hexdigest(), 1.0, data)
            t = time.perf_counter()
            store.add_image(image, len(data))
            write = time.perf_counter() - t
            for _ in range(20):
                t = time.perf_counter()
                hashlib.sha256(data).hexdigest()
                hashes.append(time.perf_counter() - t)
                t = time.perf_counter()
                store.image(image.id)
                reads.append(time.perf_counter() - t)
        finally:
            store.close()
    print(f"images of {args.mib:g} MiB, {args.n} uploads; load average {os.getloadavg()[0]:.1f}; {sys.platform}")
    print(f"{'':<28} {'p50 ms':>8} {'max ms':>8}")
    print(row("upload over HTTP", ups))
    print(row("fetch over HTTP", gets))
    print(row("SHA-256 (event loop)", hashes))
    print(row("read of its row (event loop)", reads))
    print(row("durable write (writer)", [write]))
    print(f"command: python -m bench.images --mib {args.mib:g} --n {args.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
