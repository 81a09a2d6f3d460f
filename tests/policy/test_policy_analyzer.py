"""The pack as the Pulumi CLI runs it: `policy/__main__.py` serves the analyzer gRPC protocol.

The CLI starts the pack, reads the port it prints, then calls GetAnalyzerInfo, Configure (the
per-policy config of `--policy-pack-config`), ConfigureStack (stack tags), Analyze per resource and
AnalyzeStack once. This test speaks that protocol to the real entry point, so the pack is known to
load, list every policy and honour per-policy enforcement levels without the CLI installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc
from webstack_policy import POLICY_NAMES
from webstack_policy.harness import Resource, urn_of

from tests.policy.stacks import POLICY_DIR, ROOT, capture, find, to_policy_resources

LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
LB = "aws:lb/loadBalancer:LoadBalancer"
SUBNET = "aws:ec2/subnet:Subnet"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    proc = subprocess.Popen(
        [sys.executable, "-u", str(POLICY_DIR / "__main__.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else b""
        if not line.strip().isdigit():
            proc.kill()
            raise AssertionError(f"policy pack did not start: {line!r} {proc.stderr.read()!r}")
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(channel).result(timeout=20)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(props, default=lambda o: None)))
    return s


def _configure(stub: Any, config: dict[str, Any]) -> None:
    request = pb.ConfigureAnalyzerRequest()
    for name in POLICY_NAMES:
        given = config.get(name, {})
        level = given.get("enforcementLevel", "mandatory")
        cfg = pb.PolicyConfig(enforcementLevel=pb.EnforcementLevel.Value(level.upper()))
        props = {k: v for k, v in given.items() if k != "enforcementLevel"}
        if props:
            cfg.properties.update(props)
        request.policyConfig[name].CopyFrom(cfg)
    stub.Configure(request)


def _analyze(stub: Any, r: Resource, stack: str = "prod") -> list[pb.AnalyzeDiagnostic]:
    reply = stub.Analyze(
        pb.AnalyzeRequest(
            type=r.type,
            name=r.name,
            urn=urn_of(stack, "webstack", r.type, r.name),
            properties=_struct(r.inputs),
        )
    )
    return list(reply.diagnostics)


def _analyze_stack(stub: Any, resources: list[Resource], stack: str = "prod") -> list[Any]:
    urns = {r.name: urn_of(stack, "webstack", r.type, r.name) for r in resources}
    request = pb.AnalyzeStackRequest()
    for r in resources:
        item = request.resources.add(
            type=r.type, name=r.name, urn=urns[r.name], properties=_struct(r.outputs or r.inputs)
        )
        for prop, names in r.deps.items():
            item.propertyDependencies[prop].urns.extend(urns[n] for n in names if n in urns)
    return list(stub.AnalyzeStack(request).diagnostics)


def test_pack_lists_every_policy_with_schema(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "webstack-security"
    policies = {p.name: p for p in info.policies}
    assert set(policies) == set(POLICY_NAMES)
    for p in policies.values():
        assert p.enforcementLevel == pb.MANDATORY and len(p.description) > 20
    schema = json_format.MessageToDict(policies["imdsv2-required"].configSchema)
    assert "maxHopLimit" in schema["properties"]


def test_per_policy_enforcement_through_the_protocol(analyzer: Any) -> None:
    _configure(analyzer, {"imdsv2-required": {"enforcementLevel": "advisory"}})

    def bad(rs: list[Resource]) -> None:
        lt = find(rs, LT)
        lt.inputs["metadataOptions"]["httpTokens"] = "optional"
        lt.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"

    lt = find(to_policy_resources(capture("prod").resources, bad), LT)
    levels = {d.policyName: d.enforcementLevel for d in _analyze(analyzer, lt)}
    assert levels == {"imdsv2-required": pb.ADVISORY, "ebs-encrypted": pb.MANDATORY}

    _configure(analyzer, {"imdsv2-required": {"enforcementLevel": "disabled"}})
    assert {d.policyName for d in _analyze(analyzer, lt)} == {"ebs-encrypted"}
    _configure(analyzer, {})


def test_stack_policies_through_the_protocol(analyzer: Any) -> None:
    _configure(analyzer, {})
    analyzer.ConfigureStack(pb.AnalyzerStackConfigureRequest(tags={"webstack:production": "true"}))
    good = to_policy_resources(capture("prod").resources)
    assert [d.message for d in _analyze_stack(analyzer, good)] == []
    for r in good:
        assert [d.message for d in _analyze(analyzer, r)] == [], r.name

    def public(rs: list[Resource]) -> None:
        publics = [r for r in rs if r.type == SUBNET and "public" in r.name]
        for s in publics:
            s.inputs["mapPublicIpOnLaunch"] = True
        ids = {r.name: r.id for r in capture("prod").resources}
        find(rs, ASG).inputs["vpcZoneIdentifiers"] = [ids[s.name] for s in publics]
        find(rs, LB).inputs["enableDeletionProtection"] = False

    bad = to_policy_resources(capture("prod").resources, public)
    found = {d.policyName for d in _analyze_stack(analyzer, bad)}
    assert "no-public-ip-on-app-instances" in found
    lb = find(bad, LB)
    assert {d.policyName for d in _analyze(analyzer, lb)} == {"alb-deletion-protection"}
