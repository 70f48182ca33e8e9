"""The benchmark driver works: the quick latency workload against collab, 2 editors, ~5 s.

Asserts only that deliveries arrived and the final texts agree, never on timings (this
machine is shared and noisy). Skipped when node or the driver's packages are missing
(`cd bench/driver && npm ci`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.systems import DRIVER_DIR, Server
from skips import missing


@pytest.mark.parametrize("system", ["collab", "collab-tmpfs"])
def test_quick_latency_against_collab(tmp_path, system):
    if shutil.which("node") is None or not (DRIVER_DIR / "node_modules" / "socket.io-client").exists() \
            or not (DRIVER_DIR.parent.parent / "frontend" / "node_modules" / "diff-match-patch").exists():
        missing("needs node, bench/driver/node_modules and frontend/node_modules (make test installs them)")
    from bench.__main__ import drive

    with Server(system, tmp_path, cpus=[None]) as server:
        result = drive({"workload": "latency", "docs": 1, "editors": 2, "interval_ms": 200,
                        "warmup_s": 1, "duration_s": 4, "drain_s": 10}, server, timeout=120)
    if system == "collab-tmpfs":  # the diagnostic variant: its database lived on tmpfs, and is gone
        db = Path(server.database.removeprefix("sqlite:///"))
        assert db.parent.parent == Path("/dev/shm") and not db.parent.exists(), server.database
    else:
        assert (tmp_path / "collab.db").exists()
    assert "error" not in result, result
    assert result["keystrokes"] > 0
    assert result["expected_deliveries"] == result["keystrokes"]  # 2 editors: one receiver each
    assert result["observed_deliveries"] == result["expected_deliveries"], result
    assert result["converged"] is True, result


def test_timeline_times_every_step_of_the_patch_path():
    """bench.timeline instruments collab's own functions by name: a renamed step would
    leave its row out (or stop the server), so each must appear with patches in it; and it
    joins the driver's timestamps of each patch to the server's."""
    import re
    import subprocess
    import sys

    from bench.timeline import SEGMENTS, STEPS

    if shutil.which("node") is None or not (DRIVER_DIR / "node_modules" / "socket.io-client").exists():
        missing("needs node and bench/driver/node_modules (make test installs them)")
    out = subprocess.run([sys.executable, "-m", "bench.timeline", "--editors", "2", "--seconds", "3"],
                         cwd=DRIVER_DIR.parent.parent, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    server, _, joined = out.stdout.partition("patches sent by the driver")
    row = r"^\s*(\w+) -> (\w+)\s+(\d+)\s+([\d.-]+)"
    counts = {(a, b): int(n) for a, b, n, _ in re.findall(row, server, re.M)}
    for a, b in zip(STEPS, STEPS[1:]):
        assert counts.get((a, b), 0) > 0, (a, b, out.stdout)
    assert counts[("frame", "ack")] > 0, out.stdout
    # the driver's timestamps joined to the server's by op id, on one clock: every segment
    # has patches, and the server's part of a patch lies inside its end-to-end time
    p50 = {(a, b): float(ms) for a, b, n, ms in re.findall(row, joined, re.M) if int(n) > 0}
    for a, b, _ in SEGMENTS:
        assert (a, b) in p50, (a, b, out.stdout)
    assert 0 < p50[("frame", "last")] < p50[("typed", "arrived")], out.stdout


def test_disk_times_fdatasync_and_real_commits(tmp_path):
    """bench.disk commits real revisions through DocumentService and cleans up after itself."""
    import re
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.disk", "--dir", str(tmp_path), "--commits", "30",
                          "--gap-ms", "0"], cwd=DRIVER_DIR.parent.parent, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    counts = dict(re.findall(r"^\s*(fdatasync|commit)\s+n\s+(\d+)", out.stdout, re.M))
    assert counts == {"fdatasync": "30", "commit": "30"}, out.stdout
    assert list(tmp_path.iterdir()) == [], "its temporary folder is removed"

    bad = subprocess.run([sys.executable, "-m", "bench.disk", "--dir", str(tmp_path / "nope")],
                         cwd=DRIVER_DIR.parent.parent, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a directory" in bad.stderr


def test_images_times_uploads_fetches_and_the_event_loops_part():
    """bench.images uploads real images to a real server and prints one row per measure."""
    import re
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.images", "--mib", "0.25", "--n", "2"],
                         cwd=DRIVER_DIR.parent.parent, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"^(upload over HTTP|fetch over HTTP|SHA-256 \(event loop\)|read of its row \(event loop\)|"
                      r"durable write \(writer\))\s+[\d.]+\s+[\d.]+$", out.stdout, re.M)
    assert len(rows) == 5, out.stdout
    assert "command: python -m bench.images --mib 0.25 --n 2" in out.stdout
