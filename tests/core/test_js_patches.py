"""The browser client's patches, made by frontend/src/core/patch.js (makePatchFromOps, on top of
diff-match-patch's patch_make), are applied exactly by the server's collab.core.patches.

dmp grows a hunk's context until it is unique, so after a long deletion a short hunk's
context can reach back over the hunk before it. The server once refused such patches as
out of order: the browser client's replay of the automerge-paper trace stalled at one.
This replays the whole trace through the real sync.js (a patch every 2,000 transactions)
and applies each patch that has such a hunk with the server's code."""
import json
import shutil
import subprocess
from pathlib import Path

from collab.core.patches import apply_patch, parse_patch
from skips import missing

REPO = Path(__file__).resolve().parents[2]
TRACE = REPO.parent / "shared" / "traces" / "automerge-paper.json.gz"

SCRIPT = r"""
import fs from 'fs';
import zlib from 'zlib';
import { SyncClient } from './src/sync.js';
import { parsePatch } from './src/core/patch.js';
const [trace, upto, every] = process.argv.slice(1);
const data = JSON.parse(zlib.gunzipSync(fs.readFileSync(trace)).toString('utf8'));
const c = new SyncClient({});
c.receiveJoin({ ok: true, version: 0, text: '' }, { fresh: true });
const out = [];
data.txns.slice(0, Number(upto)).forEach((t, i) => {
  for (const [pos, del, ins] of t.patches) c.localEditUtf16(pos, pos + del, ins);
  if ((i + 1) % Number(every)) return;
  const shadow = c.shadow;
  const p = c.takePatch(0);
  if (!p) return;
  // keep the patches with a hunk that starts before the hunk before it (the rest are plain)
  const hunks = parsePatch(p.patch);
  if (hunks.some((h, k) => k > 0 && h.start2 < hunks[k - 1].start2)) out.push([shadow, p.patch, c.text]);
  c.receiveAck({ ok: true, version: c.version + 1 }, p.id, 0);
});
process.stdout.write(JSON.stringify(out));
"""


def test_browser_client_patches_of_a_real_trace_apply_exactly_on_the_server():
    if shutil.which("node") is None or not (REPO / "frontend" / "node_modules" / "diff-match-patch").exists():
        missing("needs node and frontend/node_modules (make test installs them)")
    if not TRACE.exists():
        missing(f"needs the editing trace {TRACE}")
    run = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, str(TRACE), "260000", "2000"],
                         cwd=REPO / "frontend", capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    patches = json.loads(run.stdout)  # those with a hunk starting before the one before it
    assert patches, "the trace no longer produces the case this test is about"
    for shadow, patch, text in patches:
        assert apply_patch(shadow, parse_patch(patch))[0] == text
