"""The policy pack passes every shipped stack and catches a deliberately bad resource per policy.

Resources come from the real components under Pulumi mocks (tests/policy/stacks.py), so a change
to a component that breaks a guarantee fails here, and a policy that can't see a property (wrong
name, wrong shape) fails its bad case.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE
from webstack_policy import POLICY_NAMES
from webstack_policy.harness import Resource, Violation, evaluate
from webstack_policy.userdata import decode_user_data, find_secrets

from tests.policy.stacks import (
    ALL_STACKS,
    SHIPPED_STACKS,
    capture,
    capture_any,
    find,
    to_policy_resources,
)

LT = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
RDS = "aws:rds/instance:Instance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
ASG = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def stack_tags(name: str) -> dict[str, str]:
    return {"webstack:production": "true"} if capture_any(name).spec.production else {}


def run(name: str, mutate: Callable[[list[Resource]], None] | None = None, **kw: Any):
    resources = to_policy_resources(capture_any(name).resources, mutate)
    kw.setdefault("stack_tags", stack_tags(name))
    return evaluate(resources, stack=name, **kw)


def show(violations: list[Violation]) -> str:
    return "\n".join(f"[{v.policy}/{v.level}] {v.resource}: {v.message}" for v in violations)


# -- every shipped stack passes every policy ----------------------------------------------------
@pytest.mark.parametrize("name", ALL_STACKS)
def test_shipped_stack_passes_every_policy(name: str) -> None:
    violations = run(name)
    assert not violations, f"stack {name} violates the policy pack:\n{show(violations)}"


@pytest.mark.parametrize("name", ALL_STACKS)
def test_shipped_stack_is_actually_inspected(name: str) -> None:
    """Guard against a vacuous pass: the resources the policies look at are really there."""
    types = {r.type for r in to_policy_resources(capture_any(name).resources)}
    assert {SG, INGRESS, ROLE_POLICY} <= types
    assert LT in types or INSTANCE in types
    if capture_any(name).spec.edge.mode == "alb":
        assert {LB, LISTENER, TG, ASG} <= types


def test_every_policy_has_a_bad_case() -> None:
    covered = {case[0] for case in BAD_CASES}
    assert covered == set(POLICY_NAMES), (
        f"policies without a bad case: {set(POLICY_NAMES) - covered}"
    )


# -- deliberately bad resources -----------------------------------------------------------------
def _lt(rs: list[Resource]) -> Resource:
    return find(rs, LT)


def _set(type_: str, path: str, value: Any, contains: str = "") -> Callable[[list[Resource]], None]:
    """A mutation setting `a.b.c` (list indexes as numbers) on the first matching resource."""

    def mutate(rs: list[Resource]) -> None:
        node: Any = find(rs, type_, contains).inputs
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        last = parts[-1]
        if value is _DELETE:
            node.pop(last, None)
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


_DELETE = object()


def _add(resource: Resource) -> Callable[[list[Resource]], None]:
    return lambda rs: rs.append(resource)


def _sg_id(rs: list[Resource], contains: str) -> str:
    return capture_id(find(rs, SG, contains).name)


def capture_id(name: str) -> str:
    for stack in SHIPPED_STACKS:
        for r in capture(stack).resources:
            if r.name == name:
                return r.id
    raise KeyError(name)


def _both(*mutations: Callable[[list[Resource]], None]) -> Callable[[list[Resource]], None]:
    def mutate(rs: list[Resource]) -> None:
        for m in mutations:
            m(rs)

    return mutate


def _world_rule(port: int | None, sg: str, cidr: str = "0.0.0.0/0", name: str = "bad-rule", **kw):
    def mutate(rs: list[Resource]) -> None:
        inputs: dict[str, Any] = {
            "securityGroupId": _sg_id(rs, sg),
            "ipProtocol": "tcp" if port is not None else "-1",
            "description": "deliberately bad",
            ("cidrIpv6" if ":" in cidr else "cidrIpv4"): cidr,
        }
        if port is not None:
            inputs.update(fromPort=float(port), toPort=float(port))
        inputs.update(kw)
        rs.append(Resource(type=INGRESS, name=name, inputs=inputs))

    return mutate


def _gz_b64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def _user_data_with(extra: str, base64_prop: str = "userData", type_: str = LT):
    def mutate(rs: list[Resource]) -> None:
        r = find(rs, type_)
        text = decode_user_data(r.inputs[base64_prop], base64_encoded=True)
        r.inputs[base64_prop] = _gz_b64(text + extra)

    return mutate


def _secret_in_user_data(rs: list[Resource]) -> None:
    """The prod stack's own secret value, pasted into the launch template's user data."""
    secret = capture("prod").secret_values[0]
    _user_data_with(f"\n# debug: {secret}\n")(rs)


def _public_asg_subnets(rs: list[Resource]) -> None:
    asg = find(rs, ASG)
    publics = [r for r in rs if r.type == SUBNET and "public" in r.name]
    for s in publics:
        s.inputs["mapPublicIpOnLaunch"] = True
    asg.inputs["vpcZoneIdentifiers"] = [capture_id(s.name) for s in publics]


def _edge_sg_on_app(rs: list[Resource]) -> None:
    _lt(rs).inputs["vpcSecurityGroupIds"].append(_sg_id(rs, "sg-edge"))


def _inline_and_separate(rs: list[Resource]) -> None:
    find(rs, SG, "sg-app-").inputs["ingress"] = [
        {
            "protocol": "tcp",
            "fromPort": 80,
            "toPort": 80,
            "cidrBlocks": ["10.50.0.0/16"],
            "description": "inline",
        }
    ]


def _forwarding_http_rule(rs: list[Resource]) -> None:
    http = find(rs, LISTENER, "-http")
    rule = find(rs, LISTENER_RULE)
    rs.append(
        Resource(
            type=LISTENER_RULE,
            name="bad-http-rule",
            inputs={**rule.inputs, "listenerArn": capture_outputs(http.name)["arn"]},
        )
    )


def capture_outputs(name: str) -> dict[str, Any]:
    for stack in SHIPPED_STACKS:
        for r in capture(stack).resources:
            if r.name == name:
                return r.outputs
    raise KeyError(name)


def _policy_doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# (policy, stack, mutation, extra evaluate kwargs) - each must produce >= 1 violation of `policy`.
BAD_CASES: list[tuple[str, str, Callable[[list[Resource]], None], dict[str, Any]]] = [
    ("imdsv2-required", "prod", _set(LT, "metadataOptions.httpTokens", "optional"), {}),
    ("log-group-retention", "prod", _set(LOG_GROUP, "retentionInDays", _DELETE), {}),
    ("log-group-retention", "prod", _set(LOG_GROUP, "retentionInDays", 31.0), {}),
    (
        "log-group-retention",
        "prod",
        _set(LOG_GROUP, "retentionInDays", 3653.0),
        {"config": {"log-group-retention": {"maxDays": 365}}},
    ),
    ("imdsv2-required", "prod", _set(LT, "metadataOptions.httpPutResponseHopLimit", 3.0), {}),
    ("imdsv2-required", "dev", _set(INSTANCE, "metadataOptions", _DELETE), {}),
    (
        "imdsv2-required",
        "prod",
        _set(LT, "metadataOptions.httpPutResponseHopLimit", 2.0),
        {"config": {"imdsv2-required": {"maxHopLimit": 1}}},
    ),
    ("ebs-encrypted", "prod", _set(LT, "blockDeviceMappings.0.ebs.encrypted", "false"), {}),
    ("ebs-encrypted", "prod", _set(LT, "blockDeviceMappings", _DELETE), {}),
    ("ebs-encrypted", "dev", _set(INSTANCE, "rootBlockDevice.encrypted", False), {}),
    (
        "no-public-ip-on-app-instances",
        "prod",
        _set(LT, "networkInterfaces", [{"associatePublicIpAddress": "true"}]),
        {},
    ),
    ("no-public-ip-on-app-instances", "prod", _public_asg_subnets, {}),
    ("sg-world-ingress-http-only", "prod", _world_rule(8080, "sg-edge"), {}),
    ("sg-world-ingress-http-only", "dev", _world_rule(None, "sg-edge", "::/0"), {}),
    ("sg-no-world-admin-ports", "dev", _world_rule(22, "sg-edge"), {}),
    ("sg-no-world-admin-ports", "prod", _world_rule(3389, "sg-app-", "::/0"), {}),
    (
        "sg-admin-ranges-bounded",
        "dev",
        _both(
            _world_rule(22, "sg-edge", "0.0.0.0/1", name="half-a"),
            _world_rule(22, "sg-edge", "128.0.0.0/1", name="half-b"),
        ),
        {},
    ),
    ("sg-admin-ranges-bounded", "prod", _world_rule(22, "sg-app-", "8.0.0.0/8"), {}),
    ("sg-admin-ranges-bounded", "prod", _world_rule(3389, "sg-app-", "2001:db8::/32"), {}),
    ("sg-rules-described", "prod", _set(INGRESS, "description", _DELETE, "from-alb"), {}),
    ("sg-rules-described", "dev", _set(INGRESS, "description", "  ", "443-v4"), {}),
    ("sg-no-mixed-inline-rules", "prod", _inline_and_separate, {}),
    ("sg-world-ingress-edge-only", "prod", _world_rule(443, "sg-app-"), {}),
    ("sg-world-ingress-edge-only", "prod", _edge_sg_on_app, {}),
    (
        "alb-http-redirects-to-https",
        "prod",
        _set(
            LISTENER,
            "defaultActions",
            [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:x"}],
            "-http",
        ),
        {},
    ),
    ("alb-http-redirects-to-https", "prod", _forwarding_http_rule, {}),
    (
        "alb-https-tls-policy",
        "prod",
        _set(LISTENER, "sslPolicy", "ELBSecurityPolicy-2016-08", "-https"),
        {},
    ),
    ("alb-https-tls-policy", "prod", _set(LISTENER, "sslPolicy", _DELETE, "-https"), {}),
    ("alb-drop-invalid-headers", "prod", _set(LB, "dropInvalidHeaderFields", False), {}),
    ("alb-desync-mitigation", "prod", _set(LB, "desyncMitigationMode", "monitor"), {}),
    (
        "alb-multi-az",
        "prod",
        lambda rs: find(rs, LB).inputs.__setitem__("subnets", find(rs, LB).inputs["subnets"][:1]),
        {},
    ),
    ("alb-deletion-protection", "prod", _set(LB, "enableDeletionProtection", False), {}),
    (
        "alb-deletion-protection",
        "prod",
        _set(LB, "enableDeletionProtection", False),
        {"stack_tags": {}, "config": {"alb-deletion-protection": {"production": True}}},
    ),
    # Issue 17: the managed PostgreSQL of the `database` stack (production).
    ("rds-encrypted", "database", _set(RDS, "storageEncrypted", False), {}),
    ("rds-not-publicly-accessible", "database", _set(RDS, "publiclyAccessible", True), {}),
    ("rds-backups", "database", _set(RDS, "backupRetentionPeriod", 0), {}),
    ("rds-deletion-protection", "database", _set(RDS, "deletionProtection", False), {}),
    ("rds-deletion-protection", "database", _set(RDS, "skipFinalSnapshot", True), {}),
    ("rds-tls-required", "database", _set(RDS_PARAMS, "parameters.0.value", "0"), {}),
    ("rds-tls-required", "database", _set(RDS_PARAMS, "parameters", []), {}),
    ("target-group-health-check-path", "prod", _set(TG, "healthCheck.path", _DELETE), {}),
    ("target-group-health-check-path", "prod", _set(TG, "healthCheck.enabled", False), {}),
    (
        "asg-launch-template",
        "prod",
        lambda rs: find(rs, ASG).inputs.update(
            launchTemplate=None, launchConfiguration="legacy-lc"
        ),
        {},
    ),
    ("asg-elb-health-check", "prod", _set(ASG, "healthCheckType", "EC2"), {}),
    ("asg-elb-health-check", "prod", _set(ASG, "targetGroupArns", []), {}),
    (
        "asg-multi-az",
        "prod",
        lambda rs: find(rs, ASG).inputs.__setitem__(
            "vpcZoneIdentifiers", find(rs, ASG).inputs["vpcZoneIdentifiers"][:1]
        ),
        {},
    ),
    (
        "iam-no-wildcard-actions",
        "prod",
        _set(
            ROLE_POLICY, "policy", _policy_doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
        ),
        {},
    ),
    (
        "iam-no-wildcard-actions",
        "dev",
        _set(
            ROLE_POLICY,
            "policy",
            _policy_doc({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": "*"}),
        ),
        {},
    ),
    (
        "iam-no-wildcard-actions",
        "dev",
        _set(
            ROLE_POLICY,
            "policy",
            _policy_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        ),
        {},
    ),
    (
        "iam-no-wildcard-actions",
        "prod",
        # The stacks attach no managed policy (the role's one inline policy says it all).
        _add(
            Resource(
                type=ATTACH,
                name="bad-admin-attachment",
                inputs={"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            )
        ),
        {},
    ),
    ("user-data-no-secrets", "prod", _secret_in_user_data, {}),
    (
        "user-data-no-secrets",
        "dev",
        _user_data_with(
            "\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", "userDataBase64", INSTANCE
        ),
        {},
    ),
    (
        "user-data-no-secrets",
        "prod",
        _user_data_with("\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"),
        {},
    ),
    ("user-data-no-secrets", "prod", _user_data_with('\nDB_PASSWORD="hunter2hunter2"\n'), {}),
    (
        "user-data-no-secrets",
        "dev",
        _user_data_with("\n# cfg s3cr3t-from-policy-config\n", "userDataBase64", INSTANCE),
        {"config": {"user-data-no-secrets": {"secretValues": ["s3cr3t-from-policy-config"]}}},
    ),
]


@pytest.mark.parametrize(
    ("policy", "stack", "mutate", "kw"),
    BAD_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CASES)],
)
def test_policy_reports_a_bad_resource(
    policy: str, stack: str, mutate: Callable[[list[Resource]], None], kw: dict[str, Any]
) -> None:
    violations = run(stack, mutate, **kw)
    mine = [v for v in violations if v.policy == policy]
    assert mine, f"{policy} missed a deliberately bad resource; got:\n{show(violations)}"
    for v in mine:
        assert v.level == "mandatory", "every policy defaults to mandatory"
        assert v.resource and v.resource in v.message, f"{policy}: name the resource: {v.message}"
        assert len(v.message) > 80, (
            f"{policy}: a message must say what is wrong and why it matters: {v.message!r}"
        )


# -- enforcement levels and settings are per policy ---------------------------------------------
BAD_IMDS = _set(LT, "metadataOptions.httpTokens", "optional")


def test_enforcement_level_is_configurable_per_policy() -> None:
    advisory = run("prod", BAD_IMDS, config={"imdsv2-required": "advisory"})
    assert {v.level for v in advisory if v.policy == "imdsv2-required"} == {"advisory"}
    nested = run("prod", BAD_IMDS, config={"imdsv2-required": {"enforcementLevel": "advisory"}})
    assert {v.level for v in nested if v.policy == "imdsv2-required"} == {"advisory"}
    disabled = run("prod", BAD_IMDS, config={"imdsv2-required": "disabled"})
    assert not [v for v in disabled if v.policy == "imdsv2-required"]


def test_wide_admin_ranges_need_the_policy_opt_in_too() -> None:
    """A /8 of public SSH sources passes only when the policy config raises the bound (the spec's
    insecure_allow_wide_admin_cidrs has its twin here)."""
    wide = _world_rule(22, "sg-app-", "8.0.0.0/8")
    assert any(v.policy == "sg-admin-ranges-bounded" for v in run("prod", wide))
    raised = {"sg-admin-ranges-bounded": {"maxPublicAdminAddressesV4": 2**24}}
    assert not [
        v for v in run("prod", wide, config=raised) if v.policy == "sg-admin-ranges-bounded"
    ]


def test_deletion_protection_only_in_production() -> None:
    off = _set(LB, "enableDeletionProtection", False)
    assert not [
        v for v in run("prod", off, stack_tags={}) if v.policy == "alb-deletion-protection"
    ], "a stack not marked production may run without deletion protection"
    marked = run("prod", off, stack_tags={"webstack:production": "true"})
    assert [v for v in marked if v.policy == "alb-deletion-protection"]
    opted_out = run(
        "prod",
        off,
        stack_tags={"webstack:production": "true"},
        config={"alb-deletion-protection": {"production": False}},
    )
    assert not [v for v in opted_out if v.policy == "alb-deletion-protection"]


def test_unknown_values_during_preview_are_not_violations() -> None:
    """In a first preview, IDs and user data are unknown: policies must neither crash nor guess."""

    def unknowns(rs: list[Resource]) -> None:
        _lt(rs).inputs["userData"] = UNKNOWN_STRING_VALUE
        _lt(rs).inputs["metadataOptions"]["httpTokens"] = UNKNOWN_STRING_VALUE
        find(rs, LB).inputs["subnets"] = [UNKNOWN_STRING_VALUE] * 3
        find(rs, LISTENER, "-https").inputs["sslPolicy"] = UNKNOWN_STRING_VALUE

    violations = run("prod", unknowns)
    assert not violations, show(violations)
    # As the engine does: unknown values, but the property dependencies are still known.
    resources = to_policy_resources(capture("prod").resources)
    unknowns(resources)
    violations = evaluate(resources, stack="prod", stack_tags=stack_tags("prod"))
    assert not violations, show(violations)


def test_nginx_edge_vm_may_be_public_but_a_second_public_vm_may_not() -> None:
    """dev: the single Nginx VM is the edge (public, world 80/443). A tagged edge elsewhere makes
    the untagged VM an app instance again, whose EIP and world-open group are then violations."""
    assert not run("dev")

    def tag_other(rs: list[Resource]) -> None:
        vm = find(rs, INSTANCE)
        tags = {k: v for k, v in (vm.inputs.get("tags") or {}).items() if k != "webstack:role"}
        vm.inputs["tags"] = tags
        rs.append(
            Resource(
                type=INSTANCE,
                name="the-real-edge",
                inputs={**vm.inputs, "tags": {"webstack:role": "edge"}},
            )
        )

    policies = {v.policy for v in run("dev", tag_other)}
    assert {"no-public-ip-on-app-instances", "sg-world-ingress-edge-only"} <= policies


def test_rules_read_back_after_deploy_are_not_inline_rules() -> None:
    """After `pulumi up`, a group's outputs list its rules (read back from AWS), separate rule
    resources included; that must not count as mixing inline and separate rules."""
    resources = to_policy_resources(capture("prod").resources)
    ids = {r.name: r.id for r in capture("prod").resources}
    for sg in [r for r in resources if r.type == SG]:
        read_back: dict[str, list[dict[str, Any]]] = {"ingress": [], "egress": []}
        for rule in resources:
            if (
                rule.type.startswith("aws:vpc/securityGroup")
                and rule.inputs.get("securityGroupId") == ids[sg.name]
            ):
                entry = {
                    "protocol": rule.inputs["ipProtocol"],
                    "fromPort": rule.inputs["fromPort"],
                    "toPort": rule.inputs["toPort"],
                    "cidrBlocks": [rule.inputs["cidrIpv4"]] if "cidrIpv4" in rule.inputs else [],
                    "description": rule.inputs["description"],
                }
                read_back["ingress" if "Ingress" in rule.type else "egress"].append(entry)
        assert sg.outputs is not None
        sg.outputs.update(read_back)
    violations = evaluate(resources, stack="prod", stack_tags=stack_tags("prod"))
    assert not violations, show(violations)


# -- the secret detector on the real rendered user data -----------------------------------------
@pytest.mark.parametrize("name", ALL_STACKS)
def test_rendered_user_data_has_no_false_positive(name: str) -> None:
    seen = 0
    for r in capture_any(name).resources:
        blob = r.inputs.get("userData") if r.type == LT else r.inputs.get("userDataBase64")
        # The Nginx edge's template holds only its image and disk (its instance the user data).
        if r.type in (LT, INSTANCE) and blob:
            text = decode_user_data(blob, base64_encoded=True)
            assert "#cloud-config" in text or "version:" in text, "decoded: cloud-config/EC2Launch"
            assert find_secrets(text, capture_any(name).secret_values) == []
            seen += 1
    assert seen
