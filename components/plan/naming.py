"""Physical names that fit AWS's limits, and ALB listener-rule priorities that never move.

Pure decisions (no Pulumi import), so the components, `webstack check` and the faithful tests share
them. Names: pulumi-aws auto-names a resource `<logical name>-<7 random hex>` and refuses one over
the type's maximum (pulumi/pulumi sdk/go/common/resource/resource_id.go `NewUniqueName`); where a
logical name can be too long for AWS (load balancer and target group 32, IAM role 64), the
component sets an explicit name from here: a readable part, cut to fit, plus a 6-hex hash of the
full identity, so two long names that share a prefix still differ and the same inputs always give
the same name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from components.spec.stack import StackSpec

HASH_LEN = 6
# ALB: 1..50000 (terraform-provider-aws internal/service/elbv2/listener_rule.go
# listenerRulePriorityMin/Max; AWS API_CreateRule `Priority`).
PRIORITY_MIN, PRIORITY_MAX = 1, 50_000
# Path patterns are at most 128 characters (listener_rule.go path_pattern values
# StringLenBetween(1, 128)), so prefix lengths 0..127 give 128 bands, x2 for host-restricted rules.
_PATH_BANDS = 128
_BANDS = _PATH_BANDS * 2
_SLOTS = (PRIORITY_MAX - PRIORITY_MIN + 1) // _BANDS  # 195 priorities per band


def short_hash(*identity: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, identity)).encode()).hexdigest()[:HASH_LEN]


def fit_name(readable: str, max_len: int, *identity: object) -> str:
    """`<readable cut to fit>-<hash of readable + identity>`, at most max_len characters.

    The readable part keeps only [a-z0-9-] and never ends in '-' (ELB names may neither begin nor
    end with a hyphen, nor begin with `internal-`: elbv2/validate.go validName).
    """
    clean = "".join(c if c.isalnum() or c == "-" else "-" for c in readable.lower()).strip("-")
    if clean.startswith("internal-"):
        clean = "ws-" + clean
    digest = short_hash(clean, *identity)
    room = max_len - HASH_LEN - 1
    head = clean[:room].rstrip("-")
    return f"{head}-{digest}" if head else digest


def load_balancer_name(component: str, scope: str) -> str:
    """ALB name (max 32, unique per account and region): the edge component plus project/stack."""
    return fit_name(component, 32, scope)


def target_group_name(
    component: str, app: str, scope: str, port: int, protocol: str, network: str
) -> str:
    """Target group name (max 32). Port, protocol and network force a replacement, so they are in
    the hash: the replacement gets a new name and Pulumi's create-before-delete never clashes."""
    return fit_name(f"{app}-{component}", 32, scope, port, protocol, network)


def role_name(component: str, scope: str) -> str:
    """IAM role name (max 64, unique per account across regions)."""
    return fit_name(component, 64, scope)


@dataclass(frozen=True)
class RouteKey:
    """What decides an app's listener rule: its name, hosts, path prefix and optional priority."""

    app: str
    hostnames: tuple[str, ...]
    path_prefix: str
    priority: int | None = None


def specificity_band(route: RouteKey) -> int:
    """0 = most specific: a longer path prefix first, then host-restricted before any host."""
    path_rank = _PATH_BANDS - 1 - min(len(route.path_prefix), _PATH_BANDS - 1)
    return path_rank * 2 + (0 if route.hostnames else 1)


def derived_priority(route: RouteKey) -> int:
    """A stable priority from the app alone: its specificity band plus a hash of its name."""
    slot = int(short_hash("priority", route.app), 16) % _SLOTS
    return PRIORITY_MIN + specificity_band(route) * _SLOTS + slot


def rule_priorities(routes: Iterable[RouteKey]) -> dict[str, int]:
    """app -> listener-rule priority: explicit `priority`, else derived. Raises ValueError on a clash."""
    out: dict[str, int] = {}
    owner: dict[int, str] = {}
    for route in sorted(routes, key=lambda r: r.app):
        prio = route.priority if route.priority is not None else derived_priority(route)
        if not PRIORITY_MIN <= prio <= PRIORITY_MAX:
            raise ValueError(
                f"apps.{route.app}.priority: {prio} is outside {PRIORITY_MIN}..{PRIORITY_MAX}"
            )
        if prio in owner:
            raise ValueError(
                f"apps.{route.app}.priority: listener-rule priority {prio} is also app "
                f"{owner[prio]}'s; set a distinct apps.<name>.priority (1..50000, lower wins) "
                "on one of them"
            )
        owner[prio] = route.app
        out[route.app] = prio
    return out


def name_problems(environment: str, apps: Sequence[str], limits: dict[str, int]) -> list[str]:
    """Auto-named resources whose `<logical name>-<7 hex>` would exceed the provider's maximum.

    `limits` maps a logical-name template (with {env} and {app}) to the type's maximum; each
    problem names the setting to shorten.
    """
    problems = []
    for template, max_len in limits.items():
        targets = apps if "{app}" in template else [""]
        for app in targets:
            logical = template.format(env=environment, app=app)
            if len(logical) + 8 > max_len:
                setting = f"apps.{app}.name" if "{app}" in template else "environment"
                problems.append(
                    f"{setting}: the resource name {logical!r} plus the provider's 8-character "
                    f"suffix is longer than AWS's {max_len}; use a shorter name"
                )
    return problems


# Logical names (as WebStack builds them) of the auto-named resources whose type has a maximum
# below pulumi-aws's default 255, with that maximum (AWS: S3 bucket 63, instance profile and
# inline policy 128, launch template 128).
AUTONAMED_LIMITS = {
    "webstack-{env}-artifacts-bucket": 63,
    "webstack-{env}-{app}-fleet-profile": 128,
    "webstack-{env}-{app}-fleet-read-own": 128,
    "webstack-{env}-{app}-fleet-lt": 128,
}


def app_rule_priorities(spec: StackSpec) -> dict[str, int]:
    """app -> ALB listener-rule priority (explicit or derived) for a stack's apps."""
    return rule_priorities(
        RouteKey(a.name, tuple(sorted(a.hostnames)), a.path_prefix, a.priority) for a in spec.apps
    )
