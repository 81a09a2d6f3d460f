"""ManagedPostgres: an RDS for PostgreSQL instance for one app, reachable only from its tier.

Private subnets (a DB subnet group), encrypted storage, no public address, one ingress rule from
the app's security group (and the app's one matching egress rule), automated backups, TLS required
by the parameter group (`rds.force_ssl=1`), deletion protection and a final snapshot in production.
The app connects with `sslmode=verify-full` against the RDS CA bundle its VM's bootstrap fetched
(components/plan/rds_ca.py): the server certificate names the instance endpoint it dials.

The master password is a pulumi-random `RandomPassword`: a secret Output, so Pulumi keeps it
encrypted in state, and it reaches the VM only through the app's SSM SecureStrings (the same path
as every other secret), never through user data. RDS-managed passwords (Secrets Manager) were the
other choice; they would need a second fetch path on Linux and Windows and a rotation story the
env file cannot follow (a rotated secret breaks the running app until the next release).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pulumi import Input, Output, ResourceOptions

from components.plan.datastores import POSTGRES_PORT, managed_database_secrets, rds_name
from components.plan.rds_ca import vm_bundle_path
from components.spec.datastores import ManagedDatabase
from components.spec.stack import StackSpec

# 40 letters and digits: ~238 bits, inside RDS for PostgreSQL's 8..128 characters, free of the
# characters RDS refuses ("/", '"', "@", space: AWS RDS API CreateDBInstance MasterUserPassword),
# of URL escapes (DATABASE_URL) and of "%" (NSSM expands %NAME% in a Windows service environment).
PASSWORD_LENGTH = 40


@dataclass(frozen=True, kw_only=True)
class ManagedPostgresArgs:
    app: str
    database: ManagedDatabase
    environment: str
    production: bool
    vpc_id: Input[str]
    private_subnet_ids: Input[list[str]]
    app_security_group_id: Input[str]
    scope: str  # project/stack/component: part of the physical names' hash
    # Where the app's VMs keep the RDS CA bundle (components/plan/rds_ca.py vm_bundle_path):
    # DATABASE_URL and PGSSLROOTCERT name it for sslmode=verify-full.
    ca_bundle_path: str
    tags: dict[str, str] = field(default_factory=dict)


class ManagedPostgres(pulumi.ComponentResource):
    address: Output[str]
    security_group_id: Output[str]
    # DATABASE_URL and the PG* variables, each a secret Output (PGSSLMODE and PGSSLROOTCERT are
    # not secret: the tier's plain environment carries them, plan.datastores.TLS_VARIABLES)
    environment: dict[str, Output[str]]

    # long: one RDS graph top to bottom (security group and its rules, subnet group,
    # parameter group, instance); each block is one AWS object.
    def __init__(
        self, name: str, args: ManagedPostgresArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:database:ManagedPostgres", name, None, opts)
        child = ResourceOptions(parent=self)
        db = args.database
        protect = args.production if db.deletion_protection is None else db.deletion_protection
        names = {
            kind: rds_name(kind, args.environment, args.app, args.scope)
            for kind in ("db", "subnets", "params")
        }
        password = random.RandomPassword(
            f"{name}-password", length=PASSWORD_LENGTH, special=False, opts=child
        )
        sg = _database_security_group(name, args, child)
        subnets, params = _groups(name, args, names, child)
        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=names["db"],
            engine="postgres",
            engine_version=db.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            publicly_accessible=False,
            multi_az=db.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=params.name,
            db_name=db.db_name,
            username=db.username,
            password=password.result,
            backup_retention_period=db.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=protect,
            skip_final_snapshot=not protect,
            final_snapshot_identifier=_final_snapshot_name(name, names["db"], child)
            if protect
            else None,
            tags=args.tags,
            opts=child,
        )
        # verify-full: the RDS certificate names instance.address, the host DATABASE_URL uses.
        env = Output.all(instance.address, instance.port, password.result).apply(
            lambda v: managed_database_secrets(db, v[0], int(v[1]), v[2], args.ca_bundle_path)
        )
        keys = managed_database_secrets(db, "h", 1, "p", args.ca_bundle_path)
        self.environment = {key: Output.secret(env.apply(lambda e, k=key: e[k])) for key in keys}
        self.address = instance.address
        self.security_group_id = sg.id
        self.register_outputs({"address": self.address, "security_group_id": sg.id})


def managed_databases(
    name: str,
    spec: StackSpec,
    *,
    vpc_id: Input[str],
    private_subnet_ids: Input[list[str]],
    app_sg_ids: Mapping[str, Input[str]],
    scope: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> dict[str, ManagedPostgres]:
    """One RDS PostgreSQL per app that asks for `database:` (issue 17), keyed by app name."""
    return {
        a.name: ManagedPostgres(
            f"{name}-{a.name}-pg",
            ManagedPostgresArgs(
                app=a.name,
                database=a.database,
                environment=spec.environment,
                production=spec.production,
                vpc_id=vpc_id,
                private_subnet_ids=private_subnet_ids,
                app_security_group_id=app_sg_ids[a.name],
                scope=scope,
                ca_bundle_path=vm_bundle_path(a),
                tags=tags,
            ),
            ResourceOptions(parent=parent),
        )
        for a in spec.apps
        if a.database is not None
    }


def _groups(
    name: str, args: ManagedPostgresArgs, names: dict[str, str], opts: ResourceOptions
) -> tuple[aws.rds.SubnetGroup, aws.rds.ParameterGroup]:
    """The private subnets' DB subnet group and the parameter group that requires TLS."""
    subnets = aws.rds.SubnetGroup(
        f"{name}-subnets",
        name=names["subnets"],
        subnet_ids=args.private_subnet_ids,
        description=f"private subnets of app {args.app}'s PostgreSQL",
        tags=args.tags,
        opts=opts,
    )
    params = aws.rds.ParameterGroup(
        f"{name}-params",
        name=names["params"],
        family=f"postgres{args.database.engine_version}",
        description=f"app {args.app}: TLS required",
        parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
        tags=args.tags,
        opts=opts,
    )
    return subnets, params


