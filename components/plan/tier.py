"""The tier contract: one app's plan, computed once, read by the edge, the security groups, both
renderers and the fleet. Linux and Windows differ only in what fills it in (and in their renderer):
every decision the two paths share lives here, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, Protocol

from components.plan.subnets import public_range
from components.plan.timeouts import TimeoutChain, timeout_chain
from components.spec.common import Capacity
from components.spec.observability import ObservabilitySpec
from components.spec.stack import AppSpec, StackSpec

# Where the ALB sends an app's requests on its VMs: the front proxy's plain-HTTP port (Nginx on
# Linux; IIS, Nginx or Caddy on Windows). The ALB ends TLS; the VPC carries HTTP.
TARGET_PORT = 80
# A first boot installs packages and starts the app (Linux) or Python, IIS features, MSIs and
# NSSM services (Windows, much slower): the ASG ignores failed health checks until then.
HEALTH_GRACE_SECONDS = {"linux": 300, "windows": 1200}
ADMIN_PORTS = {"linux": 22, "windows": 3389}  # SSH / RDP, only from `admin_cidrs`


@dataclass(frozen=True)
class TierPlan:
    """Everything about one app's tier that is decided before any resource exists."""

    app: AppSpec
    environment: str
    edge_mode: Literal["alb", "nginx"]
    chain: TimeoutChain
    # Who may set X-Forwarded-For/-Proto: the ALB's subnets (both tiers, every proxy).
    trusted_proxy_cidrs: tuple[str, ...]
    target_port: int
    target_protocol: Literal["HTTP"]
    # Ports the app's security group admits from the edge (the ALB), and the admin port.
    ingress_ports: tuple[int, ...]
    admin_port: int
    # Artifact-bucket prefixes the instance role may read (package, bootstrap, installers).
    artifact_prefixes: tuple[str, ...]
    health_grace_seconds: int
    # Linux user data is gzipped cloud-config (cloud-init inflates it); EC2Launch v2 on Windows
    # reads plain YAML, so it is only base64-encoded (and kept small: it fetches the bootstrap).
    user_data_encoding: Literal["gzip+base64", "base64"]
    fleet_mode: Literal["asg", "single"]
    image: str
    instance_type: str
    root_volume_gb: int
    capacity: Capacity
    # Logs, metrics and alarms (issue 15): the agent config and the role's telemetry scope.
    observability: ObservabilitySpec = field(default_factory=ObservabilitySpec)

    @property
    def os(self) -> Literal["linux", "windows"]:
        return self.app.os


def plan_tier(
    spec: StackSpec, app: AppSpec, trusted_cidrs: tuple[str, ...] | None = None
) -> TierPlan:
    """The app's plan; `trusted_cidrs` replaces the spec's edge ranges (a VPC brought by the
    program that composes the stack, whose range the spec does not know)."""
    windows = app.os == "windows"
    tier = app.windows if windows else app.linux
    return TierPlan(
        app=app,
        environment=spec.environment,
        edge_mode=spec.edge.mode,
        chain=timeout_chain(spec),
        trusted_proxy_cidrs=edge_cidrs(spec) if trusted_cidrs is None else trusted_cidrs,
        target_port=TARGET_PORT,
        target_protocol="HTTP",
        ingress_ports=(TARGET_PORT,),
        admin_port=ADMIN_PORTS[app.os],
        artifact_prefixes=(f"apps/{app.name}", *((f"windows/{app.name}",) if windows else ())),
        health_grace_seconds=HEALTH_GRACE_SECONDS[app.os],
        user_data_encoding="base64" if windows else "gzip+base64",
        # The Nginx edge is one VM with its own address; behind an ALB, an auto-scaling group.
        fleet_mode="single" if spec.edge.mode == "nginx" else "asg",
        image=tier.image,
        instance_type=tier.instance_type,
        root_volume_gb=tier.root_volume_gb,
        capacity=tier.capacity,
        observability=spec.observability,
    )


def plan_tiers(
    spec: StackSpec, trusted_cidrs: tuple[str, ...] | None = None
) -> dict[str, TierPlan]:
    """app name -> its plan, for every app of the stack."""
    return {app.name: plan_tier(spec, app, trusted_cidrs) for app in spec.apps}


def edge_cidrs(spec: StackSpec) -> tuple[str, ...]:
    """Where the edge's requests come from, as the app's VMs see them (empty: no proxy in front)."""
    if spec.edge.mode != "alb":
        return ()
    net = spec.network
    if net.existing is not None:
        return (net.existing.vpc_cidr,)
    # The ALB's nodes live in the public subnets only: trust nothing else in the VPC. Which AZs
    # (so which public blocks) is known only in the cloud: trust the public half of the VPC.
    return (public_range(net.cidr),)


class AppPaths(Protocol):
    """What both host layouts (Linux and Windows) answer alike."""

    trusted_proxy_cidrs: tuple[str, ...] | None

    def code_dir(self, app: str) -> PurePath: ...

    def collected_static(self, app: str) -> PurePath: ...


def trusted_proxies(plan: TierPlan, layout: AppPaths) -> list[str]:
    """The plan's edge ranges, unless the layout stands in for the edge (local sites, tests)."""
    if layout.trusted_proxy_cidrs is not None:
        return list(layout.trusted_proxy_cidrs)
    return list(plan.trusted_proxy_cidrs)


def static_root(app: AppSpec, layout: AppPaths) -> PurePath | None:
    """The folder the front proxy serves `static.url` from (Django: collectstatic's target)."""
    if app.static is None:
        return None
    if app.framework == "django":
        return layout.collected_static(app.name)
    return layout.code_dir(app.name) / app.static.folder


def windows_static_root(app: AppSpec, layout: AppPaths) -> PurePath | None:
    """The one folder a Windows proxy serves `static.url` from, both frameworks. Each release
    keeps its own static files (Flask: its code's folder; Django: its collectstatic) and the
    activation copies them in: new files before the first service moves, changed ones after the
    last, then drops what neither the active nor the previous release has
    (templates/windows/webstack-release.ps1.j2). No service ever reads it."""
    return None if app.static is None else layout.collected_static(app.name)
