"""webstack's CrossGuard policies, importable (tests call `policy.validate(args, report)` directly).

Every policy has its own default enforcement level (mandatory) and may be set per policy with
`pulumi preview --policy-pack policy --policy-pack-config FILE`, where FILE maps a policy name to a
level (`"advisory"`, `"mandatory"`, `"disabled"`) or to an object with `enforcementLevel` and the
policy's settings, e.g. `{"imdsv2-required": {"enforcementLevel": "mandatory", "maxHopLimit": 1},
"alb-deletion-protection": {"production": true}, "sg-rules-described": "advisory"}`.
"""

from __future__ import annotations

from typing import Any

from . import admin_ranges, compute, database, iam, loadbalancing, logs, network, userdata

POLICIES: list[Any] = [
    *compute.POLICIES,
    *network.POLICIES,
    *admin_ranges.POLICIES,
    *loadbalancing.POLICIES,
    *iam.POLICIES,
    *logs.POLICIES,
    *userdata.POLICIES,
    *database.POLICIES,
]
POLICY_NAMES: list[str] = [p.name for p in POLICIES]

__all__ = ["POLICIES", "POLICY_NAMES"]
