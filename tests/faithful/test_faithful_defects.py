"""Issue 11 defects 3, 4 and 7, each shown with the provider's or the CLI's behaviour modelled."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.plan.naming import RouteKey, app_rule_priorities, derived_priority, rule_priorities
from components.plan.smoke import smoke_command, smoke_path
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from tests.helpers.faithful import (
    ROOT,
    AsgInputs,
    capture,
    capture_stack_file,
    create_wait_satisfied,
    update_wait_satisfied,
)
from tests.helpers.specs import sample_app, stack_of


def _apps(*routes: dict[str, Any]) -> StackSpec:
    return stack_of(
        *(sample_app(**r) for r in routes),
        environment="stage",
        edge={"mode": "alb", "tls": {"mode": "self-signed"}},
        network={"nat": "single"},
    )


# -- defect 3: listener-rule priorities -------------------------------------------------------


def test_more_specific_routes_get_lower_priorities() -> None:
    prio = rule_priorities(
        [
            RouteKey("all", (), "/"),
            RouteKey("hosted", ("a.io",), "/"),
            RouteKey("reports", (), "/reports/"),
            RouteKey("deep", (), "/reports/archive/"),
        ]
    )
    assert prio["deep"] < prio["reports"] < prio["hosted"] < prio["all"]
    assert all(1 <= p <= 50000 for p in prio.values())


def test_a_priority_depends_only_on_its_own_app() -> None:
    alone = rule_priorities([RouteKey("shop", (), "/shop/")])["shop"]
    crowd = rule_priorities([RouteKey(f"app{i}", (), f"/p{i}/") for i in range(30)]
                            + [RouteKey("shop", (), "/shop/")])["shop"]  # fmt: skip
    assert alone == crowd == derived_priority(RouteKey("shop", (), "/shop/"))


def test_explicit_priority_wins_and_a_clash_is_a_config_error() -> None:
    # b's rule must still come before the catch-all's, or a would swallow /b/ (a route conflict).
    spec = _apps({"name": "a", "priority": 7}, {"name": "b", "path_prefix": "/b/", "priority": 5})
    assert app_rule_priorities(spec)["a"] == 7
    with pytest.raises(SpecError) as err:
        _apps({"name": "a", "priority": 7}, {"name": "b", "path_prefix": "/b/", "priority": 7})
    assert err.value.problems == [
        "apps.b.priority: listener-rule priority 7 is also app a's; set a distinct "
        "apps.<name>.priority (1..50000, lower wins) on one of them"
    ]
    with pytest.raises(SpecError) as err:
        _apps({"name": "a", "priority": 50001})
    assert err.value.problems[0].startswith("apps.a.priority: ")


def test_rules_in_the_graph_carry_the_planned_priorities() -> None:
    spec = _apps({"name": "a"}, {"name": "b", "path_prefix": "/b/"})
    rules = {
        r.name: r.inputs["priority"]
        for r in capture(spec, stack="stage")
        if r.type == "aws:lb/listenerRule:ListenerRule"
    }
    assert rules == {
        f"webstack-stage-edge-{k}-rule": v for k, v in app_rule_priorities(spec).items()
    }


# -- defect 4: the smoke check follows path_prefix ---------------------------------------------


class _OnlyPrefixedHealth(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/reports/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def alb_stand_in() -> Iterator[str]:
    """A loopback server answering 200 only where the ALB would route the app's health check."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OnlyPrefixedHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_smoke_check_requests_prefix_plus_health_path(alb_stand_in: str) -> None:
    assert shutil.which("curl"), "curl is needed (apt-get install curl)"
    spec = _apps({"name": "reports", "path_prefix": "/reports/"})
    app = spec.apps[0]
    assert smoke_path(app) == "/reports/healthz"

    def run(path: str) -> int:
        cmd = smoke_command(alb_stand_in + path, app.health_host, attempts=2, delay=0)
        return subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=30).returncode

    assert run(smoke_path(app)) == 0
    assert run(app.health_path) != 0, "the old URL lands on a 404 and must fail the check"
    smoke = next(
        r for r in capture(spec, stack="stage") if r.type == "command:local:Command"
    ).inputs["create"]
    assert "/reports/healthz'" in smoke
    assert "--retry-all-errors" not in smoke, "curl < 7.71 refuses that option"


def test_smoke_check_retries_connection_refusals() -> None:
    """A port nobody listens on: the loop retries, then fails (no curl-version-specific option)."""
    cmd = smoke_command("http://127.0.0.1:9/healthz", "localhost", attempts=2, delay=0)
    result = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("curl: (7)") == 2, result.stderr


# -- defect 7: the capacity wait on updates ----------------------------------------------------


def _prod_asg() -> AsgInputs:
    asg = next(r for r in capture_stack_file("prod") if r.type == "aws:autoscaling/group:Group")
    return AsgInputs.of(asg)


def test_pulumi_yaml_refreshes_before_every_update() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["options"]["refresh"] == "always"


def test_raising_min_after_scale_out_does_not_time_out() -> None:
    old = _prod_asg()  # min 2
    assert old.wait_for_elb_capacity == 0 and old.min_elb_capacity == 2
    assert create_wait_satisfied(old, in_service=2, elb_healthy=2)
    assert not create_wait_satisfied(old, in_service=2, elb_healthy=1), "a broken boot fails"
    new = AsgInputs(3, old.desired_capacity, 0, old.min_elb_capacity)
    # The CPU policy scaled out to 5; the user raises capacity.min to 3.
    assert update_wait_satisfied(old, new, in_service=5, elb_healthy=5, refreshed=True)
    # Raising min above the running count: AWS launches up to the new minimum.
    assert update_wait_satisfied(old, AsgInputs(6, 2, 0, 2), 5, 5, refreshed=True)


def test_the_exact_count_wait_would_time_out() -> None:
    """The defect: wait_for_elb_capacity = desired demands exactly that many healthy on update."""
    old = AsgInputs(2, 2, wait_for_elb_capacity=2)
    new = AsgInputs(3, 2, wait_for_elb_capacity=2)
    assert not update_wait_satisfied(old, new, in_service=5, elb_healthy=5, refreshed=True)
    assert not update_wait_satisfied(
        AsgInputs(2, 2, 0, 2), AsgInputs(3, 2, 0, 2), 5, 5, refreshed=False
    ), "without a refresh the provider compares against the stale desired count"
