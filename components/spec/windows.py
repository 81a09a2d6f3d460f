"""The Windows tier's configuration: N Waitress services behind IIS, Nginx or Caddy."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.spec.common import Capacity, MicrocacheSpec, NginxSpec

WINDOWS_IMAGES = ("windows-2022", "windows-2019", "windows-2025")
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# No quotes, spaces or backticks: URLs are pasted into PowerShell strings and msiexec arguments.
URL_PATTERN = r"^https://[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+$"
DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Ports a Windows VM already uses: the proxy (80/443), RDP, WinRM.
RESERVED_PORTS = {80: "HTTP", 443: "HTTPS", 3389: "RDP", 5985: "WinRM", 5986: "WinRM/HTTPS"}
WAITRESS_SHUTDOWN_SECONDS = 5  # waitress waits this long for busy threads when told to stop
# Waitress's loop is select() (wasyncore; asyncore_use_poll is off by default, and Python on
# Windows has no select.poll), and CPython builds select on Windows with FD_SETSIZE 512
# (python/cpython Modules/selectmodule.c: `#if defined(MS_WINDOWS) && !defined(FD_SETSIZE)
# #define FD_SETSIZE 512`): past 512 sockets select() raises ValueError and the server loop dies.
# Each connection is one socket, plus the listener and the trigger's socket pair; keep a margin.
WINDOWS_SELECT_SOCKETS = 512
WAITRESS_CONNECTION_LIMIT_MAX = WINDOWS_SELECT_SOCKETS - 12
# What each proxy can honour of `windows.limits` (the others are refused for that proxy).
# IIS sees only the ALB's address: ipSecurity filters REMOTE_ADDR, and the proxy mode of Dynamic IP
# Restrictions reads X-Forwarded-For from any sender (Microsoft Learn, IIS configuration reference,
# <dynamicIpSecurity>: "examining the x-forwarded-for-HTTP header"), with no trusted-peer setting,
# so a client could name any address. gzip is IIS's static compression only. Stock Caddy has no
# per-client rate or connection limit.
UNSUPPORTED_LIMITS = {
    "iis": (
        "allow_cidrs",
        "deny_cidrs",
        "rate_limit_rps",
        "rate_limit_burst",
        "max_connections_per_ip",
        "gzip_level",
    ),
    "caddy": ("rate_limit_rps", "rate_limit_burst", "max_connections_per_ip"),
    "nginx": (),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Installer(_Model):
    """A download the bootstrap fetches; with sha256 set, a mismatch stops the bootstrap."""

    # `pulumi up` stores the URL as S3 user metadata of the mirror, which S3 limits to 2 KB per
    # object (Amazon S3 User Guide, "Working with object metadata").
    url: str = Field(
        pattern=URL_PATTERN,
        max_length=1024,
        description="https URL of the installer/zip; `pulumi up` copies it into the artifact "
        "bucket and the VM fetches it only from there.",
    )
    sha256: str | None = Field(
        None,
        description="Expected SHA-256 (64 hex digits); the VM refuses a copy that differs. "
        "Required for every URL you set yourself.",
    )

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
    """The pinned downloads. Each pin was read from a published source (see README, Windows)."""

    # python.org's amd64 installer; 3.12 gets no more Windows installers (security-only), 3.14 is
    # the current bugfix series. SHA-256 as published for python-3.14.7-amd64.exe.
    python: Installer = Installer(
        url="https://www.python.org/ftp/python/3.14.7/python-3.14.7-amd64.exe",
        sha256="9d9eb2709ef81bf5cd30db3c2096bdbc4ea10087c22e62f27d356b36f6ae9649",
    )
    # 2.24-101 (897c7ad), not the 2.24 release: 2.24 cannot start a console application on
    # Windows 10 1703+ / Server 2016+ (STATUS_DLL_INIT_FAILED) and has no AppKillProcessTree.
    # nssm.cc lists the build's SHA-1 (ca2f6782...); this SHA-256 of the same zip is the one two
    # independent projects recorded against that SHA-1.
    nssm: Installer = Installer(
        url="https://nssm.cc/ci/nssm-2.24-101-g897c7ad.zip",
        sha256="99f5045fffbffb745d67fe3a065a953c4a3d9c253b868892d9b685b0ee7d07b8",
    )
    # The current stable branch (1.30.x); 1.26 gets no more fixes.
    nginx: Installer = Installer(
        url="https://nginx.org/download/nginx-1.30.5.zip",
        sha256="e5afe28b6a50bec92c478bfe1a4d3758206b80fb77159277bc5c4e88955c2a35",
    )
    caddy: Installer = Installer(
        url="https://github.com/caddyserver/caddy/releases/download/v2.11.4/caddy_2.11.4_windows_amd64.zip",
        sha256="1708333f79e274c7697285afe6d592ab39314e0b131e9ec6bea08ad27df62ebf",
    )
    # Microsoft publishes no SHA-256 for the IIS MSIs; these pins are the ones independent
    # projects recorded for these exact URLs (found with the code search in unrelated
    # repositories: PowerShell bootstraps, a Go downloader whose sums were "computed by fetching
    # the address", a C# installer action, a release builder; each hash in three or more).
    url_rewrite: Installer = Installer(  # URL Rewrite 2.1
        url="https://download.microsoft.com/download/1/2/8/128E2E22-C1B9-44A4-BE2A-5859ED1D4592/rewrite_amd64_en-US.msi",
        sha256="37342ff2f585f263f34f48e9de59eb1051d61015a8e967dbde4075716230a32a",
    )
    arr: Installer = Installer(  # Application Request Routing 3.0
        url="https://download.microsoft.com/download/E/9/8/E9849D6A-020E-47E4-9FD0-A023E99B54EB/requestRouter_amd64.msi",
        sha256="fb61fdb7101795a34d5129cb37eee43ab675c7ed76ba3a3b23b039d8c90c2a4b",
    )

    @model_validator(mode="after")
    def _pinned(self) -> Installers:
        for name in Installers.model_fields:
            mine = getattr(self, name)
            if mine.sha256 is None:  # the defaults are all pinned; so is every installer you set
                raise ValueError(
                    f"{name}.sha256: {mine.url} has no SHA-256; every installer you set needs "
                    "its sha256 (64 hexadecimal digits), so the VM runs exactly those bytes"
                )
        return self

    def named(self) -> dict[str, Installer]:
        return {name: getattr(self, name) for name in Installers.model_fields}

    @property
    def python_version(self) -> str | None:
        """`3.12.8` from a python.org installer URL (None for other names: then not checked)."""
        m = re.search(r"python-(\d+\.\d+\.\d+)", self.python.file_name)
        return m.group(1) if m else None


class CaddySpec(_Model):
    """Caddy-only settings (proxy: caddy)."""

    https: bool = Field(
        False,
        description="Automatic HTTPS (ACME) for `domain`: refused, the Windows tier sits behind the "
        "ALB, which ends TLS and reaches the VM over HTTP:80.",
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
        if self.https:
            # The Windows tier always sits behind the ALB, whose target group and security group
            # speak HTTP to port 80: Caddy's HTTPS would answer the ALB with redirects only.
            raise ValueError(
                "https: Caddy's automatic HTTPS is not supported behind the ALB (the ALB ends TLS "
                "and reaches the VM over HTTP:80); set caddy.https: false"
            )
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
        "windows-2022",
        description="windows-2022 | windows-2019 | windows-2025 | an AMI ID (of an image with "
        "EC2Launch v2; windows-2019 is AWS's EC2LaunchV2-Windows_Server-2019 image).",
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
    connection_limit: int = Field(
        WAITRESS_CONNECTION_LIMIT_MAX,
        ge=1,
        description="Waitress connection_limit; at most "
        f"{WAITRESS_CONNECTION_LIMIT_MAX}: Waitress uses select() on Windows, which CPython "
        f"limits to {WINDOWS_SELECT_SOCKETS} sockets.",
    )
    proxy: Literal["iis", "nginx", "caddy"] = Field("nginx", description="iis | nginx | caddy.")
    balance: Literal["round_robin", "least_conn"] = Field(
        "least_conn",
        description="How the proxy spreads requests over the instances (ARR: WeightedRoundRobin "
        "| LeastRequests, ARR's 'least current request': fewest requests in flight between ARR "
        "and each instance). least_conn sends each request to the least busy instance, so one slow "
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
        description="Proxy limits: body size (all), rate and connection limits (nginx), "
        "allow/deny CIDRs (nginx, caddy), gzip (all; IIS: static files only), gzip_level (nginx, "
        "caddy); a limit the proxy "
        "cannot honour is refused.",
    )
    microcache: MicrocacheSpec = Field(
        default_factory=MicrocacheSpec,
        description="Nginx microcache (opt-in; proxy: nginx only, refused for iis and caddy).",
    )
    installers: Installers = Field(default_factory=Installers)

    @field_validator("connection_limit")
    @classmethod
    def _connection_limit(cls, v: int) -> int:
        if v > WAITRESS_CONNECTION_LIMIT_MAX:
            raise ValueError(
                f"{v} is over {WAITRESS_CONNECTION_LIMIT_MAX}: Waitress uses select() on Windows, "
                f"which CPython limits to {WINDOWS_SELECT_SOCKETS} sockets (the server loop dies "
                "past it)"
            )
        return v

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
    def _proxy(self) -> WindowsTier:
        # Ports and the `auto` count need the sizing plan: components/plan/checks.py.
        self._check_proxy_limits()
        if self.microcache.enabled and self.proxy != "nginx":
            why = {
                "iis": "the IIS tier renders no output-cache rules that skip cookie or "
                "Authorization requests and refuse Set-Cookie responses",
                "caddy": "stock Caddy has no HTTP cache (the cache-handler plugin is not in the "
                "Caddy this tier installs)",
            }[self.proxy]
            raise ValueError(
                f"microcache.enabled: proxy {self.proxy} cannot cache ({why}); use proxy: nginx, "
                "or leave microcache off"
            )
        if self.proxy != "caddy" and self.caddy != CaddySpec():
            raise ValueError(f"caddy: only used with proxy: caddy (proxy is {self.proxy})")
        return self

    def _check_proxy_limits(self) -> None:
        """Refuse what this proxy cannot honour, never drop it silently."""
        given = self.limits.model_fields_set
        refused = [f"limits.{name}" for name in UNSUPPORTED_LIMITS[self.proxy] if name in given]
        if refused:
            why = {
                "iis": "IIS sees only the ALB's address, so it cannot limit or filter clients,"
                " and its static compression keeps its own level",
                "caddy": "stock Caddy has no per-client rate or connection limit",
            }[self.proxy]
            raise ValueError(
                f"limits: proxy {self.proxy} cannot honour {', '.join(refused)} ({why}); use "
                "proxy: nginx, or leave them unset"
            )

    @property
    def stop_window_ms(self) -> int:
        """How long NSSM waits after Ctrl+C: longer than Waitress's own shutdown wait."""
        return (WAITRESS_SHUTDOWN_SECONDS + 5) * 1000


# NSSM passes every AppEnvironmentExtra value through ExpandEnvironmentStrings (nssm env.cpp,
# set_environment_block -> expand_environment_string), which has no escape: `%NAME%` of a defined
# variable is replaced. Refuse such values rather than let them change silently.
NSSM_EXPANDED = re.compile(r"%[^%=\r\n]+%")


def nssm_expansion_problem(name: str, value: str) -> str | None:
    """Why NSSM would change this environment value, or None."""
    found = NSSM_EXPANDED.search(value)
    if found is None:
        return None
    return (
        f"the value of {name} contains {found.group(0)!r}, which NSSM expands as an environment "
        "variable on Windows (no escape exists); remove the %...% pair"
    )
