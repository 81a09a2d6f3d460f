"""Keys that must not shift: subnets by AZ name, SSM paths by project/stack/WebStack, and the
consumer example installing this repository instead of PyPI's unrelated `webstack`."""

from __future__ import annotations

import ipaddress
import json
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from components.aws.webstack import WebStack, WebStackArgs
from components.plan.iam import ssm_prefix, ssm_scope
from components.plan.subnets import az_slot, plan_subnets_by_zone, public_range
from components.tooling.mocks import REGION, build_webstack, run_under_mocks
from tests.helpers.graph import Graph, user_data_texts
from tests.helpers.specs import sample_app, stack_of

ROOT = Path(__file__).resolve().parents[2]
ZONES = [f"{REGION}{z}" for z in "abc"]  # what the mocks' getAvailabilityZones answers


# -- subnets keyed by AZ name ---------------------------------------------------------------------
def test_an_az_leaving_the_list_moves_no_other_subnet() -> None:
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    before = {p.az: p for p in plan_subnets_by_zone("10.0.0.0/16", zones, 3)}
    after = {
        p.az: p for p in plan_subnets_by_zone("10.0.0.0/16", [zones[0], zones[2], "us-east-1d"], 3)
    }
    for az in (zones[0], zones[2]):
        assert (after[az].public_cidr, after[az].private_cidr) == (
            before[az].public_cidr,
            before[az].private_cidr,
        ), f"{az} was renumbered when us-east-1b left"
    nets = [
        ipaddress.ip_network(c) for p in after.values() for c in (p.public_cidr, p.private_cidr)
    ]
    assert len(set(nets)) == 6 and all(a == b or not a.overlaps(b) for a in nets for b in nets), (
        "subnets overlap"
    )
    public = ipaddress.ip_network(public_range("10.0.0.0/16"))
    assert all(ipaddress.ip_network(p.public_cidr).subnet_of(public) for p in after.values())
    assert not any(ipaddress.ip_network(p.private_cidr).overlaps(public) for p in after.values())


@pytest.mark.parametrize("bad", ["eu-west-1", "us-west-2-lax-1a", "eu-west-1z", "x"])
def test_az_names_outside_the_eight_slots_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="AZ name"):
        az_slot(bad)


def _graph(spec: Any, project: str = "webstack", stack: str = "dev") -> Graph:
    secrets = {"web": {"TOKEN": "t"}}
    build = build_webstack(spec, secrets, ROOT, Path(tempfile.mkdtemp(prefix="webstack-build-")))
    mocks, outputs = run_under_mocks(build, project=project, stack=stack)
    return Graph(mocks.resources, outputs)


def _spec(environment: str = "dev", **top: Any) -> Any:
    return stack_of(sample_app("web", secrets=["TOKEN"]), environment=environment, **top)


def test_subnets_are_named_by_their_az() -> None:
    g = _graph(_spec(network={"az_count": 3}))
    subnets = g.of("aws:ec2/subnet:Subnet")
    assert len(subnets) == 6
    for s in subnets:
        az = s.inputs["availabilityZone"]
        assert s.name.endswith(f"-{az}"), f"{s.name}: keyed by position, not by {az}"


# -- SSM paths: one computed value, scoped --------------------------------------------------------
def test_two_projects_or_two_webstacks_never_share_a_parameter() -> None:
    paths = {
        ssm_prefix(ssm_scope(project, stack, owner), "web")
        for project, stack, owner in [
            ("shop", "dev", "webstack-dev"),
            ("blog", "dev", "webstack-dev"),
            ("shop", "dev", "site-a"),
            ("shop", "dev", "site-b"),
            ("shop", "staging", "webstack-dev"),
        ]
    }
    assert len(paths) == 5
    with pytest.raises(ValueError, match="owner"):
        ssm_scope("shop", "dev", "bad name/with slash")


def _parameter_names(g: Graph) -> set[str]:
    return {p.inputs["name"] for p in g.of("aws:ssm/parameter:Parameter")}


