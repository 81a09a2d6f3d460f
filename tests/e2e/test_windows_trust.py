"""The Windows trust boundary at runtime on 127.0.0.1, for the Nginx and Caddy stand-ins: only the
trusted peer (standing in for the ALB, 127.0.0.3) may say the client's address and scheme, and
only `http`/`https` exactly; a spoofing client (127.0.0.4) gets its own address and scheme; the
allow/deny lists hold on every path, the health path included, except for the ALB's own checks
and this host's probe."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.tooling.local.windows import LocalWindowsHost
from tests.helpers.net import fetch
from tests.helpers.specs import windows_spec

pytestmark = pytest.mark.e2e

ALB = "127.0.0.3"
SPOOFER = "127.0.0.4"
CLIENT = "198.51.100.23"  # what the ALB says the client is


def run_host(proxy: str, **windows: Any) -> Iterator[LocalWindowsHost]:
    spec = windows_spec(
        "flask",
        proxy,
        name="flask-app",
        environment="e2e",
        app={"static": {"url": "/static/", "folder": "static"}},
        **{"instances": 2, **windows},
    )
    root = Path(tempfile.mkdtemp(prefix="ws-wintrust-", dir="/tmp"))
    source = Path(__file__).resolve().parents[2] / "examples" / "flask_app"
    try:
        with LocalWindowsHost(
            spec, spec.apps[0], root, source, trusted_proxy_cidrs=(f"{ALB}/32",)
        ) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def host(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    yield from run_host(request.param)


def seen(host: LocalWindowsHost, source: str, headers: dict[str, str]) -> dict[str, str]:
    return fetch(host.url + "/", source=source, headers=headers).json()


def test_the_trusted_peer_gives_the_client_and_scheme(host: LocalWindowsHost) -> None:
    got = seen(host, ALB, {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"})
    assert got["client_ip"] == CLIENT and got["scheme"] == "https"
    assert seen(host, ALB, {"X-Forwarded-Proto": "http"})["scheme"] == "http"


@pytest.mark.parametrize("proto", ["HTTPS", "Https", "https, http", "ftp", "wss"])
def test_only_exact_http_or_https_counts_from_the_trusted_peer(
    host: LocalWindowsHost, proto: str
) -> None:
    assert seen(host, ALB, {"X-Forwarded-Proto": proto})["scheme"] == "http", proto


def test_a_spoofing_client_gets_its_own_address_and_scheme(host: LocalWindowsHost) -> None:
    got = seen(host, SPOOFER, {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"})
    assert got["client_ip"] == SPOOFER, "X-Forwarded-For from an untrusted peer must be ignored"
    assert got["scheme"] == "http", "X-Forwarded-Proto from an untrusted peer must be ignored"


ALLOWED, DENIED, OUTSIDER = "198.51.100.23", "198.51.100.9", "203.0.113.9"
LIMITS = {"allow_cidrs": ["198.51.100.0/24"], "deny_cidrs": [f"{DENIED}/32"]}


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def guarded(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    yield from run_host(request.param, limits=LIMITS)


def status(host: LocalWindowsHost, path: str, source: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    return fetch(host.url + path, source=source, headers=headers).status


PATHS = ["/", "/static/hello.txt", "/healthz"]


@pytest.mark.parametrize("path", PATHS)
def test_allowed_clients_reach_every_path(guarded: LocalWindowsHost, path: str) -> None:
    assert status(guarded, path, ALB, ALLOWED) == 200


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("client", [DENIED, OUTSIDER])
def test_denied_clients_reach_no_path(guarded: LocalWindowsHost, path: str, client: str) -> None:
    assert status(guarded, path, ALB, client) == 403, f"{client} must not reach {path}"


def test_health_checks_of_the_alb_and_this_host_pass_the_lists(guarded: LocalWindowsHost) -> None:
    assert status(guarded, "/healthz", ALB) == 200, "the ALB's own check (no X-Forwarded-For)"
    assert status(guarded, "/healthz", "127.0.0.1") == 200, "the bootstrap's probe"
    assert status(guarded, "/", ALB) == 403, "the ALB's address is not a client on the list"


def test_an_untrusted_peer_cannot_claim_an_allowed_address(guarded: LocalWindowsHost) -> None:
    for path in PATHS:
        assert status(guarded, path, SPOOFER, ALLOWED) == 403, path


def hsts(host: LocalWindowsHost, path: str, source: str, proto: str) -> str | None:
    reply = fetch(host.url + path, source=source, headers={"X-Forwarded-Proto": proto})
    return reply.headers.get("strict-transport-security")


@pytest.mark.parametrize("path", ["/", "/static/hello.txt"])
def test_hsts_only_when_the_trusted_peer_says_https(host: LocalWindowsHost, path: str) -> None:
    assert hsts(host, path, ALB, "https") == "max-age=63072000"
    assert hsts(host, path, ALB, "http") is None
    assert hsts(host, path, ALB, "HTTPS") is None
    assert hsts(host, path, SPOOFER, "https") is None, "an untrusted peer cannot ask for HSTS"


@pytest.fixture(scope="module")
def limited() -> Iterator[LocalWindowsHost]:
    yield from run_host("nginx", limits={"rate_limit_rps": 1, "rate_limit_burst": 0})


def burst(host: LocalWindowsHost, source: str, client: str | None, n: int = 6) -> list[int]:
    return [status(host, "/healthz", source, client) for _ in range(n)]


def test_the_health_path_is_limited_for_clients_only(limited: LocalWindowsHost) -> None:
    """Nginx: the ALB's own checks and this host's probe are never rate limited; a client that
    hammers the health path through the ALB is."""
    assert set(burst(limited, ALB, None)) == {200}
    assert set(burst(limited, "127.0.0.1", None)) == {200}
    assert 429 in burst(limited, ALB, ALLOWED)
