"""The whole webstack configuration as typed, validated models.

`Pulumi.<env>.yaml` is read once (in `__main__.py` or the `webstack` command) and validated here into a
`StackSpec`; components and render functions only ever see the validated models. Every field has a
documented default, so a minimal stack file stays short.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from components.spec.cidrs import admin_cidr_problem, admin_list_problem
from components.spec.common import (
    HOSTNAME_PATTERN,
    MAX_HEALTH_PATH,
    MAX_HOSTNAMES,
    MAX_PATH_PREFIX,
    Cidr,
    Model,
    TimeoutOverrides,
    _check_cidr,
)
from components.spec.datastores import DataStore, ManagedDatabase
from components.spec.errors import SpecError, problem_lines
from components.spec.linux import (
    IMAGE_DEFAULT_PYTHON,
    IMAGE_PYTHONS,
    LinuxTier,
)
from components.spec.network import (
    EdgeSpec,
    NetworkSpec,
)
from components.spec.observability import ObservabilitySpec
from components.spec.paths import check_url_path, url_within
from components.spec.release import ReleaseSettings
from components.spec.sources import AppSource, StaticFiles
from components.spec.windows import WindowsTier, nssm_expansion_problem

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,23}$"
WSGI_PATTERN = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\(\))?$"
)
SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class AppSpec(Model):
    name: str = Field(pattern=NAME_PATTERN, description="App name: lowercase, digits, dashes.")
    framework: Literal["flask", "django"] = Field(description="flask | django.")
    wsgi: str = Field(
        description="WSGI target `module:callable` or `module:factory()`, e.g. `app:create_app()`."
    )
    settings_module: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="Django settings module (default: next to the WSGI module, e.g. proj.settings).",
    )
    os: Literal["linux", "windows"] = Field("linux", description="linux | windows.")
    server: Literal["gunicorn", "waitress"] | None = Field(
        None, description="WSGI server (default: gunicorn on Linux, waitress on Windows)."
    )
    source: AppSource | None = Field(None, description="Where the code comes from.")
    python: str | None = Field(None, description="Python version (default: the image's).")
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment variables.")
    secrets: list[Annotated[str, Field(pattern=SECRET_NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Env var names whose values are Pulumi secret config `secret:<app>:<NAME>`.",
    )
    static: StaticFiles | None = Field(
        default_factory=StaticFiles, description="Static files (null to disable)."
    )
    health_path: str = Field(
        "/healthz",
        description="Health URL path (normalised, e.g. /healthz; answered by the app; at most "
        f"{MAX_HEALTH_PATH} characters, the target group's health check path).",
    )
    release_command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        max_length=16,
        description="Linux: argv run once per release before the switch, in the release's "
        "folder with its env and secrets (`python` = its venv), e.g. "
        "[python, -m, django, migrate, --noinput]. A failure keeps the serving release.",
    )
    release: ReleaseSettings = Field(
        default_factory=ReleaseSettings,
        description="How a release rolls out over the app's instances (one at a time by default).",
    )
    hostnames: list[str] = Field(
        default_factory=list,
        max_length=MAX_HOSTNAMES,
        description=f"Host names the app answers (at most {MAX_HOSTNAMES}: one ALB host condition). "
        "On the ALB edge at least one must be a concrete name (not only `*.` wildcards), and "
        "`localhost` is refused (the ALB needs a '.' and letters after the last one).",
    )
    path_prefix: str = Field(
        "/",
        description="ALB path rule, e.g. /api/ (`/` = everything; normalised, ends with /; at most "
        f"{MAX_PATH_PREFIX} characters, as the rule's `<path_prefix>*` holds 128).",
    )
    priority: int | None = Field(
        None,
        ge=1,
        le=50000,
        description="ALB listener-rule priority (lower wins). Default: derived from the app's name "
        "and route specificity, stable when other apps come and go.",
    )
    # -- data stores (issue 17): components/spec/datastores.py
    datastores: list[DataStore] = Field(
        default_factory=list,
        max_length=10,
        description="Databases/caches the app already has: each opens one egress rule, nothing else.",
    )
    database: ManagedDatabase | None = Field(
        None, description="A managed PostgreSQL (RDS) webstack creates for this app."
    )
    linux: LinuxTier = Field(default_factory=LinuxTier, description="The Linux tier.")
    windows: WindowsTier = Field(default_factory=WindowsTier, description="The Windows tier.")

    @field_validator("wsgi")
    @classmethod
    def _wsgi(cls, v: str) -> str:
        if not WSGI_PATTERN.match(v):
            raise ValueError(
                f"{v!r} is not a WSGI target; use module:callable or module:factory(), "
                "e.g. app:create_app() or proj.wsgi:application"
            )
        return v

    @field_validator("hostnames")
    @classmethod
    def _hostnames(cls, v: list[str]) -> list[str]:
        for h in v:
            if h != h.lower():
                raise ValueError(f"{h!r}: write host names in lowercase (DNS ignores case)")
            if not HOSTNAME_PATTERN.match(h):
                raise ValueError(f"{h!r} is not a host name such as www.example.com")
        if len(set(v)) != len(v):
            raise ValueError("a host name is listed twice")
        return v

    @field_validator("health_path")
    @classmethod
    def _health_path(cls, v: str) -> str:
        if len(v) > MAX_HEALTH_PATH:
            raise ValueError(
                f"{len(v)} characters, at most {MAX_HEALTH_PATH} (the ALB target group's health "
                "check path)"
            )
        return check_url_path(v, trailing_slash=False)

    @field_validator("path_prefix")
    @classmethod
    def _path_prefix(cls, v: str) -> str:
        if len(v) > MAX_PATH_PREFIX:
            raise ValueError(
                f"{len(v)} characters, at most {MAX_PATH_PREFIX} (the ALB path condition "
                f"`<path_prefix>*` holds at most {MAX_PATH_PREFIX + 1})"
            )
        return check_url_path(v, trailing_slash=True)

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not re.fullmatch(SECRET_NAME_PATTERN, k):
                raise ValueError(f"{k!r} is not an environment variable name")
            if "\n" in val or "\x00" in val:
                raise ValueError(f"the value of {k} must be one line")
        return v

    @model_validator(mode="after")
    def _python(self) -> AppSpec:
        if self.os == "windows" and self.server == "gunicorn":
            raise ValueError(
                "server: Gunicorn does not run on Windows (it needs fork and Unix sockets); use "
                "server: waitress, or os: linux for the Gunicorn tier"
            )
        if self.os == "linux" and self.server == "waitress":
            raise ValueError("server: the Linux tier runs Gunicorn; waitress is for os: windows")
        if self.static and url_within(self.health_path, self.static.url):
            raise ValueError(
                f"health_path: {self.health_path} lies under static.url {self.static.url}, so "
                "Nginx would answer it from the static folder and never ask the app; move one"
            )
        clash = set(self.env) & set(self.secrets)
        if clash:
            raise ValueError(f"env: {', '.join(sorted(clash))} is both in env and secrets")
        for name, value in self.env.items() if self.os == "windows" else ():
            if problem := nssm_expansion_problem(name, value):
                raise ValueError(f"env: {problem}")
        if self.os == "windows" and self.release_command:
            # Not silently ignored: the Windows activation does not run it yet (docs/releases.md).
            raise ValueError(
                "release_command: the Windows tier does not run a release command yet; run it "
                "from a Linux app of the same stack, or by hand before `pulumi up`"
            )
        if self.os == "windows" and self.source_or_default.kind == "git":
            raise ValueError(
                "source.git: Windows images have no git; use a local path or a pip requirement"
            )
        if self.os == "windows" or self.python is None or self.linux.image not in IMAGE_PYTHONS:
            return self
        allowed = IMAGE_PYTHONS[self.linux.image]
        if self.python not in allowed:
            raise ValueError(
                f"python: {self.python} is not available on {self.linux.image} "
                f"(allowed: {', '.join(allowed)})"
            )
        return self

    @property
    def python_version(self) -> str:
        return self.python or IMAGE_DEFAULT_PYTHON.get(self.linux.image, "3")

    @property
    def wsgi_server(self) -> Literal["gunicorn", "waitress"]:
        return self.server or ("waitress" if self.os == "windows" else "gunicorn")

    @property
    def django_settings(self) -> str:
        if self.settings_module:
            return self.settings_module
        module = self.wsgi.split(":", 1)[0]
        return module.rsplit(".", 1)[0] + ".settings" if "." in module else "settings"

    @property
    def health_host(self) -> str:
        """A Host header the app accepts, sent with health checks whatever the checker's Host."""
        return next((h for h in self.hostnames if not h.startswith("*.")), "localhost")

    @property
    def source_or_default(self) -> AppSource:
        return self.source or AppSource(path=f"examples/{self.name.replace('-', '_')}")