def test_two_webstacks_with_one_environment_keep_apart_and_each_reads_its_own() -> None:
    spec = _spec("shared")

    def build() -> dict[str, Any]:
        a = WebStack("site-a", WebStackArgs(spec=spec, secrets={"web": {"TOKEN": "a"}}))
        b = WebStack("site-b", WebStackArgs(spec=spec, secrets={"web": {"TOKEN": "b"}}))
        return {"a": a.vpc_id, "b": b.vpc_id}

    mocks, _ = run_under_mocks(build, project="shop", stack="prod")
    names = sorted(_parameter_names(Graph(mocks.resources, {})))
    assert names == [
        f"/webstack/shop/prod/site-{s}/web/{p}" for s in "ab" for p in ("TOKEN", "release")
    ]


def test_the_linux_bootstrap_the_windows_bootstrap_and_the_policy_read_one_path() -> None:
    spec = stack_of(
        *(
            sample_app(
                n,
                hostnames=[f"{n}.example.com"],
                secrets=["TOKEN"],
                **({"os": "windows"} if n == "win" else {}),
            )
            for n in ("lin", "win")
        ),
        environment="one",
    )
    build = build_webstack(
        spec, {"lin": {"TOKEN": "l"}, "win": {"TOKEN": "w"}}, ROOT, Path(tempfile.mkdtemp())
    )
    mocks, outputs = run_under_mocks(build, project="shop", stack="qa")
    g = Graph(mocks.resources, outputs)
    expected = {app: f"/webstack/shop/qa/webstack-one/{app}" for app in ("lin", "win")}
    # Each app also has its release pointer there (Linux and Windows alike).
    assert _parameter_names(g) == {f"{p}/TOKEN" for p in expected.values()} | {
        f"{p}/release" for p in expected.values()
    }
    policies = {
        p.inputs["role"]: json.loads(p.inputs["policy"])
        for p in g.of("aws:iam/rolePolicy:RolePolicy")
    }
    for app, prefix in expected.items():
        (doc,) = [d for role, d in policies.items() if f"-{app}-" in role]
        read = next(st for st in doc["Statement"] if st["Sid"] == "ReadOwnParameters")
        assert read["Resource"].endswith(f":parameter{prefix}/*"), read
    (linux,) = [t for t in user_data_texts(g) if t.startswith("#cloud-config")]
    assert f"ssm-env {expected['lin']} " in linux, "the Linux bootstrap reads another path"
    (bootstrap,) = [
        o for o in g.of("aws:s3/bucketObjectv2:BucketObjectv2") if "bootstrap" in o.name
    ]
    assert re.search(rf"\$SsmPrefix = '{re.escape(expected['win'])}'", bootstrap.inputs["content"])


# -- the self-signed certificate's renewal is documented as it happens -------------------------
def test_self_signed_renewal_replacing_the_edge_vm_is_documented() -> None:
    from components.aws.tls import SELF_SIGNED_RENEW_DAYS_BEFORE, SELF_SIGNED_VALID_DAYS

    g = _graph(
        _spec(edge={"mode": "nginx", "tls": {"mode": "self-signed"}}, network={"nat": "none"})
    )
    cert = g.one("tls:index/selfSignedCert:SelfSignedCert").inputs
    assert cert["validityPeriodHours"] == 24 * SELF_SIGNED_VALID_DAYS
    assert cert["earlyRenewalHours"] == 24 * SELF_SIGNED_RENEW_DAYS_BEFORE
    readme = " ".join((ROOT / "README.md").read_text().split())
    renew_day = SELF_SIGNED_VALID_DAYS - SELF_SIGNED_RENEW_DAYS_BEFORE
    assert f"valid for {SELF_SIGNED_VALID_DAYS} days" in readme
    assert f"from day {renew_day} on" in readme and "replaces the edge VM" in readme


# -- the consumer example installs this repository ------------------------------------------------
def test_consumer_requirements_name_this_repository_not_pypi() -> None:
    folder = ROOT / "examples" / "consumer"
    lines = [
        line.strip()
        for line in (folder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines, "the consumer needs the webstack components"
    for line in lines:
        # pip reads a line with a path separator or a leading dot as a local path, anything
        # else as a PyPI name (pip docs, "Requirements File Format"): PyPI's `webstack` is an
        # unrelated package.
        assert "/" in line or line.startswith("."), f"{line!r} would install from PyPI"
        target = (folder / line).resolve()
        pyproject = tomllib.loads((target / "pyproject.toml").read_text())
        assert pyproject["project"]["name"] == "webstack", f"{line} is not this repository"
