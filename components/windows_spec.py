"""The Windows tier's configuration: N Waitress services behind IIS, Nginx or Caddy."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.sizing import auto_workers, vcpus_of
from components.spec_common import Capacity, NginxSpec
from components.timeouts import NGINX_UPSTREAM_KEEPALIVE

WINDOWS_IMAGES = ("windows-2022", "windows-2019", "windows-2025")
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# No quotes, spaces or backticks: URLs are pasted into PowerShell strings and msiexec arguments.
URL_PATTERN = r"^https://[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+$"
DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Ports a Windows VM already uses: the proxy (80/443), RDP, WinRM.
RESERVED_PORTS = {80: "HTTP", 443: "HTTPS", 3389: "RDP", 5985: "WinRM", 5986: "WinRM/HTTPS"}
WAITRESS_SHUTDOWN_SECONDS = 5  # waitress waits this long for busy threads when told to stop


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Installer(_Model):
    """A download the bootstrap fetches; with sha256 set, a mismatch stops the bootstrap."""

    url: str = Field(pattern=URL_PATTERN, description="https URL of the installer/zip.")
    sha256: str | None = Field(None, description="Expected SHA-256 (64 hex digits).")

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not SHA256.match(v):
            raise ValueError(f"{v!r} is not a SHA-256 (64 hexadecimal digits)")
        return v.lower() if v else v

    @property
    def file_name(self) -> str:
        return self.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"


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

    @property
    def python_version(self) -> str | None:
        """`3.12.8` from a python.org installer URL (None for other names: then not checked)."""
        m = re.search(r"python-(\d+\.\d+\.\d+)", self.python.file_name)
        return m.group(1) if m else None


class CaddySpec(_Model):
    """Caddy-only settings (proxy: caddy)."""

    https: bool = Field(
        False,
        description="Automatic HTTPS (ACME) for `domain` on 443; the ALB then targets HTTPS.",
    )
    domain: str | None = Field(None, description="Public DNS name of the site (needed for https).")
    email: str | None = Field(
        None, pattern=r"^[^@\s'\"]+@[^@\s'\"]+$", description="ACME account e-mail."
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is not None and not DOMAIN.match(v):
            raise ValueError(f"{v!r} is not a DNS name such as www.example.com")
        return v

    @model_validator(mode="after")
    def _https(self) -> CaddySpec:
        if self.https and not self.domain:
            raise ValueError(
                "https: Caddy's automatic HTTPS needs caddy.domain (a public DNS name of this "
                "site) to get a certificate; set caddy.domain or https: false"
            )
        if self.domain and not self.https:
            raise ValueError("domain: only used with caddy.https: true")
        return self


class WindowsTier(_Model):
    image: str = Field(
        "windows-2022", description="windows-2022 | windows-2019 | windows-2025 | an AMI ID."
    )
    instance_type: str = Field(
        "t3.medium", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type."
    )
    capacity: Capacity = Field(default_factory=Capacity, description="Instance count.")
    root_volume_gb: int = Field(50, ge=30, le=1024, description="Encrypted gp3 root volume.")
    instances: int | Literal["auto"] = Field(
        "auto",
        description="Waitress processes per VM (1..16), ports base_port+i; `auto` = vCPU + 1 of "
        "the instance type, as for Gunicorn (4 on a 2-vCPU VM cost 10-15% more CPU per request "
        "than 3, docs/performance.md).",
    )
    base_port: int = Field(5001, ge=1024, le=65000, description="Port of Waitress instance 1.")
    threads: int = Field(8, ge=1, le=256, description="Waitress threads per instance.")
    channel_timeout: int = Field(
        120,
        ge=1,
        le=3600,
        description="Waitress channel_timeout (s): idle connections close after this; must "
        "exceed the proxy's upstream keepalive (60s).",
    )
    connection_limit: int = Field(1000, ge=1, le=100000, description="Waitress connection_limit.")
    proxy: Literal["iis", "nginx", "caddy"] = Field("nginx", description="iis | nginx | caddy.")
    balance: Literal["round_robin", "least_conn"] = Field(
        "least_conn",
        description="How the proxy spreads requests over the instances (ARR: WeightedRoundRobin "
        "| LeastRequests). least_conn sends each request to the least busy instance, so one slow "
        "request does not hold up the ones queued behind it (p99 on `/`: 144 against 373 ms in "
        "docs/performance.md).",
    )
    service_account: Literal["virtual", "localsystem"] = Field(
        "virtual",
        description="Windows account of the NSSM services (Waitress, and Nginx or Caddy). "
        "`virtual`: each service runs as its own virtual account `NT SERVICE\\<service>`, which "
        "may read the code and write only its log and state folders, and reads only its own "
        "secrets. `localsystem`: the services run as SYSTEM (full control of the VM; insecure, "
        "for apps that need machine-wide rights).",
    )
    caddy: CaddySpec = Field(default_factory=CaddySpec, description="Caddy-only settings.")
    limits: NginxSpec = Field(
        default_factory=NginxSpec,
        description="Proxy limits: body size, rate limit (nginx), allow/deny CIDRs (nginx, caddy), gzip.",
    )
    installers: Installers = Field(default_factory=Installers)

    @field_validator("instances")
    @classmethod
    def _instances(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 16:
            raise ValueError(f"must be 1..16 Waitress processes per VM (got {v})")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v not in WINDOWS_IMAGES and not re.match(r"^ami-[0-9a-f]{8,17}$", v):
            raise ValueError(f"{v!r} is not one of {', '.join(WINDOWS_IMAGES)} or an AMI ID")
        return v

    @model_validator(mode="after")
    def _ports(self) -> WindowsTier:
        if self.instances == "auto":
            try:
                vcpus_of(self.instance_type)
            except ValueError:
                raise ValueError(
                    f"instances: cannot tell the vCPUs of {self.instance_type}; set "
                    "windows.instances to a number (1..16)"
                ) from None
        last = self.base_port + self.instance_count - 1
        if last > 65535:
            raise ValueError(f"base_port: ports {self.base_port}..{last} run past 65535")
        clash = [f"{p} ({RESERVED_PORTS[p]})" for p in sorted(RESERVED_PORTS) if p in self.ports]
        if clash:
            raise ValueError(
                f"base_port: Waitress ports {self.base_port}..{last} collide with "
                f"{', '.join(clash)}; move base_port (default 5001)"
            )
        if self.channel_timeout <= NGINX_UPSTREAM_KEEPALIVE:
            raise ValueError(
                f"channel_timeout: {self.channel_timeout}s must exceed the proxy's upstream "
                f"keepalive {NGINX_UPSTREAM_KEEPALIVE}s, or Waitress closes connections the "
                "proxy is about to reuse (502s)"
            )
        if self.proxy != "caddy" and self.caddy != CaddySpec():
            raise ValueError(f"caddy: only used with proxy: caddy (proxy is {self.proxy})")
        return self

    @property
    def instance_count(self) -> int:
        """How many Waitress services a VM runs (`auto` resolved for the instance type)."""
        if self.instances == "auto":
            return min(auto_workers(vcpus_of(self.instance_type)), 16)
        return self.instances

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(self.instance_count)]

    @property
    def stop_window_ms(self) -> int:
        """How long NSSM waits after Ctrl+C: longer than Waitress's own shutdown wait."""
        return (WAITRESS_SHUTDOWN_SECONDS + 5) * 1000
