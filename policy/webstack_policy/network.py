"""Security group policies: world ingress only on 80/443 and only to the edge, no world SSH/RDP,
every rule described, no inline rules mixed with separate rule resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import (
    EDGE_TAG_KEY,
    EDGE_TAG_VALUE,
    INGRESS_RULE,
    LEGACY_RULE,
    LOAD_BALANCER_TYPES,
    RULE_TYPES,
    SG_TYPES,
    StackIndex,
)
from .props import (
    UNKNOWN,
    WORLD_CIDRS,
    config,
    describe_ports,
    elements,
    get,
    label,
    mandatory,
    port_range,
    world_sources,
)


def _world(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(cfg.get("worldCidrs") or WORLD_CIDRS)


def _ingress_entries(args: ResourceValidationArgs) -> list[tuple[str, Mapping[str, Any]]]:
    """(where, rule props) of every ingress rule this resource declares."""
    t, p = args.resource_type, args.props
    if t == INGRESS_RULE:
        return [("", p)]
    if t == LEGACY_RULE:
        return [("", p)] if get(p, "type") == "ingress" else []
    if t in SG_TYPES:
        return [
            (f" (inline ingress[{i}])", rule)
            for i, rule in enumerate(elements(get(p, "ingress")))
            if isinstance(rule, Mapping)
        ]
    return []


# -- world ingress only on 80/443 ---------------------------------------------------------------
HTTP_ONLY_DEFAULTS = {"allowedWorldPorts": [80, 443], "worldCidrs": list(WORLD_CIDRS)}


def validate_world_ingress_http_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, HTTP_ONLY_DEFAULTS)
    allowed = {int(p) for p in cfg["allowedWorldPorts"]}
    for where, rule in _ingress_entries(args):
        sources = world_sources(rule, _world(cfg))
        if not sources:
            continue
        rng = port_range(rule)
        if rng is UNKNOWN:
            continue
        proto, lo, hi = rng
        if proto == "tcp" and lo == hi and lo in allowed:
            continue
        report(
            f"{label(args.resource_type, args.name)}{where} opens {describe_ports(rng)} to "
            f"{', '.join(sources)}: only TCP {', '.join(map(str, sorted(allowed)))} may face the "
            "internet (everything else is an attack surface nobody monitors). Narrow the source "
            "to your own CIDRs or remove the rule.",
            None,
        )


world_ingress_http_only = mandatory(
    "sg-world-ingress-http-only",
    "Security group rules open to the world (0.0.0.0/0, ::/0) allow only TCP 80 and 443.",
    validate_world_ingress_http_only,
    Severity.HIGH,
    config={
        "allowedWorldPorts": {"type": "array", "items": {"type": "integer"}},
        "worldCidrs": {"type": "array", "items": {"type": "string"}},
    },
)


# -- never SSH/RDP from the world ---------------------------------------------------------------
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}


def validate_no_world_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, {"worldCidrs": list(WORLD_CIDRS)})
    for where, rule in _ingress_entries(args):
        sources = world_sources(rule, _world(cfg))
        rng = port_range(rule)
        if not sources or rng is UNKNOWN:
            continue
        proto, lo, hi = rng
        if proto not in ("tcp", "all"):
            continue
        hit = [f"{name} ({port})" for port, name in ADMIN_PORTS.items() if lo <= port <= hi]
        if hit:
            report(
                f"{label(args.resource_type, args.name)}{where} opens {' and '.join(hit)} to "
                f"{', '.join(sources)}: remote-admin ports facing the internet are brute-forced "
                "within minutes. Use SSM Session Manager, or allow only your admin CIDRs "
                "(admin_cidrs).",
                None,
            )


no_world_admin = mandatory(
    "sg-no-world-admin-ports",
    "SSH (22) and RDP (3389) are never open to the world.",
    validate_no_world_admin,
    Severity.CRITICAL,
    config={"worldCidrs": {"type": "array", "items": {"type": "string"}}},
)


# -- every rule described -----------------------------------------------------------------------
def validate_rules_described(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, p = args.resource_type, args.props
    what = label(t, args.name)
    why = (
        "an undescribed rule can't be reviewed or safely removed later (nobody knows who needs it)"
    )
    if t in RULE_TYPES:
        desc = get(p, "description")
        if desc is not UNKNOWN and not (isinstance(desc, str) and desc.strip()):
            report(f"{what} has no description: {why}.", None)
        return
    if t in SG_TYPES:
        for direction in ("ingress", "egress"):
            for i, rule in enumerate(elements(get(p, direction))):
                if not isinstance(rule, Mapping):
                    continue
                desc = get(rule, "description")
                if desc is not UNKNOWN and not (isinstance(desc, str) and desc.strip()):
                    report(f"{what}: inline {direction}[{i}] has no description: {why}.", None)


rules_described = mandatory(
    "sg-rules-described",
    "Every security group rule (separate or inline) has a description.",
    validate_rules_described,
    Severity.LOW,
)


# -- no inline rules mixed with rule resources --------------------------------------------------
def _rule_key(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    rng = port_range(rule)
    desc = get(rule, "description")
    return (rng if rng is not UNKNOWN else None, desc.strip() if isinstance(desc, str) else None)


def validate_no_mixed_rules(args: StackValidationArgs, report: ReportViolation) -> None:
    """Stack policies see outputs, and after a deploy the provider reads a group's rules back into
    its `ingress`/`egress` outputs, separate rule resources included: only entries that no
    separate rule accounts for are inline rules."""
    index = StackIndex(args.resources)
    for sg in index.of_type(*SG_TYPES):
        separate = index.rules_of(sg)
        known = {_rule_key(r.props) for r in separate}
        inline = [
            d
            for d in ("ingress", "egress")
            if [
                r
                for r in elements(get(sg.props, d))
                if isinstance(r, Mapping) and _rule_key(r) not in known
            ]
        ]
        if inline and separate:
            report(
                f"{label(sg.resource_type, sg.name)} has inline {'/'.join(inline)} rules and "
                f"{len(separate)} separate rule resource(s) "
                f"({', '.join(sorted(r.name for r in separate)[:3])}): the provider makes the "
                "inline list authoritative, so each `pulumi up` deletes the separate rules and "
                "re-adds them (flapping, and a window with the rules missing). Use only separate "
                "rule resources.",
                sg.urn,
            )


no_mixed_rules = StackValidationPolicy(
    name="sg-no-mixed-inline-rules",
    description="A security group uses either inline rules or separate rule resources, never both.",
    validate=validate_no_mixed_rules,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)


# -- world ingress only to the edge -------------------------------------------------------------
EDGE_ONLY_DEFAULTS = {
    "edgeTagKey": EDGE_TAG_KEY,
    "edgeTagValue": EDGE_TAG_VALUE,
    "worldCidrs": list(WORLD_CIDRS),
}


def validate_world_ingress_edge_only(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, EDGE_ONLY_DEFAULTS)
    world = _world(cfg)
    index = StackIndex(args.resources)
    edges = index.edge_instances(world, (cfg["edgeTagKey"], cfg["edgeTagValue"]))
    for sg in index.world_open_groups(world).values():
        for user in index.attachments(sg):
            if user.resource_type in LOAD_BALANCER_TYPES or user.urn in edges:
                continue
            report(
                f"{label(sg.resource_type, sg.name)} admits the internet and is attached to "
                f"{label(user.resource_type, user.name)}, which is not the edge: app instances "
                "must only be reachable through the ALB or the Nginx edge VM (which apply TLS, "
                "header hygiene and rate limits). Give the app tier its own group that admits "
                "only the edge's group.",
                sg.urn,
            )


world_ingress_edge_only = StackValidationPolicy(
    name="sg-world-ingress-edge-only",
    description="Security groups open to the world are attached only to the edge (a load "
    "balancer or the Nginx edge VM).",
    validate=validate_world_ingress_edge_only,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "edgeTagKey": {"type": "string"},
            "edgeTagValue": {"type": "string"},
            "worldCidrs": {"type": "array", "items": {"type": "string"}},
        }
    ),
)

POLICIES: list[Any] = [
    world_ingress_http_only,
    no_world_admin,
    rules_described,
    no_mixed_rules,
    world_ingress_edge_only,
]
