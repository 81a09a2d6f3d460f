"""Recorded SSM Run Command and Auto Scaling answers for the release channel's Stubber tests
(Linux and Windows): one group `shop-asg` in eu-west-1, commands with 36-character ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from botocore.stub import ANY, Stubber


def clients() -> tuple[Any, Any, Stubber, Stubber]:
    kw = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    ssm, asg = boto3.client("ssm", **kw), boto3.client("autoscaling", **kw)
    return ssm, asg, Stubber(ssm), Stubber(asg)


def instance(iid: str, state: str) -> dict[str, Any]:
    return {
        "InstanceId": iid,
        "AvailabilityZone": "eu-west-1a",
        "LifecycleState": state,
        "HealthStatus": "Healthy",
        "ProtectedFromScaleIn": False,
    }


def asg_body(instances: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "AutoScalingGroupName": "shop-asg",
        "MinSize": 1,
        "MaxSize": 4,
        "DesiredCapacity": len(instances),
        "DefaultCooldown": 300,
        "AvailabilityZones": ["eu-west-1a"],
        "HealthCheckType": "ELB",
        "CreatedTime": "2026-01-01T00:00:00Z",
        "Instances": instances,
    }


def group(asg: Stubber, *ids: str, pending: str = "") -> None:
    """The group's InService instances `ids` (and one Pending instance, when named)."""
    instances = [instance(i, "InService") for i in ids]
    if pending:
        instances.append(instance(pending, "Pending"))
    asg.add_response(
        "describe_auto_scaling_groups",
        {"AutoScalingGroups": [asg_body(instances)]},
        {"AutoScalingGroupNames": ["shop-asg"]},
    )


def send_params(document: str, run: str, max_concurrency: str = "1") -> dict[str, Any]:
    return {
        "DocumentName": document,
        "Comment": ANY,
        "Parameters": {"commands": [run]},
        "MaxConcurrency": max_concurrency,
        "MaxErrors": "0",
        "TimeoutSeconds": 900,
    }


def record_command(
    ssm: Stubber,
    name: str,
    results: dict[str, tuple[str, str]],
    *,
    document: str,
    run: str,
    plugin: str,
    statuses: Sequence[str] = ("InProgress", "Success"),
    max_concurrency: str = "1",
    **where: Any,
) -> None:
    """One SendCommand, its ListCommands polls (`statuses`) and its invocations:
    {instance: (status, output)}, each with one plugin named `plugin`; `max_concurrency`: the
    share SendCommand must be given."""
    cid = f"{name}-0000-0000-0000-000000000000".rjust(36, "0")  # SSM's ids are 36 long
    ssm.add_response(
        "send_command",
        {"Command": {"CommandId": cid}},
        {**send_params(document, run, max_concurrency), **where},
    )
    for status in statuses:
        ssm.add_response("list_commands", {"Commands": [{"CommandId": cid, "Status": status}]})
    invocations = [
        {
            "CommandId": cid,
            "InstanceId": iid,
            "Status": status,
            "CommandPlugins": [{"Name": plugin, "Output": out}],
        }
        for iid, (status, out) in results.items()
    ]
    ssm.add_response(
        "list_command_invocations",
        {"CommandInvocations": invocations},
        {"CommandId": cid, "Details": True},
    )
