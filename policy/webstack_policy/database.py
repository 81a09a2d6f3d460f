"""RDS policies: a database is encrypted, never publicly accessible, keeps automated backups, requires
TLS (parameter group) and, in production, has deletion protection and takes a final snapshot."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .loadbalancing import is_production
from .props import UNKNOWN, as_bool, as_int, get, label, mandatory

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_TYPES = (RDS_INSTANCE, RDS_CLUSTER)
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"


def _is_db(args: ResourceValidationArgs) -> bool:
    return args.resource_type in RDS_TYPES


def validate_rds_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_db(args):
        return
    value = as_bool(get(args.props, "storageEncrypted"))
    if value is not True and value is not UNKNOWN:
        report(
            f"{label(args.resource_type, args.name)} stores its data unencrypted: every snapshot "
            "and backup of it can be read by whoever gets a copy, and encryption cannot be "
            "turned on later without a restore. Set storageEncrypted: true.",
            None,
        )


def validate_rds_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != RDS_INSTANCE:
        return
    value = as_bool(get(args.props, "publiclyAccessible"))
    if value is True:
        report(
            f"{label(args.resource_type, args.name)} is publicly accessible: it gets a public "
            "address and only its security group stands between the internet and the database "
            "login. Set publiclyAccessible: false; apps reach it inside the VPC.",
            None,
        )


def validate_rds_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_db(args):
        return
    days = as_int(get(args.props, "backupRetentionPeriod"))
    if days is not UNKNOWN and days is not None and days < 1:
        report(
            f"{label(args.resource_type, args.name)}: backupRetentionPeriod is {days}, so RDS "
            "takes no automated backups and there is no point-in-time restore. Keep 1..35 days.",
            None,
        )


def validate_rds_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_db(args) or not is_production(args):
        return
    what = label(args.resource_type, args.name)
    protect = as_bool(get(args.props, "deletionProtection"))
    if protect is not True and protect is not UNKNOWN:
        report(
            f"{what} in a production stack has deletion protection off: a mistaken `pulumi "
            "destroy` or replacement deletes the data. Set deletionProtection: true.",
            None,
        )
    skip = as_bool(get(args.props, "skipFinalSnapshot"))
    if skip is True:
        report(
            f"{what} in a production stack skips its final snapshot: deleting it loses the data "
            "for good. Set skipFinalSnapshot: false with a finalSnapshotIdentifier.",
            None,
        )


def validate_rds_tls_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A PostgreSQL parameter group sets rds.force_ssl=1: without it the server also accepts
    plain-text logins (AWS RDS PostgreSQL.Concepts.General.SSL, "Requiring an SSL connection")."""
    if args.resource_type != RDS_PARAMS:
        return
    family = get(args.props, "family")
    params = get(args.props, "parameters", [])
    if family is UNKNOWN or params is UNKNOWN or not str(family).startswith("postgres"):
        return
    values = {str(get(p, "name")): str(get(p, "value")) for p in params or []}
    if values.get("rds.force_ssl") != "1":
        report(
            f"{label(args.resource_type, args.name)} does not require TLS: set the parameter "
            "rds.force_ssl to 1 so the database refuses plain-text connections.",
            None,
        )


rds_encrypted = mandatory(
    "rds-encrypted",
    "RDS databases encrypt their storage.",
    validate_rds_encrypted,
    Severity.HIGH,
)
rds_not_public = mandatory(
    "rds-not-publicly-accessible",
    "RDS instances are not publicly accessible.",
    validate_rds_private,
    Severity.CRITICAL,
)
rds_backups = mandatory(
    "rds-backups",
    "RDS databases keep automated backups (backupRetentionPeriod >= 1).",
    validate_rds_backups,
    Severity.HIGH,
)
rds_deletion_protection = mandatory(
    "rds-deletion-protection",
    "RDS databases in production stacks have deletion protection and a final snapshot.",
    validate_rds_deletion_protection,
    Severity.HIGH,
    config={"production": {"type": "boolean"}},
)

rds_tls_required = mandatory(
    "rds-tls-required",
    "RDS for PostgreSQL parameter groups require TLS (rds.force_ssl=1).",
    validate_rds_tls_required,
    Severity.HIGH,
)

POLICIES: list[Any] = [
    rds_encrypted,
    rds_not_public,
    rds_backups,
    rds_deletion_protection,
    rds_tls_required,
]
