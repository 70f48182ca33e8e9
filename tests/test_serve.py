"""The WebSocket transport's own pieces (collab/serve.py), on real sockets."""
import socket

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
