"""Logs: every CloudWatch log group expires its events (no unbounded, never-deleted logs)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import UNKNOWN, config, get, label, mandatory

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# CloudWatch Logs API Reference, PutRetentionPolicy `retentionInDays` (0 / unset: never expire).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
RETENTION_DAYS += (2192, 2557, 2922, 3288, 3653)


def validate_log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    limits = config(args, {"maxDays": 3653})
    days = get(args.props, "retentionInDays")
    what = label(args.resource_type, args.name)
    if days is UNKNOWN:
        return
    if not days:
        report(
            f"{what} keeps its events forever (no retentionInDays): logs of replaced "
            "instances pile up unbounded; set observability.retention_days.",
            None,
        )
    elif int(days) not in RETENTION_DAYS:
        report(f"{what}: retentionInDays {days} is not a CloudWatch Logs retention value.", None)
    elif int(days) > int(limits["maxDays"]):
        report(f"{what}: retentionInDays {days} is above this pack's maxDays.", None)


log_retention = mandatory(
    "log-group-retention",
    "CloudWatch log groups set a retention (one of CloudWatch's values, at most maxDays).",
    validate_log_retention,
    Severity.MEDIUM,
    config={"maxDays": {"type": "integer"}},
)

POLICIES: list[Any] = [log_retention]