def _database_security_group(
    name: str, args: ManagedPostgresArgs, opts: ResourceOptions
) -> aws.ec2.SecurityGroup:
    """The database's group, admitting PostgreSQL from the app's group only, and the app group's
    one matching egress rule (nothing else opens either way)."""
    sg = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=args.vpc_id,
        description=f"PostgreSQL of app {args.app}: only from its app tier",
        tags={**args.tags, "Name": f"{name}-sg"},
        opts=opts,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-app",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=POSTGRES_PORT,
        to_port=POSTGRES_PORT,
        referenced_security_group_id=args.app_security_group_id,
        description=f"PostgreSQL from app tier {args.app} only",
        opts=opts,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-app-out",
        security_group_id=args.app_security_group_id,
        ip_protocol="tcp",
        from_port=POSTGRES_PORT,
        to_port=POSTGRES_PORT,
        referenced_security_group_id=sg.id,
        description=f"app tier {args.app} to its managed PostgreSQL",
        opts=opts,
    )
    return sg


def _final_snapshot_name(name: str, identifier: str, opts: ResourceOptions) -> Output[str]:
    """`<identifier>-final-<8 hex>`: a fixed name made the second deletion (destroy, up, destroy
    again, or a replacement) fail with DBSnapshotAlreadyExists, since the first snapshot is kept.
    The RandomId is born with the instance and keyed to its identifier, so every instance that
    can be deleted gets its own name. Hex keeps it inside terraform-provider-aws
    validFinalSnapshotIdentifier (letters, digits, single hyphens, a letter first, <= 255)."""
    suffix = random.RandomId(
        f"{name}-final-id", byte_length=4, keepers={"identifier": identifier}, opts=opts
    )
    return Output.concat(identifier, "-final-", suffix.hex)
