"""The build step that puts the browser editor into the package (metadata: pyproject.toml).

A wheel carries the built editor as `collab/frontend_dist`, so that an installed collab serves
its pages from any folder. It is built here (npm ci + `npm run build` in frontend/) when
frontend/dist is missing or older than its sources; an sdist already carries frontend/dist, so a
wheel built from it needs no Node.js. Editable installs (`pip install -e .`, what `make install`
does) serve frontend/dist from the checkout instead, and build nothing here.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def built_frontend() -> Path:
    """frontend/dist, (re)built from frontend/src when it is missing or stale."""
    sources = [*(FRONTEND / "src").rglob("*"), FRONTEND / "build.mjs", FRONTEND / "package-lock.json"]
    have_sources = (FRONTEND / "src").is_dir()
    stale = not (DIST / "app.js").is_file() or (have_sources and _newest(sources) > _newest([DIST / "app.js"]))
    if stale:
        if not have_sources or shutil.which("npm") is None:
            raise SystemExit("collab: cannot build the editor: frontend/dist is missing or stale and "
                             "npm is not installed (install Node.js 20+ with npm, or build from the sdist)")
        if not (FRONTEND / "node_modules" / ".installed").is_file():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
            (FRONTEND / "node_modules" / ".installed").touch()
        subprocess.run(["npm", "run", "--silent", "build"], cwd=FRONTEND, check=True)
    return DIST


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "collab" / "frontend_dist"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built_frontend(), target)


class Sdist(sdist):
    def run(self) -> None:
        built_frontend()  # MANIFEST.in grafts frontend/dist
        super().run()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
