"""Trust boundaries of the Linux tier, on 127.0.0.1 with the real rendered Nginx and Gunicorn:
HSTS behind the ALB only when the trusted peer says HTTPS, allow/deny on every location, forwarded
headers believed only from the trusted peer, the health path unlimited only for the trusted peer,
and the per-client connection limit (`limit_conn`).

Loopback addresses play the parts: 127.0.0.2 is the ALB node (trusted proxy), 127.0.0.1 this
host, 127.0.0.3..5 clients on the internet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from components.tooling.local.linux import LocalLinuxSite
from tests.e2e.test_linux_e2e import running
from tests.helpers.net import Reply, fetch
from tests.helpers.specs import linux_spec

pytestmark = pytest.mark.e2e

ALB = "127.0.0.2"
DENIED = "127.0.0.3"
CLIENT = "127.0.0.4"
OTHER = "127.0.0.5"
INTERNET_CLIENT = "198.51.100.9"
HSTS = "max-age=63072000"
CONN_LIMIT = 2
FROM_CLIENT = {"X-Forwarded-For": INTERNET_CLIENT}  # what the ALB adds to every forwarded request


def _site(nginx: dict[str, Any]) -> Iterator[LocalLinuxSite]:
    spec = linux_spec(
        "flask",
        "alb",
        environment="trust",
        gunicorn={"worker_class": "gthread", "threads": 4, "workers": 2},
        nginx=nginx,
    )
    yield from running(spec, trusted_proxy_cidrs=(f"{ALB}/32",))


@pytest.fixture(scope="module")
def guarded() -> Iterator[LocalLinuxSite]:
    """deny_cidrs covers the ALB node and DENIED: the ALB's own health checks must still pass."""
    yield from _site(
        {
            "deny_cidrs": ["127.0.0.2/31"],
            "rate_limit_rps": 100000,
            "rate_limit_burst": 100000,
            "max_connections_per_ip": CONN_LIMIT,
        }
    )


@pytest.fixture(scope="module")
def slow_limit() -> Iterator[LocalLinuxSite]:
    yield from _site({"rate_limit_rps": 1, "rate_limit_burst": 2})


def get(site: LocalLinuxSite, path: str, source: str, **headers: str) -> Reply:
    return fetch(site.url(path), source=source, headers=headers, timeout=15)


def every_path(site: LocalLinuxSite) -> list[str]:
    assert site.app.static is not None
    url = site.app.static.url
    return [site.app.health_path, f"{url}hello.txt", f"{url}missing.txt", "/", "/no/such/page"]


