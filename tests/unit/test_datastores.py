"""Data stores (issue 17): the spec's rules, the security group rules they open (exactly those),
and the managed PostgreSQL under mocks: private, encrypted, reachable only from its app."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from components.plan.checks import parse_stack_spec
from components.plan.datastores import (
    TLS_VARIABLES,
    database_env,
    database_secret_names,
    rds_name,
)
from components.spec.errors import SpecError
from components.tooling.mocks import RecordedResource, build_webstack, run_under_mocks
from tests.helpers.specs import sample_app
from tests.policy.stacks import EXTRA_STACKS, ROOT

EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
RDS = "aws:rds/instance:Instance"


def _stack(production: bool = False, edge: str = "alb", **app: Any) -> dict[str, Any]:
    return {
        "environment": "dbtest",
        "production": production,
        "edge": {"mode": edge},
        "apps": [
            sample_app(
                "web",
                "django",
                **{
                    **({"linux": {"capacity": {"min": 1, "max": 1}}} if edge == "nginx" else {}),
                    **app,
                },
            )
        ],
    }


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ({"name": "a"}, "exactly one of security_group_id or cidr"),
        (
            {"name": "a", "cidr": "10.0.0.0/24", "security_group_id": "sg-0123456789abcdef0"},
            "exactly one",
        ),
        ({"name": "a", "cidr": "10.0.0.0/8"}, "wider than a /16"),
        ({"name": "a", "cidr": "0.0.0.0/0"}, "wider than a /16"),
        ({"name": "a", "cidr": "10.0.0.0/24", "allow_ingress": True}, "allow_ingress needs"),
        ({"name": "a", "engine": "other", "cidr": "10.0.0.5/32"}, "engine other needs a port"),
        ({"name": "a", "security_group_id": "sg-123"}, "datastores"),
        ({"name": "a", "cidr": "10.0.0.5/32", "port": 70000}, "port"),
    ],
)
def test_bad_datastores_fail_with_one_line(store: dict[str, Any], expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_stack_spec(_stack(datastores=[store]))
    assert expected in str(err.value), str(err.value)
    assert "Traceback" not in str(err.value)


def test_duplicate_datastore_names_fail() -> None:
    stores = [{"name": "a", "cidr": "10.0.0.5/32"}, {"name": "a", "cidr": "10.0.0.6/32"}]
    with pytest.raises(SpecError, match="duplicate name"):
        parse_stack_spec(_stack(datastores=stores))


@pytest.mark.parametrize(
    ("top", "app", "expected"),
    [
        ({"edge": "nginx"}, {"database": {}}, "use edge.mode alb"),
        ({}, {"database": {}, "secrets": ["DATABASE_URL"]}, "DATABASE_URL are set by the managed"),
        ({}, {"database": {"backup_retention_days": 0}}, "backup_retention_days"),
        ({}, {"database": {"backup_retention_days": 36}}, "backup_retention_days"),
        ({}, {"database": {"allocated_storage_gb": 19}}, "allocated_storage_gb"),
        ({}, {"database": {"engine_version": "12"}}, "engine_version"),
        ({}, {"database": {"instance_class": "t3.micro"}}, "instance_class"),
        ({}, {"database": {"username": "rdsadmin"}}, "reserved"),
        ({}, {"database": {"db_name": "1app"}}, "db_name"),
    ],
)
def test_bad_managed_database_fails(
    top: dict[str, Any], app: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_stack_spec(_stack(**top, **app))
    assert expected in str(err.value), str(err.value)


def test_database_env_escapes_and_requires_tls() -> None:
    env = database_env("db.example", 5432, "app", "u@x", "p/w:?")
    assert (
        env["DATABASE_URL"] == "postgresql://u%40x:p%2Fw%3A%3F@db.example:5432/app?sslmode=require"
    )
    assert env["PGSSLMODE"] == "require" and env["PGPASSWORD"] == "p/w:?"
    assert "PGSSLROOTCERT" not in env and "sslrootcert" not in env["DATABASE_URL"]


def test_database_env_carries_the_ca_file_for_verify_full() -> None:
    env = database_env("h", 5432, "app", "u", "p", "verify-full", "/etc/ws ca/root.crt")
    assert env["DATABASE_URL"].endswith("?sslmode=verify-full&sslrootcert=/etc/ws%20ca/root.crt")
    assert env["PGSSLROOTCERT"] == "/etc/ws ca/root.crt" and env["PGSSLMODE"] == "verify-full"


@pytest.mark.parametrize(("env", "app"), [("a" * 24, "b" * 24), ("x", "a--b"), ("e", "z")])
def test_rds_names_fit_valididentifier(env: str, app: str) -> None:
    for kind in ("db", "subnets", "params"):
        name = rds_name(kind, env, app, "/webstack/p/s/o")
        assert len(name) <= 63 and name[0].isalpha() and "--" not in name
        assert not name.endswith("-") and name == name.lower()


def _capture(data: dict[str, Any]) -> list[RecordedResource]:
    spec = parse_stack_spec(data)
    secrets = {a.name: {k: f"v-{k}" for k in a.secrets} for a in spec.apps}
    build_dir = Path(tempfile.mkdtemp(prefix="ws-db-build-"))
    mocks, _ = run_under_mocks(
        build_webstack(spec, secrets, ROOT, build_dir), stack=data["environment"]
    )
    return list(mocks.resources)


def _id_of(resources: list[RecordedResource], type_: str, contains: str) -> str:
    [r] = [r for r in resources if r.type == type_ and contains in r.name]
    return r.id


@pytest.mark.parametrize("edge", ["alb", "nginx"])
def test_app_egress_is_exactly_http_https_and_each_datastore(edge: str) -> None:
    stores = [
        {"name": "pg", "security_group_id": "sg-0123456789abcdef0", "allow_ingress": True},
        {"name": "cache", "engine": "redis", "cidr": "10.9.0.0/24"},
        {"name": "v6", "engine": "other", "port": 9000, "cidr": "fd00::/64"},
    ]
    res = _capture(_stack(edge=edge, datastores=stores))
    app_sg = _id_of(res, SG, "-app-web" if edge == "alb" else "-edge")
    egress = sorted(
        (
            r.inputs["fromPort"],
            r.inputs.get("cidrIpv4")
            or r.inputs.get("cidrIpv6")
            or r.inputs.get("referencedSecurityGroupId"),
        )
        for r in res
        if r.type == EGRESS and r.inputs["securityGroupId"] == app_sg
    )
    assert egress == [
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
        (5432, "sg-0123456789abcdef0"),
        (6379, "10.9.0.0/24"),
        (9000, "fd00::/64"),
    ], "least privilege: the app reaches the internet on 80/443 and exactly its data stores"
    mirror = [
        r for r in res if r.type == INGRESS and r.inputs["securityGroupId"].startswith("sg-0123")
    ]
    assert [(m.inputs["fromPort"], m.inputs["referencedSecurityGroupId"]) for m in mirror] == [
        (5432, app_sg)
    ], "allow_ingress adds exactly one rule on the data store's group, from the app's group"


def test_no_datastores_keeps_egress_to_http_https() -> None:
    res = _capture(_stack())
    app_sg = _id_of(res, SG, "-app-web")
    ports = sorted(
        r.inputs["fromPort"]
        for r in res
        if r.type == EGRESS and r.inputs["securityGroupId"] == app_sg
    )
    assert ports == [80, 443]


@pytest.mark.parametrize("production", [True, False])
def test_managed_database_is_private_encrypted_and_reachable_only_from_its_app(
    production: bool,
) -> None:
    res = _capture(_stack(production=production, database={}))
    [db] = [r for r in res if r.type == RDS]
    i = db.inputs
    assert i["storageEncrypted"] is True, "data at rest must be encrypted"
    assert i["publiclyAccessible"] is False, "a database never gets a public address"
    assert i["backupRetentionPeriod"] >= 1, "automated backups stay on"
    assert i["engine"] == "postgres" and i["storageType"] == "gp3"
    assert i["deletionProtection"] is production
    assert i["skipFinalSnapshot"] is (not production)
    assert ("finalSnapshotIdentifier" in i) is production
    app_sg = _id_of(res, SG, "-app-web")
    db_sg = _id_of(res, SG, "-pg-sg")
    assert i["vpcSecurityGroupIds"] == [db_sg]
    into_db = [r for r in res if r.type == INGRESS and r.inputs["securityGroupId"] == db_sg]
    assert [(r.inputs["fromPort"], r.inputs.get("referencedSecurityGroupId")) for r in into_db] == [
        (5432, app_sg)
    ], "the database admits PostgreSQL from its app's group and nothing else"
    assert not [r for r in res if r.type == EGRESS and r.inputs["securityGroupId"] == db_sg]
    [params] = [r for r in res if r.type == "aws:rds/parameterGroup:ParameterGroup"]
    force = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert force == {"rds.force_ssl": "1"}, "the server refuses connections without TLS"
    assert params.inputs["family"] == "postgres16"
    [subnets] = [r for r in res if r.type == "aws:rds/subnetGroup:SubnetGroup"]
    private = {r.id for r in res if r.type == "aws:ec2/subnet:Subnet" and "private" in r.name}
    assert set(subnets.inputs["subnetIds"]) == private, "the DB subnet group is the private subnets"
    app_out = sorted(
        r.inputs["fromPort"]
        for r in res
        if r.type == EGRESS and r.inputs["securityGroupId"] == app_sg
    )
    assert app_out == [80, 443, 5432]


def test_the_database_stack_is_in_the_shared_captures() -> None:
    assert "database" in EXTRA_STACKS


def test_generated_password_fits_rds_urls_and_windows() -> None:
    """RDS takes 8..128 printable characters except / " @ and space; the URL needs no escapes; and
    NSSM would expand a %NAME% in a Windows service environment: letters and digits only."""
    res = _capture(_stack(database={}))
    [pw] = [r for r in res if r.type == "random:index/randomPassword:RandomPassword"]
    assert pw.inputs["special"] is False and 8 <= pw.inputs["length"] <= 128
    env = database_env("h", 5432, "app", "app_owner", "A" * int(pw.inputs["length"]))
    assert "%" not in env["DATABASE_URL"]


def test_final_snapshot_name_is_unique_per_instance_and_valid() -> None:
    """A fixed `<id>-final` fails the second deletion (DBSnapshotAlreadyExists); the name carries a
    RandomId keyed to the identifier, and passes tf-aws validFinalSnapshotIdentifier."""
    from tests.helpers.faithful_limits import limit_problems

    res = _capture(_stack(production=True, database={}))
    [db] = [r for r in res if r.type == RDS]
    [rid] = [r for r in res if r.type == "random:index/randomId:RandomId"]
    assert rid.inputs["keepers"] == {"identifier": db.inputs["identifier"]}
    snap = db.inputs["finalSnapshotIdentifier"]
    assert snap == f"{db.inputs['identifier']}-final-{rid.outputs['hex']}"
    assert len(rid.outputs["hex"]) == 8
    assert not limit_problems([db]), limit_problems([db])
    fixed = RecordedResource(
        type=RDS,
        name=db.name,
        inputs={**db.inputs, "finalSnapshotIdentifier": snap + "-"},
        id=db.id,
        outputs=db.outputs,
    )
    assert limit_problems([fixed]), "the faithful rule refuses a trailing hyphen"


def test_offline_render_names_the_database_variables_with_placeholders() -> None:
    """`webstack render` shows what a managed database adds (as `pulumi up` deploys it), each with
    a placeholder naming its SSM parameter, and no URL or password anywhere."""
    from components.tooling.render_tree import render_stack

    spec = parse_stack_spec(EXTRA_STACKS["database"])
    files = render_stack(spec, ROOT, "eu-west-1", "database")
    summary = files["SUMMARY.md"]
    for key in database_secret_names(spec.apps[0]):
        assert f"- `{key}`: <placeholder: SSM SecureString `" in summary, key
    for key in TLS_VARIABLES:  # verify-full's settings are not secret: the plain environment
        assert f"- `{key}`: <placeholder:" not in summary, key
    assert "written by `pulumi up` from the managed database" in summary
    assert "- `DJANGO_SECRET_KEY`: <placeholder:" in summary
    [services] = [c for p, c in files.items() if p.startswith("win-app/") and "services" in p]
    windows = summary.split("## win-app", 1)[1]
    assert "- `DATABASE_URL`: <placeholder:" in windows, "the Windows VM reads them too"
    # Their names travel in the release pointer (like the app's own secrets), not services.json.
    assert '"DATABASE_URL"' not in services, "a new secret name must not change the bootstrap"
    for path, content in files.items():
        assert "postgresql://" not in content and "MockDbPassword" not in content, path
