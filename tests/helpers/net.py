"""Loopback HTTP(S) client for tests: explicit Host/source address/TLS version, retries to wait."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    tls_version: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def tls_context(
    cafile: str | None = None,
    version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A client context trusting `cafile` (or nothing checked), optionally pinned to one version.

    Pinning to TLS 1.0/1.1 also lowers OpenSSL's security level, so the client really offers the
    old protocol and a refusal comes from the server, not from the client's own policy."""
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def connection(
    url: str,
    *,
    source: str | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    src = (source, 0) if source else None
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            parts.hostname or "127.0.0.1",
            parts.port,
            timeout=timeout,
            source_address=src,
            context=context or tls_context(),
        )
    return http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout, source_address=src
    )


def request_on(
    conn: http.client.HTTPConnection,
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """One request on an open (keep-alive) connection."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, target or "/", body=body, headers=dict(headers or {}))
    resp = conn.getresponse()
    data = resp.read()
    sock = conn.sock
    version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
    return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, version)


def fetch(
    url: str,
    method: str = "GET",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    source: str | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One request on a fresh connection (no redirects followed)."""
    conn = connection(url, source=source, context=context, timeout=timeout)
    try:
        return request_on(conn, url, method, headers, body)
    finally:
        conn.close()


def wait_for_status(url: str, status: int = 200, timeout: float = 15.0, **kw: Any) -> Reply:
    """Retry `fetch` until it answers `status` (connection errors retried too)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            reply = fetch(url, **kw)
            if reply.status == status:
                return reply
            last = reply.status
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last!r})")