class StackSpec(Model):
    """One environment: network, edge and the apps behind it."""

    environment: str = Field(pattern=NAME_PATTERN, description="Stack/environment name.")
    production: bool = Field(False, description="Production stack (stricter defaults).")
    request_timeout: int = Field(
        30,
        ge=1,
        le=3000,
        description="Longest request (s); the whole timeout chain derives from it.",
    )
    timeouts: TimeoutOverrides = Field(default_factory=TimeoutOverrides)
    admin_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed SSH (22) / RDP (3389). Empty: none; use SSM. Their union may "
        "admit at most a /16 of public IPv4 (a /48 of IPv6) addresses; each listed once, at most "
        "58 per IP version (a security group's 60 inbound rules less webstack's own).",
    )
    insecure_allow_wide_admin_cidrs: bool = Field(
        False,
        description="INSECURE: accept admin_cidrs wider than a public /16 (IPv6 /48). Never half "
        "of the internet or more (half of the public IPv4 space, half of 2000::/3). The policy "
        "pack needs its own opt-in (policy/README.md).",
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    edge: EdgeSpec = Field(default_factory=EdgeSpec)
    apps: list[AppSpec] = Field(min_length=1, description="The apps of this stack.")
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec)

    @field_validator("admin_cidrs")
    @classmethod
    def _admin(cls, v: list[str]) -> list[str]:
        out = [_check_cidr(c) for c in v]  # normalised: 2001:0db8::/32 is 2001:db8::/32
        problem = admin_list_problem(out)
        if problem:
            raise ValueError(problem)
        return out

    @model_validator(mode="after")
    def _cross(self) -> StackSpec:
        wide = admin_cidr_problem(self.admin_cidrs, self.insecure_allow_wide_admin_cidrs)
        if wide:
            raise ValueError(f"admin_cidrs: {wide}")
        names = [a.name for a in self.apps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"apps: duplicate app name(s) {', '.join(dupes)}")
        if self.edge.mode == "alb":
            if problem := _alb_hostname_problem(self.apps):
                raise ValueError(problem)
            if self.network.public_az_count < 2:
                raise ValueError("network.az_count: an ALB needs subnets in at least 2 AZs")
            if self.network.private_az_count < 2:
                raise ValueError(
                    "network: the app tier behind an ALB needs private subnets in >= 2 AZs"
                )
            if self.network.existing is None and self.network.nat == "none":
                raise ValueError(
                    "network.nat: private instances need a NAT gateway (single or per-az) to install "
                    "packages"
                )
        else:
            if self.apps[0].os != "linux":
                raise ValueError(
                    "apps: edge.mode nginx runs a Linux app; Windows apps need edge.mode alb"
                )
            if len(self.apps) != 1:
                raise ValueError(
                    "apps: edge.mode nginx serves exactly one app on one VM; use alb for more"
                )
            cap = self.apps[0].linux.capacity  # nginx edge apps are Linux (checked above)
            if cap.max != 1 or cap.min != 1:
                raise ValueError(
                    f"apps.{self.apps[0].name}.linux.capacity: edge.mode nginx runs exactly one VM "
                    "(min = max = 1); use edge.mode alb to scale"
                )
            if self.observability.access_logs:
                raise ValueError(
                    "observability.access_logs: ALB access logs need edge.mode alb (the Nginx "
                    "edge's own access log goes to CloudWatch Logs)"
                )
            if self.edge.tls.mode != "self-signed":
                raise ValueError(
                    "edge.tls.mode: with edge.mode nginx the certificate is self-signed"
                )
        return self

    @property
    def deletion_protection(self) -> bool:
        dp = self.edge.deletion_protection
        return self.production if dp is None else dp


