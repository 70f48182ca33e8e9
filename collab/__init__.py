"""collab: a real-time collaborative document editor.

`create_app(config, observer=None)` builds the Flask app with its Socket.IO server. This module stays
light (no flask import at import time) so that entry points can monkey-patch with gevent
before anything else is loaded.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask

    from .service.observer import Observer

__version__ = "0.1.0"
DATA_APP_NAME = "collab-editor"  # the distribution's name: PyPI's `collab` is another project


def data_dir(configured: str = "", package: str | None = None) -> tuple[str, str]:
    """The data folder, where the default SQLite database (collab.db) and the generated secret
    key live, and why it is that one (for the start-up line that names the database):

    - COLLAB_DATA_DIR (`configured`) when set;
    - run from a source checkout (the folder above the package holds run.py and
      pyproject.toml, which no installed package has): the checkout's instance/ folder, where
      `make run` has always kept its database;
    - else the platform's user data folder (platformdirs: ~/.local/share/collab-editor on
      Linux, ~/Library/Application Support/collab-editor on macOS), not a folder inside the
      Python environment, which a reinstall or a new virtualenv throws away. An earlier
      version kept the database in Flask's instance folder there: while only that folder holds
      one, it stays in use (and the line says so), so that an upgrade never opens an empty one.

    Only the folder chosen here is created (by create_app); one named by COLLAB_DATA_DIR must
    exist. `package` is the folder of the `collab` package (this one by default)."""
    if configured:
        return os.path.abspath(configured), "COLLAB_DATA_DIR"
    root = os.path.dirname(package or os.path.dirname(os.path.abspath(__file__)))
    if all(os.path.isfile(os.path.join(root, name)) for name in ("run.py", "pyproject.toml")):
        return os.path.join(root, "instance"), "this checkout's instance folder; COLLAB_DATA_DIR to move it"
    import platformdirs

    folder = platformdirs.user_data_dir(DATA_APP_NAME, appauthor=False)
    if not os.path.exists(os.path.join(folder, "collab.db")):
        # Flask's instance folder of an installed package, or of one on PYTHONPATH (pip --target)
        for old in (os.path.join(sys.prefix, "var", "collab-instance"), os.path.join(root, "instance")):
            if os.path.isfile(os.path.join(old, "collab.db")):
                return old, (f"the folder of earlier versions, inside the Python environment: move its collab.db* "
                             f"and secret_key to {folder}, or set COLLAB_DATA_DIR to this folder")
    return folder, "the user data folder; COLLAB_DATA_DIR to move it"


def create_app(config: Mapping[str, Any] | None = None, observer: "Observer | None" = None) -> "Flask":
    """The app (collab/app.py); `observer` hooks an instrument into every message's path
    (collab/service/observer.py)."""
    from .app import create_app as _create_app

    return _create_app(config, observer)
