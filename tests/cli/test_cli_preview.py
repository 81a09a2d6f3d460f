"""`webstack preview --json`: the resource tree under Pulumi mocks, asserted by meaning."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from cli_support import ROOT

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@pytest.fixture(scope="module")
def previews() -> dict[str, dict[str, Any]]:
    """Both shipped stacks, previewed once per module (each run takes a second or two)."""
    import contextlib
    import io

    from components.tooling.cli import main

    out = {}
    for stack in ("dev", "prod"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["preview", "--json", "--stack", stack, "--project", str(ROOT)]) == 0
        out[stack] = json.loads(buf.getvalue())
    return out


def of_type(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in doc["resources"] if r["type"].rsplit(":", 1)[-1] == kind]


def test_says_values_are_placeholders(previews) -> None:
    for doc in previews.values():
        assert doc["placeholders"] is True
        assert "placeholder" in doc["note"].lower()


def test_tree_is_consistent(previews) -> None:
    """Every resource but the root hangs under a component that is itself in the tree."""
    for doc in previews.values():
        names = {r["name"] for r in doc["resources"] if r["component"]}
        roots = [r for r in doc["resources"] if r["parent"] is None]
        assert [r["type"] for r in roots] == ["webstack:index:WebStack"]
        assert all(r["parent"] in names for r in doc["resources"] if r["parent"])
        assert doc["summary"]["total"] == len(doc["resources"])
        assert sum(doc["summary"]["by_type"].values()) == len(doc["resources"])


def test_dev_is_one_vm_with_an_elastic_ip(previews) -> None:
    doc = previews["dev"]
    (vm,) = of_type(doc, "Instance")
    (eip,) = of_type(doc, "Eip")
    assert vm["properties"]["instance_type"] == "t3.small"
    assert vm["properties"]["imds"].startswith("v2-only"), "IMDSv1 lets SSRF read credentials"
    assert "launch template" in vm["properties"]["root_volume"]
    (image,) = of_type(doc, "LaunchTemplate")  # the VM's image and disk, resolved at launch
    assert "encrypted" in image["properties"]["root_volume"]
    assert eip["parent"] == vm["parent"], "the EIP belongs to the VM's fleet"
    assert not of_type(doc, "LoadBalancer") and not of_type(doc, "Group")
    (vpc,) = of_type(doc, "Vpc")
    assert vpc["properties"]["cidr"] == "10.40.0.0/16"
    assert len(of_type(doc, "Subnet")) == 4
    ingress = {(r["properties"]["port"], r["properties"]["from"]) for r in of_type(
        doc, "SecurityGroupIngressRule")}  # fmt: skip
    assert ingress == {("80", "0.0.0.0/0"), ("80", "::/0"), ("443", "0.0.0.0/0"), ("443", "::/0")}
    (cert,) = of_type(doc, "SelfSignedCert")
    assert cert["properties"]["dns_names"]


def test_prod_is_an_alb_with_the_tls_policy_and_an_autoscaling_group(previews) -> None:
    doc = previews["prod"]
    (alb,) = of_type(doc, "LoadBalancer")
    assert alb["properties"]["type"] == "application"
    assert alb["properties"]["deletion_protection"] is True
    assert alb["properties"]["drop_invalid_headers"] is True
    listeners = {r["properties"]["port"]: r["properties"] for r in of_type(doc, "Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["tls_policy"] == TLS_POLICY
    assert listeners[80]["default"].startswith("redirect 301 -> HTTPS:443")
    (asg,) = of_type(doc, "Group")
    assert (asg["properties"]["min"], asg["properties"]["max"]) == (2, 6)
    assert asg["properties"]["health_check"] == "ELB"
    (lt,) = of_type(doc, "LaunchTemplate")
    assert lt["properties"]["instance_type"] == "m7i.large"
    assert lt["properties"]["imds"].startswith("v2-only")
    (tg,) = of_type(doc, "TargetGroup")
    assert tg["properties"]["health"] == "HTTP /healthz -> 200"
    (rule,) = of_type(doc, "ListenerRule")
    assert rule["properties"]["hosts"] == ["shop.example.com"]
    (acm,) = [r for r in of_type(doc, "Certificate") if r["type"].startswith("aws:acm")]
    assert acm["properties"]["domain"] == "shop.example.com"
    assert len(of_type(doc, "NatGateway")) == 3 and len(of_type(doc, "Subnet")) == 6
    # No EC2 VM outside the auto scaling group (the managed database is an aws:rds Instance).
    assert not [r for r in of_type(doc, "Instance") if r["type"].startswith("aws:ec2")]
    assert all("-nat-" in r["name"] for r in of_type(doc, "Eip")), "EIPs only for NAT gateways"
    app_in = [r for r in of_type(doc, "SecurityGroupIngressRule") if "-sg-app-" in r["name"]]
    assert [r["properties"].get("from", "").startswith("sg:") for r in app_in] == [True], (
        "the app tier accepts HTTP only from the ALB's group"
    )
    db_in = [r for r in of_type(doc, "SecurityGroupIngressRule") if "-pg-" in r["name"]]
    assert [(r["properties"]["port"], r["properties"]["from"][:3]) for r in db_in] == [
        ("5432", "sg:")
    ], "the managed database accepts PostgreSQL only from the app tier's group"


def test_secret_values_never_appear(previews) -> None:
    """Offline commands never decrypt: neither ciphertext nor placeholder values are printed."""
    from components.tooling.config import SECRET_PLACEHOLDER

    for stack, doc in previews.items():
        text = json.dumps(doc)
        assert SECRET_PLACEHOLDER not in text
        assert "secure" not in text and "v1:" not in text
        params = of_type(doc, "Parameter")
        assert params and all("value" not in p["properties"] for p in params), stack


def test_counts_by_type_match(previews) -> None:
    for doc in previews.values():
        counted = Counter(r["type"] for r in doc["resources"])
        assert counted == Counter(doc["summary"]["by_type"])


def test_text_tree(webstack) -> None:
    result = webstack("preview", "--stack", "prod", "--project", ROOT)
    assert result.code == 0
    assert "placeholders" in result.out.splitlines()[1]
    assert "├─ " in result.out and "tls_policy=" + TLS_POLICY in result.out
    assert result.out.rstrip().splitlines()[-1].startswith(tuple("0123456789"))
    assert " resources: " in result.out.rstrip().splitlines()[-1]


def test_mixed_stack_has_a_tier_per_app_on_one_alb(webstack, mixed_stack) -> None:
    result = webstack("preview", "--json", "--stack-file", mixed_stack, "--project", ROOT)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    tiers = {r["name"].rsplit("-", 1)[-1]: r["type"] for r in doc["resources"]
             if r["type"].endswith(("LinuxWebTier", "WindowsWebTier"))}  # fmt: skip
    assert tiers == {
        "shop": "webstack:linux:LinuxWebTier",
        "reports": "webstack:windows:WindowsWebTier",
        "backoffice": "webstack:windows:WindowsWebTier",
    }
    assert len(of_type(doc, "LoadBalancer")) == 1
    assert len(of_type(doc, "TargetGroup")) == 3 and len(of_type(doc, "ListenerRule")) == 3
    paths = sorted(p for r in of_type(doc, "ListenerRule") for p in r["properties"]["paths"])
    assert paths == ["/*", "/backoffice/*", "/reports/*"]
    images = sorted(r["properties"]["image"] for r in of_type(doc, "LaunchTemplate"))
    assert sum("Windows_Server" in i for i in images) == 2, images
