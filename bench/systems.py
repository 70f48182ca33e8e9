"""The servers under test, each started fresh for one run and pinned to one core.

    with start("collab", workdir) as server:   # server.urls, server.pids
        ...

- collab: `run.py` on a fresh SQLite file (or a PostgreSQL URL), with
  COLLAB_RATE_LIMIT / COLLAB_RATE_BURST raised to 1,000,000 so that the per-connection rate
  limit (200 events/s by default) never shapes a load run, and COLLAB_LOOKUP_BURST too (a
  run opens hundreds of new documents from one address: not a guesser);
- relay: `python -m bench.relay` (bench/relay.py), the bare Flask-SocketIO floor;
- yws: y-websocket's server (`@y/websocket-server`'s bin, no persistence: in memory);
- hocus: `@hocuspocus/server` with no extensions (in memory).
Servers run under `taskset -c SERVER_CPU`; the driver under `taskset -c DRIVER_CPU`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DRIVER_DIR = REPO / "bench" / "driver"
SERVER_CPU = "0"
DRIVER_CPU = "1"
# collab-process: COLLAB_DURABILITY=process (an ack survives kill -9 of the server, not a power
# loss: no fsync per commit), next to the default "disk"; docs/deploy.md says which to choose
SYSTEMS = ("collab", "collab-process", "yws", "hocus", "relay")
# Diagnostic, never in the default run: collab with its SQLite file on tmpfs (/dev/shm), where
# fsync returns at once, to show what the durable commit costs on this disk
# (`python -m bench --only latency --systems collab,collab-tmpfs,yws`). Not durable.
EXTRA_SYSTEMS = ("collab-tmpfs",)
LABELS = {"collab": "collab (durability disk)", "collab-process": "collab (durability process)", "yws": "y-websocket", "hocus": "Hocuspocus", "relay": "relay (floor)",
          "collab-tmpfs": "collab, no fsync (tmpfs)"}
CLIENT = {"collab-tmpfs": "collab", "collab-process": "collab"}
SYSTEM_ENV = {"collab-process": {"COLLAB_DURABILITY": "process"}}  # settings of a system, over LOAD_ENV  # the driver's client for a system, where not its own name
# the driver is one address with up to 5,000 clients: no per-address connection or lookup limit
LOAD_ENV = {"COLLAB_RATE_LIMIT": "1000000", "COLLAB_RATE_BURST": "1000000", "COLLAB_LOOKUP_BURST": "1000000",
            "COLLAB_LOG_LEVEL": "WARNING", "COLLAB_MAX_CONNECTIONS_PER_ADDRESS": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def taskset(cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu] if cpu is not None and shutil.which("taskset") else []


class Server:
    """One or more processes of one system; stopped on exit."""

    def __init__(self, system: str, workdir: Path, *, processes: int = 1, database: str | None = None,
                 env: dict[str, str] | None = None, cpus: list[str | None] | None = None,
                 collab_source: Path = REPO) -> None:
        self.system = system
        self.client = CLIENT.get(system, system)  # the server it runs, and the driver's client for it
        self.workdir = workdir
        self.shm: Path | None = None
        if system == "collab-tmpfs" and database is None:
            self.shm = Path(tempfile.mkdtemp(prefix="collab-bench-", dir="/dev/shm"))
            database = f"sqlite:///{self.shm}/collab.db"
        self.database = database or f"sqlite:///{workdir}/collab.db"
        self.env = {**os.environ, **LOAD_ENV, **SYSTEM_ENV.get(system, {}), **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.cpus = cpus or [SERVER_CPU] * processes
        self.collab_source = collab_source
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []

    @property
    def urls(self) -> list[str]:
        scheme = "ws" if self.system in ("yws", "hocus") else "http"
        return [f"{scheme}://127.0.0.1:{p}" for p in self.ports]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def command(self, port: int) -> tuple[list[str], Path, dict[str, str]]:
        py = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable
        if self.client == "collab":
            return ([py, "run.py", "--host", "127.0.0.1", "--port", str(port), "--database", self.database],
                    self.collab_source, self.env)
        if self.system == "relay":
            return [py, "-m", "bench.relay", "--port", str(port)], REPO, self.env
        if self.system == "yws":
            server = DRIVER_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
            return ["node", str(server)], DRIVER_DIR, {**self.env, "HOST": "127.0.0.1", "PORT": str(port)}
        if self.system == "hocus":
            return ["node", "hocuspocus-server.mjs", str(port)], DRIVER_DIR, self.env
        raise ValueError(f"unknown system {self.system!r}: use one of {', '.join(SYSTEMS + EXTRA_SYSTEMS)}")

    def __enter__(self) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i, cpu in enumerate(self.cpus):
            port = free_port()
            cmd, cwd, env = self.command(port)
            with open(self.workdir / f"{self.system}-{i}.log", "ab") as log:  # the child keeps its own copy
                self.procs.append(subprocess.Popen(taskset(cpu) + cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                                   stdout=log, stderr=subprocess.STDOUT))
            self.ports.append(port)
        for proc, port in zip(self.procs, self.ports):
            self._wait(proc, port)
        return self

    def _wait(self, proc: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.system} exited with {proc.returncode}; see {self.workdir}")
            try:
                if self.client in ("collab", "relay"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return
                else:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.system} on port {port} did not start within 30 s; see {self.workdir}")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.shm is not None:
            shutil.rmtree(self.shm, ignore_errors=True)


class PostgresDatabase:
    """A fresh database on the local PostgreSQL (COLLAB_TEST_POSTGRES admin URL), dropped after."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = "collab_bench_" + os.urandom(4).hex()

    @property
    def url(self) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + self.name

    def __enter__(self) -> "PostgresDatabase":
        import psycopg

        self.admin = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=3)
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.close()
