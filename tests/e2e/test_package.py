"""The package a user installs: `pip wheel .` carries the editor, and the installed `collab`
command serves it from any folder (even one that holds a folder named `collab`)."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
import requests

import collab
from bench.liveserver import LiveServer
from packagekit import build_wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built as a user builds it, installed into a folder of its own."""
    out = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(out)
    site = out / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                              str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    # the current folder of a user who keeps a folder named `collab` (a clone, notes...)
    elsewhere = out / "elsewhere"
    (elsewhere / "collab").mkdir(parents=True)
    (elsewhere / "collab" / "__init__.py").write_text("raise ImportError('not the installed collab')\n")
    # its data folder (the generated secret key) in here, not in the user's ~/.local/share
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(out / "data")}
    return wheel, site, elsewhere, env


def run(installed, *args, **kw):
    _, site, elsewhere, env = installed
    return subprocess.run([str(site / "bin" / "collab"), *args], cwd=elsewhere, env=env,
                          capture_output=True, text=True, **kw)


def test_the_wheel_carries_the_built_editor_and_the_licence(installed):
    wheel = installed[0]
    names = zipfile.ZipFile(wheel).namelist()
    assert {"collab/frontend_dist/app.js", "collab/frontend_dist/app.css", "collab/frontend_dist/sw.js"} <= set(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert wheel.name.startswith("collab_editor-"), "PyPI's `collab` is another project"


def test_version_and_serve_help_from_a_folder_holding_collab(installed):
    version = run(installed, "--version", timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"collab {collab.__version__}"
    helped = run(installed, "serve", "--help", timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: collab serve"), helped.stdout


def test_the_installed_command_serves_a_working_editor(installed, tmp_path):
    _, site, elsewhere, env = installed
    with LiveServer(tmp_path, launcher=[str(site / "bin" / "collab"), "serve"], cwd=elsewhere, env=env) as server:
        page = requests.get(server.url + "/d/packaged-doc", timeout=10)
        assert page.status_code == 200 and "/assets/app.js" in page.text
        script = requests.get(server.url + "/assets/app.js", timeout=10)
        assert script.status_code == 200
        assert script.content == (site / "collab" / "frontend_dist" / "app.js").read_bytes()
