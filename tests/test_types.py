"""mypy is clean on the package (STYLE: type hints throughout), and `mypy --strict` on the layers
that are strict-clean already.

STRICT lists exactly those paths. The modules they import from elsewhere (collab/service) are
still analysed for their types but their own errors are not reported here
(`--follow-imports=silent`): they are strict-clean when they join STRICT, one line below.
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
STRICT = ["collab/core", "collab/storage", "collab/server", "collab/client", "collab/serve.py", "collab/wsgi.py",
          "collab/__init__.py"]


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_mypy_is_clean():
    r = mypy("collab")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict_is_clean():
    assert all((ROOT / path).exists() for path in STRICT)
    r = mypy("--strict", "--follow-imports=silent", *STRICT)
    assert r.returncode == 0, r.stdout + r.stderr