# -- HSTS behind the ALB ------------------------------------------------------------------------
def test_hsts_only_when_the_trusted_alb_says_https(guarded: LocalLinuxSite) -> None:
    for path in every_path(guarded):
        via_alb = get(guarded, path, ALB, **FROM_CLIENT, **{"X-Forwarded-Proto": "https"})
        assert via_alb.headers.get("strict-transport-security") == HSTS, (path, via_alb.headers)
        plain = get(guarded, path, ALB, **FROM_CLIENT, **{"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in plain.headers, path
        spoofed = get(guarded, path, CLIENT, **{"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in spoofed.headers, (
            f"{path}: a client that is not the ALB made Nginx send HSTS"
        )


# -- allow/deny on every location ----------------------------------------------------------------
def test_denied_client_gets_403_on_every_path(guarded: LocalLinuxSite) -> None:
    for path in every_path(guarded):
        assert get(guarded, path, DENIED).status == 403, f"{path} reached from a denied client"
        # The same client through the ALB: the real client address decides, not the ALB's.
        via_alb = get(guarded, path, ALB, **{"X-Forwarded-For": DENIED})
        assert via_alb.status == 403, f"{path} reached by a denied client via the ALB"
        allowed = get(guarded, path, CLIENT)
        assert allowed.status in (200, 404), f"{path}: an allowed client got {allowed.status}"
        assert get(guarded, path, ALB, **FROM_CLIENT).status in (200, 404)


def test_alb_health_checks_pass_a_deny_list_that_covers_the_alb(guarded: LocalLinuxSite) -> None:
    """ALB health checks come from the ALB node with no X-Forwarded-For: the trusted peer."""
    health = guarded.app.health_path
    assert get(guarded, health, ALB).status == 200
    assert get(guarded, "/", ALB).status == 403, "only the health path admits the peer itself"


def test_forged_forwarded_for_does_not_pass_the_deny_list(guarded: LocalLinuxSite) -> None:
    for path in every_path(guarded):
        forged = get(guarded, path, DENIED, **{"X-Forwarded-For": INTERNET_CLIENT})
        assert forged.status == 403, f"{path}: X-Forwarded-For from a non-proxy was believed"


# -- spoofed forwarded headers ---------------------------------------------------------------------
SPOOFS = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Real-IP": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "Forwarded": "for=203.0.113.7;proto=https;host=evil.example",
}


def test_spoofed_forwarded_headers_are_ignored(guarded: LocalLinuxSite) -> None:
    body = get(guarded, "/", CLIENT, **SPOOFS).json()
    assert body["client_ip"] == CLIENT and body["scheme"] == "http", body
    # Letter case and junk from the ALB itself: only exactly `http`/`https` count.
    for proto in ("HTTPS", "Https", "https, http", "javascript"):
        got = get(guarded, "/", ALB, **FROM_CLIENT, **{"X-Forwarded-Proto": proto}).json()
        assert got["scheme"] == "http", f"X-Forwarded-Proto {proto!r} was believed"
    via_alb = get(guarded, "/", ALB, **FROM_CLIENT).json()
    assert via_alb["client_ip"] == INTERNET_CLIENT, "the ALB's X-Forwarded-For must reach the app"


# -- limits on every location; the health path free only for the trusted peer -------------------
def _burst(site: LocalLinuxSite, path: str, source: str, n: int = 12) -> list[int]:
    return [get(site, path, source).status for _ in range(n)]


def test_health_and_static_are_rate_limited_for_clients(slow_limit: LocalLinuxSite) -> None:
    static = f"{slow_limit.app.static.url}hello.txt" if slow_limit.app.static else "/"
    for path, source in ((slow_limit.app.health_path, CLIENT), (static, OTHER)):
        statuses = _burst(slow_limit, path, source)
        assert 429 in statuses and statuses[0] == 200, f"{path} from {source}: {statuses}"


def test_health_is_unlimited_for_the_trusted_peer(slow_limit: LocalLinuxSite) -> None:
    health = slow_limit.app.health_path
    for source in (ALB, "127.0.0.1"):
        statuses = _burst(slow_limit, health, source, n=20)
        assert statuses == [200] * 20, f"the trusted peer {source} was limited: {statuses}"


def test_limit_conn_per_client(guarded: LocalLinuxSite) -> None:
    """CONN_LIMIT slow requests of one client are in progress; one more is refused with 429 at
    once, while another client is still served."""
    results: list[int] = []

    def slow() -> None:
        results.append(get(guarded, "/slow?seconds=3", CLIENT).status)

    threads = [threading.Thread(target=slow) for _ in range(CONN_LIMIT)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the slow ones are in progress at Nginx
    start = time.monotonic()
    extra = get(guarded, "/", CLIENT)
    assert extra.status == 429, f"request {CONN_LIMIT + 1} of one client: {extra.status}"
    assert time.monotonic() - start < 2, "the refusal must be immediate"
    assert get(guarded, "/", OTHER).status == 200, "another client must not be limited"
    for t in threads:
        t.join(15)
    assert results == [200] * CONN_LIMIT, results
    assert get(guarded, "/", CLIENT).status == 200, "the limit frees up when requests end"


# -- local supervision (`up --local --serve`) ----------------------------------------------------
def test_a_killed_master_is_restarted_like_systemd_and_a_dead_nginx_is_reported() -> None:
    """kill -9 of a Gunicorn master: the supervisor restarts it after RestartSec (Restart=always
    in the rendered unit) and the site answers again. Nginx killed: nothing restarts it (as on
    the VM), so supervision gives up with the reason."""
    import os
    import signal

    from components.tooling.errors import SiteError
    from components.tooling.local.supervise import Supervisor

    sites = _site({})
    site = next(sites)
    try:
        events: list[str] = []
        now = [0.0]
        supervisor = Supervisor(site, events.append, clock=lambda: now[0])
        old = site.master_pid(1)
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not site.exited_masters() and time.monotonic() < deadline:
            time.sleep(0.05)
        supervisor.check()
        assert events == ["gunicorn master 1 killed by SIGKILL"], events
        assert site.exited_masters(), "restarted before RestartSec"
        now[0] += site.unit(1).restart_sec
        supervisor.check()
        assert site.master_pid(1) != old and not site.exited_masters(), events
        assert "restarted" in events[-1], events
        assert get(site, site.app.health_path, "127.0.0.1").status == 200
        assert site.nginx_pid is not None
        os.kill(site.nginx_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while site.nginx_exit is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(SiteError, match="nginx killed by SIGKILL"):
            supervisor.check()
    finally:
        sites.close()  # stops the site
