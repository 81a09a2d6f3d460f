"""Every argument the components set, against AWS's documented constraints
(tests/helpers/faithful_limits.py: one row per type + argument, each citing its source)."""

from __future__ import annotations

import base64
import copy
import functools
import json
from typing import Any

import pytest

from components.tooling.mocks import RecordedResource
from tests.helpers.faithful import SHIPPED_STACKS, capture, capture_stack_file
from tests.helpers.faithful_limits import (
    LIMITS,
    SG_INGRESS,
    limit_problems,
    security_group_rule_problems,
    values_at,
)
from tests.helpers.specs import linux_spec
from tests.policy.stacks import capture_any

# Not shipped as Pulumi.<env>.yaml, still checked row by row: the managed PostgreSQL and the data
# stores of issue 17 (tests/policy/stacks.py EXTRA_STACKS["database"]).
EXTRA = ["database"]


@functools.cache
def shipped(stack: str) -> list[RecordedResource]:
    return capture_any(stack).resources if stack in EXTRA else capture_stack_file(stack)


@pytest.mark.parametrize("stack", SHIPPED_STACKS + EXTRA)
def test_shipped_stacks_respect_every_documented_limit(stack: str) -> None:
    assert limit_problems(shipped(stack)) == []


def test_every_row_applies_to_something_a_stack_creates() -> None:
    """A row whose type and path never match anything would pass forever without checking."""
    resources = [r for s in SHIPPED_STACKS + EXTRA for r in shipped(s)]
    unused = [
        f"{limit.type} {limit.path}"
        for limit in LIMITS
        if not any(r.type == limit.type and values_at(r.inputs, limit.path) for r in resources)
    ]
    # Only created with other settings than the shipped stacks': ACM validation, SSM secrets...
    optional = {
        "aws:ssm/parameter:Parameter description",
        "aws:ssm/parameter:Parameter tags",
        "aws:route53/record:Record name",
        "aws:acm/certificate:Certificate subjectAlternativeNames",
        "aws:ec2/instance:Instance userDataBase64",
        "aws:ec2/instance:Instance metadataOptions.httpPutResponseHopLimit",
        "aws:ec2/instance:Instance tags",
        "aws:lb/listener:Listener defaultActions[].redirect.statusCode",
        "aws:autoscaling/group:Group waitForCapacityTimeout",
        "aws:lb/targetGroup:TargetGroup namePrefix",
        "aws:lb/loadBalancer:LoadBalancer namePrefix",
        "aws:cloudwatch/logGroup:LogGroup kmsKeyId",  # observability.kms_key_arn
        "aws:sns/topicSubscription:TopicSubscription protocol",  # observability.alarm_email
    }
    assert set(unused) <= optional, unused
    assert all(limit.source for limit in LIMITS)


def _first(stack: str, type_: str, path: str = "") -> RecordedResource:
    res = next(
        r for r in shipped(stack) if r.type == type_ and (not path or values_at(r.inputs, path))
    )
    return RecordedResource(type=res.type, name=res.name, inputs=copy.deepcopy(res.inputs))


def _set(inputs: dict[str, Any], path: str, value: Any) -> None:
    node = inputs
    parts = path.replace("[]", ".0").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    node[int(last) if last.isdigit() else last] = value


