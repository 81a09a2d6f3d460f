"""Edge for `edge.mode: alb`: the Application Load Balancer, its listeners and one target group per app.

HTTP only redirects to HTTPS; HTTPS uses an explicit TLS 1.2+/1.3 policy; invalid header fields
are dropped and desync mitigation is never `monitor`. Each app gets host/path rules and a target
group whose health check hits the app's health path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.plan.alb import TLS_POLICY
from components.plan.naming import RouteKey, load_balancer_name, rule_priorities, target_group_name
from components.plan.tier import TARGET_PORT
from components.spec.common import MAX_HOSTNAMES


@dataclass(frozen=True, kw_only=True)
class AlbRoute:
    app: str
    hostnames: list[str]
    path_prefix: str
    health_path: str
    deregistration_delay: int = 30
    priority: int | None = None  # None: derived from the app (components/plan/naming.py)
    target_port: int = TARGET_PORT  # the front proxy on the VM (components/plan/tier.py)


@dataclass(frozen=True, kw_only=True)
class ExistingLoadBalancer:
    """An ALB made elsewhere: only the target groups and listener rules are created."""

    arn: Input[str]
    dns_name: Input[str]
    zone_id: Input[str]
    https_listener_arn: Input[str]


@dataclass(frozen=True, kw_only=True)
class AlbArgs:
    vpc_id: Input[str]
    public_subnet_ids: Input[list[str]]
    security_group_id: Input[str]
    certificate_arn: Input[str]
    idle_timeout: int
    routes: list[AlbRoute]
    deletion_protection: bool = False
    zone_id: str | None = None  # when set, alias records point each app host name at the ALB
    # What replaces the VPC (its ID or planned CIDR): in target group names, see naming.py.
    network_key: str = ""
    # Makes physical names unique per account; default `<project>/<stack>`.
    name_scope: str | None = None
    # Bring your own load balancer (then certificate_arn, security_group_id and
    # public_subnet_ids are its own business and unused here).
    existing: ExistingLoadBalancer | None = None
    # ALB access logs: the bucket (SSE-S3, ELB delivery policy) and its key prefix; None = off.
    access_logs_bucket: Input[str] | None = None
    access_logs_prefix: str = "alb"
    tags: dict[str, str] = field(default_factory=dict)


class Alb(pulumi.ComponentResource):
    arn: Output[str]
    dns_name: Output[str]
    zone_id: Output[str]
    https_listener_arn: Output[str]
    target_group_arns: dict[str, Output[str]]
    # CloudWatch's LoadBalancer / TargetGroup dimension values (`app/...`, `targetgroup/...`).
    arn_suffix: Output[str]
    target_group_arn_suffixes: dict[str, Output[str]]

    def __init__(self, name: str, args: AlbArgs, opts: ResourceOptions | None = None) -> None:
        for route in args.routes:  # one host-header condition each: never drop a name
            if len(route.hostnames) > MAX_HOSTNAMES:
                raise ValueError(
                    f"AlbRoute {route.app}.hostnames: {len(route.hostnames)} names, at most "
                    f"{MAX_HOSTNAMES} (one ALB host-header condition)"
                )
        super().__init__("webstack:edge:Alb", name, None, opts)
        self._name, self._args = name, args
        self._scope = args.name_scope or f"{pulumi.get_project()}/{pulumi.get_stack()}"
        if args.existing is not None:
            e = args.existing
            self.arn, self.dns_name = Output.from_input(e.arn), Output.from_input(e.dns_name)
            self.zone_id = Output.from_input(e.zone_id)
            self.https_listener_arn = Output.from_input(e.https_listener_arn)
        else:
            self._load_balancer()
        # Stable per app (never a position): most specific routes get the lowest numbers.
        priorities = rule_priorities(
            RouteKey(r.app, tuple(sorted(r.hostnames)), r.path_prefix, r.priority)
            for r in args.routes
        )
        self.target_group_arn_suffixes = {}
        self.target_group_arns = {r.app: self._route(r, priorities[r.app]) for r in args.routes}
        # The ARN after `loadbalancer/` (what the provider's arn_suffix is), also for an ALB
        # brought by the caller.
        self.arn_suffix = self.arn.apply(lambda arn: arn.split(":loadbalancer/", 1)[-1])
        self.register_outputs(
            {
                "arn": self.arn,
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "https_listener_arn": self.https_listener_arn,
                "target_group_arns": self.target_group_arns,
            }
        )

    # long: the ALB and both listeners (HTTP only redirects, HTTPS 404s by default) as one unit.
    def _load_balancer(self) -> None:
        """The ALB with an HTTP listener that only redirects, and the HTTPS listener (404 for
        what no rule claims)."""
        name, args, scope = self._name, self._args, self._scope
        child = ResourceOptions(parent=self)
        lb = aws.lb.LoadBalancer(
            f"{name}-alb",
            # Auto-naming would give `<logical>-<7 hex>`, over ELB's 32 characters.
            name=load_balancer_name(name, scope),
            load_balancer_type="application",
            internal=False,
            security_groups=[args.security_group_id],
            subnets=args.public_subnet_ids,
            idle_timeout=args.idle_timeout,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_deletion_protection=args.deletion_protection,
            enable_http2=True,
            access_logs=(
                aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=args.access_logs_bucket, prefix=args.access_logs_prefix, enabled=True
                )
                if args.access_logs_bucket is not None
                else None
            ),
            tags=args.tags,
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=lb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        port="443", protocol="HTTPS", status_code="HTTP_301"
                    ),
                )
            ],
            tags=args.tags,
            opts=child,
        )
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=lb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="text/plain", message_body="Not Found", status_code="404"
                    ),
                )
            ],
            tags=args.tags,
            opts=child,
        )
        self.arn, self.dns_name, self.zone_id = lb.arn, lb.dns_name, lb.zone_id
        self.https_listener_arn = https.arn

    def _route(self, route: AlbRoute, priority: int) -> Output[str]:
        """One app's target group, listener rule and DNS aliases; its target group's ARN."""
        name, args, scope = self._name, self._args, self._scope
        child = ResourceOptions(parent=self)
        port, protocol = route.target_port, "HTTP"
        tg = aws.lb.TargetGroup(
            f"{name}-{route.app}-tg",
            name=target_group_name(name, route.app, scope, port, protocol, args.network_key),
            port=port,
            protocol=protocol,
            vpc_id=args.vpc_id,
            target_type="instance",
            deregistration_delay=route.deregistration_delay,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=route.health_path,
                protocol="HTTP",
                matcher="200",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=args.tags,
            opts=child,
        )
        conditions = []
        if route.hostnames:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=route.hostnames)
                )
            )
        conditions.append(
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                    values=["/*" if route.path_prefix == "/" else f"{route.path_prefix}*"]
                )
            )
        )
        aws.lb.ListenerRule(
            f"{name}-{route.app}-rule",
            listener_arn=self.https_listener_arn,
            priority=priority,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)],
            conditions=conditions,
            tags=args.tags,
            opts=child,
        )
        if args.zone_id:
            self._dns_aliases(route, args.zone_id)
        self.target_group_arn_suffixes[route.app] = tg.arn_suffix
        return tg.arn

    def _dns_aliases(self, route: AlbRoute, zone_id: str) -> None:
        """Route53 alias records: each of the app's host names (not wildcards) to the ALB."""
        name, child = self._name, ResourceOptions(parent=self)
        for host in route.hostnames:
            if host.startswith("*."):
                continue
            aws.route53.Record(
                f"{name}-{route.app}-{host}",
                zone_id=zone_id,
                name=host,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.dns_name, zone_id=self.zone_id, evaluate_target_health=True
                    )
                ],
                opts=child,
            )
