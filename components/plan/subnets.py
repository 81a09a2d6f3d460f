"""Pure subnet planning (no Pulumi): used by the Network component and by the renderers."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

# The VPC is cut into 16 blocks (prefix + 4): blocks 0..7 are public, 8..15 private.
SLOTS = 8


@dataclass(frozen=True)
class SubnetPlan:
    az_index: int  # position among the AZs used (0 = first)
    public_cidr: str
    private_cidr: str
    az: str | None = None  # the AZ name, when planned by name
    slot: int | None = None  # the block pair the AZ owns (from its letter), when planned by name


def plan_subnets(cidr: str, az_count: int) -> list[SubnetPlan]:
    """Carve the VPC into 2*az_count equal subnets: public first, then private, per AZ.

    Subnets are sized for up to 8 AZs (public + private = 16 blocks -> prefix + 4), so adding an
    AZ later never renumbers an existing subnet.
    """
    blocks = _blocks(cidr)
    return [
        SubnetPlan(az_index=i, public_cidr=str(blocks[i]), private_cidr=str(blocks[SLOTS + i]))
        for i in range(az_count)
    ]


def az_slot(az: str) -> int:
    """The block pair of an AZ, from its letter (`eu-west-1a` -> 0, `us-east-1f` -> 5).

    Keyed by the AZ itself, not its position in the list: when an AZ leaves the list of available
    zones, the others keep their subnets (the same CIDRs under the same logical names).
    """
    match = re.fullmatch(r"[a-z]{2}(?:-[a-z]+)+-\d+([a-z])", az)
    if match is None or ord(match[1]) - ord("a") >= SLOTS:
        raise ValueError(f"network: AZ name {az!r} is not a regional AZ a..h (e.g. eu-west-1a)")
    return ord(match[1]) - ord("a")


def plan_subnets_by_zone(cidr: str, zones: Sequence[str], az_count: int) -> list[SubnetPlan]:
    """Subnets for the first `az_count` of `zones`, each AZ in the block pair of its letter."""
    if len(zones) < az_count:
        raise ValueError(f"network.az_count: {az_count} AZs asked, the region offers {len(zones)}")
    blocks = _blocks(cidr)
    plans = []
    for i, az in enumerate(sorted(zones)[:az_count]):
        slot = az_slot(az)
        plans.append(
            SubnetPlan(
                az_index=i,
                public_cidr=str(blocks[slot]),
                private_cidr=str(blocks[SLOTS + slot]),
                az=az,
                slot=slot,
            )
        )
    return plans


def public_range(cidr: str) -> str:
    """The half of the VPC that holds every public subnet whichever AZs are used."""
    net = ipaddress.ip_network(cidr)
    return str(next(net.subnets(new_prefix=net.prefixlen + 1)))


def _blocks(cidr: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    net = ipaddress.ip_network(cidr)
    return list(net.subnets(new_prefix=net.prefixlen + 4))
