"""Pure check that no two apps on one ALB can claim the same request.

An app matches a request when its host names match the Host header (no host names: any host) and
the path starts with its path prefix. Host conditions compare case-insensitively and `*` matches
0 or more characters (AWS CloudFormation, ListenerRule HostHeaderConfig: "The comparison is case
insensitive"), so `*.example.com` matches every name ending in `.example.com`; path patterns are
case-sensitive. "Rules are evaluated in priority order, from the lowest value to the highest
value" and the first match wins (https://docs.aws.amazon.com/elasticloadbalancing/latest/
application/listener-rules.html). webstack orders rules longer path prefix first, then
host-restricted before any-host (components/edge.py; `sort_key` mirrors it and a unit test keeps
the two equal). So two apps that can match one request are fine only when one of them is
strictly more specific in a way that order expresses: its requests are a subset of the other's,
and it sorts first. Then the more specific app gets exactly its own requests and the other one
the rest (`/api/` inside `/` on the same host: the API wins its prefix, the site keeps the rest).
Everything else (`[a]` and `[a, b]`, two catch-alls, `*.x.com` and `a.x.com` on one prefix, host
on one side and path on the other) sends a request to an app chosen by rule order or name alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    app: str
    hostnames: tuple[str, ...]  # empty: any host
    path_prefix: str  # "/" or "/a/b/"


def _host_covers(pattern: str, host: str) -> bool:
    """Does `pattern` match every name `host` matches? (both lowercase; `*.` wildcards)."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == host:
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".example.com"
        return host.endswith(suffix) and len(host) > len(suffix)
    return False


def _hosts_meet(a: str, b: str) -> bool:
    """Can one Host header match both patterns?"""
    if _host_covers(a, b) or _host_covers(b, a):
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    return False


def _hosts_overlap(a: Route, b: Route) -> bool:
    if not a.hostnames or not b.hostnames:
        return True
    return any(_hosts_meet(x, y) for x in a.hostnames for y in b.hostnames)


def _hosts_subset(inner: Route, outer: Route) -> bool:
    if not outer.hostnames:
        return True
    if not inner.hostnames:
        return False
    return all(any(_host_covers(o, i) for o in outer.hostnames) for i in inner.hostnames)


def _paths_nest(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def sort_key(r: Route) -> tuple[int, bool]:
    """The ALB rule order of components/edge.py (without its final tie-break by app name)."""
    return (-len(r.path_prefix), not r.hostnames)


def _separable(specific: Route, general: Route) -> bool:
    """The ALB gives `specific` its requests and `general` the rest, whatever their names."""
    return (
        specific.path_prefix.startswith(general.path_prefix)
        and _hosts_subset(specific, general)
        and sort_key(specific) < sort_key(general)
    )


def route_conflicts(routes: Sequence[Route]) -> list[str]:
    """One line per pair of apps that can match the same request and that rule order cannot
    separate."""
    problems = []
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            if not (_hosts_overlap(a, b) and _paths_nest(a.path_prefix, b.path_prefix)):
                continue
            if _separable(a, b) or _separable(b, a):
                continue
            where = ", ".join(a.hostnames) or "any host"
            other = ", ".join(b.hostnames) or "any host"
            problems.append(
                f"apps: {a.app} ({where}, {a.path_prefix}) and {b.app} ({other}, "
                f"{b.path_prefix}) can both match the same request, and the ALB would pick one by "
                "rule order alone; give them disjoint hostnames or path_prefix (a nested prefix "
                "or a host-specific app beside a catch-all on the same prefix is fine)"
            )
    return problems
