"""Network, TLS and edge configuration of a stack."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.spec.common import HOSTNAME_PATTERN, Cidr, Model, _check_cidr


class ExistingNetwork(Model):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="Existing VPC ID.")
    vpc_cidr: Cidr = Field(description="The VPC's CIDR (Nginx trusts client IPs only from it).")
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]]
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]]

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        return _check_cidr(v)


class NetworkSpec(Model):
    cidr: Cidr = Field("10.40.0.0/16", description="VPC CIDR when the stack creates the VPC.")
    az_count: int = Field(2, ge=1, le=6, description="Availability zones to span.")
    nat: Literal["none", "single", "per-az"] = Field(
        "single", description="NAT gateways for private subnets: none | single | per-az."
    )
    existing: ExistingNetwork | None = Field(None, description="Adopt an existing VPC instead.")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        v = _check_cidr(v)
        net = ipaddress.ip_network(v)
        if net.version != 4 or not 16 <= net.prefixlen <= 24 or not net.is_private:
            raise ValueError(f"{v} must be a private IPv4 block from /16 to /24")
        return v

    @property
    def vpc_cidr(self) -> str:
        return self.existing.vpc_cidr if self.existing else self.cidr

    @property
    def public_az_count(self) -> int:
        return len(self.existing.public_subnet_ids) if self.existing else self.az_count

    @property
    def private_az_count(self) -> int:
        return len(self.existing.private_subnet_ids) if self.existing else self.az_count


class TlsSpec(Model):
    mode: Literal["acm", "existing", "self-signed"] = Field(
        "self-signed", description="acm (DNS-validated in a Route53 zone) | existing | self-signed."
    )
    domain: str | None = Field(None, description="Certificate domain (acm).")
    zone_id: str | None = Field(
        None, pattern=r"^Z[0-9A-Z]{4,32}$", description="Route53 zone (acm)."
    )
    certificate_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:acm:", description="Existing ACM certificate ARN."
    )

    @model_validator(mode="after")
    def _mode(self) -> TlsSpec:
        if self.mode == "acm" and not (self.domain and self.zone_id):
            raise ValueError(
                "mode acm needs domain and zone_id (the Route53 zone that validates it)"
            )
        if self.mode == "existing" and not self.certificate_arn:
            raise ValueError("mode existing needs certificate_arn")
        if self.mode != "existing" and self.certificate_arn:
            raise ValueError("certificate_arn is only used with mode existing")
        if self.domain and not HOSTNAME_PATTERN.match(self.domain):
            raise ValueError(f"domain {self.domain!r} is not a host name")
        return self


class EdgeSpec(Model):
    mode: Literal["alb", "nginx"] = Field(
        "alb", description="alb: ALB terminates TLS | nginx: one public VM, Nginx terminates TLS."
    )
    tls: TlsSpec = Field(default_factory=TlsSpec)
    deletion_protection: bool | None = Field(
        None, description="ALB deletion protection (default: on when the stack is production)."
    )
    health_check_url: bool = Field(
        True, description="After deploy, check the public URL answers the health path with 200."
    )
