"""Prometheus metrics of one process, at GET /metrics (COLLAB_METRICS=1): `Metrics`, `bp`.

`Metrics` is an `Observer` (collab/service/observer.py), composed by create_app with any
other, and a prometheus_client collector on a registry of its own (one per app, never the
library's global one: several apps in one process must not collide). What it counts on a
hot path (a frame written, an ack) is a plain integer, turned into samples only when
/metrics is read: a prometheus_client Counter takes a lock per increment, 1.0 us under
gevent against 0.05 us for an integer, and frames are the server's most frequent event.
The commit latency is the library's Histogram (one observation per group commit). States
(connections, documents, the queue) are read at that moment, from the namespace and the
queue's Outage. The process's CPU, memory and file descriptors come from the library's
ProcessCollector.

No metric has a label that names a document (edit id or view token), a client or an
address: labels are error codes only.

`bp`: GET /metrics in Prometheus's text format, to the addresses of COLLAB_METRICS_ALLOW;
anyone else gets 404, as if there were no such page (docs/deploy.md, "Metrics and logs").
"""
from __future__ import annotations

import ipaddress
import time
from typing import TYPE_CHECKING, Iterator, Sequence

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..core import wire
from ..core.config import Settings
from ..core.errors import HTTP_STATUS
from ..service.observer import Observer
from ..storage import Revision
from .queue import Outage

if TYPE_CHECKING:
    from .realtime import DocumentNamespace

# seconds: an fsync on a good SSD is ~0.3 ms, a group commit of hundreds a few ms, a slow disk 100s of ms
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REVISION = '42["revision",'  # an Engine.IO message (4) with a Socket.IO event (2), default namespace
REVISIONS = '42["revisions",'  # several consecutive revisions: one "version" key each


