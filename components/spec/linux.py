"""The Linux tier's configuration: image, instance, Gunicorn and Nginx settings."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.spec.common import Capacity, MicrocacheSpec, Model, NginxSpec

AMI_PATTERN = re.compile(r"^ami-[0-9a-f]{8,17}$")

# Which Python each named image ships (or installs as a package), so a mismatch fails before deploy.
IMAGE_PYTHONS: dict[str, tuple[str, ...]] = {
    "ubuntu-24.04": ("3.12",),
    "debian-12": ("3.11",),
    "al2023": ("3.9", "3.11", "3.12"),
}
IMAGE_DEFAULT_PYTHON = {"ubuntu-24.04": "3.12", "debian-12": "3.11", "al2023": "3.11"}


# What `profile` picks when worker_class / threads are not set (docs/performance.md measures both).
PROFILE_DEFAULTS: dict[str, dict[str, object]] = {
    "cpu": {"worker_class": "sync"},
    "io": {"worker_class": "gthread", "threads": 8},
}


class GunicornSpec(Model):
    profile: Literal["cpu", "io"] = Field(
        "cpu",
        description="The app's declared workload; it picks the defaults of `worker_class` and "
        "`threads`. `cpu` (requests compute, no waiting): sync workers, one request per worker. "
        "`io` (requests wait on a database or an HTTP API): gthread x 8 threads per worker, so a "
        "waiting request holds a thread, not a worker. The trade (docs/performance.md): `cpu` "
        "falls far behind threaded peers once requests wait (20 ms waits, 5% slow requests); on "
        "short requests sync cost less CPU per request than gthread in the quiet tuning runs, "
        "while the latest bench, on a heavily loaded machine, had `io` ahead there too.",
    )
    workers: int | Literal["auto"] = Field(
        "auto",
        description="Worker processes per master; `auto` = vCPU + 1 of the instance type (measured against 2 x vCPU + 1 in docs/performance.md).",
    )
    threads: int = Field(
        4,
        ge=1,
        le=64,
        description="Threads per worker (used only by `worker_class: gthread`). Default: 4; 8 with `profile: io`.",
    )
    worker_class: Literal["sync", "gthread", "gevent"] = Field(
        "sync",
        description="sync | gthread | gevent (gevent is installed when chosen). `sync` (Gunicorn's "
        "own default) serves one request per worker behind Nginx's buffering and is the fastest for "
        "CPU-bound requests; choose `gthread` (with `threads`) or `gevent` for apps that wait on "
        "I/O (docs/performance.md). Default: from `profile` (cpu: sync, io: gthread).",
    )
    timeout: int | None = Field(
        None, ge=1, description="Worker timeout (s). Default: from the timeout chain."
    )
    graceful_timeout: int = Field(30, ge=1, le=3600, description="Seconds workers get to finish.")
    keepalive: int | None = Field(
        None, ge=1, le=300, description="Idle keep-alive (s). Default: from the timeout chain."
    )
    max_requests: int = Field(
        100000,
        ge=0,
        description="Recycle a worker after this many requests (0 = never), a bound on a leaking "
        "app's memory. Each recycle re-imports the app in a new worker and leaves the host one "
        "worker short meanwhile, so a low value costs CPU and p99 (docs/performance.md).",
    )
    max_requests_jitter: int = Field(
        10000, ge=0, description="Random spread added to max_requests."
    )
    access_log: bool = Field(
        False,
        description="Gunicorn's own access log line per request (to the journal). Nginx's access "
        "log already records every request; this duplicate costs CPU per request.",
    )
    preload: bool = Field(False, description="Load the app in the master before forking.")
    masters: int = Field(
        1, description="1, or 2 masters on two sockets behind one upstream for rolling restarts."
    )

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: object) -> object:
        """Fill worker_class / threads from the profile unless they are set explicitly."""
        if not isinstance(data, dict):
            return data
        profile = data.get("profile", "cpu")
        picked = PROFILE_DEFAULTS.get(profile, {}) if isinstance(profile, str) else {}
        return {**picked, **data}

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 64:
            raise ValueError("workers must be 1..64 or 'auto'")
        return v

    @field_validator("masters")
    @classmethod
    def _masters(cls, v: int) -> int:
        if v not in (1, 2):
            raise ValueError("masters must be 1 or 2")
        return v

    @model_validator(mode="after")
    def _jitter(self) -> GunicornSpec:
        if self.profile == "io" and self.worker_class == "sync":
            raise ValueError(
                "profile: io with worker_class: sync serves one waiting request per worker; use "
                "gthread or gevent, or profile: cpu"
            )
        if self.max_requests and self.max_requests_jitter >= self.max_requests:
            raise ValueError("max_requests_jitter must be smaller than max_requests")
        return self


class LinuxTier(Model):
    image: str = Field(
        "ubuntu-24.04", description="ubuntu-24.04 | debian-12 | al2023 | an AMI ID (ami-...)."
    )
    image_family: Literal["debian", "rhel"] | None = Field(
        None, description="Package family of a custom AMI (apt = debian, dnf = rhel)."
    )
    instance_type: str = Field(
        "t3.small", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type."
    )
    capacity: Capacity = Field(default_factory=Capacity, description="Instance count.")
    root_volume_gb: int = Field(20, ge=8, le=1024, description="Encrypted gp3 root volume size.")
    extra_packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.+-]{0,80}$")]] = Field(
        default_factory=list, description="OS packages installed before the app."
    )
    gunicorn: GunicornSpec = Field(default_factory=GunicornSpec)
    nginx: NginxSpec = Field(default_factory=NginxSpec)
    microcache: MicrocacheSpec = Field(
        default_factory=MicrocacheSpec, description="Nginx microcache (opt-in)."
    )

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v not in IMAGE_PYTHONS and not AMI_PATTERN.match(v):
            raise ValueError(
                f"{v!r} is not one of {', '.join(IMAGE_PYTHONS)} or an AMI ID (ami-...)"
            )
        return v

    @model_validator(mode="after")
    def _custom_ami(self) -> LinuxTier:
        if AMI_PATTERN.match(self.image) and self.image_family is None:
            raise ValueError("a custom AMI needs image_family: debian or rhel")
        return self

    @property
    def family(self) -> Literal["debian", "rhel"]:
        if self.image_family:
            return self.image_family
        return "rhel" if self.image == "al2023" else "debian"
