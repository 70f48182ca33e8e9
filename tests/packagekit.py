"""The package as a user builds and installs it: `pip wheel .`, then a new venv."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.liveserver import REPO_ROOT


def build_wheel(out: Path) -> Path:
    """`pip wheel --no-deps .` of this checkout (it builds the editor into the wheel)."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                            str(REPO_ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return next(out.glob("collab_editor-*.whl"))


def new_venv(path: Path, wheel: Path, extra: str = "") -> Path:
    """A fresh virtual environment with the wheel (and its dependencies) installed; its bin/."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    install = subprocess.run([str(path / "bin" / "pip"), "install", "--quiet", f"{wheel}{extra}"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    return path / "bin"
