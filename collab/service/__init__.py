"""The document service, the authority: open documents, the write path, group commits, offload.

It imports the core, storage and the standard library (gevent only in `runtime`), never the edges.
"""
