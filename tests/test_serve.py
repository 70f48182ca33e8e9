"""The WebSocket transport's own pieces (collab/serve.py), on real sockets."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import gevent
import gevent.socket
import pytest

from collab.serve import NewcomerLane, _frame_writer


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


def test_newcomers_take_turns_in_order_and_an_established_reader_goes_between():
    """Ten newcomers wait in the lane; in its turn each sends a byte to an established
    connection's reader. The turns come in arrival order, and every byte is read before
    the second turn after the one that sent it: the loop polls between turns (without the
    lane, all ten would run before the reader). A newcomer killed while waiting loses its
    place and the others are served."""
    lane = NewcomerLane()
    a, b = gevent.socket.socketpair()
    log: list[str] = []

    def reader() -> None:
        while (data := b.recv(1)) != b"!":
            log.append("read " + data.decode())

    def newcomer(k: int) -> None:
        lane.wait()
        log.append(f"turn {k}")
        a.sendall(str(k).encode())

    established = gevent.spawn(reader)
    gevent.sleep(0.01)  # the reader waits for its socket
    waiting = [gevent.spawn(newcomer, k) for k in range(10)]
    killed = gevent.spawn(newcomer, 99)
    gevent.sleep(0)  # all eleven are in the lane
    killed.kill()
    gevent.joinall(waiting, timeout=5)
    a.sendall(b"!")
    established.join(timeout=5)
    a.close()
    b.close()
    turns = [e for e in log if e.startswith("turn")]
    assert turns == [f"turn {k}" for k in range(10)], log
    for k in range(8):
        assert log.index(f"read {k}") < log.index(f"turn {k + 2}"), log
    assert lane.granted == 10


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


# --- start-up, in the real process: run.py and `collab serve` ---------------------------------


REPO = Path(__file__).resolve().parent.parent
LAUNCHERS = {"run.py": [sys.executable, "run.py"], "collab serve": [sys.executable, "-m", "collab.cli", "serve"]}


def clean_env(tmp_path, **extra):
    """The environment without the caller's COLLAB_* settings, the data folder in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
    return {**env, "COLLAB_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1", **extra}


