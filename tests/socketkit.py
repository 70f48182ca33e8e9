"""Socket.IO test-client steps shared by the in-process server tests: join, send a patch, read
what a client received, and a document with one revision."""
from __future__ import annotations

from typing import Any, Callable

from collab.core.patches import make_patch


def join(client: Any, **what: Any) -> Any:
    return client.emit("join", what, callback=True)


def patch(client: Any, doc: str, base: int, old: str, new: str, op: str) -> Any:
    return client.emit("patch", {"doc": doc, "base": base, "patch": make_patch(old, new), "id": op}, callback=True)


def events(client: Any, name: str) -> list[Any]:
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def written(connect: Callable[[], Any], doc: str, text: str = "some text 😀") -> tuple[Any, str]:
    """A document with one revision; (editor client, view token)."""
    c = connect()
    ack = join(c, doc=doc, name="Ann")
    assert patch(c, doc, 0, "", text, "op-1")["ok"]
    return c, ack["view"]


def editor_other_and_viewer(connect: Callable[[], Any], doc: str) -> tuple[Any, Any, Any, str]:
    """written(), then a second editor and a viewer joined, their inboxes emptied:
    (editor, other editor, viewer, view token)."""
    editor, view = written(connect, doc)
    other, viewer = connect(), connect()
    join(other, doc=doc, name="Bo")
    join(viewer, view=view)
    for c in (editor, other, viewer):
        c.get_received()
    return editor, other, viewer, view
