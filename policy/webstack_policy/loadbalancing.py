"""Load balancer, target group and auto scaling group policies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import ASG, LISTENER_RULE_TYPES, LISTENER_TYPES, LOAD_BALANCER_TYPES, StackIndex
from .props import UNKNOWN, as_bool, config, elements, get, label, mandatory

TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")

# ELB policies that negotiate TLS 1.2 or newer only (no TLS 1.0/1.1, no CBC-only legacy sets).
ALLOWED_TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
]
PRODUCTION_TAG = "webstack:production"


def _is_alb(props: Mapping[str, Any]) -> bool:
    return get(props, "loadBalancerType", "application") == "application"


# -- listeners ----------------------------------------------------------------------------------
def _listener_protocol(props: Mapping[str, Any]) -> Any:
    proto = get(props, "protocol")
    if proto is None:  # an ALB listener without protocol is HTTP (port 443 is no exception)
        return "HTTP"
    return proto if proto is UNKNOWN else str(proto).upper()


def _is_https_redirect(action: Any) -> bool | Any:
    if action is UNKNOWN:
        return UNKNOWN
    if not isinstance(action, Mapping):
        return False
    if get(action, "type") != "redirect":
        return False
    proto = get(action, "redirect.protocol")
    return proto is UNKNOWN or str(proto).upper() == "HTTPS"


def validate_http_redirects(args: StackValidationArgs, report: ReportViolation) -> None:
    index = StackIndex(args.resources)
    why = (
        "plain HTTP sends cookies and form posts readable and changeable by anyone on the path; "
        "port 80 should only answer with a redirect to HTTPS"
    )
    for listener in index.of_type(*LISTENER_TYPES):
        if _listener_protocol(listener.props) != "HTTP":
            continue
        what = label(listener.resource_type, listener.name)
        actions = elements(get(listener.props, "defaultActions"))
        bad = [a for a in actions if _is_https_redirect(a) is False]
        if bad or not actions:
            kinds = ", ".join(str(get(a, "type")) for a in bad) or "none"
            report(
                f"{what} is HTTP and its default action is {kinds}, not a redirect to HTTPS: "
                f"{why}.",
                listener.urn,
            )
        for rule in index.referrers(listener, LISTENER_RULE_TYPES, ("listenerArn",)):
            bad = [
                a for a in elements(get(rule.props, "actions")) if _is_https_redirect(a) is False
            ]
            if bad:
                report(
                    f"{label(rule.resource_type, rule.name)} on HTTP {what} "
                    f"{', '.join(str(get(a, 'type')) for a in bad)}s instead of redirecting to "
                    f"HTTPS: {why}.",
                    rule.urn,
                )


http_redirects = StackValidationPolicy(
    name="alb-http-redirects-to-https",
    description="HTTP listeners (and their rules) only redirect to HTTPS.",
    validate=validate_http_redirects,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
)


def validate_tls_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENER_TYPES:
        return
    proto = _listener_protocol(args.props)
    if proto not in ("HTTPS", "TLS"):
        return
    allowed = config(args, {"allowedPolicies": ALLOWED_TLS_POLICIES})["allowedPolicies"]
    policy = get(args.props, "sslPolicy")
    if policy is UNKNOWN or policy in allowed:
        return
    shown = repr(policy) if policy else "not set (the default ELBSecurityPolicy-2016-08)"
    report(
        f"{label(args.resource_type, args.name)}: sslPolicy is {shown}, which is not an allowed "
        "TLS 1.2+ policy: TLS 1.0/1.1 and their weak ciphers are broken and fail PCI and most "
        f"audits. Use e.g. {ALLOWED_TLS_POLICIES[0]}.",
        None,
    )


tls_policy = mandatory(
    "alb-https-tls-policy",
    "HTTPS listeners name an allowed TLS 1.2+ security policy.",
    validate_tls_policy,
    Severity.HIGH,
    config={"allowedPolicies": {"type": "array", "items": {"type": "string"}}},
)


# -- the ALB itself -----------------------------------------------------------------------------
def validate_drop_invalid_headers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCER_TYPES or not _is_alb(args.props):
        return
    value = as_bool(get(args.props, "dropInvalidHeaderFields"))
    if value is not True and value is not UNKNOWN:
        report(
            f"{label(args.resource_type, args.name)} forwards header fields with invalid names "
            "(dropInvalidHeaderFields is off): such headers are a request-smuggling and "
            "header-injection vector into Nginx and the app. Set dropInvalidHeaderFields: true.",
            None,
        )


drop_invalid_headers = mandatory(
    "alb-drop-invalid-headers",
    "Application load balancers drop invalid HTTP header fields.",
    validate_drop_invalid_headers,
    Severity.MEDIUM,
)


def validate_desync(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCER_TYPES or not _is_alb(args.props):
        return
    mode = get(args.props, "desyncMitigationMode", "defensive")
    if mode == "monitor":
        report(
            f"{label(args.resource_type, args.name)}: desyncMitigationMode is 'monitor', which "
            "forwards ambiguous requests (HTTP desync / request smuggling) unchanged. Use "
            "'defensive' (the default) or 'strictest'.",
            None,
        )


desync = mandatory(
    "alb-desync-mitigation",
    "Application load balancers don't use desync mitigation mode 'monitor'.",
    validate_desync,
    Severity.MEDIUM,
)


def validate_alb_multi_az(args: StackValidationArgs, report: ReportViolation) -> None:
    need = int(config(args, {"minAzs": 2})["minAzs"])
    index = StackIndex(args.resources)
    for lb in index.of_type(*LOAD_BALANCER_TYPES):
        prop = "subnets" if get(lb.props, "subnets") is not None else "subnetMappings"
        count = index.az_count(lb, prop)
        if count is UNKNOWN:
            continue
        if count < need:
            report(
                f"{label(lb.resource_type, lb.name)} spans {count} availability zone(s): one AZ "
                f"outage takes the whole site down. Give it subnets in at least {need} AZs.",
                lb.urn,
            )


alb_multi_az = StackValidationPolicy(
    name="alb-multi-az",
    description="Load balancers span at least 2 availability zones.",
    validate=validate_alb_multi_az,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={"minAzs": {"type": "integer", "minimum": 1}}),
)


def is_production(args: Any) -> bool:
    """Production if the policy config says so, the stack carries tag webstack:production=true,
    or the stack's own config sets webstack:production (when the CLI passes stack config)."""
    cfg = config(args, {})
    if "production" in cfg:
        return bool(as_bool(cfg["production"]))
    tags = getattr(args, "stack_tags", None) or {}
    if PRODUCTION_TAG in tags:
        return bool(as_bool(tags[PRODUCTION_TAG]))
    try:
        import pulumi

        value = pulumi.Config("webstack").get_bool("production")
        if value is not None:
            return value
    except Exception:
        pass
    return os.environ.get("WEBSTACK_PRODUCTION", "").lower() in ("1", "true", "yes")


