"""The smoke checks of `webstack up --local`: the requests a browser or the ALB would send to a local
site, each with what its answer must show, and the table they print as."""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.plan.tier import static_root
from components.spec.stack import AppSpec, StackSpec

SIMULATED_CLIENT_IP = "203.0.113.7"  # TEST-NET-3: what the ALB would put in X-Forwarded-For


@dataclass
class Check:
    app: str
    name: str
    url: str
    status: int | None
    latency_ms: float | None
    ok: bool
    detail: str
    skipped: bool = False


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    tls_version: str | None


def _request(
    url: str,
    host: str,
    headers: dict[str, str] | None = None,
    cafile: Path | None = None,
    method: str = "GET",
) -> _Response:
    scheme, rest = url.split("://", 1)
    netloc, _, path = rest.partition("/")
    hostname, _, port = netloc.partition(":")
    conn: http.client.HTTPConnection
    if scheme == "https":
        ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        conn = http.client.HTTPSConnection(hostname, int(port or 443), timeout=10, context=ctx)
    else:
        conn = http.client.HTTPConnection(hostname, int(port or 80), timeout=10)
    t0 = time.perf_counter()
    try:
        conn.request(method, "/" + path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        latency = (time.perf_counter() - t0) * 1000
        tls = conn.sock.version() if isinstance(conn.sock, ssl.SSLSocket) else None
        return _Response(
            resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, latency, tls
        )
    finally:
        conn.close()


# Long: the list of smoke checks in the order they run, each a request and its verdict.
def smoke_checks(spec: StackSpec, app: AppSpec, site: Any) -> list[Check]:
    """Requests a user's browser or the ALB would send, each with what it must show."""
    checks: list[Check] = []
    https = app.os == "linux" and spec.edge.mode == "nginx"
    cafile = getattr(site, "tls_cert", None) if https else None
    # Behind an ALB the edge says which scheme and client it saw; locally we play the ALB.
    via_alb = (
        {} if https else {"X-Forwarded-Proto": "https", "X-Forwarded-For": SIMULATED_CLIENT_IP}
    )

    def url(path: str) -> str:
        return str(site.url(path, https=True) if https else site.url(path))

    def check(
        name: str, target: str, verdict: Callable[[_Response], str | None], **kw: Any
    ) -> None:
        try:
            r = _request(target, app.health_host, cafile=cafile, **kw)
        except (OSError, http.client.HTTPException) as error:
            checks.append(Check(app.name, name, target, None, None, False, str(error)))
            return
        problem = verdict(r)
        checks.append(
            Check(app.name, name, target, r.status, r.latency_ms, problem is None, problem or "")
        )

    def status_is(expected: int) -> Callable[[_Response], str | None]:
        return lambda r: None if r.status == expected else f"expected {expected}"

    if app.os == "windows":  # the local Windows site (local_up._WindowsSite)
        # Each Waitress service directly, as the proxy's health probes see them.
        for name, target in site.service_urls(app.health_path):
            check(f"waitress {name}", target, status_is(200))
        if not site.has_proxy:
            checks.append(
                Check(app.name, "proxy: iis", "-", None, None, True,
                      "IIS has no stand-in on Linux: only its Waitress services ran", True)
            )  # fmt: skip
            return checks

    check("health", url(app.health_path), status_is(200), headers=via_alb)

    def app_answers(r: _Response) -> str | None:
        if r.status >= 500:
            return f"server error {r.status}"
        server = r.headers.get("server", "")
        if "/" in server:
            return f"Server header leaks a version: {server}"
        if https and "strict-transport-security" not in r.headers:
            return "no Strict-Transport-Security header"
        if https and r.tls_version not in ("TLSv1.2", "TLSv1.3"):
            return f"negotiated {r.tls_version}"
        return None

    name = "app" + (" (TLS, HSTS)" if https else " (via ALB headers)")
    check(name, url(app.path_prefix), app_answers, headers=via_alb)

    static = _static_sample(app, site)
    if static is not None:
        rel, content = static
        assert app.static is not None

        def served_by_proxy(r: _Response) -> str | None:
            if r.status != 200:
                return "expected 200"
            return None if r.body == content else "body differs from the file on disk"

        check("static file", url(app.static.url + rel), served_by_proxy, headers=via_alb)

    if https:

        def redirects(r: _Response) -> str | None:
            location = r.headers.get("location", "")
            if r.status != 301 or not location.startswith("https://"):
                return f"expected 301 to https, got {r.status} {location}"
            return None

        check("http -> https", str(site.url(app.path_prefix)), redirects)

    limit = app.linux.nginx.client_max_body_size if app.os == "linux" else None
    # Nginx refuses on Content-Length alone; Caddy would read the body first (not checked here).
    if app.os == "windows" and app.windows.proxy == "nginx":
        limit = app.windows.limits.client_max_body_size
    if limit is not None:
        too_big = _size_bytes(limit) + 1
        check(
            f"body > {limit} refused",
            url(app.path_prefix),
            status_is(413),
            method="POST",
            headers={**via_alb, "Content-Length": str(too_big)},
        )
    if app.os == "linux":
        masters = app.linux.gunicorn.masters
        if masters > 1 and hasattr(site, "direct_request"):
            for n in range(1, masters + 1):
                sock = site.layout.socket(app.name, n)
                t0 = time.perf_counter()
                try:
                    status = site.direct_request(n, app.health_path)[0]
                    ok, detail = status == 200, "" if status == 200 else "expected 200"
                except OSError as error:
                    status, ok, detail = None, False, str(error)
                ms = (time.perf_counter() - t0) * 1000
                checks.append(
                    Check(app.name, f"gunicorn master {n}", f"unix:{sock}", status, ms, ok, detail)
                )
    return checks


def _static_sample(app: AppSpec, site: Any) -> tuple[str, bytes] | None:
    """A file the proxy serves from the app's static folder (the shallowest, by name)."""
    if app.static is None or app.os != "linux":
        return None
    root = static_root(app, site.layout)
    if root is None or not Path(root).is_dir():
        return None
    files = sorted(
        (p for p in Path(root).rglob("*") if p.is_file()),
        key=lambda p: (len(p.relative_to(root).parts), str(p)),
    )
    if not files:
        return None
    return str(files[0].relative_to(root)), files[0].read_bytes()


def _size_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    unit = size[-1].lower()
    return int(size[:-1]) * units[unit] if unit in units else int(size)


def _verdict(c: Check) -> str:
    if c.skipped:
        return f"SKIP: {c.detail}"
    return "PASS" if c.ok else f"FAIL: {c.detail}"


def format_table(checks: list[Check]) -> str:
    rows = [("APP", "CHECK", "URL", "STATUS", "LATENCY", "RESULT")]
    for c in checks:
        rows.append(
            (
                c.app,
                c.name,
                c.url,
                "-" if c.status is None else str(c.status),
                "-" if c.latency_ms is None else f"{c.latency_ms:.1f} ms",
                _verdict(c),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