def failed_start(launcher, env, *args):
    """Start the server as a user does; it must give up by itself (the timeout is only the
    bound of a server that, wrongly, starts)."""
    done = subprocess.run([*LAUNCHERS[launcher], "--port", "0", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"{launcher}: "), done.stderr
    return done.stderr


BAD_STARTS = {
    "not a number": ({"COLLAB_MAX_PATCH_CHARS": "abc"}, "COLLAB_MAX_PATCH_CHARS must be a whole number, got 'abc'"),
    "negative": ({"COLLAB_RATE_BURST": "-5"}, "COLLAB_RATE_BURST must be a positive number, got -5"),
    "queue scheme": ({"COLLAB_MESSAGE_QUEUE": "foo://"}, "COLLAB_MESSAGE_QUEUE must be a Redis URL"),
    "database scheme": ({"COLLAB_DATABASE_URL": "mysql://db/x"},
                        "--database / COLLAB_DATABASE_URL: database URL scheme 'mysql' is not supported: use sqlite:///"),
    "database bare path": ({"COLLAB_DATABASE_URL": "/srv/x.db"},
                           "database '/srv/x.db' is not a URL: for a SQLite file write sqlite:////srv/x.db"),
    # nan passed every check (nan < 0 is False) and turned the header timeout and the lookup
    # throttle off; inf is no limit either
    "nan": ({"COLLAB_HEADER_TIMEOUT": "nan"}, "COLLAB_HEADER_TIMEOUT must be a positive number, got nan"),
    "inf": ({"COLLAB_LOOKUP_RATE": "inf"}, "COLLAB_LOOKUP_RATE must be a positive number, got inf"),
    "huge": ({"COLLAB_RATE_LIMIT": "1e400"}, "COLLAB_RATE_LIMIT must be a positive number, got inf"),
    "postgres unreachable": ({"COLLAB_DATABASE_URL": "postgresql://collab:s3cret@127.0.0.1:1/x"},
                             'cannot reach the database, PostgreSQL postgresql://collab@127.0.0.1:1/x: '
                             'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'),
    "sqlite cannot open": ({"COLLAB_DATABASE_URL": "sqlite:////proc/collab.db"},
                           "cannot open SQLite database '/proc/collab.db': unable to open database file"),
    "sqlite folder missing": ({"COLLAB_DATABASE_URL": "sqlite:///{tmp}/tpyo/collab.db"},
                              "the SQLite database {tmp}/tpyo/collab.db would be in a folder that does not exist"),
    "data folder missing": ({"COLLAB_DATA_DIR": "{tmp}/nowhere"}, "COLLAB_DATA_DIR {tmp}/nowhere is not a folder that exists"),
    "editor folder missing": ({"COLLAB_FRONTEND_DIST": "{tmp}/nodir"}, "COLLAB_FRONTEND_DIST {tmp}/nodir is not a folder that exists"),
    "editor folder empty": ({"COLLAB_FRONTEND_DIST": "{tmp}"}, "COLLAB_FRONTEND_DIST {tmp} holds no built editor (app.js, app.css)"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize("case", sorted(BAD_STARTS))
def test_a_start_that_cannot_go_on_says_why_in_one_line(launcher, case, tmp_path):
    """Before: a traceback of 20 to 60 lines (the reason at its end, or, for PostgreSQL, only
    "couldn't get a connection after 10.00 sec" after 10 s of pool warnings); a missing SQLite
    folder was created and the server started on an empty database."""
    settings, reason = BAD_STARTS[case]
    env = clean_env(tmp_path, **{k: v.format(tmp=tmp_path) for k, v in settings.items()})
    line = failed_start(launcher, env)
    assert reason.format(tmp=tmp_path) in line
    assert "s3cret" not in line  # a password in the URL is not repeated
    assert not (tmp_path / "tpyo").exists() and not (tmp_path / "nowhere").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_an_empty_database_option_is_refused_not_the_default(launcher, tmp_path):
    """Before: `--database ''` started on the default database without a word."""
    line = failed_start(launcher, clean_env(tmp_path), "--database", "")
    assert "--database is empty" in line
    assert not (tmp_path / "collab.db").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_port_in_use_is_one_line(launcher, tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        done = subprocess.run([*LAUNCHERS[launcher], "--port", str(port)], cwd=REPO, env=clean_env(tmp_path),
                              capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode == 1 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"{launcher}: cannot listen on 127.0.0.1:{port}: Address already in use"), done.stderr
    assert not (tmp_path / "collab.db").exists(), "the port is checked before the database is opened"


def started(command, env, cwd=REPO):
    """Start a server, read its log until it serves (or exits), stop it; its log lines."""
    proc = subprocess.Popen([*command, "--port", "0"], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            if "collab serving on http://" in line or time.monotonic() > deadline:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
    assert any("collab serving on http://" in line for line in lines), "\n".join(lines)
    return lines


@pytest.mark.e2e
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_unknown_variables_are_warned_about_and_the_database_named(launcher, tmp_path):
    """Before: a misspelt variable was ignored in silence, and nothing said where the data went."""
    env = clean_env(tmp_path, COLLAB_DATABSE_URL="postgresql://db/x", COLLAB_TEST_SEEDS="3")
    lines = started(LAUNCHERS[launcher], env)
    warned = [line for line in lines if "is not a setting" in line]
    assert len(warned) == 1 and warned[0].endswith(
        "COLLAB_DATABSE_URL is not a setting and is ignored: did you mean COLLAB_DATABASE_URL?"), lines
    assert any(line.endswith(f"database: SQLite file {tmp_path}/collab.db (COLLAB_DATA_DIR)") for line in lines), lines
    assert (tmp_path / "collab.db").is_file()


@pytest.mark.e2e
def test_an_installed_package_keeps_its_data_in_the_user_data_folder(tmp_path):
    """The package outside a checkout (as pip installs it: no run.py beside it): the database
    goes to the platform's user data folder, created, and the log says so. Before: Flask's
    instance folder inside the environment, which a new virtualenv leaves behind."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "collab", site / "collab", ignore=shutil.ignore_patterns("__pycache__", "frontend_dist"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
    env.update(PYTHONPATH=str(site), XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    lines = started([sys.executable, "-m", "collab.cli", "serve"], env, cwd=tmp_path)
    folder = tmp_path / "xdg" / "collab-editor"
    assert any(line.endswith(f"database: SQLite file {folder}/collab.db (the user data folder; COLLAB_DATA_DIR to "
                             "move it)") for line in lines), lines
    assert (folder / "collab.db").is_file() and (folder / "secret_key").is_file()
    assert not (site / "instance").exists()


def test_an_established_clients_departure_waits_for_a_turn_of_the_lane():
    """A close frame or the end of the stream from a client in a document waits for a turn
    of the newcomers' lane, as a newcomer's message does: a crowd closing at once was
    otherwise handled in one pass of the loop (1,000 departures, 1.5 s before anyone else's
    message was read: docs/reliability.md). Its other messages are read at once. From the
    departure on, its connection's `Departure` says it closed (presence skips it)."""
    import io

    from geventwebsocket.exceptions import WebSocketError
    from test_hostile_frames import _Wire, client_frame, websocket

    from collab.server.queue import DEPARTURE, Departure

    lane = NewcomerLane()
    for ending in (client_frame((1000).to_bytes(2, "big"), opcode=8), b""):
        wire = _Wire()
        wire.rfile = io.BufferedReader(io.BytesIO(client_frame(b"hello") + ending))
        ws = websocket(wire)
        ws.environ["collab.lane"] = lane
        departure = ws.environ[DEPARTURE] = Departure()
        granted = lane.granted
        assert ws.read_message() == "hello" and lane.granted == granted  # no turn for a message
        assert not departure.closed
        if ending:
            assert ws.read_message() is None
        else:
            with pytest.raises(WebSocketError):  # the end of the stream, after the turn
                ws.read_message()
        assert lane.granted == granted + 1
        assert departure.closed


def test_departures_at_the_head_of_the_lane_go_several_a_turn_and_a_newcomer_alone():
    """A crowd's departures take DEPARTURES_PER_TURN a turn (a turn each was 1,000 passes of
    the loop for 1,000 departures), in order; a newcomer's message still has a turn of its own,
    and an established reader is still read between two turns."""
    lane = NewcomerLane()
    per_turn = NewcomerLane.DEPARTURES_PER_TURN
    a, b = gevent.socket.socketpair()
    log: list[tuple[str, int]] = []  # (who, the turn it ran in)

    def reader() -> None:
        while (data := b.recv(1)) != b"!":
            log.append(("read", lane.turns))

    def waiter(name: str, departure: bool) -> None:
        lane.wait(departure=departure)
        log.append((name, lane.turns + 1))  # (turns counts a turn once it is through)
        a.sendall(b".")

    established = gevent.spawn(reader)
    gevent.sleep(0.01)
    order = [(f"d{k}", True) for k in range(per_turn + 4)] + [("newcomer", False)] + \
        [(f"e{k}", True) for k in range(per_turn + 4)]
    waiting = [gevent.spawn(waiter, name, departure) for name, departure in order]
    gevent.joinall(waiting, timeout=5)
    a.sendall(b"!")
    established.join(timeout=5)
    a.close()
    b.close()
    ran = [(name, turn) for name, turn in log if name != "read"]
    assert [name for name, _ in ran] == [name for name, _ in order]  # in order
    turn_of = dict(ran)
    assert {turn_of[f"d{k}"] for k in range(per_turn)} == {1} and turn_of[f"d{per_turn}"] == 2
    assert turn_of["newcomer"] == 3 and turn_of["e0"] == 4 and turn_of[f"e{per_turn}"] == 5
    assert lane.turns == 5 and lane.granted == len(order)  # 2 x (K + 4) + 1 waiters in 5 turns
    for turn in (1, 2, 3):  # what a turn sent is read before the second turn after it (the first
        # turn of the next pass may run before the reader: libev runs the timer first)
        sent = sum(1 for name, t in ran if t <= turn)
        before = log.index(next(entry for entry in ran if entry[1] == turn + 2))
        assert sum(1 for name, _ in log[:before] if name == "read") >= sent, log
