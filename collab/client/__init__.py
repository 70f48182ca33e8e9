"""The Python client: `state` is the sync algorithm (shared with frontend/src/sync.js), pure;
`document` is `Document`, which drives it over python-socketio. It may import the core only.
"""
from __future__ import annotations

from .document import CollabClientError, Document, DocumentDeleted

__all__ = ["CollabClientError", "Document", "DocumentDeleted"]
