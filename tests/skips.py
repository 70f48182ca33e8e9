"""Skip a test whose service or tool is absent, with the reason; under CI=true a missing
dependency is a failure instead (CI installs and starts everything the tests need)."""
from __future__ import annotations

import os

import pytest

CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing dependency is a failure)")
    pytest.skip(reason)
