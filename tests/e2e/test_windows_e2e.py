"""The Windows tier's stand-in on 127.0.0.1: the Waitress services started exactly as the rendered
services.json says (command lines split with the Windows rules, run with this venv's python), the
rendered Nginx or Caddy in front. Sent/failed counts are printed (run with -s to see them)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.spec.stack import AppSpec, StackSpec
from components.tooling.local.windows import LocalWindowsHost, split_windows_command_line
from tests.helpers.net import fetch
from tests.helpers.specs import windows_spec

pytestmark = pytest.mark.e2e

CLIENT = "127.0.0.3"  # the client's own loopback address: not the proxy's 127.0.0.1
SPOOFED = "203.0.113.7"
INSTANCES = 3
LOOP_REQUESTS = 600
# A load loop from one address would trip the per-IP rate limit: a stack setting, not the layout.
LOOP_LIMITS = {"rate_limit_rps": 100000, "rate_limit_burst": 100000}
COMBOS = [(p, f) for p in ("nginx", "caddy") for f in ("flask", "django")]


def make_spec(framework: str, proxy: str, instances: int = INSTANCES) -> tuple[StackSpec, AppSpec]:
    spec = windows_spec(
        framework,
        proxy,
        name=f"{framework}-app",
        environment="e2e",
        instances=instances,
        # Caddy has no rate limit (a limit it cannot honour is refused).
        limits=LOOP_LIMITS if proxy == "nginx" else {},
    )
    return spec, spec.apps[0]


def running(framework: str, proxy: str, instances: int = INSTANCES) -> Iterator[LocalWindowsHost]:
    spec, app = make_spec(framework, proxy, instances)
    root = Path(tempfile.mkdtemp(prefix="ws-win-", dir="/tmp"))
    source = Path(__file__).resolve().parents[2] / "examples" / f"{framework}_app"
    try:
        with LocalWindowsHost(spec, app, root, source) as host:
            yield host
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=COMBOS, ids=[f"{p}-{f}" for p, f in COMBOS])
def host(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    proxy, framework = request.param
    yield from running(framework, proxy)


@pytest.fixture(params=["nginx", "caddy"])
def fresh_host(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    """A stack of its own, for tests that kill instances."""
    yield from running("flask", request.param)


def test_services_run_exactly_the_rendered_command_lines(host: LocalWindowsHost) -> None:
    services_json = Path(host.layout.services_file(host.app.name)).read_text()
    assert services_json == host.files[str(host.layout.services_file(host.app.name))]
    for svc in host.services:
        proc = host.processes[svc.name]
        assert proc.args == [svc.application, *split_windows_command_line(svc.arguments)]
        assert "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto" in proc.args
        assert f"--listen=127.0.0.1:{svc.port}" in proc.args


def test_requests_reach_every_instance(host: LocalWindowsHost) -> None:
    seen = Counter(fetch(host.url + "/").json()["instance"] for _ in range(30))
    print(f"\n{host.proxy.name if host.proxy else '?'}: instances answering 30 requests: {seen}")
    assert set(seen) == {str(n) for n in range(1, INSTANCES + 1)}


def test_app_sees_the_client_ip_and_ignores_a_spoofed_forwarded_for(host: LocalWindowsHost) -> None:
    plain = fetch(host.url + "/", source=CLIENT).json()
    assert plain["client_ip"] == CLIENT, "the app must see the client, not the proxy (127.0.0.1)"
    assert plain["framework"] == host.app.framework
    spoofed = fetch(host.url + "/", source=CLIENT, headers={"X-Forwarded-For": SPOOFED}).json()
    assert spoofed["client_ip"] == CLIENT, "a client's own X-Forwarded-For must not be trusted"


def test_waitress_trusts_only_the_proxy(host: LocalWindowsHost) -> None:
    svc = host.services[0]
    direct = fetch(
        f"http://127.0.0.1:{svc.port}/", source=CLIENT, headers={"X-Forwarded-For": SPOOFED}
    ).json()
    assert direct["client_ip"] == CLIENT, "only 127.0.0.1 (the proxy) may set X-Forwarded-For"


def test_static_files_come_from_the_proxy(fresh_host: LocalWindowsHost) -> None:
    host = fresh_host
    expected = (Path(host.source) / "static" / "hello.txt").read_bytes()
    assert fetch(host.url + "/static/hello.txt").body == expected
    for svc in host.services:
        host.kill(svc.name)
    reply = fetch(host.url + "/static/hello.txt")
    assert (reply.status, reply.body) == (200, expected), "static files must not need the app"
    assert fetch(host.url + "/").status in (502, 503)


def test_killing_an_instance_loses_no_request_after_failover(fresh_host: LocalWindowsHost) -> None:
    """SIGKILL one instance (a crash) under a 4-thread loop. Every request sent after the kill
    must succeed: a refused or reset connection moves to another instance. Only a response the
    victim was already streaming when it died can be cut (the proxy has sent its headers and
    cannot retry); those are counted apart and must stay below the number of client threads."""
    host = fresh_host
    victim = host.services[1]
    sent = 0
    failures: list[tuple[float, str]] = []
    answered: Counter[str] = Counter()
    after_kill: Counter[str] = Counter()
    killed_at = float("inf")
    lock = threading.Lock()

    def loop(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            started = time.monotonic()
            try:
                reply = fetch(host.url + "/", timeout=10)
                outcome = str(reply.json()["instance"]) if reply.status == 200 else None
                error = None if outcome else f"status {reply.status}"
            except Exception as e:  # any failure counts, and the loop goes on
                outcome, error = None, repr(e)
            with lock:
                sent += 1
                if error:
                    failures.append((started, error))
                elif outcome:
                    answered[outcome] += 1
                    if started > killed_at:
                        after_kill[outcome] += 1

    workers = [threading.Thread(target=loop, args=(LOOP_REQUESTS // 4,)) for _ in range(4)]
    for w in workers:
        w.start()
    while sent < LOOP_REQUESTS // 3:
        time.sleep(0.005)
    with lock:
        killed_at = time.monotonic()
    host.kill(victim.name)
    for w in workers:
        w.join(timeout=120)
    lost_after = [e for started, e in failures if started >= killed_at]
    in_flight = [e for started, e in failures if started < killed_at]
    name = host.proxy.name if host.proxy else "?"
    print(
        f"\n{name}: killed {victim.name} after {LOOP_REQUESTS // 3} requests; sent {sent}, "
        f"failed after failover {len(lost_after)}, cut in flight at the kill {len(in_flight)}; "
        f"answered by {dict(answered)}"
    )
    assert sent == LOOP_REQUESTS
    logs = Path(host.layout.log_dir(host.app.name))
    proxy_log = "".join(p.read_text()[-1500:] for p in logs.rglob("*error*.log"))
    assert lost_after == [], f"{lost_after[:5]}\n{proxy_log}"
    assert len(in_flight) < len(workers), in_flight
    assert set(after_kill) - {str(victim.instance)}, "the survivors take over"
    assert str(victim.instance) not in after_kill, "nothing started after the kill reached it"
