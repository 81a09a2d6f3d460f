"""ReleaseRollout: the resource `pulumi up` waits on for an app's release (Linux or Windows) (a dynamic provider).

When the release pointer changes it runs webstack-release on the app's instances, rolling (SSM Run
Command, `MaxConcurrency` at a time, stop on the first failure), and fails the update unless every
serving instance reports the new release active, after putting the old pointer back and switching
the instances that had moved (components/aws/release_wait.py). When the launch template changes (AMI,
instance type) it first waits for the group's instance refresh to end, which the provider only
starts. Not an `aws.ssm.Association`: its `wait_for_success_timeout_seconds` waits on create only,
and even create may return while instances initialise (hashicorp/terraform-provider-aws#31175, as
issue 13 records; not re-verified in the provider's source here). Instances that appear while a
command's concurrency limit is full are skipped, so the boot path activates the pointer itself
(templates/linux/bootstrap.sh.j2) and the verdict counts every InService instance.

The deployer's own AWS credentials make the calls (boto3's usual chain, the stack's region).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic as dynamic
from pulumi import Input, ResourceOptions

from components.aws.release_wait import Rollout, roll_out, wait_for_instance_refresh

# Inputs whose change means: roll out again (a new pointer) or wait for a refresh (a new template).
# Not max_concurrency: it is how the next release rolls, and re-running the active release on
# every instance for it alone would be churn (update reads it from `news`, never from `olds`).
_WATCHED = ("pointer", "launch_template_version", "instance_ids")


class _RolloutProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        _apply(props, None)
        return dynamic.CreateResult(id_=f"{props['app']}-release", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in _WATCHED if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        _apply(news, olds)
        return dynamic.UpdateResult(outs=news)


def _apply(props: dict[str, Any], olds: dict[str, Any] | None) -> None:
    import json

    import boto3

    session = boto3.Session(region_name=props["region"])
    ssm, autoscaling = session.client("ssm"), session.client("autoscaling")
    asg = props.get("asg_name") or None
    if asg and olds and olds.get("launch_template_version") != props["launch_template_version"]:
        wait_for_instance_refresh(autoscaling, asg)
    pointer = json.loads(props["pointer"])
    roll_out(
        ssm,
        autoscaling,
        Rollout(
            app=props["app"],
            release_id=pointer["release"],
            script=props["script"],
            pointer_name=props["pointer_name"],
            asg_name=asg,
            instance_ids=tuple(props.get("instance_ids") or ()),
            max_concurrency=props["max_concurrency"],
            platform=props.get("platform") or "linux",
            release_command=bool(pointer.get("release_command")),
        ),
        previous_pointer=(olds or {}).get("pointer"),
        pointer=props["pointer"],
    )


class ReleaseRollout(dynamic.Resource):
    """Waits for a release (and any instance refresh) on every instance of one app."""

    def __init__(
        self,
        name: str,
        *,
        app: str,
        region: Input[str],
        pointer: Input[str],
        pointer_name: Input[str],
        script: str,
        asg_name: Input[str] | None = None,
        instance_ids: Input[list[str]] | None = None,
        launch_template_version: Input[int] | None = None,
        max_concurrency: str = "1",
        platform: str = "linux",
        opts: ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "app": app,
            "region": region,
            "pointer": pointer,
            "pointer_name": pointer_name,
            "script": script,
            "asg_name": asg_name or "",
            "instance_ids": instance_ids or [],
            "launch_template_version": launch_template_version or 0,
            "max_concurrency": max_concurrency,
            "platform": platform,
        }
        super().__init__(_RolloutProvider(), name, props, opts)


def rollout_for(
    name: str,
    *,
    app: str,
    pointer: Any,
    script: str,
    fleet: Any,
    parent: pulumi.Resource,
    platform: str = "linux",
    region: Input[str] | None = None,
    max_concurrency: str = "1",
) -> ReleaseRollout:
    """The rollout of a web tier: after its fleet, watching its pointer and launch template."""
    import pulumi_aws as aws

    if region is None:  # used alone: WebStack hands its one lookup down
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region
    return ReleaseRollout(
        f"{name}-rollout",
        app=app,
        region=region,
        pointer=pointer.insecure_value,
        pointer_name=pointer.name,
        script=script,
        asg_name=fleet.asg_name,
        instance_ids=fleet.instance_id.apply(lambda i: [i]) if fleet.instance_id else None,
        launch_template_version=fleet.launch_template_version,
        max_concurrency=max_concurrency,
        platform=platform,
        opts=ResourceOptions(parent=parent, depends_on=[fleet, pointer]),
    )
