"""The policy pack and the stack's own check judge SSH/RDP ranges alike (same union, same bounds):
a stack `webstack check` accepts passes the pack, and one it refuses the pack refuses too."""

from __future__ import annotations

import ipaddress

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


# With the opt-in (the stack's flag, the pack's raised bounds), half of the internet is still
# refused by both: all of IPv4 but one /9, 2000::/3, its half 2000::/4; less than half passes.
EVERYTHING_BUT_A_9 = [
    str(n)
    for n in ipaddress.ip_network("0.0.0.0/0").address_exclude(ipaddress.ip_network("11.0.0.0/9"))
]
WIDE = [
    (EVERYTHING_BUT_A_9, False),
    (["2000::/3"], False),
    (["2000::/4"], False),
    (["0.0.0.0/1", "128.0.0.0/2"], False),
    (["0.0.0.0/1"], True),  # under half once 10/8, 100.64/10 and 127/8 are taken out
    (["2000::/5"], True),
    (["8.0.0.0/8"], True),
]
RAISED = {"maxPublicAdminAddressesV4": 2**32, "maxPublicAdminAddressesV6": 2**128}


@pytest.mark.parametrize(("cidrs", "ok"), WIDE)
def test_half_the_internet_is_refused_even_with_the_opt_in(cidrs: list[str], ok: bool) -> None:
    spec_ok = admin_cidr_problem(cidrs, allow_wide=True) is None
    policy_ok = too_wide(cidrs, RAISED) is None
    assert spec_ok == ok, admin_cidr_problem(cidrs, allow_wide=True)
    assert policy_ok == ok, too_wide(cidrs, RAISED)
