"""The edges over HTTP and Socket.IO: realtime handlers, presence, the JSON API, history, pages,
metrics.

They parse, call the service, answer; they import the core, storage and the service, never `app`.
"""
