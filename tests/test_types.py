"""`mypy --strict` is clean on the whole package (STYLE: type hints throughout), and stays so."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mypy_strict_is_clean():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "collab"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
