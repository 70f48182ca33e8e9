"""Long-polling POSTs that are no valid Engine.IO payload, against the real server (run.py in
a subprocess), with raw HTTP requests (collab/server/transport.py, PollingGuard).

Before: text that is not UTF-8, an empty packet, more than 16 packets were logged as a
traceback and answered 200 "OK", the session left open; a packet type a client never sends
and a body over the message limit held the POST (python-engineio waited for the client to
fetch the close packet: 15 s here, the requests' timeout). Now each is answered 400 at once
with one line of text, the session is closed (a poll waiting gets the close packet, a later
one 400), one warning is logged, no traceback; a valid POST is untouched.
"""
from __future__ import annotations

import json
import threading
from typing import Iterator

import pytest
import requests

from bench.liveserver import LiveServer

pytestmark = pytest.mark.e2e

MESSAGE_LIMIT = 5 * 1024 * 1024  # the transport's message limit by default (patch limit + 1 MiB)

BODIES = {
    "garbage": b"hello there",
    "a packet type that does not exist": b"9",
    "an open packet from the client": b"0",
    "a ping from the client": b"2probe",
    "binary junk": b"\xff\xfe\x00\x01junk",
    "an empty body": b"",
    "empty packets": b"\x1e\x1e",
    "17 packets": b"\x1e".join([b"3"] * 17),
    "a bad base64 attachment": b"babc",
    "over the message limit": b"4" + b"x" * (MESSAGE_LIMIT + 10),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("polling")) as live:
        yield live


def open_session(url: str) -> tuple[requests.Session, str]:
    """A long-polling Engine.IO session with the Socket.IO namespace connected."""
    http = requests.Session()
    sid = json.loads(http.get(url + "/socket.io/?EIO=4&transport=polling", timeout=20).text[1:])["sid"]
    endpoint = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert http.post(endpoint, data="40", timeout=20).text == "OK"
    assert http.get(endpoint, timeout=20).text.startswith("40")  # the CONNECT answer
    return http, endpoint


@pytest.mark.parametrize("name", BODIES)
def test_a_post_that_is_no_valid_payload_is_a_400_and_closes_the_session(server, name):
    http, endpoint = open_session(server.url)
    offset = server.log_path.stat().st_size
    waiting: list[requests.Response] = []
    poll = threading.Thread(target=lambda: waiting.append(requests.get(endpoint, timeout=20)))
    poll.start()  # a long poll, waiting for what the server sends
    # (before: 15 s, the timeout, for three of them: the server held the POST)
    r = http.post(endpoint, data=BODIES[name], headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=15)
    poll.join(20)
    log = server.log_text()[offset:]
    print(f"\n{name}: {r.status_code} {r.text.strip()!r}")
    assert r.status_code == 400, (r.status_code, r.text)  # (before: 200 "OK" for most)
    assert r.text.startswith("not a valid Engine.IO payload: ") and r.text.endswith("the session is closed\n")
    assert len(r.text) < 200
    # the poll ends: with the close packet if it was waiting, else with 400 (whichever came first)
    assert waiting and (waiting[0].status_code, waiting[0].text[:1]) in ((200, "1"), (400, '"')), waiting
    after = http.post(endpoint, data='42["x"]', timeout=10)
    assert after.status_code == 400 and "Invalid session" in after.text
    assert "Traceback" not in log, log[:3000]
    assert len([line for line in log.splitlines() if "no valid Engine.IO payload" in line]) == 1, log


def test_a_valid_post_is_untouched(server, doc_id):
    """Several packets in one POST, a pong, a binary attachment in base64: all taken."""
    http, endpoint = open_session(server.url)
    join = '420["join",{"doc":"' + doc_id + '"}]'
    r = http.post(endpoint, data="\x1e".join(["3", join]), timeout=20)
    assert (r.status_code, r.text) == (200, "OK")
    answers = http.get(endpoint, timeout=20).text.split("\x1e")
    acks = [json.loads(a[3:]) for a in answers if a.startswith("430[")]
    assert acks and acks[0][0]["ok"], answers
    r = http.post(endpoint, data="\x1e".join(['451-1["x",{"_placeholder":true,"num":0}]', "bAQID"]), timeout=20)
    assert (r.status_code, r.text) == (200, "OK")  # a binary event: answered by the handler
    answers = http.get(endpoint, timeout=20).text.split("\x1e")
    acks = [json.loads(a[3:]) for a in answers if a.startswith("431[")]
    assert acks and acks[0][0]["error"]["code"] == "bad_request", answers


def test_the_guard_does_not_read_what_is_not_its_own(server):
    """A POST to no session, a GET: python-engineio's answers, as before."""
    r = requests.post(server.url + "/socket.io/?EIO=4&transport=polling&sid=nope", data=b"\xff", timeout=10)
    assert r.status_code == 400 and "Invalid session" in r.text
