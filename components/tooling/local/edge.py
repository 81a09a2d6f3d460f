"""The local site's edge: a self-signed certificate, Nginx started on the staged config as the VM
would run it, and the wait until the health path answers 200 through it."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from components.plan.linux_layout import HostLayout
from components.tooling.errors import SiteError
from components.tooling.local.procs import open_log, port_open, require_tool, run_checked


def self_signed_cert(key: Path) -> str:
    """A P-256 key and a 7-day certificate for localhost next to it (made once); the PEM."""
    cert = key.with_suffix(".selfsigned.pem")
    if not cert.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            [require_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "7", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            "openssl self-signed certificate",
        )  # fmt: skip
        key.chmod(0o600)
    return cert.read_text()


def start_nginx(
    layout: HostLayout, ports: list[int], timeout: float, log_tail: Callable[[], str]
) -> subprocess.Popen[bytes] | None:
    """Nginx on the staged config once it listens on every port; None if a port was taken."""
    nginx = require_tool("nginx")
    conf = str(layout.staged_nginx_conf())
    errlog = Path(layout.nginx_log_dir) / "error.log"
    test = subprocess.run(
        [nginx, "-t", "-q", "-c", conf, "-e", str(errlog)], capture_output=True, text=True
    )
    if test.returncode != 0:
        raise SiteError(f"nginx -t failed:\n{test.stderr}")
    size = errlog.stat().st_size if errlog.exists() else 0
    log = open_log(Path(layout.log_dir) / "nginx-stderr.log")
    try:
        proc = subprocess.Popen(
            [nginx, "-c", conf, "-e", str(errlog), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with errlog.open(errors="replace") as f:
                f.seek(size)
                clash = "Address already in use" in f.read()
            if clash:
                return None
            raise SiteError(f"nginx exited:\n{log_tail()}")
        if all(port_open(p) for p in ports):
            return proc
        time.sleep(0.05)
    raise SiteError(f"nginx did not listen within {timeout}s:\n{log_tail()}")


def wait_healthy(
    port: int, path: str, cafile: Path | None, timeout: float, log_tail: Callable[[], str]
) -> None:
    """GET `path` on 127.0.0.1:port (HTTPS trusting `cafile` when given) until it answers 200."""
    ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        cls = http.client.HTTPSConnection if ctx else http.client.HTTPConnection
        kw = {"context": ctx} if ctx else {}
        conn = cls("127.0.0.1", port, timeout=5, **kw)
        try:
            conn.request("GET", path)
            last = conn.getresponse().status
            if last == 200:
                return
        except OSError as e:
            last = e
        finally:
            conn.close()
        time.sleep(0.1)
    raise SiteError(f"{path} did not answer 200 (last: {last}):\n{log_tail()}")
