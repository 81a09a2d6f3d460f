"""Pure CIDR judgements: how much of the public internet a set of ranges admits, and allow/deny
lists that contradict each other. No Pulumi here (the spec, SecurityGroups and tests share it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not reachable from the internet (RFC 1918, CGNAT, loopback, link-local, ULA; RFC 6890 lists them):
# admitting any of these to SSH/RDP opens nothing to the world, so they never count against the bound.
NON_PUBLIC: tuple[Network, ...] = tuple(
    ipaddress.ip_network(c)
    for c in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
# The widest public admin range a stack accepts without the explicit opt-in: an office, a VPN
# egress or a cloud NAT is a /24 or smaller; a /16 (65,536 addresses) is already a whole provider.
# For IPv6 a site gets a /48 (RFC 6177), so one /48 is the bound.
MAX_PUBLIC_ADMIN = {4: 2**16, 6: 2**80}
BOUND_TEXT = {4: "a /16 (65,536 addresses)", 6: "a /48"}
WIDE_ADMIN_OPT_IN = "insecure_allow_wide_admin_cidrs"
# Refused even with the opt-in: half of the internet is no admin range. IPv4: half of the public
# space (all of IPv4 less the NON_PUBLIC blocks); IPv6: half of 2000::/3, the global unicast space
# IANA allocates from (a /4, 2**124 addresses). policy/webstack_policy/admin_ranges.py agrees.
_PUBLIC_V4 = 2**32 - sum(n.num_addresses for n in NON_PUBLIC if n.version == 4)
HALF_INTERNET = {4: _PUBLIC_V4 // 2, 6: 2**124}
HALF_TEXT = {4: "half of the public IPv4 space", 6: "half of 2000::/3 (a /4)"}
# AWS VPC quotas (amazon-vpc-limits.html, Security groups): 60 inbound rules per security group by
# default, "enforced separately for IPv4 rules and IPv6 rules"; a rule that references a security
# group counts once for each. webstack adds at most 2 more per version to a group that carries
# admin rules (HTTP and HTTPS from the world on the Nginx edge; 1 from the ALB's group on an app
# tier), so each version may have 58 admin ranges.
SG_INBOUND_RULES = 60
WEBSTACK_INBOUND_RULES = 2
MAX_ADMIN_CIDRS_PER_VERSION = SG_INBOUND_RULES - WEBSTACK_INBOUND_RULES


def union(cidrs: Iterable[str]) -> list[Network]:
    """The ranges collapsed into disjoint networks (IPv4 first, then IPv6)."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    v4 = ipaddress.collapse_addresses(n for n in nets if n.version == 4)
    v6 = ipaddress.collapse_addresses(n for n in nets if n.version == 6)
    return [*v4, *v6]


def public_addresses(cidrs: Iterable[str], version: int) -> int:
    """How many internet-routable addresses of `version` the union of `cidrs` admits."""
    total = 0
    for net in union(cidrs):
        if net.version != version:
            continue
        # CIDRs nest or are disjoint, and both lists are disjoint: subtract each overlap once.
        private = sum(
            min(net.num_addresses, p.num_addresses)
            for p in NON_PUBLIC
            if p.version == version and net.overlaps(p)
        )
        total += net.num_addresses - private
    return total


def admin_list_problem(cidrs: Iterable[str]) -> str | None:
    """A range listed twice (after normalising: each becomes one rule with one logical name), or
    more ranges of one IP version than a security group holds beside webstack's own rules."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    seen: set[Network] = set()
    for net in nets:
        if net in seen:
            return f"{net} is listed twice (each range is one security group rule)"
        seen.add(net)
    for version in (4, 6):
        count = sum(1 for n in nets if n.version == version)
        if count > MAX_ADMIN_CIDRS_PER_VERSION:
            return (
                f"{count} IPv{version} ranges, at most {MAX_ADMIN_CIDRS_PER_VERSION} (a security "
                f"group holds {SG_INBOUND_RULES} inbound IPv{version} rules by default and webstack "
                f"adds {WEBSTACK_INBOUND_RULES}); merge ranges into larger blocks"
            )
    return None


def admin_cidr_problem(cidrs: Iterable[str], allow_wide: bool) -> str | None:
    """Why `cidrs` must not reach SSH/RDP, or None. Judged on the union, so splitting the world
    into halves (0.0.0.0/1 + 128.0.0.0/1) is the world again."""
    cidrs = list(cidrs)
    for version, world in ((4, "0.0.0.0/0"), (6, "::/0")):
        nets = [n for n in union(cidrs) if n.version == version]
        if nets == [ipaddress.ip_network(world)]:
            return (
                f"together these ranges are {world}: SSH/RDP open to the whole internet; give your "
                "office/VPN range or use SSM Session Manager"
            )
        public = public_addresses(cidrs, version)
        if public >= HALF_INTERNET[version]:
            return (
                f"together these ranges admit {public:,} public IPv{version} addresses to SSH/RDP, "
                f"at least {HALF_TEXT[version]}: refused even with {WIDE_ADMIN_OPT_IN}; give your "
                "office/VPN range or use SSM Session Manager"
            )
        if public > MAX_PUBLIC_ADMIN[version] and not allow_wide:
            return (
                f"together these ranges admit {public:,} public IPv{version} addresses to SSH/RDP, "
                f"more than {BOUND_TEXT[version]}; give your office/VPN range, or set "
                f"{WIDE_ADMIN_OPT_IN}: true to accept the risk"
            )
    return None


def allow_deny_problem(allow: Iterable[str], deny: Iterable[str]) -> str | None:
    """Nginx checks `deny` lines before `allow` lines, so an allow range inside a deny range can
    never admit anyone: the lists contradict each other. (CIDRs nest or are disjoint, so the only
    other overlap, a deny inside an allow, is the meaningful 'all of the office except ...'.)"""
    deny_nets = [ipaddress.ip_network(d) for d in deny]
    for a in allow:
        net = ipaddress.ip_network(a)
        for d in deny_nets:
            if net.version == d.version and net.subnet_of(d):  # type: ignore[arg-type]
                return (
                    f"allow_cidrs {a} lies inside deny_cidrs {d}, so it admits nobody (deny is "
                    "checked first); remove one of them"
                )
    return None
