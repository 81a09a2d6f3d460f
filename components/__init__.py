"""webstack's public API: the components, their Args, the config models and how to load them.

    from components import WebStack, WebStackArgs, load_stack_spec

Everything here is documented in docs/components.md (generated: `webstack reference --write`).
The layers below (spec, plan, render, aws, tooling) are importable too, but only these names are
the stable surface. Names load on first use: importing the package for a config check does not
pay for pulumi_aws.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it (each is re-exported as components.<name>)
_EXPORTS = {
    # the whole environment
    "WebStack": "components.aws.webstack",
    "WebStackArgs": "components.aws.webstack",
    "ExistingVpc": "components.aws.webstack",
    "ExistingAlb": "components.aws.webstack",
    "build_stack": "components.aws.webstack",
    # each component and its Args
    "Network": "components.aws.network",
    "NetworkArgs": "components.aws.network",
    "SecurityGroups": "components.aws.security",
    "SecurityGroupsArgs": "components.aws.security",
    "Certificate": "components.aws.tls",
    "CertificateArgs": "components.aws.tls",
    "Alb": "components.aws.alb",
    "AlbArgs": "components.aws.alb",
    "AlbRoute": "components.aws.alb",
    "ExistingLoadBalancer": "components.aws.alb",
    "ArtifactStore": "components.aws.artifacts",
    "ArtifactStoreArgs": "components.aws.artifacts",
    "WebTier": "components.aws.tier",
    "TierArgs": "components.aws.fleet",
    "TierPlan": "components.plan.tier",
    "plan_tier": "components.plan.tier",
    "ManagedPostgres": "components.aws.database",
    "ManagedPostgresArgs": "components.aws.database",
    "VmFleet": "components.aws.fleet",
    "VmFleetArgs": "components.aws.fleet",
    "LinuxWebTier": "components.aws.linux_tier",
    "LinuxWebTierArgs": "components.aws.linux_tier",
    "WindowsWebTier": "components.aws.windows_tier",
    "WindowsWebTierArgs": "components.aws.windows_tier",
    # the config models
    "StackSpec": "components.spec.stack",
    "AppSpec": "components.spec.stack",
    "NetworkSpec": "components.spec.network",
    "ExistingNetwork": "components.spec.network",
    "DataStore": "components.spec.datastores",
    "ManagedDatabase": "components.spec.datastores",
    "EdgeSpec": "components.spec.network",
    "TlsSpec": "components.spec.network",
    "LinuxTier": "components.spec.linux",
    "GunicornSpec": "components.spec.linux",
    "WindowsTier": "components.spec.windows",
    "NginxSpec": "components.spec.common",
    "Capacity": "components.spec.common",
    "TimeoutOverrides": "components.spec.common",
    "AppSource": "components.spec.sources",
    "StaticFiles": "components.spec.sources",
    # loading and errors
    "SpecError": "components.spec.errors",
    "parse_stack_spec": "components.plan.checks",
    "load_stack_spec": "components.plan.checks",
}

__all__ = [
    "Alb",
    "AlbArgs",
    "AlbRoute",
    "AppSource",
    "AppSpec",
    "ArtifactStore",
    "ArtifactStoreArgs",
    "Capacity",
    "Certificate",
    "CertificateArgs",
    "DataStore",
    "EdgeSpec",
    "ExistingAlb",
    "ExistingLoadBalancer",
    "ExistingNetwork",
    "ExistingVpc",
    "GunicornSpec",
    "LinuxTier",
    "LinuxWebTier",
    "LinuxWebTierArgs",
    "ManagedDatabase",
    "ManagedPostgres",
    "ManagedPostgresArgs",
    "Network",
    "NetworkArgs",
    "NetworkSpec",
    "NginxSpec",
    "SecurityGroups",
    "SecurityGroupsArgs",
    "SpecError",
    "StackSpec",
    "StaticFiles",
    "TierArgs",
    "TierPlan",
    "TimeoutOverrides",
    "TlsSpec",
    "VmFleet",
    "VmFleetArgs",
    "WebStack",
    "WebStackArgs",
    "WebTier",
    "WindowsTier",
    "WindowsWebTier",
    "WindowsWebTierArgs",
    "build_stack",
    "load_stack_spec",
    "parse_stack_spec",
    "plan_tier",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see
    from components.aws.alb import Alb, AlbArgs, AlbRoute, ExistingLoadBalancer
    from components.aws.artifacts import ArtifactStore, ArtifactStoreArgs
    from components.aws.fleet import TierArgs, VmFleet, VmFleetArgs
    from components.aws.linux_tier import LinuxWebTier, LinuxWebTierArgs
    from components.aws.network import Network, NetworkArgs
    from components.aws.security import SecurityGroups, SecurityGroupsArgs
    from components.aws.tier import WebTier
    from components.aws.tls import Certificate, CertificateArgs
    from components.aws.webstack import (
        ExistingAlb,
        ExistingVpc,
        WebStack,
        WebStackArgs,
        build_stack,
    )
    from components.aws.windows_tier import WindowsWebTier, WindowsWebTierArgs
    from components.plan.checks import load_stack_spec, parse_stack_spec
    from components.plan.tier import TierPlan, plan_tier
    from components.spec.common import Capacity, NginxSpec, TimeoutOverrides
    from components.spec.errors import SpecError
    from components.spec.linux import GunicornSpec, LinuxTier
    from components.spec.network import EdgeSpec, ExistingNetwork, NetworkSpec, TlsSpec
    from components.spec.sources import AppSource, StaticFiles
    from components.spec.stack import AppSpec, StackSpec
    from components.spec.windows import WindowsTier
