"""GET /metrics (collab/server/metrics.py): what it counts, who may read it, what it never says.

In-process: Flask's test client and Flask-SocketIO's (which pass no WebSocket, so the
WebSocket's counters are tested end to end, tests/e2e/test_logs_and_metrics.py).
"""
from prometheus_client.parser import text_string_to_metric_families

from collab.core.patches import make_patch
from collab.server.queue import Outage


def scrape(app, **environ):
    r = app.test_client().get("/metrics", environ_base=environ)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    return r.get_data(as_text=True)


def samples(text):
    """{(sample name, labels as a sorted tuple): value} of a scrape."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text, name, **labels):
    return samples(text)[(name, tuple(sorted(labels.items())))]


def test_counts_patches_errors_commits_connections_and_documents(make_app, doc_id):
    app = make_app(metrics=1)
    sio = app.extensions["socketio"]
    a, b = sio.test_client(app), sio.test_client(app)
    for c in (a, b):
        assert c.emit("join", {"doc": doc_id}, callback=True)["ok"]
    for k, (old, new) in enumerate([("", "a"), ("a", "ab")]):
        ack = a.emit("patch", {"doc": doc_id, "base": k, "patch": make_patch(old, new), "id": f"op-{k}"},
                     callback=True)
        assert ack["ok"]
    again = a.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "a"), "id": "op-0"}, callback=True)
    assert again["duplicate"]  # answered, but no new revision: not counted
    assert a.emit("patch", {"doc": doc_id + "x", "base": 0, "patch": "", "id": "op-x"}, callback=True)["ok"] is False
    assert a.emit("sync", {"doc": doc_id, "since": "zero"}, callback=True)["error"]["code"] == "bad_request"
    text = scrape(app)
    assert value(text, "collab_patches_accepted_total") == 2
    assert value(text, "collab_revisions_stored_total") == 2
    assert value(text, "collab_errors_total", code="not_joined") == 1
    assert value(text, "collab_errors_total", code="bad_request") == 1
    assert value(text, "collab_errors_total", code="conflict") == 0  # every code of the contract, from 0
    assert 1 <= value(text, "collab_commit_seconds_count") <= 2
    assert value(text, "collab_commit_seconds_bucket", le="+Inf") == value(text, "collab_commit_seconds_count")
    assert value(text, "collab_connections") == 2 and value(text, "collab_documents_open") == 1
    assert "process_cpu_seconds_total" in text
    assert doc_id not in text  # nothing names a document
    assert "collab_message_queue_up" not in text  # no queue configured
    b.disconnect()
    a.emit("leave", {"doc": doc_id}, callback=True)
    text = scrape(app)
    assert value(text, "collab_connections") == 1 and value(text, "collab_documents_open") == 0


def test_each_app_has_its_own_registry(make_app, doc_id):
    """Two apps in one process: no clash at start (a global registry refuses the second
    app's metrics), and each counts only its own patches."""
    first, second = make_app(metrics=1), make_app(metrics=1)
    c = first.extensions["socketio"].test_client(first)
    c.emit("join", {"doc": doc_id}, callback=True)
    assert c.emit("patch", {"doc": doc_id, "base": 0, "patch": make_patch("", "x"), "id": "o"}, callback=True)["ok"]
    assert value(scrape(first), "collab_patches_accepted_total") == 1
    assert value(scrape(second), "collab_patches_accepted_total") == 0


def test_the_message_queue_state_and_its_outages(make_app):
    app = make_app(metrics=1)
    metrics = app.extensions["collab.metrics"]
    namespace = app.extensions["socketio"].server.namespace_handlers["/"]
    outage = Outage()
    metrics.watch(namespace, outage)  # as create_app does when COLLAB_MESSAGE_QUEUE is set
    assert value(scrape(app), "collab_message_queue_up") == 1
    outage.failed("publish", OSError("connection refused"))
    outage.failed("listen", OSError("connection refused"))  # the same outage
    text = scrape(app)
    assert value(text, "collab_message_queue_up") == 0 and value(text, "collab_message_queue_outages_total") == 1
    outage.worked()
    outage.failed("publish", OSError("connection refused"))
    outage.worked()
    text = scrape(app)
    assert value(text, "collab_message_queue_up") == 1 and value(text, "collab_message_queue_outages_total") == 2


def test_only_allowed_addresses_may_read_it(make_app):
    app = make_app(metrics=1)
    http = app.test_client()
    assert http.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert http.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404
    # through a proxy nobody told us about: the address is the proxy's, not the client's
    assert http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    inside = make_app(metrics=1, metrics_allow="10.0.0.0/8, 192.0.2.1")
    for address, status in [("10.1.2.3", 200), ("192.0.2.1", 200), ("192.0.2.2", 404), ("127.0.0.1", 404)]:
        assert inside.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == status
    # one trusted proxy: the client's address is X-Forwarded-For's, and it decides
    proxied = make_app(metrics=1, proxy_hops=1)
    assert proxied.test_client().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    assert proxied.test_client().get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404


def test_off_by_default(app):
    assert app.test_client().get("/metrics").status_code == 404
    assert "collab.metrics" not in app.extensions and app.extensions["collab.observer"] is None


def test_counts_http_errors_by_code_and_status(make_app, doc_id):
    """Every JSON error answer of the HTTP API, the edge's refusals included; an error page
    shown to a browser is not JSON and not counted."""
    app = make_app(metrics=1)
    http = app.test_client()
    assert http.get(f"/api/docs/{doc_id}").status_code == 404
    assert http.post("/api/docs", data="not json", content_type="application/json").status_code == 400
    assert http.post("/api/docs", data="x", content_type="image/png").status_code == 415
    assert http.post("/api/docs", json={"doc": doc_id}).status_code == 201
    assert http.delete(f"/api/docs/{doc_id}").status_code == 200
    assert http.get(f"/api/docs/{doc_id}").status_code == 410
    assert http.get(f"/api/docs/{doc_id}").status_code == 410
    assert http.post("/api/docs", json={}, headers={"Origin": "http://evil.example"}).status_code == 403  # the edge
    assert http.get("/api/docs", headers={"Host": "rebind.evil.example"}).status_code == 400  # the edge
    assert http.get(f"/d/{doc_id}", headers={"Accept": "text/html"}).status_code == 410  # a page
    text = scrape(app)
    assert value(text, "collab_http_errors_total", code="not_found", status="404") == 1
    assert value(text, "collab_http_errors_total", code="deleted", status="410") == 2
    assert value(text, "collab_http_errors_total", code="forbidden", status="403") == 1
    assert value(text, "collab_http_errors_total", code="bad_request", status="400") == 2
    assert value(text, "collab_http_errors_total", code="bad_request", status="415") == 1
    assert value(text, "collab_http_errors_total", code="conflict", status="409") == 0  # every code, from 0
    assert doc_id not in text


def test_counts_events_refused_by_the_rate_limit(make_app, doc_id):
    app = make_app(metrics=1, rate_limit=1, rate_burst=3)
    c = app.extensions["socketio"].test_client(app)
    answers = [c.emit("sync", {"doc": doc_id, "since": 0}, callback=True) for _ in range(5)]
    c.emit("seen", {"doc": doc_id, "version": 0})  # no ack: dropped, and counted too
    refused = [a for a in answers if not a["ok"] and a["error"]["code"] == "rate_limited"]
    assert len(refused) >= 2, answers
    text = scrape(app)
    assert value(text, "collab_events_rate_limited_total") == len(refused) + 1
    assert value(text, "collab_errors_total", code="rate_limited") == 0  # refused before any handler
