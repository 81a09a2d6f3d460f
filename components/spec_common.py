"""Models both tiers share (imported by spec.py and windows_spec.py, so neither imports the other)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SIZE_PATTERN = r"^[0-9]{1,6}[kmgKMG]?$"
HOSTNAME_PATTERN = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$"
)


class Model(BaseModel):
    """Strict base: unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_cidr(v: str) -> str:
    try:
        return str(ipaddress.ip_network(v, strict=True))
    except ValueError as e:
        raise ValueError(f"{v!r} is not a CIDR block such as 10.0.0.0/16 ({e})") from None


Cidr = Annotated[str, Field(description="An IPv4/IPv6 CIDR block")]


class NginxSpec(Model):
    client_max_body_size: str = Field(
        "10m", pattern=SIZE_PATTERN, description="Largest request body, nginx size (e.g. 10m)."
    )
    rate_limit_rps: int = Field(
        50, ge=1, le=100000, description="Requests per second per client IP (429 beyond)."
    )
    rate_limit_burst: int = Field(100, ge=0, le=100000, description="Burst above the rate.")
    allow_cidrs: list[Cidr] = Field(
        default_factory=list, description="If set, only these client CIDRs may connect."
    )
    deny_cidrs: list[Cidr] = Field(default_factory=list, description="Client CIDRs refused (403).")
    gzip: bool = Field(True, description="Compress text responses.")

    @field_validator("allow_cidrs", "deny_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        return [_check_cidr(c) for c in v]


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
