"""The real server in a subprocess, started exactly as a user starts it.

    python run.py --host 127.0.0.1 --port PORT --database sqlite:///TMP/collab.db

from the repository root, on a free port; ready once `GET /healthz` answers 200. Used by
the end-to-end and browser tests (tests/conftest.py's `live_server` fixture is one, stopped
after its test) and by bench/soak.py:

    with LiveServer(workdir) as server:
        requests.get(server.url + "/healthz")
        server.kill9()      # SIGKILL, like a crash or a power cut
        server.restart()    # same port, same database

The server's stdout and stderr go to a log file (`log_path`); a server that exits or does
not become healthy raises with the tail of that log.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Mapping, Sequence

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0  # seconds for the server to answer /healthz (a cold start on a slow CI box)
STOP_TIMEOUT = 10.0  # seconds for a graceful stop (SIGTERM) before SIGKILL


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    pass


class LiveServer:
    """One `run.py` process; restartable on the same port and database."""

    def __init__(self, workdir: Path, *, host: str = "127.0.0.1", port: int | None = None,
                 env: Mapping[str, str] | None = None, start_timeout: float = START_TIMEOUT,
                 database_url: str | None = None, launcher: Sequence[str] | None = None,
                 cwd: Path = REPO_ROOT) -> None:
        self.workdir = Path(workdir)
        # how the server is started: run.py from the checkout, or an installed `collab serve`
        self.launcher = list(launcher) if launcher else [sys.executable, "run.py"]
        self.cwd = cwd
        self.host = host
        self.port = port or free_port(host)
        self.database_url = database_url or f"sqlite:///{self.workdir}/collab.db"
        self.log_path = self.workdir / "server.log"
        self.env = dict(os.environ if env is None else env)
        self.env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def command(self) -> list[str]:
        return [*self.launcher, "--host", self.host, "--port", str(self.port), "--database", self.database_url]

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> "LiveServer":
        if self.proc is not None:
            raise ServerError("the server is already running; stop() or kill9() it first")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.starts += 1
        self._log.write(f"\n===== start {self.starts}: {' '.join(self.command)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy()
        except BaseException:
            self.kill9()
            raise
        return self

    def stop(self) -> None:
        """Graceful stop (SIGTERM, as Ctrl-C or a service manager would); SIGKILL if it hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap()

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, like a crash. Returns once the process is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reap()

    def restart(self) -> "LiveServer":
        """Start again on the same port with the same database (stopping it first if running)."""
        self.stop()
        return self.start()

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- diagnostics ----------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # -- internals ------------------------------------------------------------------

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        with requests.Session() as http:
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise ServerError(f"the server exited with code {code} before it was healthy; "
                                      f"log {self.log_path}:\n{self.log_tail()}")
                try:
                    r = http.get(self.url + "/healthz", timeout=2)
                    if r.status_code == 200:
                        return
                    last = f"HTTP {r.status_code}: {r.text[:200]}"
                except requests.RequestException as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    raise ServerError(f"{self.url}/healthz did not answer 200 within {self.start_timeout} s "
                                      f"(last: {last}); log {self.log_path}:\n{self.log_tail()}")
                time.sleep(0.05)  # polling interval, not a wait for correctness

    def _reap(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


class RedisServer:
    """A private redis-server on a free port (so a test or a benchmark may stop and restart it)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerError("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            self.proc = None

    def restart(self) -> "RedisServer":
        self.stop()
        return self.start()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
