"""Two configurations compared as Pulumi diffs them (by URN): adding, removing or reordering apps
leaves every other resource's name and inputs alone, and no listener rule is renumbered."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from components.plan.checks import parse_stack_spec
from components.tooling.mocks import RecordedResource
from tests.helpers.faithful import capture, diff, priority_transition_problems
from tests.helpers.specs import sample_app, stack_of

APPS = {
    "shop": {"hostnames": ["shop.example.com"], "path_prefix": "/"},
    "reports": {"path_prefix": "/reports/", "os": "windows"},
    "admin": {"hostnames": ["shop.example.com"], "path_prefix": "/admin/"},
    "blog": {"path_prefix": "/blog/"},
}


def _spec(names: tuple[str, ...]) -> Any:
    return stack_of(
        *(sample_app(n, **APPS[n]) for n in names),
        environment="stage",
        edge={"mode": "alb", "tls": {"mode": "self-signed"}},
        network={"nat": "single"},
    )


@functools.cache
def graph(names: tuple[str, ...]) -> list[RecordedResource]:
    return capture(_spec(names), stack="stage")


BASE = ("shop", "reports", "admin")


def _of(keys: list[str] | set[str], app: str) -> list[str]:
    return [k for k in keys if f"-{app}-" in k or k.endswith(f"-{app}")]


def test_reordering_apps_changes_nothing() -> None:
    d = diff(graph(BASE), graph(("admin", "shop", "reports")))
    assert (d.added, d.removed, d.updated, d.replaced) == ([], [], {}, {})


# The environment's one dashboard lists every app: adding or removing one updates its body in
# place (PutDashboard overwrites; dashboard_name, the only replacing field, stays).
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard::webstack-stage-alarms-dashboard"


def _without_dashboard(updated: dict[str, list[str]]) -> dict[str, list[str]]:
    assert updated.get(DASHBOARD, ["dashboardBody"]) == ["dashboardBody"], updated
    return {k: v for k, v in updated.items() if k != DASHBOARD}


def test_adding_an_app_only_adds_its_own_resources() -> None:
    before, after = graph(BASE), graph((*BASE, "blog"))
    d = diff(before, after)
    assert d.added and set(d.added) == set(_of(d.added, "blog")), d.added
    assert d.removed == []
    assert d.replaced == {}, "no existing resource is replaced"
    assert _without_dashboard(d.updated) == {}, "no existing resource changes"
    assert priority_transition_problems(before, after) == []


def test_removing_an_app_only_removes_its_own_resources() -> None:
    before, after = graph(BASE), graph(("shop", "admin"))
    d = diff(before, after)
    assert d.removed and set(d.removed) == set(_of(d.removed, "reports")), d.removed
    assert d.added == [] and d.replaced == {} and _without_dashboard(d.updated) == {}
    assert priority_transition_problems(before, after) == []


def test_changing_an_apps_route_touches_only_that_app() -> None:
    before = graph((*BASE, "blog"))
    moved = _spec((*BASE, "blog")).model_dump()
    moved["apps"][-1]["path_prefix"] = "/journal/"
    d = diff(before, capture(parse_stack_spec(moved), stack="stage"))
    assert d.touched() and all("-blog-" in k for k in d.touched() if k != DASHBOARD), d.touched()
    assert d.replaced == {}, "a new route updates the rule in place"
    assert d.added == [] and d.removed == []


def _rule(name: str, prio: int) -> RecordedResource:
    return RecordedResource(
        type="aws:lb/listenerRule:ListenerRule",
        name=name,
        inputs={"listenerArn": "l", "priority": prio},
    )


def test_position_priorities_are_caught() -> None:
    """The defect's scheme (10 x sorted index): removing the first app renumbers the next one
    onto a priority the removed rule still holds while Pulumi updates before it deletes."""
    before = [_rule("a-rule", 10), _rule("b-rule", 20)]
    after = [_rule("b-rule", 10)]
    d = diff(before, after)
    assert d.updated == {"aws:lb/listenerRule:ListenerRule::b-rule": ["priority"]}
    assert priority_transition_problems(before, after) == [
        "b-rule moves to priority 10, still held by a-rule"
    ]


@pytest.mark.parametrize("field", ["port", "name", "vpcId"])
def test_force_new_inputs_are_replacements(field: str) -> None:
    tg = next(r for r in graph(BASE) if r.type == "aws:lb/targetGroup:TargetGroup")
    changed = RecordedResource(type=tg.type, name=tg.name, inputs={**tg.inputs, field: "other"})
    assert diff([tg], [changed]).replaced == {f"{tg.type}::{tg.name}": [field]}
