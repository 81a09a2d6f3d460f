"""Each component alone under mocks, and WebStack's bring-your-own-or-create: what is brought is
used as given and never created a second time, and bringing and creating the same part is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import Output

from components import (
    Alb,
    AlbArgs,
    AlbRoute,
    ExistingAlb,
    ExistingLoadBalancer,
    ExistingVpc,
    SecurityGroups,
    SecurityGroupsArgs,
    SpecError,
    WebStack,
    WebStackArgs,
    plan_tier,
)
from components.tooling.mocks import RecordedResource, run_under_mocks
from tests.helpers.specs import linux_spec

ROOT = Path(__file__).resolve().parents[2]
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/theirs/1/2"
VPC = ExistingVpc(
    vpc_id=Output.from_input("vpc-0theirs"),
    public_subnet_ids=Output.from_input(["subnet-pub-a", "subnet-pub-b"]),
    private_subnet_ids=Output.from_input(["subnet-prv-a", "subnet-prv-b"]),
    vpc_cidr="10.99.0.0/16",
)


def _of(resources: list[RecordedResource], type_: str) -> list[RecordedResource]:
    return [r for r in resources if r.type == type_]


def _webstack(tmp_path: Path, **byo: Any) -> tuple[list[RecordedResource], dict[str, Any]]:
    spec = linux_spec("flask", "alb")

    def build() -> dict[str, Any]:
        stack = WebStack(
            "ws",
            WebStackArgs(spec=spec, project_root=ROOT, build_dir=tmp_path, **byo),
        )
        return {"vpc": stack.vpc_id, "endpoint": stack.endpoint, "urls": stack.urls}

    mocks, outputs = run_under_mocks(build)
    return mocks.resources, outputs


def test_security_groups_alone_admit_an_existing_alb_group() -> None:
    def build() -> Any:
        sg = SecurityGroups(
            "sg",
            SecurityGroupsArgs(
                vpc_id="vpc-1", edge_mode="alb", apps={"web": "linux"}, edge_sg_id="sg-theirs"
            ),
        )
        return sg.edge_sg_id

    mocks, edge = run_under_mocks(build)
    groups = _of(mocks.resources, "aws:ec2/securityGroup:SecurityGroup")
    assert [g.name for g in groups] == ["sg-app-web"], "no edge group when the ALB's is brought"
    assert edge == "sg-theirs"
    [from_alb] = [
        r
        for r in _of(mocks.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name == "sg-app-web-from-alb"
    ]
    assert from_alb.inputs["referencedSecurityGroupId"] == "sg-theirs"
    assert from_alb.inputs["fromPort"] == plan_tier(linux_spec(), linux_spec().apps[0]).target_port


def test_alb_alone_on_an_existing_load_balancer_adds_only_routes() -> None:
    def build() -> Any:
        alb = Alb(
            "edge",
            AlbArgs(
                vpc_id="vpc-1",
                public_subnet_ids=[],
                security_group_id="sg-theirs",
                certificate_arn="",
                idle_timeout=60,
                routes=[AlbRoute(app="web", hostnames=[], path_prefix="/", health_path="/h")],
                existing=ExistingLoadBalancer(
                    arn="arn:lb", dns_name="theirs.elb", zone_id="Z1", https_listener_arn=LISTENER
                ),
            ),
        )
        return alb.dns_name

    mocks, dns = run_under_mocks(build)
    assert dns == "theirs.elb"
    assert not _of(mocks.resources, "aws:lb/loadBalancer:LoadBalancer"), "theirs is reused"
    assert not _of(mocks.resources, "aws:lb/listener:Listener"), "their listeners stay theirs"
    [rule] = _of(mocks.resources, "aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["listenerArn"] == LISTENER
    [tg] = _of(mocks.resources, "aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["port"] == 80 and tg.inputs["protocol"] == "HTTP"


def test_webstack_on_a_brought_vpc_creates_no_network(tmp_path: Path) -> None:
    resources, outputs = _webstack(tmp_path, network=VPC)
    assert not _of(resources, "webstack:network:Network")
    assert not _of(resources, "aws:ec2/vpc:Vpc")
    assert outputs["vpc"] == "vpc-0theirs"
    [asg] = _of(resources, "aws:autoscaling/group:Group")
    assert asg.inputs["vpcZoneIdentifiers"] == ["subnet-prv-a", "subnet-prv-b"]


def test_a_brought_vpc_is_what_the_apps_trust_for_forwarded_headers() -> None:
    spec = linux_spec("flask", "alb")
    plan = plan_tier(spec, spec.apps[0], trusted_cidrs=(VPC.vpc_cidr,))
    assert plan.trusted_proxy_cidrs == ("10.99.0.0/16",), "the spec's own range is not theirs"


def test_webstack_with_a_brought_certificate_creates_none(tmp_path: Path) -> None:
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/theirs"
    resources, _ = _webstack(tmp_path, certificate_arn=Output.from_input(arn))
    assert not _of(resources, "webstack:tls:Certificate")
    https = [r for r in _of(resources, "aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert [r.inputs["certificateArn"] for r in https] == [arn]


def test_webstack_on_a_brought_alb(tmp_path: Path) -> None:
    alb = ExistingAlb(
        arn="arn:lb",
        dns_name="theirs.elb",
        zone_id="Z1",
        https_listener_arn=LISTENER,
        security_group_id="sg-theirs",
    )
    resources, outputs = _webstack(tmp_path, alb=alb)
    assert not _of(resources, "aws:lb/loadBalancer:LoadBalancer")
    assert not _of(resources, "webstack:tls:Certificate"), "their listener has the certificate"
    assert outputs["endpoint"] == "theirs.elb"
    [rule] = _of(resources, "aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["listenerArn"] == LISTENER


@pytest.mark.parametrize(
    ("spec_args", "byo", "setting"),
    [
        ({"edge": "nginx"}, {"certificate_arn": "arn:x"}, "WebStackArgs.alb/certificate_arn"),
        (
            {},
            {
                "certificate_arn": "arn:x",
                "alb": ExistingAlb(
                    arn="a",
                    dns_name="d",
                    zone_id="z",
                    https_listener_arn="l",
                    security_group_id="s",
                ),
            },
            "WebStackArgs.certificate_arn",
        ),
        (
            {
                "top": {
                    "network": {
                        "existing": {
                            "vpc_id": "vpc-0123456789abcdef0",
                            "vpc_cidr": "10.1.0.0/16",
                            "public_subnet_ids": [
                                "subnet-0123456789abcdef0",
                                "subnet-0123456789abcdef1",
                            ],
                            "private_subnet_ids": [
                                "subnet-0123456789abcdef2",
                                "subnet-0123456789abcdef3",
                            ],
                        }
                    }
                }
            },
            {"network": VPC},
            "WebStackArgs.network",
        ),
    ],
)
def test_bringing_and_creating_the_same_part_is_refused(
    spec_args: dict[str, Any], byo: dict[str, Any], setting: str
) -> None:
    spec = linux_spec("flask", **({"edge": "alb"} | spec_args))
    with pytest.raises(SpecError) as error:
        run_under_mocks(lambda: WebStack("ws", WebStackArgs(spec=spec, **byo)))
    assert error.value.problems[0].startswith(setting), error.value.problems
