"""The benchmark driver works: the quick latency workload against collab, 2 editors, ~5 s.

Asserts only that deliveries arrived and the final texts agree, never on timings (this
machine is shared and noisy). Skipped when node or the driver's packages are missing
(`cd bench/driver && npm ci`).
"""
from __future__ import annotations

import shutil

from bench.systems import DRIVER_DIR, Server
from skips import missing

def test_quick_latency_against_collab(tmp_path):
    if shutil.which("node") is None or not (DRIVER_DIR / "node_modules" / "socket.io-client").exists() \
            or not (DRIVER_DIR.parent.parent / "frontend" / "node_modules" / "diff-match-patch").exists():
        missing("needs node, bench/driver/node_modules and frontend/node_modules (make test installs them)")
    from bench.__main__ import drive

    with Server("collab", tmp_path, cpus=[None]) as server:
        result = drive({"workload": "latency", "docs": 1, "editors": 2, "interval_ms": 200,
                        "warmup_s": 1, "duration_s": 4, "drain_s": 10}, server, timeout=120)
    assert "error" not in result, result
    assert result["keystrokes"] > 0
    assert result["expected_deliveries"] == result["keystrokes"]  # 2 editors: one receiver each
    assert result["observed_deliveries"] == result["expected_deliveries"], result
    assert result["converged"] is True, result
