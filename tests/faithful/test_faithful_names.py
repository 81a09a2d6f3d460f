"""Physical names as pulumi-aws would send them to AWS, for every shipped stack and for the longest
environment and app names the spec allows (tests/helpers/faithful_names.py cites each rule)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from components.plan.checks import parse_stack_spec
from components.plan.naming import fit_name
from components.plan.naming import name_problems as spec_name_problems
from components.spec.errors import SpecError
from components.spec.stack import NAME_PATTERN
from components.tooling.mocks import RecordedResource
from tests.helpers.faithful import SHIPPED_STACKS, capture, capture_stack_file
from tests.helpers.faithful_names import NAME_RULES, duplicate_names, name_problems, physical_name

MAX_NAME = int(NAME_PATTERN.split("{0,")[1].split("}")[0]) + 1  # 24: the spec's longest name
LONG_ENV = ("staging-" + "x" * MAX_NAME)[:MAX_NAME]
LONG_APPS = [("a" * MAX_NAME), ("b" * (MAX_NAME - 1) + "1")]


def _app(name: str, os_name: str = "linux", **extra: Any) -> dict[str, Any]:
    return {"name": name, "framework": "flask", "wsgi": "app:create_app()", "os": os_name,
            "source": {"path": "examples/flask_app"}, **extra}  # fmt: skip


def matrix_spec(environment: str, apps: list[str], edge: str) -> Any:
    if edge == "nginx":
        raw_apps = [_app(apps[0])]
        network = {"nat": "none"}
    else:
        raw_apps = [_app(apps[0], path_prefix="/"), _app(apps[1], "windows", path_prefix="/w/")]
        network = {"nat": "per-az", "az_count": 3}
    return parse_stack_spec(
        {"environment": environment, "edge": {"mode": edge}, "network": network, "apps": raw_apps}
    )


MATRIX = [
    (env, apps, edge)
    for env in ("a", "dev", "staging", "production", LONG_ENV)
    for apps, edge in ((LONG_APPS, "alb"), (["x", "y"], "alb"), (LONG_APPS, "nginx"))
]


@functools.cache
def matrix_capture(env: str, apps: tuple[str, ...], edge: str) -> list[RecordedResource]:
    return capture(matrix_spec(env, list(apps), edge), stack=env)


@functools.cache
def shipped(stack: str) -> list[RecordedResource]:
    return capture_stack_file(stack)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_names_fit(stack: str) -> None:
    resources = shipped(stack)
    assert name_problems(resources) == []
    assert duplicate_names(resources) == []
    named = [physical_name(r) for r in resources]
    types = {n.type for n in named if n}
    assert "aws:s3/bucket:Bucket" in types and "aws:iam/role:Role" in types


@pytest.mark.parametrize(("env", "apps", "edge"), MATRIX, ids=lambda v: str(v)[:12])
def test_longest_allowed_names_fit(env: str, apps: list[str], edge: str) -> None:
    resources = matrix_capture(env, tuple(apps), edge)
    assert name_problems(resources) == []
    assert duplicate_names(resources) == []


def _takes_a_name(token: str) -> bool:
    """Whether the pulumi-aws class of a type token has a `name` argument (then the provider
    auto-names it when unset: resources.go setAutonaming)."""
    import importlib
    import inspect

    module, cls = token.split(":")[1].split("/")[0], token.split(":")[-1]
    klass = getattr(importlib.import_module(f"pulumi_aws.{module}"), cls)
    return "name" in inspect.signature(klass._internal_init).parameters


def test_every_named_type_has_a_rule() -> None:
    """A rule for a type no stack creates proves nothing; a named type without a rule is blind."""
    resources = shipped("staging") + shipped("dev") + shipped("prod")
    created = {r.type for r in resources}
    assert {rule.type for rule in NAME_RULES} <= created
    ruled = {x.type for x in NAME_RULES}
    unruled = {t for t in created if t.startswith("aws:") and _takes_a_name(t) and t not in ruled}
    # Named by the program, and checked by faithful_limits: Route 53 records, SSM parameters, the
    # RDS subnet and parameter groups (plan/datastores.rds_name; tests/unit/test_datastores.py).
    assert unruled <= {
        "aws:route53/record:Record",
        "aws:ssm/parameter:Parameter",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/parameterGroup:ParameterGroup",
    }, unruled


def _res(type_: str, logical: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(type=type_, name=logical, inputs=inputs)


@pytest.mark.parametrize(
    ("res", "expected"),
    [
        # The defect: `webstack-prod-edge-django-app-tg` + 8 is over the target group's 32.
        (_res("aws:lb/targetGroup:TargetGroup", "webstack-prod-edge-django-app-tg"), "plus 7 random chars"),
        (_res("aws:lb/loadBalancer:LoadBalancer", "webstack-staging-edge-alb"), "AWS allows 1..32"),
        (_res("aws:lb/loadBalancer:LoadBalancer", "x", name="internal-edge"), "internal-"),
        (_res("aws:lb/targetGroup:TargetGroup", "x", name="edge_tg"), "alphanumerics"),
        (_res("aws:lb/targetGroup:TargetGroup", "x", name="edge-"), "end with a hyphen"),
        (_res("aws:iam/role:Role", "webstack-" + "p" * 24 + "-" + "a" * 24 + "-fleet-role"), "longer than maximum length 64"),
        (_res("aws:iam/role:Role", "x", name="role name"), "[\\w+=,.@-]"),
        (_res("aws:s3/bucket:Bucket", "w" * 56), "longer than maximum length 63"),
        (_res("aws:s3/bucket:Bucket", "x", bucket="192.168.1.1"), "IP address"),
        (_res("aws:s3/bucket:Bucket", "x", bucket="a..b"), "adjacent periods"),
        (_res("aws:s3/bucket:Bucket", "x", bucket="xn--abc"), "xn--"),
        (_res("aws:ec2/securityGroup:SecurityGroup", "x", name="sg-edge"), "sg-"),
        (_res("aws:ec2/launchTemplate:LaunchTemplate", "x", name="lt"), "AWS allows 3..128"),
        (_res("aws:iam/instanceProfile:InstanceProfile", "p" * 125), "AWS allows 1..128"),
        (_res("aws:cloudwatch/logGroup:LogGroup", "x", name="/webstack/a b/nginx"), "[.-_/#A-Za-z0-9]"),
        (_res("aws:cloudwatch/logGroup:LogGroup", "x", name="/" + "g" * 512), "AWS allows 1..512"),
        (_res("aws:cloudwatch/dashboard:Dashboard", "x", dashboardName="webstack.dev"), "[A-Za-z0-9_-]"),
        (_res("aws:cloudwatch/dashboard:Dashboard", "webstack-dev-dashboard"), "longer than maximum length 0"),
        (_res("aws:cloudwatch/metricAlarm:MetricAlarm", "a" * 250), "longer than maximum length 255"),
        (_res("aws:sns/topic:Topic", "x", name="alarms.fifo!"), "[A-Za-z0-9_-]"),
    ],
)  # fmt: skip
def test_name_checks_catch_bad_names(res: RecordedResource, expected: str) -> None:
    problems = name_problems([res])
    assert problems and expected in problems[0], problems


def test_duplicate_explicit_names_are_caught() -> None:
    a = _res("aws:lb/targetGroup:TargetGroup", "a", name="same")
    b = _res("aws:lb/targetGroup:TargetGroup", "b", name="same")
    assert duplicate_names([a, b])


def test_fit_name_keeps_the_limit_and_tells_long_names_apart() -> None:
    long_a, long_b = "x" * 40 + "-one", "x" * 40 + "-two"
    assert len(fit_name(long_a, 32, "s")) == 32
    assert fit_name(long_a, 32, "s") != fit_name(long_b, 32, "s")
    assert fit_name("internal-edge", 32, "s").startswith("ws-internal")
    assert fit_name("edge", 32, "s") == fit_name("edge", 32, "s"), "deterministic"
    assert fit_name("edge", 32, "s") != fit_name("edge", 32, "t"), "scope decides"


def test_check_names_the_setting_when_a_name_cannot_fit() -> None:
    """`webstack check` reports the setting to shorten (here with a deliberately tight limit)."""
    problems = spec_name_problems("staging", ["shop"], {"webstack-{env}-{app}-fleet-lt": 20})
    assert problems == [
        "apps.shop.name: the resource name 'webstack-staging-shop-fleet-lt' plus the provider's "
        "8-character suffix is longer than AWS's 20; use a shorter name"
    ]
    assert spec_name_problems("staging", [], {"webstack-{env}-artifacts-bucket": 30})[0].startswith(
        "environment: "
    )
    with pytest.raises(SpecError):
        matrix_spec("x" * (MAX_NAME + 1), LONG_APPS, "alb")


def test_webstack_check_prints_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wired into the spec: a limit that cannot be met is one `webstack check` line, exit 1."""
    import components.plan.checks
    from components.tooling.cli import main

    monkeypatch.setattr(
        components.plan.checks, "AUTONAMED_LIMITS", {"webstack-{env}-artifacts-bucket": 40}
    )
    (tmp_path / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    stack = tmp_path / "Pulumi.integration.yaml"
    stack.write_text(
        "config:\n  webstack:edge:\n    mode: nginx\n  webstack:network:\n    nat: none\n"
        "  webstack:apps:\n    - name: a\n      framework: flask\n      wsgi: app:create_app()\n"
    )
    code = main(["check", "--stack-file", str(stack), "--project", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert (
        len(err) == 1 and "environment: the resource name 'webstack-integration-artifacts" in err[0]
    )
