"""First boot and lifecycle, as the engine orders and keeps resources (captured from the mocks).

A VM's first boot downloads its package, reads its secrets with the role's policy, needs egress
(the NAT route) and, behind the ALB, a target group the ALB health-checks through a listener rule.
Pulumi creates in parallel whatever has no dependency, so each of these must be one. What a
production `pulumi destroy` keeps is the engine's `retainOnDelete`, which the mocks never see.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.deps import Dependencies, capture_dependencies
from tests.helpers.specs import shipped_spec, shipped_stacks, windows_spec

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = shipped_stacks()
WINDOWS = "winboot"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
INSTANCE = "aws:ec2/instance:Instance"
BOOTERS = (ASG, INSTANCE)  # what launches VMs (a template launches nothing by itself)
OWN = ("fleet-", "secret-", "package", "bootstrap")  # a tier's children, after `<tier>-`


@dataclass(frozen=True)
class Captured:
    deps: Dependencies
    production: bool


@functools.cache
def captured(name: str) -> Captured:
    if name == WINDOWS:
        spec = windows_spec(
            "flask",
            None,  # every Windows default
            name="win",
            environment=WINDOWS,
            top={"edge": {"mode": "alb"}, "network": {"nat": "per-az"}},
            app={"source": {"path": "examples/flask_app"}, "secrets": ["TOKEN"]},
        )
        secrets = {"win": {"TOKEN": "t"}}
    else:
        spec, names = shipped_spec(name)
        secrets = {app: {k: "v" for k in keys} for app, keys in names.items()}
    with capture_dependencies() as deps:
        run_under_mocks(
            build_webstack(spec, secrets, ROOT, Path(tempfile.mkdtemp(prefix="webstack-build-"))),
            stack=name,
        )
    return Captured(deps, spec.production)


def missing_boot_dependencies(deps: Dependencies) -> list[str]:
    """Each VM-launching resource that could be created before something its first boot needs."""
    problems = []
    must = {
        "aws:iam/rolePolicy:RolePolicy": "the role's policy",
        "aws:ssm/parameter:Parameter": "its secrets",
        "aws:s3/bucketObjectv2:BucketObjectv2": "its package",
    }
    routes = deps.named("aws:ec2/route:Route")
    rules = deps.named("aws:lb/listenerRule:ListenerRule")
    for booter in (n for t in BOOTERS for n in deps.named(t)):
        tier = booter.rsplit("-fleet-", 1)[0]
        after = deps.after(booter)
        for type_, what in must.items():
            own = [n for n in deps.named(type_) if n.removeprefix(f"{tier}-").startswith(OWN)]
            if own and not set(own) <= after:
                problems.append(f"{booter} may boot before {what}: {sorted(set(own) - after)}")
        if routes and not set(routes) <= after:
            problems.append(f"{booter} may boot before the routes: {sorted(set(routes) - after)}")
        if rules and not set(rules) <= after:
            problems.append(f"{booter} may boot before its listener rule")
    for eip in deps.named("aws:ec2/eip:Eip"):
        igws = deps.named("aws:ec2/internetGateway:InternetGateway")
        if not set(igws) <= deps.after(eip):
            problems.append(f"{eip} may be created before the internet gateway")
    return problems


@pytest.mark.parametrize("name", [*SHIPPED, WINDOWS])
def test_vms_boot_after_everything_their_first_boot_needs(name: str) -> None:
    deps = captured(name).deps
    assert any(deps.named(t) for t in BOOTERS)
    assert missing_boot_dependencies(deps) == []


def test_the_boot_order_check_can_fail() -> None:
    deps = Dependencies()
    deps.types.update(
        {
            "s-app-fleet-asg": ASG,
            "s-app-fleet-read-own": "aws:iam/rolePolicy:RolePolicy",
            "s-net-private-a-default": "aws:ec2/route:Route",
            "s-edge-app-rule": "aws:lb/listenerRule:ListenerRule",
            "s-net-nat-a-eip": "aws:ec2/eip:Eip",
            "s-net-igw": "aws:ec2/internetGateway:InternetGateway",
        }
    )
    deps.direct = {"s-app-fleet-asg": {"s-app-fleet-read-own"}}  # no route, no rule, EIP alone
    problems = missing_boot_dependencies(deps)
    assert len(problems) == 3, problems


def test_windows_vm_boots_after_its_bootstrap_object() -> None:
    deps = captured(WINDOWS).deps
    bootstrap = [n for n in deps.named("aws:s3/bucketObjectv2:BucketObjectv2") if "bootstrap" in n]
    assert bootstrap
    for asg in deps.named(ASG):
        assert set(bootstrap) <= deps.after(asg)


@pytest.mark.parametrize("name", SHIPPED)
def test_production_keeps_bucket_and_packages_on_destroy(name: str) -> None:
    c = captured(name)
    options, types = c.deps.options, c.deps.types
    bucket_parts = [
        n for n, t in types.items() if t.startswith("aws:s3/bucket") and "Object" not in t
    ]
    assert bucket_parts
    for n in bucket_parts:
        assert options[n]["retainOnDelete"] is c.production, (
            f"{n}: retain_on_delete must be {c.production} (production keeps its artifacts)"
        )
    packages = c.deps.named("aws:s3/bucketObjectv2:BucketObjectv2")
    assert packages
    for n in packages:
        # An older launch-template version may still name this key (rollback, scale-out).
        assert options[n]["retainOnDelete"], f"{n}: a new release would delete the old package"


@pytest.mark.parametrize("name", SHIPPED)
def test_edge_vm_takes_the_newest_image_when_replaced(name: str) -> None:
    """No `ami` input kept by ignore_changes: the image comes from a resolve:ssm template."""
    c = captured(name)
    for vm in c.deps.named(INSTANCE):
        assert "ami" not in c.deps.options[vm]["ignoreChanges"], (
            f"{vm}: ignore_changes keeps the first AMI even for a replacement"
        )
        assert any(c.deps.types[d] == LT for d in c.deps.direct[vm]), f"{vm}: not from a template"
