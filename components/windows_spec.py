"""The Windows tier's configuration: N Waitress services behind IIS, Nginx or Caddy."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WINDOWS_IMAGES = ("windows-2022", "windows-2019", "windows-2025")
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Installer(_Model):
    """A download the bootstrap fetches; with sha256 set, a mismatch stops the bootstrap."""

    url: str = Field(pattern=r"^https://", description="https URL of the installer/zip.")
    sha256: str | None = Field(None, description="Expected SHA-256 (64 hex digits).")

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not SHA256.match(v):
            raise ValueError(f"{v!r} is not a SHA-256 (64 hexadecimal digits)")
        return v.lower() if v else v


class Installers(_Model):
    python: Installer = Installer(
        url="https://www.python.org/ftp/python/3.12.8/python-3.12.8-amd64.exe"
    )
    nssm: Installer = Installer(url="https://nssm.cc/release/nssm-2.24.zip")
    nginx: Installer = Installer(url="https://nginx.org/download/nginx-1.26.2.zip")
    caddy: Installer = Installer(
        url="https://github.com/caddyserver/caddy/releases/download/v2.8.4/caddy_2.8.4_windows_amd64.zip"
    )
    url_rewrite: Installer = Installer(
        url="https://download.microsoft.com/download/1/2/8/128E2E22-C1B9-44A4-BE2A-5859ED1D4592/rewrite_amd64_en-US.msi"
    )
    arr: Installer = Installer(
        url="https://download.microsoft.com/download/E/9/8/E9849D6A-020E-47E4-9FD0-A023E99B54EB/requestRouter_amd64.msi"
    )


class WindowsTier(_Model):
    image: str = Field(
        "windows-2022", description="windows-2022 | windows-2019 | windows-2025 | an AMI ID."
    )
    instance_type: str = Field(
        "t3.medium", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type."
    )
    min: int = Field(1, ge=0, le=100, description="Smallest instance count.")
    max: int = Field(1, ge=1, le=100, description="Largest instance count.")
    root_volume_gb: int = Field(50, ge=30, le=1024, description="Encrypted gp3 root volume.")
    instances: int = Field(4, description="Waitress processes per VM (1..16), ports base_port+i.")
    base_port: int = Field(5001, ge=1024, le=65000, description="Port of Waitress instance 1.")
    threads: int = Field(8, ge=1, le=256, description="Waitress threads per instance.")
    channel_timeout: int = Field(120, ge=1, le=3600, description="Waitress channel_timeout (s).")
    connection_limit: int = Field(1000, ge=1, le=100000, description="Waitress connection_limit.")
    proxy: Literal["iis", "nginx", "caddy"] = Field("nginx", description="iis | nginx | caddy.")
    installers: Installers = Field(default_factory=Installers)

    @field_validator("instances")
    @classmethod
    def _instances(cls, v: int) -> int:
        if not 1 <= v <= 16:
            raise ValueError(f"instances must be 1..16 (got {v})")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v not in WINDOWS_IMAGES and not re.match(r"^ami-[0-9a-f]{8,17}$", v):
            raise ValueError(f"{v!r} is not one of {', '.join(WINDOWS_IMAGES)} or an AMI ID")
        return v

    @model_validator(mode="after")
    def _ports(self) -> WindowsTier:
        if self.min > self.max:
            raise ValueError(f"need min <= max (got {self.min} > {self.max})")
        last = self.base_port + self.instances - 1
        if last > 65535:
            raise ValueError(f"base_port: ports {self.base_port}..{last} run past 65535")
        reserved = {80, 443, 3389, 5985, 5986}
        clash = sorted(reserved & set(range(self.base_port, last + 1)))
        if clash:
            raise ValueError(f"base_port: Waitress ports collide with reserved port(s) {clash}")
        return self

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(self.instances)]
