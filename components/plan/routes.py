"""Pure check that no two apps on one ALB can claim the same request.

An app matches a request when its host names match the Host header (no host names: any host) and
the path starts with its path prefix. Host conditions compare case-insensitively and `*` matches
0 or more characters (AWS CloudFormation, ListenerRule HostHeaderConfig: "The comparison is case
insensitive"), so `*.example.com` matches every name ending in `.example.com`; path patterns are
case-sensitive. "Rules are evaluated in priority order, from the lowest value to the highest
value" and the first match wins (https://docs.aws.amazon.com/elasticloadbalancing/latest/
application/listener-rules.html).

So two apps that can match one request are fine only when one of them is more specific by the
documented order (components/plan/naming.py: a longer path prefix first, then host-restricted before
any-host) and its rule really has the lower priority (an explicit `priority` is judged as set).
Then the winner is a rule anyone can read off the config: `/api/` inside `/` on one host, the API
wins its prefix and the site keeps the rest; `/reports/` on every host beside a site on `a.com`,
reports wins `/reports/` on `a.com` too. Within one band only a hash of the app names orders the
rules, so `[a]` beside `[a, b]`, two catch-alls or `*.x.com` beside `a.x.com` on one prefix are
errors. And every app's own public health check (its first host name, or the ALB's name, and
path prefix + health path, as components/aws/webstack.py sends it) must reach that app: neither
another app's rule nor no rule at all (then the listener's default action answers 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.plan.naming import RouteKey, specificity_band


@dataclass(frozen=True)
class Route:
    app: str
    hostnames: tuple[str, ...]  # empty: any host
    path_prefix: str  # "/" or "/a/b/"
    priority: int  # its listener rule's priority (lower is evaluated first)
    health_host: str | None = None  # Host of its public health check (None: the ALB's DNS name)
    health_url: str = "/healthz"  # path of its public health check


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


def _more_specific(a: Route, b: Route) -> bool:
    """`a` sorts strictly before `b` by structure (never by the name hash within a band)."""
    rank = specificity_band(RouteKey(a.app, a.hostnames, a.path_prefix))
    return rank < specificity_band(RouteKey(b.app, b.hostnames, b.path_prefix))


def _paths_nest(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _separable(a: Route, b: Route) -> bool:
    """One of the two is more specific by structure and its rule comes first."""
    first, second = (a, b) if a.priority < b.priority else (b, a)
    return _more_specific(first, second)


def _matches(route: Route, host: str | None, path: str) -> bool:
    if route.hostnames and (
        host is None or not any(_host_covers(h, host) for h in route.hostnames)
    ):
        return False
    return path.startswith(route.path_prefix)


def route_conflicts(routes: Sequence[Route]) -> list[str]:
    """One line per problem: a pair of apps the priorities cannot separate, or a health check
    that another app's rule would answer."""
    problems = []
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            if not (_hosts_overlap(a, b) and _paths_nest(a.path_prefix, b.path_prefix)):
                continue
            if _separable(a, b):
                continue
            where = ", ".join(a.hostnames) or "any host"
            other = ", ".join(b.hostnames) or "any host"
            problems.append(
                f"apps: {a.app} ({where}, {a.path_prefix}) and {b.app} ({other}, "
                f"{b.path_prefix}) can both match the same request, and the ALB would pick one by "
                "rule priority alone; give them disjoint hostnames or path_prefix (a longer "
                "prefix, or host names beside a catch-all, is fine while its rule comes first)"
            )
    ordered = sorted(routes, key=lambda r: r.priority)
    for r in routes:
        winner = next((o for o in ordered if _matches(o, r.health_host, r.health_url)), None)
        if winner is None:
            problems.append(
                f"apps.{r.app}.hostnames: the public health check "
                f"({r.health_host or 'the ALB name'}{r.health_url}) matches no listener rule, so "
                "the ALB answers it with its fixed 404; list a concrete host name the app answers"
            )
        elif winner.app != r.app:
            problems.append(
                f"apps.{r.app}.health_path: the public health check "
                f"({r.health_host or 'the ALB name'}{r.health_url}) would reach app {winner.app}, "
                "whose rule comes first; move the health path or the other app's path_prefix"
            )
    return problems