BIG_USER_DATA = base64.b64encode(b"#!/bin/sh\n" + b"x" * 17000).decode()
TOO_MANY_TAGS = {f"k{i}": "v" for i in range(51)}
RDS = "aws:rds/instance:Instance"
# One deliberately bad value per row (type, path): each row must be able to fail.
BAD = [
    ("aws:lb/targetGroup:TargetGroup", "port", 0),
    ("aws:lb/targetGroup:TargetGroup", "deregistrationDelay", 3601),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.interval", 4),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.timeout", 121),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.healthyThreshold", 11),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.unhealthyThreshold", 1),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.path", "healthz"),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.protocol", "GRPC"),
    ("aws:lb/targetGroup:TargetGroup", "healthCheck.matcher", "500"),
    ("aws:lb/targetGroup:TargetGroup", "tags", TOO_MANY_TAGS),
    ("aws:lb/listenerRule:ListenerRule", "priority", 50001),
    ("aws:lb/listenerRule:ListenerRule", "conditions[].hostHeader.values[]", "h" * 125 + ".com"),
    ("aws:lb/listenerRule:ListenerRule", "conditions[].hostHeader.values[]", "localhost"),
    ("aws:lb/listenerRule:ListenerRule", "conditions[].hostHeader.values[]", "example.c0m"),
    (
        "aws:lb/listenerRule:ListenerRule",
        "conditions[].hostHeader.values",
        ["a.io", "b.io", "c.io", "d.io"],
    ),
    ("aws:lb/listenerRule:ListenerRule", "tags", {"aws:reserved": "x"}),
    ("aws:lb/loadBalancer:LoadBalancer", "idleTimeout", 4001),
    ("aws:lb/loadBalancer:LoadBalancer", "desyncMitigationMode", "off"),
    ("aws:lb/loadBalancer:LoadBalancer", "securityGroups", ["sg-1"] * 6),
    ("aws:lb/loadBalancer:LoadBalancer", "subnets", ["subnet-1"]),
    ("aws:lb/loadBalancer:LoadBalancer", "tags", {"k" * 129: "v"}),
    ("aws:lb/listener:Listener", "port", 70000),
    ("aws:lb/listener:Listener", "protocol", "TCP"),
    ("aws:lb/listener:Listener", "defaultActions[].fixedResponse.contentType", "text/xml"),
    ("aws:lb/listener:Listener", "defaultActions[].fixedResponse.messageBody", "x" * 1025),
    ("aws:lb/listener:Listener", "defaultActions[].fixedResponse.statusCode", "302"),
    ("aws:ec2/launchTemplate:LaunchTemplate", "userData", BIG_USER_DATA),
    ("aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpPutResponseHopLimit", 65),
    ("aws:ec2/launchTemplate:LaunchTemplate", "metadataOptions.httpTokens", "sometimes"),
    ("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings[].ebs.volumeSize", 20000),
    ("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings[].ebs.volumeType", "gp9"),
    ("aws:ec2/launchTemplate:LaunchTemplate", "tagSpecifications[].tags", TOO_MANY_TAGS),
    ("aws:ec2/launchTemplate:LaunchTemplate", "tags", {"k": "v" * 257}),
    ("aws:autoscaling/group:Group", "tags", [{"key": "aws:x", "value": "v"}]),
    ("aws:autoscaling/group:Group", "instanceRefresh.preferences.minHealthyPercentage", 101),
    ("aws:autoscaling/group:Group", "instanceRefresh.preferences.maxHealthyPercentage", 201),
    ("aws:autoscaling/group:Group", "healthCheckGracePeriod", 7201),
    ("aws:autoscaling/policy:Policy", "estimatedInstanceWarmup", -1),
    ("aws:iam/role:Role", "assumeRolePolicy", json.dumps({"Statement": ["x" * 2100]})),
    ("aws:iam/role:Role", "tags", TOO_MANY_TAGS),
    ("aws:iam/rolePolicy:RolePolicy", "policy", json.dumps({"Statement": ["x" * 10300]})),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "key", "k" * 1025),
    ("aws:s3/bucket:Bucket", "tags", TOO_MANY_TAGS),
    ("aws:s3/bucketPolicy:BucketPolicy", "policy", "x" * 20481),
    ("aws:ec2/securityGroup:SecurityGroup", "description", "caf\u00e9 edge"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "description", "d" * 256),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "fromPort", 70000),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "toPort", -2),
    ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "description", "\u2713"),
    ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "fromPort", 65536),
    ("aws:ssm/parameter:Parameter", "insecureValue", "v" * 4097),
    ("aws:ssm/parameter:Parameter", "tier", "Premium"),
    ("aws:ec2/vpc:Vpc", "cidrBlock", "10.0.0.0/8"),
    ("aws:ec2/subnet:Subnet", "cidrBlock", "10.0.0.0/29"),
    (RDS, "identifier", "db--x"),
    (RDS, "finalSnapshotIdentifier", "1final"),
    (RDS, "finalSnapshotIdentifier", "db-final-"),
    ("random:index/randomId:RandomId", "byteLength", 0),
    (RDS, "backupRetentionPeriod", 36),
    (RDS, "allocatedStorage", 19),
    (RDS, "storageType", "gp4"),
    (RDS, "instanceClass", "t3.micro"),
    (RDS, "engineVersion", "12"),
    (RDS, "dbName", "1app"),
    (RDS, "username", "app-owner"),
    (RDS, "password", {"value": "has/slash-and-long-enough"}),
    (RDS, "tags", TOO_MANY_TAGS),
    ("aws:rds/subnetGroup:SubnetGroup", "name", "Upper"),
    ("aws:rds/subnetGroup:SubnetGroup", "subnetIds", ["subnet-1"]),
    ("aws:rds/parameterGroup:ParameterGroup", "name", "params-"),
    ("aws:rds/parameterGroup:ParameterGroup", "family", "postgres12"),
    ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", 31),
    ("aws:cloudwatch/logGroup:LogGroup", "tags", TOO_MANY_TAGS),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "comparisonOperator", "GreaterThan"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "evaluationPeriods", 0),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "statistic", "Median"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "extendedStatistic", "p999"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "treatMissingData", "zero"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarmDescription", "d" * 1025),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "dimensions", {f"d{i}": "v" for i in range(31)}),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "metricQueries[].id", "Errors"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "metricQueries[].metric.stat", "Median"),
    (
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "metricQueries",
        [{"id": f"m{i}"} for i in range(11)],
    ),
    ("aws:lb/loadBalancer:LoadBalancer", "accessLogs.prefix", "alb/AWSLogs"),
    (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "rules[].expiration.days",
        0,
    ),
    ("aws:sns/topic:Topic", "tags", TOO_MANY_TAGS),
]


