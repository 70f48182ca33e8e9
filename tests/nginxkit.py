"""nginx in front of collab for the tests, from deploy/nginx.conf with only what the file
says to change swapped in: the upstreams, the listen ports, the certificate, the pid path.

    with tls_certificate(tmp_path) as cert, nginx(tmp_path, [5001, 5002], cert) as site:
        site.url        # https://127.0.0.1:PORT
        site.http_url   # http://127.0.0.1:PORT2 (redirects to https)
"""
from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

from bench.liveserver import REPO_ROOT, free_port
from skips import missing


@dataclass(frozen=True)
class Certificate:
    cert: Path  # also the CA bundle a client verifies against (it is self-signed)
    key: Path


def tls_certificate(workdir: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made with openssl."""
    openssl = shutil.which("openssl") or missing("openssl is not installed (apt-get install openssl)")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return Certificate(cert, key)


@dataclass(frozen=True)
class Site:
    url: str
    http_url: str
    conf: Path


def render(workdir: Path, upstreams: list[int], cert: Certificate) -> tuple[str, int, int]:
    conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    https, plain = free_port(), free_port()
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in upstreams)
    swaps = [
        (r"(        server 127\.0\.0\.1:\d+;\n)+", servers),
        (r"listen 127\.0\.0\.1:8443 ssl;", f"listen 127.0.0.1:{https} ssl;"),
        (r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{plain};"),
        (r"https://\$host:8443\$request_uri", f"https://$host:{https}$request_uri"),
        (r"ssl_certificate     [^;]+;", f"ssl_certificate     {cert.cert};"),
        (r"ssl_certificate_key [^;]+;", f"ssl_certificate_key {cert.key};"),
        (r"\npid [^;]+;", f"\npid {workdir}/nginx.pid;"),
    ]
    for pattern, value in swaps:
        conf, n = re.subn(pattern, lambda _m: value, conf)
        assert n >= 1, f"deploy/nginx.conf no longer has {pattern!r}: update tests/nginxkit.py with it"
    return conf, https, plain


@contextlib.contextmanager
def nginx(workdir: Path, upstreams: list[int], cert: Certificate) -> Iterator[Site]:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        missing("nginx is not installed (apt-get install nginx-light)")
    conf, https, plain = render(workdir, upstreams, cert)
    path = workdir / "nginx.conf"
    path.write_text(conf)
    proc = subprocess.Popen([binary, "-c", str(path), "-p", str(workdir), "-g", "daemon off;"])
    site = Site(f"https://127.0.0.1:{https}", f"http://127.0.0.1:{plain}", path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode} (config {path})")
            try:
                if requests.get(site.url + "/healthz", verify=str(cert.cert), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not answer {site.url}/healthz within 20 s")
            time.sleep(0.05)  # polling interval, not a wait for correctness
        yield site
    finally:
        proc.terminate()
        proc.wait(10)
