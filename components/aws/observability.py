"""Observability components: per-app log groups, ALB access-log bucket, alarms + topic + dashboard.

Decisions (names, thresholds, dimensions, the dashboard body, the ELB log-delivery principal) are
pure functions in `observability_plan` and `dashboard_plan`; here they become resources. The
dimensions of every alarm are this stack's own load balancer, target groups and groups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.aws.buckets import private_bucket
from components.aws.context import AwsContext, lookup_aws_context
from components.plan.access_logs import ACCESS_LOG_PREFIX, access_log_bucket_policy
from components.plan.dashboard import AppRefs, dashboard_body, dashboard_name, dashboard_url
from components.plan.iam import ssm_prefix
from components.plan.naming import short_hash
from components.plan.observability import (
    AlarmPlan,
    app_alarms,
    log_group_name,
    log_groups,
    stack_alarms,
)
from components.spec.stack import AppSpec, StackSpec


@dataclass(frozen=True, kw_only=True)
class AppLogGroupsArgs:
    app: AppSpec
    prefix: str  # the app's prefix (iam_plan.ssm_prefix): the role may write under it only
    retention_days: int
    kms_key_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class AppLogGroups(pulumi.ComponentResource):
    """One log group per stream of an app, created before any VM ships to it."""

    names: dict[str, Output[str]]

    def __init__(
        self, name: str, args: AppLogGroupsArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:AppLogGroups", name, None, opts)
        self.names = {}
        for stream in log_groups(args.app):
            group = aws.cloudwatch.LogGroup(
                f"{name}-{stream}",
                # Explicit: the agent config and the role policy name it (observability_plan).
                name=log_group_name(args.prefix, stream),
                retention_in_days=args.retention_days,
                kms_key_id=args.kms_key_arn,
                tags=args.tags,
                opts=ResourceOptions(parent=self),
            )
            self.names[stream] = group.name
        self.register_outputs({"names": self.names})


@dataclass(frozen=True, kw_only=True)
class AccessLogBucketArgs:
    expire_days: int
    force_destroy: bool = False
    # Production: `pulumi destroy` leaves the bucket (and its settings) with the logs in it.
    keep_on_destroy: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    context: AwsContext | None = None  # None: the bucket looks up account, region, partition


class AccessLogBucket(pulumi.ComponentResource):
    """Private SSE-S3 bucket the ALB writes access logs to (ELB supports only SSE-S3 here:
    ALB Guide, "Access logs for your Application Load Balancer", "the only server-side
    encryption option that's supported is Amazon S3-managed keys (SSE-S3)")."""

    bucket_name: Output[str]
    prefix: str

    def __init__(
        self, name: str, args: AccessLogBucketArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:AccessLogBucket", name, None, opts)
        child = ResourceOptions(parent=self, retain_on_delete=args.keep_on_destroy or None)
        store = private_bucket(
            name,
            force_destroy=args.force_destroy and not args.keep_on_destroy,
            tags=args.tags,
            opts=child,
        )
        bucket, block, sse = store.bucket, store.public_access_block, store.encryption
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.expire_days
                    ),
                )
            ],
            opts=child,
        )
        ctx = args.context or lookup_aws_context(self)
        policy = aws.s3.BucketPolicy(
            f"{name}-elb-delivery",
            bucket=bucket.id,
            policy=Output.all(bucket.arn, ctx.account_id, ctx.region, ctx.partition).apply(
                lambda v: json.dumps(access_log_bucket_policy(*v))
            ),
            opts=ResourceOptions.merge(child, ResourceOptions(depends_on=[block])),
        )
        self.prefix = ACCESS_LOG_PREFIX
        # ELB checks it may write when access logs are turned on, so the load balancer must wait
        # for the policy: the name it reads resolves only once the policy and encryption exist.
        self.bucket_name = Output.all(bucket.bucket, policy.id, sse.id).apply(lambda v: v[0])
        self.register_outputs({"bucket_name": self.bucket_name})


@dataclass(frozen=True, kw_only=True)
class AppTargets:
    """Where one app's metrics live (Outputs of its tier and target group)."""

    app: AppSpec
    prefix: str
    target_group_suffix: Input[str] | None = None
    asg_name: Input[str] | None = None
    instance_id: Input[str] | None = None


@dataclass(frozen=True, kw_only=True)
class AlarmsArgs:
    spec: StackSpec
    apps: list[AppTargets]
    load_balancer_suffix: Input[str] | None = None
    scope: str = ""  # `<project>/<stack>`: makes the dashboard name unique per account
    tags: dict[str, str] = field(default_factory=dict)
    context: AwsContext | None = None  # None: the dashboard looks up its region


