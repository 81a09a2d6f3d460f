"""The policy pack and the stack's own check judge SSH/RDP ranges alike (same union, same bounds):
a stack `webstack check` accepts passes the pack, and one it refuses the pack refuses too."""

from __future__ import annotations

import pytest
from webstack_policy.admin_ranges import DEFAULTS, too_wide

from components.spec.cidrs import admin_cidr_problem

SETS = [
    ([], True),
    (["192.0.2.0/24"], True),
    (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], True),  # private: no internet exposure
    (["203.0.113.0/24", "198.51.100.0/24"], True),
    (["11.0.0.0/16"], True),  # exactly the bound
    (["11.0.0.0/15"], False),
    (["0.0.0.0/1", "128.0.0.0/1"], False),
    (["0.0.0.0/0"], False),
    (["::/0"], False),
    (["2001:db8::/48"], True),
    (["2001:db8::/47"], False),
    ([f"11.{i // 256}.{i % 256}.0/24" for i in range(257)], False),  # many small ones
    (["10.0.0.0/7"], False),  # half private, half public (11/8)
]


@pytest.mark.parametrize(("cidrs", "ok"), SETS)
def test_spec_and_policy_agree(cidrs: list[str], ok: bool) -> None:
    spec_ok = admin_cidr_problem(cidrs, allow_wide=False) is None
    policy_ok = too_wide(cidrs, DEFAULTS) is None
    assert spec_ok == ok, admin_cidr_problem(cidrs, allow_wide=False)
    assert policy_ok == ok, too_wide(cidrs, DEFAULTS)
