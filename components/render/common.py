"""What both tiers' renderers share: the Jinja2 environment, cloud refs, the app environment,
trusted proxies and the user-data packing. Pure: no Pulumi.
"""

from __future__ import annotations

import base64
import functools
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from components.plan.datastores import database_tls_environment
from components.plan.linux_layout import HostLayout
from components.plan.tier import TierPlan, trusted_proxies
from components.spec.errors import SpecError
from components.spec.stack import AppSpec

USER_DATA_LIMIT = 16 * 1024  # AWS rejects larger user data (counted before base64)


def _templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "templates", here.parent / "templates"):
        if (candidate / "linux").is_dir():
            return candidate
    raise RuntimeError(f"webstack templates not found next to {here}")


def _systemd_quote(value: str) -> str:
    """Escape for a double-quoted env-file value that systemd (EnvironmentFile=) and a shell (the
    bootstrap sources the files) read alike: backslash before quote, backslash, dollar, backtick."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")


@functools.cache
def jinja_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["systemd_quote"] = _systemd_quote
    return env


def render_template(name: str, **context: Any) -> str:
    return jinja_env().get_template(name).render(**context)


@dataclass(frozen=True)
class CloudRefs:
    """Values only the cloud knows, resolved before rendering (placeholders offline)."""

    region: str
    bucket: str
    package_key: str
    ssm_prefix: str
    tls_cert_pem: str | None = None


def health_peers(plan: TierPlan, layout: HostLayout) -> list[str]:
    """Who may call the health path without limits: the trusted proxies and this host itself."""
    peers = [*trusted_proxies(plan, layout), "127.0.0.1/32", "::1/128"]
    return list(dict.fromkeys(peers))


def app_environment(plan: TierPlan, app: AppSpec, layout: HostLayout) -> list[tuple[str, str]]:
    if app.hostnames:
        allowed = [*app.hostnames, "localhost", "127.0.0.1"]
    elif plan.edge_mode == "alb":
        # Without host names the app is reached by the ALB's DNS name only.
        allowed = [".elb.amazonaws.com", "localhost", "127.0.0.1"]
    else:
        allowed = ["*"]  # Nginx edge reached by its IP: set `hostnames` to tighten this
    env: dict[str, str] = {
        "WEBSTACK_APP": app.name,
        "WEBSTACK_ENVIRONMENT": plan.environment,
        "WEBSTACK_ALLOWED_HOSTS": ",".join(allowed),
        "PYTHONUNBUFFERED": "1",
    }
    if app.framework == "django":
        env["DJANGO_SETTINGS_MODULE"] = app.django_settings
        env["STATIC_ROOT"] = str(layout.collected_static(app.name))
        if app.static:
            env["STATIC_URL"] = app.static.url
    env.update(database_tls_environment(app))  # verify-full's PGSSLMODE / PGSSLROOTCERT
    env.update(app.env)
    return sorted(env.items())


def file_mode(path: str) -> str:
    return "0700" if path.endswith(".sh") else "0644"


def pack_user_data(user_data: str, app_name: str) -> bytes:
    """Gzip the user data (cloud-init inflates it) deterministically; SpecError over AWS's limit."""
    packed = gzip.compress(user_data.encode(), compresslevel=9, mtime=0)
    if len(packed) > USER_DATA_LIMIT:
        raise SpecError(
            [
                f"apps.{app_name}: user data is {len(packed)} bytes gzipped; AWS allows "
                f"{USER_DATA_LIMIT} (shorten extra_packages or hostnames)"
            ]
        )
    return packed


def user_data_base64(user_data: str, app_name: str) -> str:
    """What the launch template carries: base64 of the gzipped cloud-config."""
    return base64.b64encode(pack_user_data(user_data, app_name)).decode()


def render_agent_config(config: dict[str, Any], os: str) -> str:
    """The CloudWatch agent's JSON config as the VM receives it (plan.observability builds it)."""
    return render_template(f"{os}/cloudwatch-agent.json.j2", config=config)