def validate_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCER_TYPES or not is_production(args):
        return
    value = as_bool(get(args.props, "enableDeletionProtection"))
    if value is not True and value is not UNKNOWN:
        report(
            f"{label(args.resource_type, args.name)} in a production stack has deletion "
            "protection off: a mistaken `pulumi destroy` or replacement deletes the site's entry "
            "point and its DNS target. Set enableDeletionProtection: true.",
            None,
        )


deletion_protection = mandatory(
    "alb-deletion-protection",
    "Load balancers in production stacks (policy config `production`, stack tag "
    "webstack:production=true, or stack config webstack:production) have deletion protection.",
    validate_deletion_protection,
    Severity.MEDIUM,
    config={"production": {"type": "boolean"}},
)


# -- target groups ------------------------------------------------------------------------------
def validate_health_check_path(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TARGET_GROUP_TYPES:
        return
    p = args.props
    proto = get(p, "protocol")
    if get(p, "targetType") in ("lambda", "alb") or proto in ("TCP", "UDP", "TLS", "TCP_UDP"):
        return
    what = label(args.resource_type, args.name)
    check = get(p, "healthCheck")
    if check is UNKNOWN:
        return
    enabled = as_bool(get(check, "enabled")) if isinstance(check, Mapping) else None
    path = get(check, "path") if isinstance(check, Mapping) else None
    if enabled is False:
        report(f"{what} disables health checks: a broken instance keeps getting traffic.", None)
    elif path is UNKNOWN:
        return
    elif not (isinstance(path, str) and path.startswith("/")):
        report(
            f"{what} has no health check path: the default '/' renders a full page (slow, may "
            "need a database or a Host the app accepts) and a broken app may still answer it. "
            "Point healthCheck.path at the app's cheap health endpoint (e.g. /healthz).",
            None,
        )


health_check_path = mandatory(
    "target-group-health-check-path",
    "HTTP(S) target groups have an enabled health check with an explicit path.",
    validate_health_check_path,
    Severity.MEDIUM,
)


# -- auto scaling groups ------------------------------------------------------------------------
def validate_asg_launch_template(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ASG:
        return
    p = args.props
    what = label(args.resource_type, args.name)
    if get(p, "launchConfiguration") not in (None, ""):
        report(
            f"{what} uses a launch configuration: they are deprecated, can't require IMDSv2 "
            "per version or roll back, and get no new instance types. Use a launch template.",
            None,
        )
    elif get(p, "launchTemplate") is None and get(p, "mixedInstancesPolicy") is None:
        report(f"{what} has no launch template (nothing defines its instances' hardening).", None)


asg_launch_template = mandatory(
    "asg-launch-template",
    "Auto scaling groups launch from a launch template.",
    validate_asg_launch_template,
    Severity.MEDIUM,
)


def validate_asg_elb_health(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ASG:
        return
    p = args.props
    what = label(args.resource_type, args.name)
    kind = get(p, "healthCheckType", "EC2")
    if kind is UNKNOWN:
        return
    if str(kind).upper() != "ELB":
        report(
            f"{what} uses {kind} health checks: EC2 checks only see a running VM, so an instance "
            "whose app is dead stays in service forever. Set healthCheckType: ELB.",
            None,
        )
        return
    targets = elements(get(p, "targetGroupArns")) + elements(get(p, "loadBalancers"))
    if not targets:
        report(
            f"{what} uses ELB health checks but is attached to no target group, so nothing ever "
            "checks the app. Attach it to the load balancer's target group.",
            None,
        )


asg_elb_health = mandatory(
    "asg-elb-health-check",
    "Auto scaling groups use ELB health checks (and are attached to a target group).",
    validate_asg_elb_health,
    Severity.MEDIUM,
)


def validate_asg_multi_az(args: StackValidationArgs, report: ReportViolation) -> None:
    need = int(config(args, {"minAzs": 2})["minAzs"])
    index = StackIndex(args.resources)
    for group in index.of_type(ASG):
        if get(group.props, "vpcZoneIdentifiers") is not None:
            count = index.az_count(group, "vpcZoneIdentifiers")
        else:
            zones = elements(get(group.props, "availabilityZones"))
            count = UNKNOWN if UNKNOWN in zones else len(set(zones))
        if count is UNKNOWN:
            continue
        if count < need:
            report(
                f"{label(group.resource_type, group.name)} spans {count} availability zone(s): an "
                f"AZ outage removes all its capacity. Use subnets in at least {need} AZs.",
                group.urn,
            )


asg_multi_az = StackValidationPolicy(
    name="asg-multi-az",
    description="Auto scaling groups span at least 2 availability zones.",
    validate=validate_asg_multi_az,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={"minAzs": {"type": "integer", "minimum": 1}}),
)

POLICIES: list[Any] = [
    http_redirects,
    tls_policy,
    drop_invalid_headers,
    desync,
    alb_multi_az,
    deletion_protection,
    health_check_path,
    asg_launch_template,
    asg_elb_health,
    asg_multi_az,
]
