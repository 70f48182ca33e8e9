"""What one keystroke costs the live preview in Chromium: the whole document rendered again (as
before issue 15's block-by-block preview, and still for exports, prints and documents that need
the whole: frontend/src/core/previewblocks.js) against block by block.

    .venv/bin/python -m bench.preview [--chars 150000] [--keys 40]

Starts a server (bench/liveserver.py), opens a document of --chars characters (a real blog post
in Markdown, repeated: josephg/editing-traces seph-blog1, CC BY 4.0, Joseph Gentle) with its
preview, then, in the page, types --keys characters one at a time into paragraphs all over it
and times the preview's render of each text (markdown-it, DOMPurify, the DOM, to the end of
the render call), first whole, then block by block; p50, p90 and max in ms. The editor's own
work is not in it. Needs the bundle built (`make frontend`) and /work/shared/traces.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
from pathlib import Path

from bench.liveserver import LiveServer

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TRACE = Path(__file__).resolve().parents[1].parent / "shared" / "traces" / "seph-blog1.json.gz"

# in the page: type `keys` characters at places spread over the text, rendering each text with
# `options` (whole or not), and answer the times in ms
TYPE = """async ([keys, whole]) => {
  const preview = window.collab.preview();
  const pane = document.querySelector('#preview');
  let text = window.collab.editor.text();
  const times = [];
  await preview.render(pane, text, whole ? { light: true } : {});
  for (let k = 0; k < keys; k++) {
    // the middle of a paragraph, at k/keys of the way through
    const at = text.indexOf(' ', Math.floor((text.length * (k + 0.5)) / keys));
    text = text.slice(0, at) + 'x' + text.slice(at);
    const start = performance.now();
    await preview.render(pane, text, whole ? { light: true } : {});
    times.push(performance.now() - start);
  }
  return times;
}"""


def document(chars: int) -> str:
    post = json.loads(gzip.decompress(TRACE.read_bytes()))["endContent"]
    text = "\n\n".join([post] * (chars // len(post) + 1))
    return text[: text.rindex("\n\n", 0, chars)] + "\n"


def quantiles(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.9)], ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=150_000)
    parser.add_argument("--keys", type=int, default=40)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from collab.client.document import Document

    text = document(args.chars)
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as tmp, LiveServer(Path(tmp)) as server, \
            sync_playwright() as p:
        with Document.open(server.url, "preview-bench", name="loader", timeout=60) as loader:
            loader.insert(0, text)
            loader.wait_synced(60)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800}, bypass_csp=True).new_page()
        page.goto("/d/preview-bench")
        page.wait_for_function("window.collab && window.collab.conn.joined")
        page.click("#toggle-preview")
        page.wait_for_function("window.collab.preview() && document.querySelectorAll('#preview h1').length > 0")
        page.evaluate(TYPE, [3, True])  # (warm both paths up: the JIT, the code highlighter's chunk)
        page.evaluate(TYPE, [3, False])
        results = {whole: page.evaluate(TYPE, [args.keys, whole]) for whole in (True, False)}
        browser.close()
    print(f"command: {os.path.basename(sys.executable)} -m bench.preview {' '.join(sys.argv[1:])}".rstrip())
    print(f"document: {len(text):,} characters, {args.keys} keystrokes, preview render per keystroke (ms)")
    print("| render | p50 | p90 | max |")
    print("|---|---|---|---|")
    for whole, label in ((True, "whole document (before)"), (False, "block by block (after)")):
        p50, p90, most = quantiles(results[whole])
        print(f"| {label} | {p50:.1f} | {p90:.1f} | {most:.1f} |")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
