"""Slow clients: a slowloris (500 connections trickling headers one byte at a time) against the
rendered Nginx edge while a normal client loops; the same attack on bare Waitress for contrast.

Latency is compared with an unloaded run measured in the same test, on the same machine, just
before the attack (the machine is shared, so absolute numbers mean little).
"""

from __future__ import annotations

import pytest

from bench.reliability import slowloris_bare_waitress, slowloris_nginx_edge

pytestmark = pytest.mark.e2e


def test_nginx_edge_serves_normal_clients_through_a_slowloris() -> None:
    f = slowloris_nginx_edge()
    print("\n" + f.summary())
    e = f.extra
    assert e["attack_opened"] >= 500 and e["attack_failed_opens"] == 0, "the attack must be real"
    assert e["baseline_ok"] == e["baseline_sent"], "the unloaded run must succeed"
    assert f.ok == f.sent and f.sent >= 100, f"normal client failed under attack: {f.summary()}"
    assert f.median_ms <= 2 * e["baseline_median_ms"], (
        f"median {f.median_ms:.1f}ms under attack vs {e['baseline_median_ms']:.1f}ms unloaded"
    )
    assert e["after_ok"] == e["after_sent"]


def test_bare_waitress_falls_to_the_same_slowloris() -> None:
    """Recorded beside the edge: why Waitress never faces the internet in webstack."""
    f = slowloris_bare_waitress()
    print("\n" + f.summary())
    assert f.extra["baseline_ok"] == f.extra["baseline_sent"], "Waitress works when unloaded"
    assert f.ok < f.sent / 2, f"bare Waitress was expected to starve: {f.summary()}"
    assert f.extra["after_ok"] == f.extra["after_sent"], "and recovers once the attack stops"