class Metrics(Observer):
    """The counters, and the collector that reports them with the states of the moment."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.patches = 0  # patches answered as new revisions
        self.revisions_stored = 0  # revisions made durable by this process (patches, restores, reverts, imports)
        self.deliveries = 0  # revisions written to WebSocket connections as `revision(s)` messages
        self.errors = dict.fromkeys(HTTP_STATUS, 0)  # errors[code] = error acks sent
        # http_errors[(code, status)] = JSON error answers over HTTP; every code at its usual status from 0
        self.http_errors: dict[tuple[str, int], int] = {(code, status): 0 for code, status in HTTP_STATUS.items()}
        self.events_rate_limited = 0  # Socket.IO events refused by their connection's rate limit
        self.messages_read = 0
        self.bytes_read = 0
        self.frames_sent = 0
        self._commit_began = 0.0
        self.commits = Histogram("collab_commit_seconds", "One group commit in the store: from the committer "
                                 "taking its revisions to their transaction (fsync included) returning",
                                 buckets=COMMIT_BUCKETS, registry=self.registry)
        self._namespace: DocumentNamespace | None = None
        self._outage: Outage | None = None
        self.registry.register(self)
        ProcessCollector(registry=self.registry)

    def watch(self, namespace: DocumentNamespace, outage: Outage | None) -> None:
        """Where the states are read: the Socket.IO namespace, and the message queue's
        Outage (None: no queue, no queue metrics)."""
        self._namespace, self._outage = namespace, outage

    # -- the observer's hooks ----------------------------------------------------------------

    def message_read(self, size: int) -> None:
        self.messages_read += 1
        self.bytes_read += size

    def answered(self, event: str, op_id: str | None, ack: wire.Ack | wire.ErrorAck) -> None:
        if ack["ok"] is False:
            code = ack["error"]["code"]
            self.errors[code] = self.errors.get(code, 0) + 1
        elif event == "patch" and "duplicate" not in ack:
            self.patches += 1

    def frame_sent(self, message: str | bytes) -> None:
        self.frames_sent += 1
        if isinstance(message, str) and message.startswith("42"):
            if message.startswith(REVISION):
                self.deliveries += 1
            elif message.startswith(REVISIONS):
                # JSON escapes every quote inside a string: the key appears once per revision
                self.deliveries += message.count('"version":')

    def rate_limited(self) -> None:
        self.events_rate_limited += 1

    def http_error(self, code: str, status: int) -> None:
        key = (code, status)
        self.http_errors[key] = self.http_errors.get(key, 0) + 1

    def committing(self, revisions: Sequence[Revision]) -> None:
        self._commit_began = time.perf_counter()  # one committer: commits never overlap

    def stored(self, revisions: Sequence[Revision]) -> None:
        self.commits.observe(time.perf_counter() - self._commit_began)
        self.revisions_stored += len(revisions)

    # -- the collector ---------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """prometheus_client's collector protocol: every sample but the histogram's."""
        yield CounterMetricFamily("collab_patches_accepted", "Patches acknowledged as new revisions "
                                  "(duplicates and refusals not counted)", value=self.patches)
        yield CounterMetricFamily("collab_revisions_stored", "Revisions this process made durable: patches, "
                                  "restores, reverts and imports", value=self.revisions_stored)
        yield CounterMetricFamily("collab_deliveries", "Revisions written to the other editors and the viewers "
                                  "of their document (revision and revisions messages on WebSocket connections)",
                                  value=self.deliveries)
        errors = CounterMetricFamily("collab_errors", "Error acks of Socket.IO events, by the wire contract's "
                                     "error code (docs/protocol.md)", labels=["code"])
        for code, n in self.errors.items():
            errors.add_metric([code], n)
        yield errors
        http_errors = CounterMetricFamily("collab_http_errors", "JSON error answers of the HTTP API (and of the "
                                          "edge's Host and Origin checks), by error code and HTTP status",
                                          labels=["code", "status"])
        for (code, status), n in sorted(self.http_errors.items()):
            http_errors.add_metric([code, str(status)], n)
        yield http_errors
        yield CounterMetricFamily("collab_events_rate_limited", "Socket.IO events refused by their connection's "
                                  "rate limit (COLLAB_RATE_LIMIT, COLLAB_RATE_BURST)", value=self.events_rate_limited)
        yield CounterMetricFamily("collab_websocket_messages_read", "WebSocket messages read from clients",
                                  value=self.messages_read)
        yield CounterMetricFamily("collab_websocket_read_bytes", "Payload bytes of those messages",
                                  value=self.bytes_read)
        yield CounterMetricFamily("collab_websocket_frames_sent", "WebSocket messages written to clients",
                                  value=self.frames_sent)
        namespace = self._namespace
        if namespace is not None:
            yield GaugeMetricFamily("collab_connections", "Socket.IO connections open on this process",
                                    value=len(namespace.clients))
            yield GaugeMetricFamily("collab_documents_open", "Documents that a connection of this process "
                                    "has joined", value=len(namespace.members))
        outage = self._outage
        if outage is not None:
            yield GaugeMetricFamily("collab_message_queue_up", "1 while the Redis message queue is reachable "
                                    "(as its users last found it), 0 during an outage", value=0 if outage.down else 1)
            yield CounterMetricFamily("collab_message_queue_outages", "Outages of the Redis message queue "
                                      "since the process started", value=outage.outages)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    settings: Settings = current_app.extensions["collab.settings"]
    if not may_read(request.remote_addr, request.headers.get("X-Forwarded-For"), settings):
        abort(404)
    body = generate_latest(current_app.extensions["collab.metrics"].registry)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def may_read(address: str | None, forwarded_for: str | None, settings: Settings) -> bool:
    """Whether a request from `address` may read /metrics: it is in COLLAB_METRICS_ALLOW.
    A request that came through a proxy (X-Forwarded-For) when no proxy is trusted
    (COLLAB_PROXY_HOPS=0) never may: its address is the proxy's own, often 127.0.0.1, which
    would let the whole internet in through it."""
    if forwarded_for is not None and not settings.proxy_hops:
        return False
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in settings.metrics_networks)
