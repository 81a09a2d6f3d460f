"""Pure decisions about an app's data stores (no Pulumi): the security group rules each one opens,
the managed database's physical names, and the connection variables the app gets.

One list of rules reaches the security groups (components/aws/security.py) and the faithful and
policy tests, so the egress the app gets is exactly what the stack file declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from components.plan.naming import short_hash
from components.plan.rds_ca import RDS_SSLMODE, vm_bundle_path
from components.spec.datastores import ManagedDatabase, managed_database_problems
from components.spec.stack import AppSpec, StackSpec

POSTGRES_PORT = 5432
# libpq sslmode: `require` encrypts and refuses plain text (RDS refuses it too: rds.force_ssl=1)
# but accepts any certificate. A managed database gets verify-full (components/plan/rds_ca.py).
DEFAULT_SSLMODE = "require"
# AWS VPC quotas (docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html): 60 inbound and
# 60 outbound rules per security group by default; 2 (80/443) + at most 10 data stores fits.
RULES_PER_GROUP = 60


@dataclass(frozen=True)
class DataStoreRule:
    """One egress rule on the app's group (and, when asked, its mirror on the data store's)."""

    app: str
    key: str  # stable logical-name suffix: the data store's name
    port: int
    security_group_id: str | None
    cidr: str | None
    ingress_on_target: bool
    description: str


def datastore_rules(app: AppSpec) -> list[DataStoreRule]:
    """The rules of an app's declared data stores, keyed by name (not by list position)."""
    return [
        DataStoreRule(
            app=app.name,
            key=store.name,
            port=store.tcp_port,
            security_group_id=store.security_group_id,
            cidr=store.cidr,
            ingress_on_target=store.allow_ingress,
            description=f"app {app.name} to data store {store.name} ({store.engine})",
        )
        for store in sorted(app.datastores, key=lambda s: s.name)
    ]


def datastore_problems(spec: StackSpec) -> list[str]:
    """Duplicate names and the managed database's cross-field rules, one line each."""
    problems: list[str] = []
    for app in spec.apps:
        names = [s.name for s in app.datastores]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"apps.{app.name}.datastores: duplicate name(s) {', '.join(dupes)}")
        if app.database is not None and spec.edge.mode != "alb":
            problems.append(
                f"apps.{app.name}.database: a managed database lives in the private subnets; "
                "use edge.mode alb (the Nginx edge VM is in a public subnet)"
            )
        problems += managed_database_problems(
            app.name,
            app.database,
            set(app.env) | set(app.secrets),
            spec.network.private_az_count,
        )
    return problems


def rds_name(kind: str, environment: str, app: str, scope: str, max_len: int = 63) -> str:
    """A physical RDS name: lowercase letters, digits and single hyphens, a letter first, no
    hyphen last (terraform-provider-aws internal/service/rds/validate.go validIdentifier and
    validParamGroupName; DB identifier 1..63), with a hash of the scope so two projects or stacks
    of one account never clash."""
    readable = re.sub(r"-+", "-", f"ws-{environment}-{app}-{kind}")
    digest = short_hash(readable, scope)
    head = readable[: max_len - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def database_env(
    host: str,
    port: int,
    db_name: str,
    user: str,
    password: str,
    sslmode: str = DEFAULT_SSLMODE,
    sslrootcert: str | None = None,
) -> dict[str, str]:
    """DATABASE_URL and libpq's own variables for one PostgreSQL database; `sslrootcert` (the
    CA file that verify-full checks the server against) joins both when given."""
    query = f"sslmode={sslmode}"
    if sslrootcert:
        # "/" and ":" stay readable (C:/webstack/...): a "%" would be an NSSM expansion on Windows.
        query += f"&sslrootcert={quote(sslrootcert, safe='/:')}"
    url = (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
        f"{quote(db_name, safe='')}?{query}"
    )
    env = {
        "DATABASE_URL": url,
        "PGHOST": host,
        "PGPORT": str(port),
        "PGDATABASE": db_name,
        "PGUSER": user,
        "PGPASSWORD": password,
        "PGSSLMODE": sslmode,
    }
    return {**env, "PGSSLROOTCERT": sslrootcert} if sslrootcert else env


def managed_database_env(
    db: ManagedDatabase, host: str, port: int, password: str, ca_bundle: str
) -> dict[str, str]:
    """What a managed database hands its app: verify-full against the RDS CA bundle the VM's
    bootstrap fetched to `ca_bundle` (the server certificate names the endpoint `host`)."""
    return database_env(host, port, db.db_name, db.username, password, RDS_SSLMODE, ca_bundle)


# Not secret and the same on every VM of the app (the bundle's path is infrastructure): they travel
# in its plain environment (database_tls_environment), not as SecureStrings, so the policy pack's
# user-data scan never meets the bootstrap's own bundle path as a "secret value".
TLS_VARIABLES = ("PGSSLMODE", "PGSSLROOTCERT")


def managed_database_secrets(
    db: ManagedDatabase, host: str, port: int, password: str, ca_bundle: str
) -> dict[str, str]:
    """The managed database's variables that take the secrets' path (DATABASE_URL, PG*)."""
    env = managed_database_env(db, host, port, password, ca_bundle)
    return {k: v for k, v in env.items() if k not in TLS_VARIABLES}


def database_tls_environment(app: AppSpec) -> dict[str, str]:
    """PGSSLMODE and PGSSLROOTCERT of an app with a managed database, for its plain environment
    (the release's app.env, as DATABASE_URL's own query says them); {} without one."""
    if app.database is None:
        return {}
    return {"PGSSLMODE": RDS_SSLMODE, "PGSSLROOTCERT": vm_bundle_path(app)}


def database_secret_names(app: AppSpec) -> list[str]:
    """The variables a managed database adds to the app's secrets (none without one)."""
    if app.database is None:
        return []
    return list(managed_database_secrets(app.database, "h", 1, "p", vm_bundle_path(app)))


def with_database_secrets(app: AppSpec, names: list[str]) -> AppSpec:
    """The app as its tier deploys it: the managed database's variables join its secrets, so they
    take the secrets' path (SSM SecureString -> 0600 env file / service environment)."""
    if not names:
        return app
    return app.model_copy(update={"secrets": [*app.secrets, *names]})
