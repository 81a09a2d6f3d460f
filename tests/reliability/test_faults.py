"""Fault tests on 127.0.0.1 with the rendered configs (scenarios in bench/reliability.py).

Each test runs a bounded loop of idempotent GETs, injects one fault, prints the figures (requests
sent, failed, failure rate, latency) and asserts the target: 0 failed requests and no request
slowed past a few seconds (a clean 5xx at worst, never a hang). `python bench/reliability.py`
runs the same scenarios and writes the table in docs/reliability.md.
"""

from __future__ import annotations

import pytest

from bench.reliability import (
    Figures,
    hung_request,
    hup_reload,
    master_kill,
    rolling_restart,
    waitress_kill,
    worker_kill,
)
from bench.reliability_report import SLOWEST_OK_SECONDS

pytestmark = pytest.mark.e2e


def assert_no_loss(f: Figures) -> None:
    print("\n" + f.summary())
    assert f.sent >= 300, f"the loop must be long enough to mean something: {f.summary()}"
    assert f.extra.get("faults_done_at"), "the fault was never injected"
    assert f.extra["faults_done_at"][-1] < f.sent, "the loop must outlast the fault"
    assert f.failed == 0, f"requests lost: {f.summary()}"
    slowest = max(f.latencies)
    assert slowest < SLOWEST_OK_SECONDS, f"a request hung {slowest:.1f}s: {f.summary()}"


@pytest.mark.parametrize("masters", [1, 2])
def test_worker_sigkill_loses_no_idempotent_request(masters: int) -> None:
    """Only the killed workers' in-flight requests may fail, each as a clean, fast 502/503 (one
    master: no other server to retry on); everything else succeeds."""
    f = worker_kill(masters)
    print("\n" + f.summary())
    assert f.sent >= 300 and f.extra["faults_done_at"][-1] < f.sent
    assert not f.errors and set(f.statuses) <= {200, 502, 503}, f"unclean failures: {f.summary()}"
    assert f.failed <= f.extra["in_flight_bound"], f"more than the in-flight lost: {f.summary()}"
    assert max(f.latencies) < SLOWEST_OK_SECONDS, f"a request hung: {f.summary()}"
    if masters == 2:
        assert f.failed == 0, "with two masters Nginx retries in-flight requests on the other"
    assert f.extra["respawned"], "the master must replace the killed workers"


def test_master_sigkill_fails_over_to_the_other_master() -> None:
    """As on the VM: systemd (KillMode=mixed, Restart=always) kills the orphans, restarts it."""
    f = master_kill(supervised=True)
    assert_no_loss(f)
    assert f.extra["orphans_gone"] and f.extra["restarted"]


def test_rolling_restart_of_both_masters_loses_no_request() -> None:
    """Regression: with `max_fails=1` a restarted master's stale keep-alive connections marked it
    down, and restarting the other one right after left no live upstream (502s for seconds)."""
    f = rolling_restart()
    assert_no_loss(f)
    assert f.extra["replaced"], "both masters must have been replaced"


def test_hup_reload_loses_no_request() -> None:
    f = hup_reload()
    assert_no_loss(f)
    assert f.extra["replaced"], "HUP must replace the workers"


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_waitress_sigkill_behind_the_proxy_loses_no_request(proxy: str) -> None:
    assert_no_loss(waitress_kill(proxy))


def _assert_hung(f: Figures, expected_at: float) -> None:
    print("\n" + f.summary())
    chain = f.extra["chain"]
    status, seconds = f.extra["hung_status"], f.extra["hung_seconds"]
    assert status in (500, 502, 503, 504), f"the hung request must end in a clean 5xx: {status}"
    assert expected_at - 1 <= seconds <= expected_at + 1.5, (
        f"the hung request ended after {seconds:.1f}s, expected ~{expected_at}s: {f.summary()}"
    )
    assert seconds < (chain.alb_idle_timeout or 10**6), "Nginx must answer before the ALB cuts"
    assert f.failed == 0, f"the normal loop beside the hung request lost requests: {f.summary()}"
    assert f.extra["later_ok"] == 20, "later requests must succeed"


def test_hung_request_sync_worker_is_killed_at_the_gunicorn_timeout() -> None:
    f = hung_request(1, "sync")
    _assert_hung(f, f.extra["chain"].gunicorn_timeout)
    assert f.extra["worker_timeouts"] >= 1, "Gunicorn must kill (recycle) the stuck worker"


def test_hung_request_gthread_gets_504_at_nginx_read_timeout() -> None:
    f = hung_request(1, "gthread")
    assert f.extra["hung_status"] == 504
    _assert_hung(f, f.extra["chain"].nginx_read_timeout)


def test_hung_request_with_two_masters_stays_within_the_chain() -> None:
    """Regression: `proxy_next_upstream ... timeout` retried the hung request on the second
    master, so the client waited 2 x proxy_read_timeout, past the ALB idle timeout."""
    f = hung_request(2, "gthread")
    _assert_hung(f, f.extra["chain"].nginx_read_timeout)
