"""Render the release side of a Linux VM: the activation script, its Nginx includes, the config.

Pure (no Pulumi). The activation script belongs to the infrastructure (it is in the user data and
changes only with it); what a release changes (code, env, secrets) arrives through the pointer
(components/plan/release.py) and the content-hashed config object rendered here.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from components.plan import release as release_plan
from components.plan.linux_layout import HostLayout
from components.plan.tier import TierPlan
from components.render.common import app_environment, render_template
from components.spec.stack import AppSpec

# Gunicorn's own boot plus the app's import; longer and the release is declared broken.
STARTUP_SECONDS = 60
# A slot that answers its health path with an error this long is broken, not warming up.
UNHEALTHY_SECONDS = 10
# Nginx's old workers get this long to finish their requests before the old slot stops.
DRAIN_SECONDS = 30
# A second activation waits this long for the running one (the boot's, typically), well inside
# the release channel's 900 s command timeout (components/aws/release_wait.py Rollout).
LOCK_WAIT_SECONDS = 600


def release_script_path(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    return layout.tools_dir / f"webstack-release-{app.name}.sh"


def fetch_command(layout: HostLayout, region: str, python: str | None = None) -> str:
    """How the bootstrap and the activation call webstack-fetch (the tools venv's boto3)."""
    py = python or f"{layout.tools_dir}/tools/bin/python"
    return f"{py} {layout.etc_dir}/webstack-fetch.py --region {region}"


def nginx_url(plan: TierPlan, layout: HostLayout) -> str:
    """This host's own Nginx, as the activation checks it (curl arguments)."""
    host = layout.listen_address or "127.0.0.1"
    if plan.edge_mode == "alb":
        return f"http://{host}:{layout.http_port}"
    return f"--insecure https://{host}:{layout.https_port}"  # self-signed on the VM itself


def render_release_script(
    plan: TierPlan,
    app: AppSpec,
    layout: HostLayout,
    *,
    region: str,
    bucket: str,
    ssm_prefix: str,
    python: str,
    server_requirements: list[str],
    fetch: str | None = None,
    microcache_empty: str = "",
) -> str:
    return render_template(
        "linux/webstack-release.sh.j2",
        app=app,
        environment=plan.environment,
        layout=layout,
        fetch=fetch or fetch_command(layout, region),
        python=python,
        bucket=bucket,
        ssm_prefix=ssm_prefix,
        pointer_param=release_plan.pointer_parameter(ssm_prefix),
        server_requirements=server_requirements,
        nginx_url=nginx_url(plan, layout),
        health_successes=release_plan.HEALTH_SUCCESSES,
        keep=release_plan.KEEP_RELEASES,
        startup_seconds=STARTUP_SECONDS,
        unhealthy_seconds=UNHEALTHY_SECONDS,
        drain_seconds=DRAIN_SECONDS,
        lock_wait_seconds=LOCK_WAIT_SECONDS,
        microcache_empty=microcache_empty,
    )


def render_app_env(plan: TierPlan, app: AppSpec, layout: HostLayout) -> str:
    """The plain environment of a release (the config object the pointer names)."""
    return render_template(
        "linux/app.env.j2", app=app, layout=layout, env=app_environment(plan, app, layout)
    )


def initial_includes(app: AppSpec, layout: HostLayout) -> dict[str, str]:
    """What Nginx includes before the first activation: slot 1 (both slots with masters: 2)."""
    slots = list(range(1, app.linux.gunicorn.masters + 1))
    return {
        str(layout.upstream_conf(app.name)): render_template(
            "linux/nginx-upstream.conf.j2",
            app=app.name,
            release="none",
            slots=slots,
            sockets=[layout.socket(app.name, s) for s in slots],
        ),
        str(layout.release_conf(app.name)): render_template(
            "linux/nginx-release.conf.j2", app=app.name, release="none"
        ),
    }
