"""collab: a real-time collaborative document editor.

`create_app(config, observer=None)` builds the Flask app with its Socket.IO server. This module stays
light (no flask import at import time) so that entry points can monkey-patch with gevent
before anything else is loaded.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask

    from .service.observer import Observer

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, observer: "Observer | None" = None) -> "Flask":
    """The app (collab/app.py); `observer` hooks an instrument into every message's path
    (collab/service/observer.py)."""
    from .app import create_app as _create_app

    return _create_app(config, observer)
