"""Render the Windows activation script: the Linux release contract for N Waitress services.

Pure (no Pulumi). The services move to the new release one at a time behind the proxy, each
health-checked and given the proxy's rejoin window before the next; a failure moves the moved ones
back (templates/windows/webstack-release.ps1.j2). The bootstrap carries this script and runs it at
every boot (a check only when the active release still serves every service: nothing restarts);
the release channel runs the same bytes for a release. The app's plain environment is
the release's config object (`render_windows_app_env`), so services.json (and the user data) holds
none of it.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import cast

from components.plan import release as release_plan
from components.plan.linux_layout import HostLayout
from components.plan.sizing import waitress_instances
from components.plan.tier import TierPlan, windows_static_root
from components.plan.windows_layout import WindowsHostLayout, instance_alias
from components.render.common import CloudRefs, app_environment
from components.render.release import STARTUP_SECONDS
from components.render.windows_proxy import render_windows_template
from components.spec.errors import SpecError
from components.spec.stack import AppSpec
from components.spec.windows import NSSM_EXPANDED


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
        nssm_expanded=NSSM_EXPANDED.pattern,
        served_static=str(windows_static_root(app, layout) or ""),
        static_folder=app.static.folder.replace("/", "\\") if app.static else "",
    )


def windows_app_environment(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout
) -> dict[str, str]:
    """The app's plain environment on a Windows VM (every Waitress service gets the same)."""
    # app_environment only asks the layout for collected_static(app), which this layout has.
    env = dict(app_environment(plan, app, cast(HostLayout, layout)))
    if app.windows.proxy == "iis":
        # ARR's health probe sends each farm server's address (its hosts-file alias) as Host.
        count = waitress_instances(app.windows)
        aliases = [instance_alias(app.name, n) for n in range(1, count + 1)]
        env["WEBSTACK_ALLOWED_HOSTS"] = ",".join([env["WEBSTACK_ALLOWED_HOSTS"], *aliases])
    return env


def render_windows_app_env(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    """The release's config object: `NAME=value` lines the activation gives every service."""
    lines = []
    for name, value in sorted(windows_app_environment(plan, app, layout).items()):
        if any(c in value for c in "\r\n\0") or not value.isascii():
            raise SpecError([f"apps.{app.name}.env.{name}: one ASCII line (Windows services)"])
        if NSSM_EXPANDED.search(value):
            raise SpecError([f"apps.{app.name}.env.{name}: NSSM would expand its %...% pair"])
        lines.append(f"{name}={value}\n")
    return "".join(lines)


def release_files(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout, refs: CloudRefs
) -> dict[str, str]:
    """What the bootstrap writes for releases: the activation script (infrastructure only)."""
    script = render_windows_release_script(
        plan, app, layout, region=refs.region, bucket=refs.bucket, ssm_prefix=refs.ssm_prefix
    )
    return {str(windows_release_script_path(app, layout)): script}
