"""Pure subnet planning (no Pulumi): used by the Network component and by the renderers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class SubnetPlan:
    az_index: int
    public_cidr: str
    private_cidr: str


def plan_subnets(cidr: str, az_count: int) -> list[SubnetPlan]:
    """Carve the VPC into 2*az_count equal subnets: public first, then private, per AZ.

    Subnets are sized for up to 6 AZs (public + private = 12 blocks -> prefix + 4), so adding an
    AZ later never renumbers an existing subnet.
    """
    net = ipaddress.ip_network(cidr)
    blocks = list(net.subnets(new_prefix=net.prefixlen + 4))
    return [
        SubnetPlan(az_index=i, public_cidr=str(blocks[i]), private_cidr=str(blocks[8 + i]))
        for i in range(az_count)
    ]
