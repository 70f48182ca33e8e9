"""README's screenshot (docs/screenshot.png): Bob's editor beside its preview, with Alice's
cursor and the text coloured by author, in Chromium at 1280 x 720.

    .venv/bin/python -m bench.screenshot [--out docs/screenshot.png]

Starts run.py on a temporary SQLite database; Alice writes the document, Bob adds a line and
turns on the preview and the authorship colours. Not a test: it writes into the repository.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.liveserver import REPO_ROOT, LiveServer

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TEXT = """# Launch plan

| step | who | when |
|---|---|---|
| draft | Alice | Mon |
| review | Bob | Tue |

- [x] write the notes
- [ ] ship it

The cost grows as $O(n \\log n)$[^1].

```python
def ship(plan):
    return all(step.done for step in plan)
```

[^1]: Measured on the benchmark machine."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshot.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp)) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pages = {}
        for name, color in (("Alice", "#0a7b26"), ("Bob", "#7147f0")):  # picked (the people panel's picker)
            ctx = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=server.url, bypass_csp=True)
            ctx.add_init_script(f"localStorage.setItem('collab:name', {name!r}); localStorage.setItem('collab:color', {color!r})")
            page = ctx.new_page()
            page.goto("/d/launch-plan")
            page.wait_for_function("window.collab && window.collab.conn.joined")
            pages[name] = page
        alice, bob = pages["Alice"], pages["Bob"]
        alice.click(".cm-content")
        alice.keyboard.insert_text(TEXT)
        bob.wait_for_function("t => window.collab.editor.text() === t", arg=TEXT)
        bob.click(".cm-content")
        bob.keyboard.press("Control+End")
        bob.keyboard.type("\n\nBob: ready on Friday.")
        alice.wait_for_function("window.collab.editor.text().endsWith('Friday.')")
        alice.click(".cm-content")
        alice.keyboard.press("Control+End")  # her cursor shows on Bob's screen
        bob.click("#toggle-preview")
        bob.click("#people summary")
        bob.check("#authorship")
        bob.click("#people summary")  # closed again: the colours stay
        bob.click(".cm-content")
        bob.keyboard.press("Control+Home")
        bob.wait_for_function("document.querySelectorAll('.cm-author').length > 0")
        bob.wait_for_selector(".cm-remote-label")
        bob.wait_for_timeout(3000)  # the preview's math and the code's highlighting load and settle
        bob.screenshot(path=args.out)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
