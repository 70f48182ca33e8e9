"""The document service, the authority: `documents` (the facade: open documents, reads, labels),
`state` (one open document), `submit` (one write), `commits` (the group commit), `catchup`
(revisions of other processes), `versions` (blame, diff, revert, restore), `observer` (hooks).

It imports the core, storage and the standard library (gevent only in `runtime`), never the edges.
"""