class Alarms(pulumi.ComponentResource):
    """SNS topic (+ optional e-mail), every alarm of the stack and the dashboard."""

    topic_arn: Output[str]
    dashboard_url: Output[str]
    alarm_count: int

    def __init__(self, name: str, args: AlarmsArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("webstack:observability:Alarms", name, None, opts)
        spec = args.spec
        obs = spec.observability
        child = ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            # With a customer key CloudWatch must be allowed to use it (its key policy); the
            # AWS-managed aws/sns key cannot grant that, so none is set by default.
            kms_master_key_id=obs.kms_key_arn,
            tags=args.tags,
            opts=child,
        )
        if obs.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=obs.alarm_email,
                opts=child,
            )
        lb = args.load_balancer_suffix
        self.alarm_count = 0
        for plan in stack_alarms(spec):
            self._alarm(f"{name}-{plan.key}", plan, {"lb": lb}, topic.arn)
        for target in args.apps:
            refs = {
                "lb": lb,
                "tg": target.target_group_suffix,
                "asg": target.asg_name,
                "instance": target.instance_id,
            }
            for plan in app_alarms(spec, target.app, target.prefix):
                self._alarm(f"{name}-{target.app.name}-{plan.key}", plan, refs, topic.arn)

        region = (args.context or lookup_aws_context(self)).region
        board_name = dashboard_name(spec.environment, short_hash(args.scope or name))
        values = [Output.all(t.target_group_suffix, t.asg_name, t.instance_id) for t in args.apps]
        body = Output.all(region, lb, *values).apply(
            lambda v: json.dumps(
                dashboard_body(
                    spec,
                    v[0],
                    v[1],
                    [
                        AppRefs(t.app.name, t.prefix, t.app.os, *refs)
                        for t, refs in zip(args.apps, v[2:], strict=True)
                    ],
                ),
                sort_keys=True,
            )
        )
        board = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=board_name, dashboard_body=body, opts=child
        )
        self.topic_arn = topic.arn
        self.dashboard_url = Output.all(region, board.dashboard_name).apply(
            lambda v: dashboard_url(*v)
        )
        self.register_outputs({"topic_arn": self.topic_arn, "dashboard_url": self.dashboard_url})

    def _alarm(
        self, name: str, plan: AlarmPlan, refs: dict[str, Input[str] | None], topic: Output[str]
    ) -> None:
        def dims(metric) -> dict[str, Input[str]]:
            return {key: refs[symbol] for key, symbol in metric.dimensions}  # type: ignore[misc]

        common = dict(
            alarm_description=plan.description,
            comparison_operator=plan.comparison,
            evaluation_periods=plan.minutes,
            datapoints_to_alarm=plan.minutes,
            threshold=plan.threshold,
            treat_missing_data=plan.missing,
            alarm_actions=[topic],
            ok_actions=[topic],
            opts=ResourceOptions(parent=self),
        )
        if plan.expression:
            queries = [
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=m.id,
                    return_data=False,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace=m.namespace,
                        metric_name=m.name,
                        stat=m.stat,
                        period=60,
                        dimensions=dims(m),
                    ),
                )
                for m in plan.metrics
            ]
            queries.append(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate", expression=plan.expression, label=plan.key, return_data=True
                )
            )
            aws.cloudwatch.MetricAlarm(name, metric_queries=queries, **common)
        else:
            (m,) = plan.metrics
            stat = (
                {"extended_statistic": m.stat} if m.stat.startswith("p") else {"statistic": m.stat}
            )
            aws.cloudwatch.MetricAlarm(
                name,
                namespace=m.namespace,
                metric_name=m.name,
                period=60,
                dimensions=dims(m) or None,
                **stat,
                **common,
            )
        self.alarm_count += 1


# -- wiring for WebStack (kept here so the stack's own module stays small) ---------------------
def access_logs_for(
    name: str,
    spec: StackSpec,
    tags: dict[str, str],
    parent: pulumi.Resource,
    context: AwsContext | None = None,
) -> AccessLogBucket | None:
    """The ALB access-log bucket when the stack creates its ALB and access logs are on."""
    if spec.edge.mode != "alb" or not spec.observability.access_logs_on(spec.production):
        return None
    return AccessLogBucket(
        f"{name}-access-logs",
        AccessLogBucketArgs(
            expire_days=spec.observability.access_log_days,
            force_destroy=not spec.production,
            keep_on_destroy=spec.production,
            tags=tags,
            context=context,
        ),
        ResourceOptions(parent=parent),
    )


def log_groups_for(
    name: str, spec: StackSpec, scope: str, tags: dict[str, str], parent: pulumi.Resource
) -> dict[str, AppLogGroups]:
    """app -> its log groups (none when observability is off); `scope` is the SSM scope."""
    obs = spec.observability
    if not obs.enabled:
        return {}
    return {
        app.name: AppLogGroups(
            f"{name}-{app.name}-logs",
            AppLogGroupsArgs(
                app=app,
                prefix=ssm_prefix(scope, app.name),
                retention_days=obs.retention_days,
                kms_key_arn=obs.kms_key_arn,
                tags={**tags, "webstack:app": app.name},
            ),
            ResourceOptions(parent=parent),
        )
        for app in spec.apps
    }


def alarms_for(
    name: str,
    spec: StackSpec,
    scope: str,
    lb_suffix: Input[str] | None,
    tg_suffixes: dict[str, Output[str]],
    tiers: dict[str, Any],
    tags: dict[str, str],
    parent: pulumi.Resource,
    context: AwsContext | None = None,
) -> Alarms | None:
    """The stack's alarms, topic and dashboard, on its own LB, target groups and groups."""
    if not spec.observability.enabled:
        return None
    targets = [
        AppTargets(
            app=app,
            prefix=ssm_prefix(scope, app.name),
            target_group_suffix=tg_suffixes.get(app.name),
            asg_name=tiers[app.name].asg_name,
            instance_id=tiers[app.name].instance_id,
        )
        for app in spec.apps
    ]
    return Alarms(
        f"{name}-alarms",
        AlarmsArgs(
            spec=spec,
            apps=targets,
            load_balancer_suffix=lb_suffix,
            scope=f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
            tags=tags,
            context=context,
        ),
        ResourceOptions(parent=parent),
    )
