"""Models both tiers share (imported by spec/stack.py and spec/windows.py, so neither imports the other)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.spec.cidrs import allow_deny_problem

SIZE_PATTERN = r"^[0-9]{1,6}[kmgKMG]?$"
MIN_BODY, MAX_BODY = 1024, 10 * 1024**3
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def nginx_size_bytes(value: str) -> int:
    """Bytes of an Nginx size such as `10m` (SIZE_PATTERN form)."""
    unit = value[-1].lower() if value[-1].isalpha() else ""
    return int(value[: len(value) - len(unit)]) * _UNITS[unit]


HOSTNAME_PATTERN = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$"
)
# An app's host names are one ALB host-header condition: "You can specify up to three match
# evaluations per condition" and up to five per rule (ELB User Guide, rule-condition-types.html);
# with the one path-pattern value each rule has, 3 + 1 stays within the rule's 5.
MAX_HOSTNAMES = 3
# The ALB path condition is `<path_prefix>*`, and path-pattern values are 1..128 characters
# (terraform-provider-aws internal/service/elbv2/listener_rule.go, path_pattern values).
MAX_PATH_PREFIX = 127
# The target group's health check path is 1..1024 characters (terraform-provider-aws
# internal/service/elbv2/target_group.go, health_check.path).
MAX_HEALTH_PATH = 1024


# Strict: unknown keys are errors (a typo must not silently fall back to a default), and no type is
# coerced into another (`request_timeout: true` is not 1 second, "30" is not 30). Pulumi's own
# typing of config values is applied where the config is read (components/tooling/config.py).
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


class Model(BaseModel):
    """Strict base of every config model."""

    model_config = ConfigDict(**STRICT, populate_by_name=True)


def _check_cidr(v: str) -> str:
    try:
        return str(ipaddress.ip_network(v, strict=True))
    except ValueError as e:
        raise ValueError(f"{v!r} is not a CIDR block such as 10.0.0.0/16 ({e})") from None


Cidr = Annotated[str, Field(description="An IPv4/IPv6 CIDR block")]


class NginxSpec(Model):
    client_max_body_size: str = Field(
        "10m",
        pattern=SIZE_PATTERN,
        description="Largest request body, nginx size from 1k to 10g (e.g. 10m).",
    )
    rate_limit_rps: int = Field(
        50, ge=1, le=100000, description="Requests per second per client IP (429 beyond)."
    )
    rate_limit_burst: int = Field(100, ge=0, le=100000, description="Burst above the rate.")
    allow_cidrs: list[Cidr] = Field(
        default_factory=list, description="If set, only these client CIDRs may connect."
    )
    deny_cidrs: list[Cidr] = Field(default_factory=list, description="Client CIDRs refused (403).")
    max_connections_per_ip: int = Field(
        100,
        ge=1,
        le=100000,
        description="Requests one client IP may have in progress at once (Nginx `limit_conn`, "
        "429 beyond; Linux tier). A browser uses 6 at most; an office behind one NAT more.",
    )
    gzip: bool = Field(True, description="Compress text responses.")
    gzip_level: int = Field(
        1,
        ge=1,
        le=9,
        description="gzip level (1-9) when `gzip` is on; a trade of the proxy's CPU against bytes "
        "sent. Measured on a 200 KB HTML page (bench/nginx_cost.py, Nginx instructions per "
        "request): level 1 sends 29.5 KB for 8.0 M instructions, 4 sends 21.6 KB for 13.5 M, 5 "
        "(the old default) 21.6 KB for 14.7 M, 6 21.7 KB for 16.1 M. Level 1 already sends a "
        "sixth of the page; raise it (4, not above) when the clients' bandwidth costs more than "
        "the instance's CPU, e.g. large pages to mobile clients.",
    )

    @field_validator("allow_cidrs", "deny_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        out = [_check_cidr(c) for c in v]
        if len(set(out)) != len(out):
            raise ValueError("a CIDR is listed twice")
        return out

    @field_validator("deny_cidrs")
    @classmethod
    def _deny_world(cls, v: list[str]) -> list[str]:
        world = [c for c in v if ipaddress.ip_network(c).prefixlen == 0]
        if world:
            raise ValueError(
                f"{world[0]} refuses every client; to admit only some, list them in allow_cidrs"
            )
        return v

    @field_validator("client_max_body_size")
    @classmethod
    def _body_size(cls, v: str) -> str:
        size = nginx_size_bytes(v)
        if not MIN_BODY <= size <= MAX_BODY:
            raise ValueError(
                f"{v!r} is outside 1k..10g (0 would switch Nginx's body limit off; more than 10g "
                "is no web request)"
            )
        return v

    @model_validator(mode="after")
    def _contradictions(self) -> NginxSpec:
        problem = allow_deny_problem(self.allow_cidrs, self.deny_cidrs)
        if problem:
            raise ValueError(problem)
        return self


class Capacity(Model):
    min: int = Field(1, ge=0, le=100, description="Smallest instance count.")
    max: int = Field(1, ge=1, le=100, description="Largest instance count.")
    desired: int | None = Field(None, ge=0, le=100, description="Start count (default: min).")

    @model_validator(mode="after")
    def _order(self) -> Capacity:
        desired = self.min if self.desired is None else self.desired
        if not self.min <= desired <= self.max:
            raise ValueError(f"need min <= desired <= max (got {self.min}, {desired}, {self.max})")
        return self

    @property
    def start(self) -> int:
        return self.min if self.desired is None else self.desired


CACHE_PREFIX_PATTERN = r"^/[A-Za-z0-9._~/-]*$"
COOKIE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$|^\*$"
MIN_CACHE, MAX_CACHE = 1024**2, 100 * 1024**3


class MicrocacheSpec(Model):
    """Nginx proxy_cache for a short TTL, only for responses the app marks `Cache-Control: public`
    (and not private / no-store / no-cache), only for GET/HEAD without Authorization or a session
    cookie, never storing a response with Set-Cookie. Emptied at boot and on each release."""

    enabled: bool = Field(
        False,
        description="Opt-in. Nginx keeps a response ttl_seconds only when the app sends "
        "`Cache-Control: public` (never with private, no-store or no-cache, never one with "
        "Set-Cookie), for GET/HEAD requests without Authorization or a bypass cookie; concurrent "
        "misses send one request upstream (proxy_cache_lock); responses carry `X-Cache-Status`. "
        "Emptied at every Nginx start (boot) and by `/opt/webstack/empty-microcache-<app>.sh`, "
        "the step a release runs once the new code is live.",
    )
    paths: list[Annotated[str, Field(pattern=CACHE_PREFIX_PATTERN, max_length=200)]] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        max_length=20,
        description="URL path prefixes that may be cached (e.g. /blog/); others always reach the app.",
    )
    ttl_seconds: int = Field(
        1,
        ge=1,
        le=300,
        description="How long a cached response is fresh (the app's max-age is not used: a "
        "microcache absorbs bursts, the browser cache is the app's own business).",
    )
    stale_seconds: int = Field(
        60,
        ge=1,
        le=86400,
        description="An expired response stays in the cache this long after its last use, served "
        "while one request refreshes it and while the app errors or restarts.",
    )
    max_size: str = Field(
        "256m",
        pattern=SIZE_PATTERN,
        description="Largest size of the cache on disk (nginx size, 1m..100g).",
    )
    bypass_cookies: list[Annotated[str, Field(pattern=COOKIE_NAME_PATTERN)]] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description="Requests carrying any of these cookies skip the cache; `*` (the default) = "
        "any cookie. Naming only the session cookies (e.g. sessionid, csrftoken) caches more but "
        "trusts that no other cookie changes the page.",
    )

    @field_validator("max_size")
    @classmethod
    def _max_size(cls, v: str) -> str:
        if not MIN_CACHE <= nginx_size_bytes(v) <= MAX_CACHE:
            raise ValueError(f"{v!r} is outside 1m..100g")
        return v

    @field_validator("paths", "bypass_cookies")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"{sorted(x for x in v if v.count(x) > 1)[0]!r} is listed twice")
        return v


class TimeoutOverrides(BaseModel):
    """Explicit timeouts (seconds). Each defaults to the value derived from request_timeout."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    gunicorn: int | None = Field(None, ge=1, le=3600, description="Gunicorn worker timeout.")
    nginx_read: int | None = Field(None, ge=1, le=3600, description="Nginx proxy_read_timeout.")
    alb_idle: int | None = Field(None, ge=1, le=4000, description="ALB idle timeout (alb edge).")
    edge_keepalive: int | None = Field(
        None, ge=1, le=4000, description="Nginx keepalive_timeout towards the ALB or clients."
    )
