"""A Windows app behind the ALB, for each proxy, under Pulumi mocks: same invariants as Linux."""

from __future__ import annotations

import base64
import functools
import json
import tempfile
from pathlib import Path

import pytest
import yaml

from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.graph import Graph
from tests.helpers.specs import windows_spec

ROOT = Path(__file__).resolve().parents[2]
SECRET = "win-secret-7c1d2e3f4a5b"


@functools.cache
def graph(proxy: str) -> Graph:
    spec = windows_spec(
        "flask",
        proxy,
        name="winapp",
        environment="wintest",
        top={"edge": {"mode": "alb"}},
        app={
            "source": {"path": "examples/flask_app"},
            "hostnames": ["win.example.com"],
            "secrets": ["APP_TOKEN"],
        },
        instances=4,
    )
    build_dir = Path(tempfile.mkdtemp(prefix="webstack-build-"))
    mocks, outputs = run_under_mocks(
        build_webstack(spec, {"winapp": {"APP_TOKEN": SECRET}}, ROOT, build_dir), stack="wintest"
    )
    return Graph(mocks.resources, outputs)


@pytest.fixture(params=["iis", "nginx", "caddy"])
def g(request: pytest.FixtureRequest) -> Graph:
    return graph(request.param)


def test_launch_template_is_imdsv2_encrypted_windows(g: Graph) -> None:
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert lt["metadataOptions"]["httpTokens"] == "required", "IMDSv1 lets SSRF read credentials"
    (bdm,) = lt["blockDeviceMappings"]
    assert bdm["deviceName"] == "/dev/sda1" and bdm["ebs"]["encrypted"] == "true"
    assert lt["imageId"] == (
        "resolve:ssm:/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base"
    )


def test_user_data_is_small_ec2launch_v2_yaml_fetching_the_s3_bootstrap(g: Graph) -> None:
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    text = base64.b64decode(lt["userData"]).decode()
    assert len(text.encode()) <= 16 * 1024
    doc = yaml.safe_load(text)
    assert str(doc["version"]) == "1.0"
    (task,) = doc["tasks"]
    assert task["task"] == "executeScript"
    (script,) = task["inputs"]
    assert script["type"] == "powershell" and script["runAs"] == "localSystem"
    bootstrap = next(
        r for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2") if r.name.endswith("-bootstrap")
    )
    assert bootstrap.inputs["key"] in script["content"], "user data must fetch this bootstrap"
    assert bootstrap.inputs["key"].startswith("windows/winapp/bootstrap-")
    assert SECRET not in text and SECRET not in bootstrap.inputs["content"]


def test_no_world_rdp_and_app_only_from_the_alb(g: Graph) -> None:
    edge = next(r for r in g.of("aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-edge"))
    for rule in g.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        world = rule.inputs.get("cidrIpv4") == "0.0.0.0/0" or rule.inputs.get("cidrIpv6") == "::/0"
        if world:
            assert rule.inputs["securityGroupId"] == edge.id
            assert rule.inputs["fromPort"] in (80, 443)
        else:
            assert rule.inputs["referencedSecurityGroupId"] == edge.id
        assert rule.inputs["fromPort"] != 3389, "RDP is closed without admin_cidrs"


def test_asg_behind_alb_with_long_grace_and_own_read_only_role(g: Graph) -> None:
    asg = g.one("aws:autoscaling/group:Group").inputs
    tg = g.one("aws:lb/targetGroup:TargetGroup")
    assert asg["targetGroupArns"] == [tg.outputs["arn"]] and asg["healthCheckType"] == "ELB"
    assert asg["healthCheckGracePeriod"] >= 900, "Windows first boot installs Python, IIS, MSIs"
    policy = json.loads(g.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    resources = [
        r
        for st in policy["Statement"]
        if st["Effect"] == "Allow"
        for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    ]
    assert any(r.endswith("/windows/winapp/*") for r in resources)
    assert all("*" not in a for st in policy["Statement"] for a in st["Action"])
    (param,) = [
        r for r in g.of("aws:ssm/parameter:Parameter") if r.inputs["type"] == "SecureString"
    ]
    assert param.inputs["name"] == "/webstack/webstack/wintest/webstack-wintest/winapp/APP_TOKEN"
