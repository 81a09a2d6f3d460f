"""The Windows trust boundary at runtime on 127.0.0.1, for the Nginx and Caddy stand-ins: only the
trusted peer (standing in for the ALB, 127.0.0.3) may say the client's address and scheme, and
only `http`/`https` exactly; a spoofing client (127.0.0.4) gets its own address and scheme."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.local_windows import LocalWindowsHost
from components.spec import parse_stack_spec
from tests.helpers.net import fetch

pytestmark = pytest.mark.e2e

ALB = "127.0.0.3"
SPOOFER = "127.0.0.4"
CLIENT = "198.51.100.23"  # what the ALB says the client is


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def host(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    spec = parse_stack_spec(
        {
            "environment": "e2e",
            "apps": [
                {
                    "name": "flask-app",
                    "framework": "flask",
                    "wsgi": "app:create_app()",
                    "os": "windows",
                    "windows": {"proxy": request.param, "instances": 2},
                }
            ],
        }
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