@pytest.mark.parametrize(("type_", "path", "value"), BAD, ids=lambda v: str(v)[-40:])
def test_each_row_rejects_a_bad_value(type_: str, path: str, value: Any) -> None:
    stack = next(s for s in ("staging", "prod", *EXTRA) if any(r.type == type_ for r in shipped(s)))
    staged = any(r.type == type_ and values_at(r.inputs, path) for r in shipped("staging"))
    stack = "staging" if staged else "prod"
    res = _first(stack, type_, path)
    _set(res.inputs, path, value)
    problems = limit_problems([res])
    assert any(path in p for p in problems), problems


def test_every_row_has_a_bad_value_test() -> None:
    covered = {(t, p) for t, p, _ in BAD}
    untested = [
        (limit.type, limit.path) for limit in LIMITS if (limit.type, limit.path) not in covered
    ]
    # Rows for resources the shipped stacks do not create are proven in the tests below.
    assert set(untested) <= {
        ("aws:lb/listenerRule:ListenerRule", "conditions[].pathPattern.values[]"),
        ("aws:lb/listener:Listener", "defaultActions[].redirect.statusCode"),
        ("aws:ec2/instance:Instance", "userDataBase64"),
        ("aws:ec2/instance:Instance", "metadataOptions.httpPutResponseHopLimit"),
        ("aws:ec2/instance:Instance", "tags"),
        ("aws:autoscaling/group:Group", "waitForCapacityTimeout"),
        ("aws:ssm/parameter:Parameter", "name"),
        ("aws:ssm/parameter:Parameter", "type"),
        ("aws:ssm/parameter:Parameter", "value"),
        ("aws:ssm/parameter:Parameter", "description"),
        ("aws:ssm/parameter:Parameter", "tags"),
        ("aws:route53/record:Record", "name"),
        ("aws:acm/certificate:Certificate", "subjectAlternativeNames"),
        ("aws:lb/targetGroup:TargetGroup", "namePrefix"),
        ("aws:lb/loadBalancer:LoadBalancer", "namePrefix"),
        ("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId"),
        ("aws:sns/topicSubscription:TopicSubscription", "protocol"),
    }, untested


