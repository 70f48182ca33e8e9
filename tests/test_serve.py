"""The WebSocket transport's own pieces (collab/serve.py), on real sockets."""
import socket
import subprocess
import sys

import gevent
import gevent.socket

from collab.serve import _frame_writer


def test_a_frame_bigger_than_the_socket_buffer_arrives_whole_and_in_order():
    """The frame writer sends once and leaves the rest to sendall(): with a small send
    buffer and a slow reader, a 2 MB write is cut many times and must still arrive whole,
    and the next frame after it."""
    a, b = gevent.socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    write = _frame_writer(a)
    big = bytes(range(256)) * 8192  # 2 MB
    small = b"\x81\x05hello"
    received = bytearray()

    def read_slowly():
        while len(received) < len(big) + len(small):
            chunk = b.recv(65536)
            assert chunk, "the writer closed early"
            received.extend(chunk)
            gevent.sleep(0.001)

    reader = gevent.spawn(read_slowly)
    write(big)
    write(small)
    reader.get(timeout=20)
    assert bytes(received) == big + small
    a.close()
    b.close()


def test_the_websocket_calls_the_observer_for_each_message_read_and_sent():
    """CappedWebSocket's hooks (collab/service/observer.py): `message_read` with the
    message's payload size, `frame_sent` with what was sent, which goes out byte for byte
    as gevent-websocket's own send() writes it."""
    from geventwebsocket.websocket import Stream, WebSocket
    from test_hostile_frames import _Wire, client_frame, websocket

    from collab.service.observer import Observer

    class Seen(Observer):
        def __init__(self):
            self.calls = []

        def message_read(self, size):
            self.calls.append(("message_read", size))

        def frame_sent(self, message):
            self.calls.append(("frame_sent", message))

    text = '42["patch",{"doc":"d","patch":"ü"}]'
    wire = _Wire(client_frame(text.encode("utf-8")) + client_frame(b"\x01\x02", opcode=2))
    ws = websocket(wire)
    seen = ws.environ["collab.observer"] = Seen()
    assert ws.read_message() == text and ws.read_message() == b"\x01\x02"
    ws.send('43[{"ok":true}]')
    ws.send(b"\x03")
    assert seen.calls == [("message_read", len(text.encode("utf-8"))), ("message_read", 2),
                          ("frame_sent", '43[{"ok":true}]'), ("frame_sent", b"\x03")]
    plain = _Wire()
    reference = WebSocket({}, Stream(plain), plain)
    reference.send('43[{"ok":true}]')
    reference.send(b"\x03")
    assert bytes(wire.sent) == bytes(plain.sent)
    quiet = _Wire()
    unobserved = websocket(quiet)
    unobserved.send("2")  # no observer: nothing but the frame
    assert bytes(quiet.sent) == b"\x81\x012"


def test_a_gunicorn_worker_that_cannot_load_says_why():
    """gunicorn 27's gevent worker imports `packaging` without requiring it: where an import
    under the worker fails, using the worker says which import, not "takes no arguments"."""
    code = (
        "import sys; sys.modules['geventwebsocket.gunicorn.workers'] = None\n"
        "from collab.serve import GeventWebSocketWorker\n"
        "try:\n"
        "    GeventWebSocketWorker(1, 2, [], None, 30, None, None)\n"
        "except RuntimeError as exc:\n"
        "    print('RuntimeError:', exc)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "RuntimeError: the gunicorn worker cannot be loaded" in r.stdout
    assert "geventwebsocket.gunicorn.workers" in r.stdout and "collab-editor[deploy]" in r.stdout
