"""mypy is clean on the package (STYLE: type hints throughout)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mypy_is_clean():
    r = subprocess.run([sys.executable, "-m", "mypy", "collab"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
