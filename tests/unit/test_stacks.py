"""The shipped stacks under Pulumi mocks: resources exist, are wired, and are secure by default."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest

from components.plan.iam import RESOURCE_WIDE_ACTIONS
from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.graph import Graph, user_data_texts
from tests.helpers.specs import shipped_spec

ROOT = Path(__file__).resolve().parents[2]
SECRET_VALUES = {
    "APP_API_TOKEN": "tok-9f8e7d6c5b4a-dev",
    "DJANGO_SECRET_KEY": "dj-0a1b2c3d4e5f-prod",
}


@functools.cache
def graph(name: str) -> Graph:
    spec, placeholders = shipped_spec(name)
    secrets = {app: {k: SECRET_VALUES[k] for k in names} for app, names in placeholders.items()}
    build_dir = Path(tempfile.mkdtemp(prefix="webstack-build-"))
    mocks, outputs = run_under_mocks(build_webstack(spec, secrets, ROOT, build_dir), stack=name)
    return Graph(mocks.resources, outputs)


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    return request.param, graph(request.param)


def test_imdsv2_required_everywhere(stack: tuple[str, Graph]) -> None:
    _, g = stack
    holders = g.of("aws:ec2/launchTemplate:LaunchTemplate") + g.of("aws:ec2/instance:Instance")
    assert holders
    for r in holders:
        md = r.inputs["metadataOptions"]
        assert md["httpTokens"] == "required", (
            f"{r.name}: IMDSv1 lets SSRF read instance credentials"
        )
        assert md["httpPutResponseHopLimit"] == 1, (
            f"{r.name}: hop limit > 1 exposes IMDS to containers"
        )


def test_disks_encrypted(stack: tuple[str, Graph]) -> None:
    _, g = stack
    for r in g.of("aws:ec2/launchTemplate:LaunchTemplate"):
        for bdm in r.inputs["blockDeviceMappings"]:
            assert bdm["ebs"]["encrypted"] == "true", (
                f"{r.name}: unencrypted EBS leaks data at rest"
            )
            assert bdm["ebs"]["volumeType"] == "gp3"
    templates = {r.id for r in g.of("aws:ec2/launchTemplate:LaunchTemplate")}
    for r in g.of("aws:ec2/instance:Instance"):
        # The edge VM boots from a template (checked above) and sets no root device of its own.
        assert "rootBlockDevice" not in r.inputs, f"{r.name}: would override the template's disk"
        assert r.inputs["launchTemplate"]["id"] in templates, f"{r.name}: unencrypted root"


def test_no_world_ingress_except_http_https_on_edge(stack: tuple[str, Graph]) -> None:
    _, g = stack
    edge_sg = next(
        r for r in g.of("aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-edge")
    )
    for rule in g.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        world = rule.inputs.get("cidrIpv4") == "0.0.0.0/0" or rule.inputs.get("cidrIpv6") == "::/0"
        assert rule.inputs.get("description"), f"{rule.name}: every rule needs a description"
        if world:
            assert (
                rule.inputs["fromPort"] in (80, 443)
                and rule.inputs["fromPort"] == rule.inputs["toPort"]
            )
            assert rule.inputs["securityGroupId"] == edge_sg.id, f"{rule.name}: world only to edge"
        assert rule.inputs["fromPort"] not in (22, 3389) or not world, (
            "SSH/RDP never from the world"
        )
    assert not [
        r
        for r in g.resources
        if r.type == "aws:ec2/securityGroup:SecurityGroup" and r.inputs.get("ingress")
    ], "inline rules mixed with rule resources fight each other"


def test_iam_has_no_wildcard_action(stack: tuple[str, Graph]) -> None:
    _, g = stack
    policies = g.of("aws:iam/rolePolicy:RolePolicy")
    assert policies
    for p in policies:
        doc = json.loads(p.inputs["policy"])
        for st in doc["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert all("*" not in a for a in actions), f"{p.name}: wildcard action {actions}"
            if st["Effect"] == "Deny":
                continue
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            # Only Session Manager's actions, which AWS defines on no resource type, take "*".
            assert "*" not in resources or set(actions) <= RESOURCE_WIDE_ACTIONS, (
                f"{p.name}: {actions} on every resource"
            )


def test_no_secret_value_in_user_data(stack: tuple[str, Graph]) -> None:
    _, g = stack
    for text in user_data_texts(g):
        assert text.startswith("#cloud-config")
        for value in SECRET_VALUES.values():
            assert value not in text, (
                "a secret in user data is readable by anyone with ec2:Describe*"
            )
        assert "PRIVATE KEY" not in text, "the TLS key must travel through SSM, never user data"


def test_secrets_are_secure_strings_under_the_app_prefix(stack: tuple[str, Graph]) -> None:
    name, g = stack
    params = g.of("aws:ssm/parameter:Parameter")
    assert params
    for p in params:
        # The release pointer is the one plain String (it names versions, never values).
        is_pointer = p.inputs["name"].endswith("/release")
        assert p.inputs["type"] == ("String" if is_pointer else "SecureString")
        # Scoped by project, stack and WebStack (the mocks' project is `webstack`).
        assert p.inputs["name"].startswith(f"/webstack/webstack/{name}/webstack-{name}/")


def test_artifact_bucket_private_encrypted_versioned_tls_only(stack: tuple[str, Graph]) -> None:
    """Every bucket (artifacts, and the ALB access logs when on) is private, encrypted and
    TLS-only; the artifact bucket is versioned."""
    _, g = stack
    buckets = g.of("aws:s3/bucket:Bucket")
    blocks = g.of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == len(buckets)
    for block in (b.inputs for b in blocks):
        assert all(
            block[k]
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    sse = g.of(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert len(sse) == len(buckets)
    versioning = g.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    policies = g.of("aws:s3/bucketPolicy:BucketPolicy")
    assert len(policies) == len(buckets)
    for policy in (json.loads(p.inputs["policy"]) for p in policies):
        assert {"Bool": {"aws:SecureTransport": "false"}} in [
            st.get("Condition") for st in policy["Statement"] if st["Effect"] == "Deny"
        ]


def test_smoke_check_runs_after_deploy(stack: tuple[str, Graph]) -> None:
    _, g = stack
    cmd = g.one("command:local:Command")
    assert "curl -fsS" in cmd.inputs["create"] and "/healthz" in cmd.inputs["create"]


def test_prod_alb_wiring() -> None:
    g = graph("prod")
    lb = g.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["desyncMitigationMode"] in ("defensive", "strictest")
    assert lb["idleTimeout"] == 40, "ALB idle timeout comes from the timeout chain"
    assert lb["enableDeletionProtection"] is True, "prod is a production stack"
    assert len(lb["subnets"]) >= 2
    listeners = {int(r.inputs["port"]): r for r in g.of("aws:lb/listener:Listener")}
    http = listeners[80].inputs["defaultActions"]
    assert [a["type"] for a in http] == ["redirect"] and http[0]["redirect"][
        "statusCode"
    ] == "HTTP_301"
    assert listeners[443].inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    # listener -> rule -> target group -> ASG
    rule = g.one("aws:lb/listenerRule:ListenerRule").inputs
    assert rule["listenerArn"] == listeners[443].outputs["arn"]
    tg = g.one("aws:lb/targetGroup:TargetGroup")
    assert rule["actions"][0]["targetGroupArn"] == tg.outputs["arn"]
    assert tg.inputs["healthCheck"]["path"] == "/healthz"
    asg = g.one("aws:autoscaling/group:Group").inputs
    assert asg["targetGroupArns"] == [tg.outputs["arn"]]
    assert asg["healthCheckType"] == "ELB", "EC2 checks miss a dead app on a live VM"
    assert (asg["minSize"], asg["maxSize"]) == (2, 6)
    subnets = {r.id: r for r in g.of("aws:ec2/subnet:Subnet")}
    asg_subnets = [subnets[i] for i in asg["vpcZoneIdentifiers"]]
    assert all("-private-" in s.name for s in asg_subnets), "app instances live in private subnets"
    assert len({s.inputs["availabilityZone"] for s in asg_subnets}) >= 2, (
        "one AZ is one outage away"
    )
    assert asg["instanceRefresh"]["strategy"] == "Rolling"
    assert asg["minElbCapacity"] == 2, "a broken bootstrap must fail `pulumi up`"
    assert "waitForElbCapacity" not in asg, "an exact-count wait times out updates after scale-out"
    # app SG only from the ALB SG
    from_alb = [
        r
        for r in g.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "from-alb" in r.name
    ]
    edge_sg = next(
        r for r in g.of("aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-edge")
    )
    assert from_alb and all(r.inputs["referencedSecurityGroupId"] == edge_sg.id for r in from_alb)
    app_rules = [
        r
        for r in g.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] != edge_sg.id and r.parent == "webstack-prod-sg"
    ]
    assert app_rules == from_alb, "the app tier accepts nothing but the ALB"
    # ACM validated through Route53
    cert = g.one("aws:acm/certificate:Certificate").inputs
    assert cert["validationMethod"] == "DNS"
    g.one("aws:acm/certificateValidation:CertificateValidation")
    lt = g.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert lt["imageId"].startswith("resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/")
    assert "networkInterfaces" not in lt, "no public IP on app instances behind an ALB"
    (text,) = user_data_texts(g)
    assert "server unix:/run/webstack/django-app-2/gunicorn.sock" in text, (
        "two Gunicorn masters per VM behind one upstream until the first release"
    )


def test_dev_nginx_edge_wiring() -> None:
    g = graph("dev")
    assert not g.of("aws:lb/loadBalancer:LoadBalancer")
    vm = g.one("aws:ec2/instance:Instance").inputs
    assert vm["instanceType"] == "t3.small"
    assert vm["userDataReplaceOnChange"] is True, "a new user data must replace the VM"
    eip = g.one("aws:ec2/eip:Eip").inputs
    assert eip["domain"] == "vpc"
    assert g.outputs["edge_public_ip"] == "203.0.113.10"
    assert g.of("tls:index/selfSignedCert:SelfSignedCert")
    (text,) = user_data_texts(g)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "tls-private-key" in text, "the key is fetched from SSM at boot"
