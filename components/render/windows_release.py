"""Render the Windows activation script: the Linux release contract for N Waitress services.

Pure (no Pulumi). The services move to the new release one at a time behind the proxy, each
health-checked and given the proxy's rejoin window before the next; a failure moves the moved ones back (templates/windows/
webstack-release.ps1.j2). Not yet wired into the Windows bootstrap or the release channel.
"""

from __future__ import annotations

from pathlib import PurePath

from components.plan import release as release_plan
from components.plan.tier import TierPlan
from components.plan.windows_layout import WindowsHostLayout
from components.render.release import STARTUP_SECONDS
from components.render.windows_proxy import render_windows_template
from components.spec.stack import AppSpec


def windows_release_script_path(app: AppSpec, layout: WindowsHostLayout) -> PurePath:
    return layout.app_dir(app.name) / "webstack-release.ps1"


def render_windows_release_script(
    plan: TierPlan,
    app: AppSpec,
    layout: WindowsHostLayout,
    *,
    region: str,
    bucket: str,
    ssm_prefix: str,
) -> str:
    return render_windows_template(
        "windows/webstack-release.ps1.j2",
        app=app,
        environment=plan.environment,
        proxy=app.windows.proxy,
        layout=layout,
        region=region,
        bucket=bucket,
        ssm_prefix=ssm_prefix,
        pointer_param=release_plan.pointer_parameter(ssm_prefix),
        server_requirements=["waitress>=3.0.1"],  # the bootstrap's pin (windows_render.py)
        health_successes=release_plan.HEALTH_SUCCESSES,
        startup_seconds=STARTUP_SECONDS,
        keep=release_plan.KEEP_RELEASES,
        rejoin_seconds=release_plan.PROXY_REJOIN_SECONDS[app.windows.proxy],
    )