def _res(type_: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(type=type_, name="bad", inputs=inputs)


@pytest.mark.parametrize(
    ("res", "path"),
    [
        (_res("aws:lb/listenerRule:ListenerRule", conditions=[{"pathPattern": {"values": ["/" + "p" * 128]}}]), "pathPattern"),
        (_res("aws:lb/listener:Listener", defaultActions=[{"redirect": {"statusCode": "HTTP_307"}}]), "redirect"),
        (_res("aws:ec2/instance:Instance", userDataBase64=BIG_USER_DATA), "userDataBase64"),
        (_res("aws:ec2/instance:Instance", metadataOptions={"httpPutResponseHopLimit": 0}), "HopLimit"),
        (_res("aws:ec2/instance:Instance", tags=TOO_MANY_TAGS), "tags"),
        (_res("aws:autoscaling/group:Group", waitForCapacityTimeout="25 minutes"), "waitForCapacityTimeout"),
        (_res("aws:ssm/parameter:Parameter", name="/aws/reserved/x"), "name"),
        (_res("aws:ssm/parameter:Parameter", name="/webstack/with space"), "name"),
        (_res("aws:ssm/parameter:Parameter", name="/" + "/".join("l" * 16)), "name"),
        (_res("aws:ssm/parameter:Parameter", name="/" + "n" * 1011), "name"),
        (_res("aws:ssm/parameter:Parameter", type="Secure"), "type"),
        (_res("aws:ssm/parameter:Parameter", value="v" * 4097), "value"),
        (_res("aws:ssm/parameter:Parameter", description="d" * 1025), "description"),
        (_res("aws:ssm/parameter:Parameter", tags=TOO_MANY_TAGS), "tags"),
        (_res("aws:lb/targetGroup:TargetGroup", namePrefix="webstack"), "namePrefix"),
        (_res("aws:lb/loadBalancer:LoadBalancer", namePrefix="-edge"), "namePrefix"),
        (_res("aws:route53/record:Record", name="l" * 64 + ".example.com"), "name"),
        (_res("aws:acm/certificate:Certificate", subjectAlternativeNames=[f"h{i}.x.io" for i in range(10)]), "subjectAlternativeNames"),
        (_res("aws:cloudwatch/logGroup:LogGroup", kmsKeyId="alias/aws/logs"), "kmsKeyId"),
        (_res("aws:sns/topicSubscription:TopicSubscription", protocol="mail"), "protocol"),
    ],
)  # fmt: skip
def test_rows_for_optional_resources_reject_bad_values(res: RecordedResource, path: str) -> None:
    problems = limit_problems([res])
    assert any(path in p for p in problems), problems


def test_priorities_unique_per_listener_and_condition_quotas() -> None:
    def rule(name: str, prio: int, hosts: list[str], listener: str = "l1") -> RecordedResource:
        conditions = [{"hostHeader": {"values": hosts}}, {"pathPattern": {"values": ["/*"]}}]
        return RecordedResource(
            type="aws:lb/listenerRule:ListenerRule",
            name=name,
            inputs={"listenerArn": listener, "priority": prio, "conditions": conditions},
        )

    assert limit_problems([rule("a", 10, ["a.io"]), rule("b", 10, ["b.io"], "l2")]) == []
    clash = limit_problems([rule("a", 10, ["a.io"]), rule("b", 10, ["b.io"])])
    assert any("PriorityInUse" in p for p in clash), clash
    five_hosts = limit_problems([rule("a", 1, [f"h{i}.io" for i in range(5)])])
    assert any("condition values, at most 5" in p for p in five_hosts), five_hosts
    wild = limit_problems([rule("a", 1, [f"*.h{i}.io" for i in range(4)] + ["*.x*.io"])])
    assert any("wildcards" in p for p in wild), wild


def test_health_check_timeout_must_be_below_interval() -> None:
    tg = _first("staging", "aws:lb/targetGroup:TargetGroup")
    tg.inputs["healthCheck"]["timeout"] = tg.inputs["healthCheck"]["interval"]
    assert any("smaller than the interval" in p for p in limit_problems([tg]))


ADMIN_AT_CAP = [f"198.51.100.{i}/32" for i in range(58)] + [
    f"2001:db8::{i:x}/128" for i in range(58)
]


@pytest.mark.parametrize("edge", ["nginx", "alb"])
def test_security_groups_stay_within_the_inbound_rule_quota_at_the_admin_cap(edge: str) -> None:
    """58 admin ranges per IP version (the spec's cap) plus webstack's own rules fit the default
    60 inbound rules per group and version; one rule more does not (the check can fail)."""
    resources = capture(linux_spec(edge=edge, top={"admin_cidrs": ADMIN_AT_CAP}))
    assert security_group_rule_problems(resources) == []
    admin = next(r for r in resources if r.type == SG_INGRESS and "admin" in r.name)
    group = admin.inputs["securityGroupId"]
    extra = [
        RecordedResource(
            type=SG_INGRESS, name=f"extra-{v}", inputs={"securityGroupId": group, k: c}
        )
        for v, (k, c) in enumerate([("cidrIpv4", "192.0.2.1/32"), ("cidrIpv4", "192.0.2.2/32")])
    ]
    problems = security_group_rule_problems([*resources, *extra])
    assert any("IPv4 rules, at most 60" in p for p in problems), problems


def test_the_longest_routes_the_spec_allows_fit_the_listener_rule_and_health_check() -> None:
    """The spec's bounds (components/spec/common.py) against the rows above: a 127-character
    path_prefix becomes a 128-character `<prefix>*`, a 1024-character health path fits the
    target group, and 3 host names (wildcards too) stay within one condition and one rule."""
    longest = linux_spec(
        path_prefix="/" + "p" * 125 + "/",
        health_path="/" + "h" * 1023,
        hostnames=["*.a.example.com", "*.b.example.com", "www.example.com"],
    )
    assert limit_problems(capture(longest)) == []


@pytest.mark.parametrize(
    "inputs",
    [
        {"period": 45, "evaluationPeriods": 1},
        {"period": 60, "evaluationPeriods": 1441},
        {"period": 60, "evaluationPeriods": 2, "datapointsToAlarm": 3},
    ],
)
def test_alarm_period_rules_can_fail(inputs: dict[str, Any]) -> None:
    """PutMetricAlarm: period 10/20/30 or n x 60; at most a day of periods; M <= N."""
    res = RecordedResource(type="aws:cloudwatch/metricAlarm:MetricAlarm", name="bad", inputs=inputs)
    assert any("PutMetricAlarm" in p for p in limit_problems([res]))
