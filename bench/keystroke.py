"""Keystroke to another screen, by document size (issue 15: big documents at full speed).

    .venv/bin/python -m bench.keystroke [--sizes 1000,1000000,4000000] [--keys 102] [--profile]

For each size (code points) a document of mixed Markdown-ish text (headings, code blocks,
non-ASCII, emoji, CJK) is created on a fresh server (run.py on SQLite, as a user starts it),
opened in two Chromium pages (two contexts: two people) of ONE browser, so both pages read
the same clock (`performance.timeOrigin + performance.now()`, the machine's). Page A types
one character at a time at the start, the middle and the end of the text (a third each);
after moving there it waits --settle seconds (3; the editor's Markdown parse catches up with
a jump into a long text once, in idle time: not a keystroke's cost), then each keystroke's
time runs from its `keydown` in page A to the frame after page B's editor
showed it (B's editor.applyRemote returned, then one requestAnimationFrame and a task: the
paint), and the next key waits until B shows it and both pages have nothing unsaved
(isolated keystrokes: latency, not throughput).

Beside it, each page's main-thread time per keystroke (Chromium's TaskDuration and
ScriptDuration from CDP Performance.getMetrics, over the typing only) and, with --profile, the
functions that took the most of it (CDP Profiler, self time, over the typing only: not the
settling) in each page: what grows with the document. The server's CPU per keystroke is read from /proc/<pid>/stat.

Prints a table and the command; results in docs/performance.md ("Big documents").
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from bench.liveserver import LiveServer

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TICKS = os.sysconf("SC_CLK_TCK")

# what one keystroke's arrival in page B is stamped with: B's editor applied it (DOM updated),
# then the next frame and a task after it (what was drawn is on screen)
PROBE_B = """() => {
  const ed = window.collab.editor;
  window.__arrivals = [];
  const apply = ed.applyRemote.bind(ed);
  let waiting = null; // [n, resolve]: a wait for the n-th arrival
  ed.applyRemote = (...a) => {
    apply(...a);
    const t = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => setTimeout(() => {
      window.__arrivals.push([t, performance.timeOrigin + performance.now()]);
      if (waiting && window.__arrivals.length >= waiting[0]) waiting[1]();
    }, 0));
  };
  // waits resolve from the probe itself: no polling that would add to the page's time
  window.__arrived = (n) => new Promise((resolve) => {
    if (window.__arrivals.length >= n) resolve();
    else waiting = [n, resolve];
  });
}"""
PROBE_A = """() => {
  window.__keys = [];
  window.__sent = []; // when each patch left page A (socket.emit)
  document.addEventListener('keydown', () => window.__keys.push(performance.timeOrigin + performance.now()), true);
  const socket = window.collab.conn.socket;
  const emit = socket.emit.bind(socket);
  socket.emit = (name, ...rest) => {
    if (name === 'patch') window.__sent.push(performance.timeOrigin + performance.now());
    return emit(name, ...rest);
  };
}"""


def make_text(size: int, seed: int = 15) -> str:
    """`size` code points of Markdown: headings, paragraphs in several scripts, lists, code."""
    rnd = random.Random(seed)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "collab", "edit",
             "naïve", "café", "Größe", "😀", "👍🏽", "漢字", "かな", "中文", "שלום", "e\u0301", "**bold**",
             "_it_", "`code`", "[link](https://example.com)"]
    out: list[str] = []
    n = 0
    section = 0
    while n < size:
        r = rnd.random()
        if r < 0.08:
            section += 1
            block = f"{'#' * rnd.randint(1, 3)} Section {section} — 見出し\n\n"
        elif r < 0.16:
            block = "```python\n" + "".join(f"def f{section}_{i}(x):\n    return x * {i}  # 注释\n" for i in range(rnd.randint(1, 4))) + "```\n\n"
        elif r < 0.3:
            block = "".join(f"- {' '.join(rnd.choices(words, k=rnd.randint(3, 9)))}\n" for _ in range(rnd.randint(2, 5))) + "\n"
        else:
            block = " ".join(rnd.choices(words, k=rnd.randint(20, 80))) + ".\n\n"
        out.append(block)
        n += len(block)
    text = "".join(out)[:size]
    if text and 0xD800 <= ord(text[-1]) <= 0xDFFF:  # cannot happen in Python (code points), kept for clarity
        text = text[:-1]
    return text


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def open_page(ctx: Any, url: str, name: str) -> Any:
    page = ctx.new_page()
    page.add_init_script(f"localStorage.setItem('collab:name', {name!r})")
    page.goto(url)
    page.wait_for_selector(".cm-content", timeout=120_000)
    page.wait_for_function("window.collab && window.collab.conn.joined", timeout=120_000)
    return page


def top_functions(profiles: list[dict[str, Any]], n: int = 25) -> list[tuple[str, float]]:
    """Self time (ms) by function, summed over CDP Profiler profiles."""
    dt: Counter[str] = Counter()
    for profile in profiles:
        nodes = {node["id"]: node for node in profile["nodes"]}
        deltas = profile.get("timeDeltas", [])
        for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
            f = nodes[sample]["callFrame"]
            url = f["url"].rsplit("/", 1)[-1]
            name = f"{f['functionName'] or '(anonymous)'} {url}:{f['lineNumber'] + 1}" if url else (f["functionName"] or "(program)")
            dt[name] += delta / 1000
    return [(k, v) for k, v in dt.most_common(n)]


def run_size(browser: Any, server: LiveServer, size: int, keys: int, profile: bool, settle: float) -> dict[str, Any]:
    text = make_text(size)
    doc = f"k{size}-{random.randrange(1 << 30):x}"
    r = requests.post(f"{server.url}/api/docs", json={"doc": doc, "text": text, "name": "loader"}, timeout=120)
    r.raise_for_status()
    ctx_a = browser.new_context(base_url=server.url, viewport={"width": 1000, "height": 560}, bypass_csp=True)
    ctx_b = browser.new_context(base_url=server.url, viewport={"width": 1000, "height": 560}, bypass_csp=True)
    try:
        a = open_page(ctx_a, f"/d/{doc}", "Typist")
        b = open_page(ctx_b, f"/d/{doc}", "Reader")
        # Markdown highlighting draws tokens as spans (before issue 15 it went off above 400k
        # characters, saying so in body's data-large)
        highlighted = [p.evaluate("document.body.dataset.large !== 'true' && document.querySelectorAll('.cm-line span').length > 0") for p in (a, b)]
        a.evaluate(PROBE_A)
        b.evaluate(PROBE_B)
        cdps = [p.context.new_cdp_session(p) for p in (a, b)]
        for c in cdps:
            c.send("Performance.enable")
            if profile:
                c.send("Profiler.enable")
                c.send("Profiler.setSamplingInterval", {"interval": 200})
        a.click(".cm-content")
        places = [("start", "Control+Home"), ("middle", None), ("end", "Control+End")]
        per = [keys // 3 + (1 if i < keys % 3 else 0) for i in range(3)]
        names = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
        busy = [dict.fromkeys(names, 0.0) for _ in cdps]  # seconds, over the typing only
        cpu0 = cpu_seconds(server.proc.pid)  # type: ignore[union-attr]
        profiles: list[list[dict[str, Any]]] = [[] for _ in cdps]  # per page, one per place: the typing only
        typed = 0
        t0 = time.perf_counter()
        for (where, key), count in zip(places, per):
            if key:
                a.keyboard.press(key)
            else:
                a.evaluate("() => { const v = window.collab.editor.view; const m = Math.floor(v.state.doc.length / 2); v.dispatch({selection: {anchor: m}, scrollIntoView: true}); v.focus(); }")
            # the editor parses Markdown as far as the screen shows: after a jump into a long
            # text it catches up once (in idle time), which is not a keystroke's cost
            a.wait_for_timeout(settle * 1000)
            before = [metrics(c) for c in cdps]
            if profile:
                for c in cdps:
                    c.send("Profiler.start")
            for _ in range(count):
                a.keyboard.press("x")
                typed += 1
                b.evaluate(f"window.__arrived({typed})")
                # A has its ack once its version is B's (a cheap check, every 10 ms)
                version = b.evaluate("window.collab.sync.version")
                a.wait_for_function(f"window.collab.sync.version >= {version}", timeout=120_000, polling=10)
            if profile:
                for c, mine in zip(cdps, profiles):
                    mine.append(c.send("Profiler.stop")["profile"])
            for total, bef, aft in zip(busy, before, [metrics(c) for c in cdps]):
                for k in names:
                    total[k] += aft[k] - bef[k]
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(server.proc.pid) - cpu0  # type: ignore[union-attr]
        arrivals = b.evaluate("window.__arrivals")
        assert len(arrivals) == typed, (len(arrivals), typed)
        lat_screen = []
        lat_applied = []
        # keydowns of Control and Home/End are stamped too; keys go one at a time, so each
        # arrival belongs to the latest keydown before it
        all_keys = a.evaluate("window.__keys")
        sent = a.evaluate("window.__sent")
        in_a = []  # keydown to the patch leaving page A
        after_a = []  # the patch leaving A to B's editor showing it (socket, server, page B)
        in_a_at: dict[str, list[float]] = {where: [] for where, _ in places}  # in_a by where A typed
        at = [where for (where, _), count in zip(places, per) for _ in range(count)]
        for (applied, shown), where in zip(arrivals, at):
            k = max(t for t in all_keys if t <= applied)
            out = min((t for t in sent if k <= t <= applied), default=None)
            lat_applied.append(applied - k)
            lat_screen.append(shown - k)
            if out is not None:
                in_a.append(out - k)
                in_a_at[where].append(out - k)
                after_a.append(applied - out)
        main = [{k: total[k] * 1000 / typed for k in names} for total in busy]
        same = a.evaluate("window.collab.editor.text()") == b.evaluate("window.collab.editor.text()")
        # what page A's last save of its unsaved edits to localStorage took (connection.js: it
        # writes the whole shadow, and the next one waits 30 times as long): a keystroke that
        # meets one waits for it
        save_ms = a.evaluate("window.collab.conn._saveCost || 0")
        return {
            "size": size, "utf16": len(text.encode("utf-16-le")) // 2, "keys": typed, "wall_s": wall, "converged": same,
            "highlighted": highlighted,
            "screen_p50": pct(lat_screen, 50), "screen_p99": pct(lat_screen, 99),
            "applied_p50": pct(lat_applied, 50), "applied_p99": pct(lat_applied, 99),
            "in_a_p50": pct(in_a, 50), "after_a_p50": pct(after_a, 50),
            "in_a_p50_at": {where: pct(xs, 50) for where, xs in in_a_at.items()},
            "main_a_ms": main[0], "main_b_ms": main[1], "server_cpu_ms": cpu * 1000 / typed, "save_a_ms": save_ms,
            "top": [top_functions(mine) for mine in profiles] if profile else [],
            "profiles": profiles if profile else [],
        }
    finally:
        ctx_a.close()
        ctx_b.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,1000000,4000000", help="document sizes, code points, comma-separated")
    ap.add_argument("--keys", type=int, default=102, help="keystrokes per size (a third each at start, middle, end)")
    ap.add_argument("--profile", action="store_true", help="CDP Profiler: the functions that took each page's time")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to wait after moving to the start, middle or end before typing")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("--profile-dir", type=Path, help="with --profile: write each page's profiles here (.cpuprofile, for DevTools)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    sizes = [int(s) for s in args.sizes.split(",")]
    load = Path("/proc/loadavg").read_text().split()[:3]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-keystroke-") as tmp, LiveServer(Path(tmp)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size in sizes:
                res = run_size(browser, server, size, args.keys, args.profile, args.settle)
                results.append(res)
                print(f"  {size:>9,} code points: p50 {res['screen_p50']:.1f} ms p99 {res['screen_p99']:.1f} ms", file=sys.stderr)
        finally:
            browser.close()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    cmd = "python -m bench.keystroke " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"\n$ {cmd.strip()}")
    print(f"{os.cpu_count()} cores, load average before {' '.join(load)}, after {' '.join(load_after)}")
    print("| code points | keys | to B's screen p50 / p99 (ms) | B applied p50 / p99 (ms) | key to patch sent in A, p50 (ms) | sent to B applied, p50 (ms) | main thread A / B per key (ms, task) | script A / B (ms) | server CPU per key (ms) | highlighting A, B |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['size']:,} | {r['keys']} | {r['screen_p50']:.1f} / {r['screen_p99']:.1f} | {r['applied_p50']:.1f} / {r['applied_p99']:.1f} "
              f"| {r['in_a_p50']:.1f} | {r['after_a_p50']:.1f} "
              f"| {r['main_a_ms']['TaskDuration']:.1f} / {r['main_b_ms']['TaskDuration']:.1f} "
              f"| {r['main_a_ms']['ScriptDuration']:.1f} / {r['main_b_ms']['ScriptDuration']:.1f} "
              f"| {r['server_cpu_ms']:.1f} | {'on' if r['highlighted'][0] else 'off'}, {'on' if r['highlighted'][1] else 'off'} |")
    if len(results) >= 2:
        small, big = results[0], results[-1]
        print(f"\n{big['size']:,} / {small['size']:,}: p50 x{big['screen_p50'] / small['screen_p50']:.2f}, p99 x{big['screen_p99'] / small['screen_p99']:.2f} (target: within 1.5x)")
    print("\npage A's last save of its unsaved edits (ms): " + ", ".join(f"{r['size']:,}: {r['save_a_ms']:.1f}" for r in results))
    print("key to patch sent in A, p50 (ms), by where A typed: " + "; ".join(
        f"{r['size']:,}: " + ", ".join(f"{where} {ms:.1f}" for where, ms in r["in_a_p50_at"].items()) for r in results))
    for r in results:
        if not r["converged"]:
            print(f"!! {r['size']}: the two pages did not show the same text")
        for who, top in zip("AB", r["top"]):
            print(f"\n{r['size']:,} code points, page {who}: self time over {r['keys']} keys (ms)")
            for name, ms in top:
                print(f"  {ms:8.1f}  {name}")
    if args.profile_dir:
        # as DevTools' Performance panel loads them (call trees, not only the self times above)
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        for r in results:
            for who, mine in zip("AB", r["profiles"]):
                for where, prof in zip(("start", "middle", "end"), mine):
                    (args.profile_dir / f"{r['size']}-{who}-{where}.cpuprofile").write_text(json.dumps(prof))
    for r in results:
        del r["profiles"]
    if args.json:
        args.json.write_text(json.dumps({"load_before": load, "load_after": load_after, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
