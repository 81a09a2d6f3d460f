"""Pure planning logic: timeout chain, subnet carving, sizing, image references."""

from __future__ import annotations

import ipaddress

import pytest

from components.plan.images import image_reference, is_graviton, root_device_name
from components.plan.sizing import auto_workers, vcpus_of
from components.plan.subnets import plan_subnets
from components.plan.timeouts import derive_timeout_chain
from components.spec.common import TimeoutOverrides


@pytest.mark.parametrize("request_timeout", [1, 30, 60, 600])
@pytest.mark.parametrize("edge", ["alb", "nginx"])
def test_derived_chain_is_ordered(request_timeout: int, edge: str) -> None:
    c = derive_timeout_chain(request_timeout, TimeoutOverrides(), edge)  # type: ignore[arg-type]
    assert c.gunicorn_timeout == request_timeout
    assert c.gunicorn_timeout <= c.nginx_read_timeout
    if edge == "alb":
        assert c.alb_idle_timeout is not None
        assert c.nginx_read_timeout <= c.alb_idle_timeout < c.edge_keepalive_timeout
    else:
        assert c.alb_idle_timeout is None
    assert c.nginx_upstream_keepalive < c.gunicorn_keepalive


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gunicorn": 40, "nginx_read": 30}, "timeouts.gunicorn"),
        ({"nginx_read": 100, "alb_idle": 50}, "timeouts.nginx_read"),
        ({"alb_idle": 100, "edge_keepalive": 100}, "timeouts.edge_keepalive"),
    ],
)
def test_broken_chain_names_the_setting(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        derive_timeout_chain(30, TimeoutOverrides(**overrides), "alb")


def test_explicit_values_that_keep_the_chain_are_kept() -> None:
    c = derive_timeout_chain(30, TimeoutOverrides(gunicorn=20, nginx_read=25, alb_idle=25), "alb")
    assert (c.gunicorn_timeout, c.nginx_read_timeout, c.alb_idle_timeout) == (20, 25, 25)


@pytest.mark.parametrize(
    ("cidr", "azs"), [("10.0.0.0/16", 2), ("10.1.0.0/20", 3), ("172.16.0.0/24", 6)]
)
def test_subnets_are_disjoint_inside_the_vpc_and_stable(cidr: str, azs: int) -> None:
    plans = plan_subnets(cidr, azs)
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(c) for p in plans for c in (p.public_cidr, p.private_cidr)]
    assert all(n.subnet_of(vpc) for n in nets)
    assert len({str(n) for n in nets}) == len(nets)
    for a in nets:
        for b in nets:
            assert a is b or not a.overlaps(b)
    # Adding an AZ never renumbers the existing ones.
    assert plan_subnets(cidr, azs - 1) == plans[:-1]


@pytest.mark.parametrize(
    ("instance_type", "vcpus"),
    [
        ("t3.small", 2),
        ("t2.micro", 1),
        ("m7i.large", 2),
        ("c6i.xlarge", 4),
        ("m5.4xlarge", 16),
        ("m7g.medium", 1),
    ],
)
def test_vcpus(instance_type: str, vcpus: int) -> None:
    assert vcpus_of(instance_type) == vcpus


def test_unknown_size_asks_for_explicit_workers() -> None:
    with pytest.raises(ValueError, match="workers"):
        vcpus_of("m7i.metal-24xl")


def test_auto_workers_rule() -> None:
    assert [auto_workers(n) for n in (1, 2, 4, 16)] == [2, 3, 5, 17]


def test_image_references() -> None:
    assert image_reference("ami-0123456789abcdef0", "t3.small") == "ami-0123456789abcdef0"
    assert "ubuntu/server/24.04/stable/current/amd64" in image_reference("ubuntu-24.04", "t3.small")
    assert "arm64" in image_reference("ubuntu-24.04", "t4g.small")
    assert image_reference("al2023", "m7g.large").endswith("al2023-ami-kernel-default-arm64")
    assert image_reference("windows-2022", "t3.medium").startswith(
        "resolve:ssm:/aws/service/ami-windows-latest/"
    )
    assert is_graviton("c6gn.large") and not is_graviton("m7i.large")
    assert root_device_name("ubuntu-24.04") == "/dev/sda1"
    assert root_device_name("debian-12") == "/dev/xvda"