def _alb_hostname_problem(apps: list[AppSpec]) -> str | None:
    """Host names the ALB cannot route or probe. HostHeaderConditionConfig.Values: "You must
    include at least one '.' character. You can include only alphabetical characters after the
    final '.' character" (ELB API Reference), so `localhost` is no ALB host condition. And an app
    with only `*.` wildcards has no concrete name for its public health check (it would send
    `Host: localhost` and get the listener's fixed 404)."""
    for app in apps:
        if "localhost" in app.hostnames:
            return (
                f"apps.{app.name}.hostnames: localhost cannot be an ALB host condition (it needs "
                "a '.' and only letters after the last one); use a real name such as "
                "www.example.com, or edge.mode nginx"
            )
        if app.hostnames and all(h.startswith("*.") for h in app.hostnames):
            return (
                f"apps.{app.name}.hostnames: only wildcards ({', '.join(app.hostnames)}); add one "
                f"concrete name the ALB routes to this app (e.g. "
                f"www{app.hostnames[0][1:]}) so its public health check can reach it"
            )
    return None


def parse_models(data: dict[str, Any]) -> StackSpec:
    """Validate raw config into the models or raise SpecError with one line per problem.

    The rules that need a plan (names, routes, the timeout chain, Waitress ports) are checked by
    components/plan/checks.py: call its `parse_stack_spec`, not this."""
    try:
        return StackSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(problem_lines(e, data)) from None


def check_secret_values(spec: StackSpec, available: dict[str, set[str]]) -> None:
    """Every secret an app names must have a value under `webstack:secrets.<app>.<NAME>`."""
    missing = [
        f"apps.{app.name}.secrets: {name} has no secret config value; set it with "
        f"`pulumi config set --secret --path 'secrets.{app.name}.{name}' VALUE`"
        for app in spec.apps
        for name in app.secrets
        if name not in available.get(app.name, set())
    ]
    if missing:
        raise SpecError(missing)
