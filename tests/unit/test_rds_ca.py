"""The RDS CA bundle plan (issue 17): which URL a VM fetches per region and partition, where it
keeps the bundle, and that a managed database's connection variables say verify-full with it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from components.plan.datastores import (
    TLS_VARIABLES,
    database_secret_names,
    database_tls_environment,
    managed_database_env,
)
from components.plan.linux_layout import vm_layout
from components.plan.rds_ca import (
    linux_bundle_path,
    rds_ca_bundle_url,
    rds_ca_step,
    rds_partition,
    vm_bundle_path,
)
from components.spec.errors import SpecError
from components.spec.windows import NSSM_EXPANDED
from tests.helpers.specs import linux_spec, windows_spec


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("ap-southeast-5", "aws"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
    ],
)
def test_each_region_finds_its_partitions_truststore(region: str, partition: str) -> None:
    assert rds_partition(region) == partition


@pytest.mark.parametrize(
    "region",
    ["us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1"],
)
def test_partitions_without_a_published_truststore_are_refused(region: str) -> None:
    with pytest.raises(ValueError, match="publishes no RDS CA bundle URL"):
        rds_ca_bundle_url(region)


@pytest.mark.parametrize("region", ["", "us-east", "US-EAST-1", "us-east-1/../x", "us-east-1 "])
def test_a_region_that_is_not_a_region_name_never_reaches_a_url(region: str) -> None:
    with pytest.raises(ValueError, match="not an AWS region name"):
        rds_ca_bundle_url(region)


def test_an_unsupported_region_is_a_one_line_spec_error_naming_the_database() -> None:
    app = linux_spec("django", "alb", 1, database={}).apps[0]
    path = linux_bundle_path(vm_layout("debian"))
    with pytest.raises(SpecError, match=r"apps\.django-app\.database: region us-iso-east-1"):
        rds_ca_step(app, "us-iso-east-1", path)
    no_database = linux_spec("django").apps[0]
    assert rds_ca_step(no_database, "us-iso-east-1", path) is None, "no database, no step"


def test_the_bundle_lives_where_the_vm_keeps_root_owned_public_files() -> None:
    linux = linux_spec("django", "alb", 1, database={}).apps[0]
    rhel = linux_spec("django", "alb", 1, database={}, linux_extra={"image": "al2023"}).apps[0]
    windows = windows_spec("flask", "nginx", app={"database": {}}).apps[0]
    assert vm_bundle_path(linux) == vm_bundle_path(rhel) == "/etc/webstack/rds-ca-bundle.pem"
    assert vm_bundle_path(windows) == "C:/webstack/tls/rds-ca-bundle.pem"


@pytest.mark.parametrize("os", ["linux", "windows"])
def test_a_managed_database_connects_with_verify_full_against_the_bundle(os: str) -> None:
    spec = (
        linux_spec("django", "alb", 1, database={})
        if os == "linux"
        else windows_spec("flask", "nginx", app={"database": {}})
    )
    app = spec.apps[0]
    assert app.database is not None
    host = "ws-dev-app-db-0123456789.abcdefghij.eu-west-1.rds.amazonaws.com"
    env = managed_database_env(app.database, host, 5432, "pw", vm_bundle_path(app))
    url = urlsplit(env["DATABASE_URL"])
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    assert query == {"sslmode": "verify-full", "sslrootcert": vm_bundle_path(app)}
    assert url.hostname == env["PGHOST"] == host, "verify-full matches the endpoint it dials"
    assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == vm_bundle_path(app)
    assert not NSSM_EXPANDED.search(env["DATABASE_URL"]), "no %..% pair for NSSM to expand"
    secrets = set(database_secret_names(app))
    assert secrets == set(env) - set(TLS_VARIABLES), "the connection travels as secrets"
    assert database_tls_environment(app) == {k: env[k] for k in TLS_VARIABLES}, "and in plain"
