"""Reading resource properties the way CrossGuard hands them to Python policies.

Property names are the engine's camelCase names (`metadataOptions.httpTokens`). During a preview a
value may be unknown (computed by the cloud later); the SDK's proxy raises `UnknownValueError` when
such a value is read. Policies here read through `get`/`elements`, which turn an unknown into the
`UNKNOWN` sentinel, so a policy can say "can't tell yet" instead of failing or guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

WORLD_CIDRS = ("0.0.0.0/0", "::/0")
TRUE_STRINGS = {"true", "1", "yes", "on"}
FALSE_STRINGS = {"false", "0", "no", "off"}


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


def get(obj: Any, path: str, default: Any = None) -> Any:
    """`get(props, "metadataOptions.httpTokens")`: the value, `default`, or UNKNOWN (preview)."""
    cur = obj
    for part in path.split("."):
        if cur is UNKNOWN:
            return UNKNOWN
        if not isinstance(cur, Mapping):
            return default
        try:
            if part not in cur:
                return default
            cur = cur[part]
        except UnknownValueError:
            return UNKNOWN
        if cur is None:
            return default
    return cur


def elements(value: Any) -> list[Any]:
    """The items of a list property (unknown items as UNKNOWN); a scalar is a one-item list."""
    if value is None:
        return []
    if value is UNKNOWN:
        return [UNKNOWN]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value]
    out: list[Any] = []
    for i in range(len(value)):
        try:
            out.append(value[i])
        except UnknownValueError:
            out.append(UNKNOWN)
    return out


def as_bool(value: Any) -> bool | Any | None:
    """True/False from a bool or a "true"/"false" string (launch templates use strings)."""
    if value is None or value is UNKNOWN:
        return value
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    return None


def as_int(value: Any) -> int | Any | None:
    if value is None or value is UNKNOWN:
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def plain(value: Any) -> Any:
    """A deep copy with plain dicts/lists (unknowns as UNKNOWN): for JSON-like walking."""
    if isinstance(value, Mapping):
        out = {}
        for k in list(value):
            try:
                out[k] = plain(value[k])
            except UnknownValueError:
                out[k] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in elements(value)]
    return value


def strings_in(value: Any) -> list[str]:
    """Every string leaf of a property value."""
    value = plain(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def tags_of(props: Mapping[str, Any]) -> dict[str, str]:
    tags = plain(get(props, "tags", {}))
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list):  # autoscaling groups: [{key, value, ...}]
        return {str(t.get("key")): str(t.get("value")) for t in tags if isinstance(t, dict)}
    return {}


def config(args: Any, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's settings: its defaults overlaid with `--policy-pack-config` values."""
    merged = dict(defaults)
    try:
        given = args.get_config() or {}
    except Exception:
        given = {}
    merged.update({k: v for k, v in given.items() if k != "enforcementLevel"})
    return merged


def short_type(resource_type: str) -> str:
    """`aws:ec2/launchTemplate:LaunchTemplate` -> `LaunchTemplate`."""
    return resource_type.rsplit(":", 1)[-1]


def label(resource_type: str, name: str) -> str:
    return f"{short_type(resource_type)} {name!r}"


def port_range(rule: Mapping[str, Any]) -> tuple[str, int, int] | Any:
    """(protocol, from, to) of a rule, all ports for protocol -1/all; UNKNOWN if not known yet."""
    proto = get(rule, "ipProtocol", get(rule, "protocol", "tcp"))
    if proto is UNKNOWN:
        return UNKNOWN
    proto = str(proto).lower()
    if proto in ("-1", "all"):
        return ("all", 0, 65535)
    lo, hi = as_int(get(rule, "fromPort")), as_int(get(rule, "toPort"))
    if lo is UNKNOWN or hi is UNKNOWN:
        return UNKNOWN
    if proto in ("tcp", "6", "udp", "17"):
        lo = 0 if lo is None or lo < 0 else lo
        hi = 65535 if hi is None or hi < 0 else hi
        return ("tcp" if proto in ("tcp", "6") else "udp", lo, hi)
    return (proto, -1, -1)  # icmp and others: no ports, still traffic


def world_sources(rule: Mapping[str, Any], world: tuple[str, ...] = WORLD_CIDRS) -> list[str]:
    """World CIDRs a rule (separate resource or inline entry) admits."""
    found = []
    for key in ("cidrIpv4", "cidrIpv6", "cidrBlocks", "ipv6CidrBlocks"):
        for cidr in elements(get(rule, key)):
            if isinstance(cidr, str) and cidr.strip() in world:
                found.append(cidr.strip())
    return found


def describe_ports(rng: tuple[str, int, int]) -> str:
    proto, lo, hi = rng
    if proto == "all":
        return "all traffic"
    if lo < 0:
        return f"protocol {proto}"
    return f"{proto} {lo}" if lo == hi else f"{proto} {lo}-{hi}"


def mandatory(
    name: str,
    description: str,
    validate: Any,
    severity: Any,
    config: dict[str, Any] | None = None,
) -> Any:
    """A mandatory resource policy; its level is configurable per policy through policy config."""
    from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=severity,
        config_schema=PolicyConfigSchema(properties=config) if config else None,
    )
