"""SSH/RDP ranges judged by how much of the public internet they admit, per rule and as the union
of every admin rule of one security group (0.0.0.0/1 + 128.0.0.0/1 is the world again).

The same arithmetic and bounds as the stack's own check (components/spec/cidrs.py in webstack; the pack
stays importable without webstack, so it keeps its own copy and a test proves both agree): at most
a /16 of public IPv4 and a /48 of IPv6. A stack that sets `insecure_allow_wide_admin_cidrs` must
raise `maxPublicAdminAddressesV4`/`V6` here too: the risk is accepted twice, in the open. No
setting admits half of the internet: half of the public IPv4 space, or half of 2000::/3 (a /4).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import INGRESS_RULE, LEGACY_RULE, StackIndex
from .props import UNKNOWN, config, elements, get, port_range

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
NON_PUBLIC = tuple(
    ipaddress.ip_network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
              "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")
)  # fmt: skip
DEFAULTS = {"maxPublicAdminAddressesV4": 2**16, "maxPublicAdminAddressesV6": 2**80}
# The ceiling no config raises: half of the public IPv4 space (IPv4 less NON_PUBLIC), half of
# 2000::/3 (IPv6 global unicast). The same as components/spec/cidrs.py HALF_INTERNET.
HALF_INTERNET = {
    4: (2**32 - sum(n.num_addresses for n in NON_PUBLIC if n.version == 4)) // 2,
    6: 2**124,
}
CIDR_KEYS = ("cidrIpv4", "cidrIpv6", "cidrBlocks", "ipv6CidrBlocks")


def cidrs_of(rule: Mapping[str, Any]) -> list[str]:
    out = []
    for key in CIDR_KEYS:
        for cidr in elements(get(rule, key)):
            if isinstance(cidr, str):
                try:
                    out.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
                except ValueError:
                    continue
    return out


def public_addresses(cidrs: Iterable[str], version: int) -> int:
    nets = [ipaddress.ip_network(c) for c in cidrs]
    total = 0
    for net in ipaddress.collapse_addresses(n for n in nets if n.version == version):
        private = sum(
            min(net.num_addresses, p.num_addresses)
            for p in NON_PUBLIC
            if p.version == version and net.overlaps(p)
        )
        total += net.num_addresses - private
    return total


def too_wide(cidrs: Iterable[str], cfg: Mapping[str, Any]) -> str | None:
    """Why these ranges must not reach SSH/RDP, or None."""
    cidrs = list(cidrs)
    for version in (4, 6):
        limit = int(cfg[f"maxPublicAdminAddressesV{version}"])
        public = public_addresses(cidrs, version)
        everything = 2**32 if version == 4 else 2**128
        nets = [
            ipaddress.ip_network(c) for c in cidrs if ipaddress.ip_network(c).version == version
        ]
        whole = sum(n.num_addresses for n in ipaddress.collapse_addresses(nets)) == everything
        half = public >= HALF_INTERNET[version]
        if whole or half or public > limit:
            return f"{public:,} public IPv{version} addresses" + (
                " (the whole internet)"
                if whole
                else " (half of the internet or more, refused whatever the config)"
                if half
                else f" (allowed: {limit:,})"
            )
    return None


def admin_ports_of(rule: Mapping[str, Any]) -> list[str]:
    rng = port_range(rule)
    if rng is UNKNOWN:
        return []
    proto, lo, hi = rng
    if proto not in ("tcp", "all"):
        return []
    return [f"{name} ({port})" for port, name in ADMIN_PORTS.items() if lo <= port <= hi]


def validate_admin_union(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, DEFAULTS)
    index = StackIndex(args.resources)
    by_group: dict[str, tuple[Any, list[str], set[str]]] = {}
    for rule in index.of_type(INGRESS_RULE, LEGACY_RULE):
        if rule.resource_type == LEGACY_RULE and get(rule.props, "type") != "ingress":
            continue
        ports = admin_ports_of(rule.props)
        if not ports:
            continue
        for sg in index.deps(rule, "securityGroupId"):
            _, cidrs, names = by_group.setdefault(sg.urn, (sg, [], set()))
            cidrs.extend(cidrs_of(rule.props))
            names.update(ports)
    for sg, cidrs, names in by_group.values():
        why = too_wide(cidrs, cfg)
        if why:
            report(
                f"security group {sg.name!r} admits {' and '.join(sorted(names))} from "
                f"{len(cidrs)} range(s) that together cover {why}: admin ports facing that much of "
                "the internet are brute-forced. Narrow admin_cidrs to your office/VPN, or use SSM.",
                sg.urn,
            )


admin_ranges_bounded = StackValidationPolicy(
    name="sg-admin-ranges-bounded",
    description="The union of a security group's SSH/RDP source ranges admits at most a /16 of "
    "public IPv4 and a /48 of IPv6 (never half of the internet or more, whatever the config).",
    validate=validate_admin_union,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(
        properties={
            "maxPublicAdminAddressesV4": {"type": "integer", "minimum": 0},
            "maxPublicAdminAddressesV6": {"type": "integer", "minimum": 0},
        }
    ),
)

POLICIES: list[Any] = [admin_ranges_bounded]
