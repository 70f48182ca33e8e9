"""Test-only fault injection: crash the process at a named point of the write path.

Set COLLAB_TEST_FAULT=POINT:N to kill the process (os._exit, like kill -9: nothing is
flushed or cleaned up) the N-th time it reaches POINT. Points:
- `applied`: a revision is applied in memory and queued, not yet committed;
- `committed`: revisions are durable, not yet broadcast or acknowledged.
Never set it in production; unset, `reached()` costs one attribute check.
"""
from __future__ import annotations

import os
import sys

from ..core.config import fault_spec

POINTS = ("applied", "committed")


class Faults:
    def __init__(self, spec: str | None = None) -> None:
        spec = fault_spec() if spec is None else spec
        self.point: str | None = None
        self.left = 0
        if spec:
            point, _, count = spec.partition(":")
            if point not in POINTS or not count.isdigit() or int(count) < 1:
                raise ValueError(f"COLLAB_TEST_FAULT must be one of {', '.join(POINTS)} with ':N' (N >= 1), "
                                 f"got {spec!r}")
            self.point, self.left = point, int(count)

    def reached(self, point: str) -> None:
        if self.point != point:
            return
        self.left -= 1
        if self.left == 0:
            sys.stderr.write(f"COLLAB_TEST_FAULT: crashing at {point!r}\n")
            sys.stderr.flush()
            os._exit(86)
