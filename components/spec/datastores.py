"""An app's databases and caches: data stores it already has (`datastores`) and the managed
PostgreSQL webstack can create for it (`database`).

A data store opens exactly one egress rule on the app's security group (its port, to its security
group or CIDR); nothing else opens. The limits of the managed database are AWS's (each cited).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.common import Cidr, Model, _check_cidr

# The engines' registered default ports (IANA service names postgresql, mysql, redis, memcache).
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379, "memcached": 11211}
# EC2 security group IDs: sg- and 8 or 17 hex digits (EC2 API reference, SecurityGroup GroupId).
SG_ID_PATTERN = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
# The widest range a data store may name: a data store is one host or subnet, never a network.
WIDEST_PREFIX = {4: 16, 6: 48}
# RDS for PostgreSQL major versions in standard support (AWS RDS User Guide, "Supported PostgreSQL
# major versions": PostgreSQL 13 reaches end of standard support in February 2026).
POSTGRES_MAJOR_VERSIONS = ("14", "15", "16", "17")


class DataStore(Model):
    """A database or cache the app already runs: the app may connect to it, and only to it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,23}$", description="A name for the rule.")
    engine: Literal["postgresql", "mysql", "redis", "memcached", "other"] = Field(
        "postgresql", description="postgresql | mysql | redis | memcached | other (sets the port)."
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="TCP port (default: the engine's; needed for other)."
    )
    security_group_id: str | None = Field(
        None, pattern=SG_ID_PATTERN, description="The data store's security group (same VPC)."
    )
    cidr: Cidr | None = Field(
        None, description="Or the data store's address range (at most a /16, IPv6 /48)."
    )
    allow_ingress: bool = Field(
        False,
        description="Also add the matching ingress rule to the data store's security group "
        "(it must be in this VPC and webstack then owns that one rule).",
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = _check_cidr(v)
        net = ipaddress.ip_network(v)
        widest = WIDEST_PREFIX[net.version]
        if net.prefixlen < widest:
            raise ValueError(
                f"{v} is wider than a /{widest}: name the data store's own subnet or address"
            )
        return v

    @model_validator(mode="after")
    def _target(self) -> DataStore:
        if (self.security_group_id is None) == (self.cidr is None):
            raise ValueError("set exactly one of security_group_id or cidr")
        if self.allow_ingress and self.security_group_id is None:
            raise ValueError("allow_ingress needs security_group_id (a CIDR has no group to edit)")
        if self.engine == "other" and self.port is None:
            raise ValueError("engine other needs a port")
        return self

    @property
    def tcp_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.engine]


class ManagedDatabase(Model):
    """A PostgreSQL RDS instance webstack creates for the app, private and encrypted."""

    engine_version: Literal[POSTGRES_MAJOR_VERSIONS] = Field(  # type: ignore[valid-type]
        "16", description="PostgreSQL major version (RDS picks the newest minor)."
    )
    instance_class: str = Field(
        "db.t4g.micro",
        pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
        description="RDS instance class (db.t4g.micro is the smallest Graviton class).",
    )
    # gp3 for PostgreSQL: 20..65536 GiB (AWS RDS User Guide, CHAP_Storage.html "gp3 storage").
    allocated_storage_gb: int = Field(20, ge=20, le=65536, description="gp3 storage (GiB).")
    # 1..35: AWS RDS API CreateDBInstance BackupRetentionPeriod allows 0..35, 0 turns backups
    # off (refused here: automated backups are required).
    backup_retention_days: int = Field(7, ge=1, le=35, description="Automated backups (days).")
    # PostgreSQL DBName: 1..63 letters, digits, underscores, starting with a letter (AWS RDS API
    # CreateDBInstance DBName, "Amazon RDS for PostgreSQL").
    db_name: str = Field(
        "app", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$", description="Database name."
    )
    # MasterUsername for PostgreSQL: 1..63 letters, digits, underscores, a letter first, not a
    # reserved word (AWS RDS API CreateDBInstance MasterUsername).
    username: str = Field(
        "app_owner", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$", description="Master user name."
    )
    multi_az: bool = Field(False, description="A standby in a second AZ (doubles the price).")
    deletion_protection: bool | None = Field(
        None, description="Refuse deletion (default: on in production); a final snapshot too."
    )

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        # PostgreSQL reserves these role names; RDS refuses `rdsadmin` and `postgres` is fine.
        if v.lower() in {"rdsadmin", "public", "user", "admin", "pg_signal_backend"}:
            raise ValueError(f"{v!r} is a reserved role name on RDS for PostgreSQL")
        return v


def managed_database_problems(
    app_name: str, database: ManagedDatabase | None, env: set[str], private_az_count: int
) -> list[str]:
    """Cross-field rules of a managed database (the app's env names, the network)."""
    if database is None:
        return []
    where = f"apps.{app_name}.database"
    clash = sorted(env & set(DATABASE_ENV_NAMES))
    if clash:
        return [f"{where}: {', '.join(clash)} are set by the managed database; remove them"]
    # A DB subnet group must cover at least two AZs (AWS RDS User Guide, USER_VPC.WorkingWithRDS
    # InstanceinaVPC "DB subnet groups": "at least two subnets in at least two AZs").
    if private_az_count < 2:
        return [f"{where}: RDS needs private subnets in >= 2 AZs (network.az_count >= 2)"]
    return []


# The variables the managed database hands the app (libpq's own names besides DATABASE_URL).
DATABASE_ENV_NAMES = (
    "DATABASE_URL",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSSLMODE",
    "PGSSLROOTCERT",
)
