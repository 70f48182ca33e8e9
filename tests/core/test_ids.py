"""core/ids.py: how logs name a document (`log_id`, `redact`)."""
import hashlib

from collab.core.ids import log_id, new_doc_id, redact


def test_a_document_is_logged_as_the_start_of_its_ids_sha256():
    doc = new_doc_id()
    assert log_id(doc) == hashlib.sha256(doc.encode()).hexdigest()[:8]
    assert len(log_id(doc)) == 8 and doc not in log_id(doc)
    assert log_id(None) == "-" and log_id(42) == "<int>" and log_id({"x": 1}) == "<dict>"
    assert len(log_id("\ud800 lone surrogate")) == 8  # a malformed id is hashed, not an error


def test_redact_replaces_each_id_where_it_stands_alone():
    doc, view = "Ab3-x_9", "viewToken"
    message = f"join document {doc!r} before sending to it; /v/{view}/history; Ab3-x_9z and xAb3-x_9 stay"
    shown = redact(message, [doc, view, None, 7])
    assert shown == (f"join document '{log_id(doc)}' before sending to it; /v/{log_id(view)}/history; "
                     "Ab3-x_9z and xAb3-x_9 stay")
    assert redact("a.b and a-b", ["a-b", "a.b"]) == f"a.b and {log_id('a-b')}"  # only what can be an id
