"""The rendered Linux Nginx alone on 127.0.0.1, in front of a stub app on the Gunicorn socket.

Starting Gunicorn costs seconds; a property test that starts a site per example cannot pay that.
Nginx here runs the exact rendered nginx.conf; the stub answers every proxied request with
`200 app:<path>` on the unix socket Gunicorn would listen on, so a reply tells who answered it:
the app (proxied), Nginx itself (static file, 403, 429) or nobody.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import HostLayout, local_layout
from components.plan.tier import plan_tier, static_root
from components.render.common import CloudRefs
from components.render.linux import render_linux_host
from components.spec.stack import AppSpec, StackSpec
from components.tooling.local.procs import free_port, port_open
from tests.helpers.tools import require_tool


class _StubHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        delay = float(self.headers.get("X-Stub-Delay", "0") or 0)
        if delay:
            time.sleep(min(delay, 10))
        body = f"app:{self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass

    def address_string(self) -> str:  # a unix socket has no peer address
        return "unix"


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@dataclass
class NginxOnly:
    root: Path
    layout: HostLayout
    app: AppSpec
    https: bool
    markers: dict[str, str]  # path on disk -> a token in it that Nginx must never send

    def url(self, path: str) -> str:
        if self.https:
            return f"https://127.0.0.1:{self.layout.https_port}{path}"
        return f"http://127.0.0.1:{self.layout.http_port}{path}"


def _plant(path: Path, text: str, markers: dict[str, str]) -> None:
    token = f"MARKER-{os.urandom(8).hex()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{text}\n# {token}\n")
    markers[str(path)] = token


@contextlib.contextmanager
def nginx_only(
    spec: StackSpec,
    app: AppSpec,
    tls_pair: tuple[str, str] | None = None,
    trusted_proxy_cidrs: tuple[str, ...] | None = None,
) -> Iterator[NginxOnly]:
    nginx = require_tool("nginx")
    root = Path(tempfile.mkdtemp(prefix="ws-ng-", dir="/tmp"))
    https = spec.edge.mode == "nginx"
    layout = local_layout(root, free_port(), free_port(), trusted_proxy_cidrs=trusted_proxy_cidrs)
    refs = CloudRefs("us-east-1", "b", "k", stack_ssm_prefix(spec.environment, app.name),
                     tls_pair[0] if tls_pair else None)  # fmt: skip
    files = render_linux_host(plan_tier(spec, app), app, layout, refs)
    markers: dict[str, str] = {}
    servers: list[_UnixServer] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        for target, content in files.items():
            # Every rendered file is something a traversal must not reach (app.env above all).
            _plant(Path(target), content, markers)
        if https and tls_pair:
            _plant(Path(layout.tls_key(app.name)), tls_pair[1], markers)  # PEM ignores the rest
            markers.pop(str(layout.tls_cert(app.name)))  # the certificate is public anyway
        code = Path(layout.code_dir(app.name))
        _plant(code / "app.py", "SECRET = 'app code'", markers)
        _plant(root / "outside.txt", "outside every app folder", markers)
        _plant(Path(layout.app_dir(app.name)) / "sibling.txt", "beside the code", markers)
        static = static_root(app, layout)
        if static is not None:
            Path(static).mkdir(parents=True, exist_ok=True)
            (Path(static) / "hello.txt").write_text("hello static\n")
        for d in (layout.nginx_state_dir, layout.nginx_log_dir):
            Path(d).mkdir(parents=True, exist_ok=True)
        for n in range(1, app.linux.gunicorn.masters + 1):
            sock = Path(layout.socket(app.name, n))
            sock.parent.mkdir(parents=True, exist_ok=True)
            server = _UnixServer(str(sock), _StubHandler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        conf = str(layout.staged_nginx_conf())
        errlog = str(root / "log" / "error.log")
        proc = subprocess.Popen(
            [nginx, "-c", conf, "-e", errlog, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ports = [layout.http_port] + ([layout.https_port] if https else [])
        deadline = time.monotonic() + 10
        while not all(port_open(p) for p in ports):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = Path(errlog).read_text() if Path(errlog).exists() else ""
                raise AssertionError(f"nginx did not start:\n{log}")
            time.sleep(0.02)
        yield NginxOnly(root, layout, app, https, markers)
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for server in servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(root, ignore_errors=True)
