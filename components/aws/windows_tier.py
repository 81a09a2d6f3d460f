"""WindowsWebTier: one app on Windows VMs: IIS / Nginx / Caddy -> N Waitress services -> the app.

Same cloud shape as the Linux tier (the shared VmFleet: IAM profile, launch template with IMDSv2 and
an encrypted root, ASG behind the ALB). Windows user data is limited to 16 KB and cannot be gzipped,
so it only fetches the full bootstrap from the artifact bucket (content-hashed key, verified by its
SHA-256) and runs it. The release (code, env, secrets) is the SSM pointer, as on Linux: the bootstrap
carries only infrastructure and runs the activation script (webstack-release.ps1) against the
pointer at boot; a release is the same script run by the release channel (AWS-RunPowerShellScript).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.aws.fleet import StagedApp, TierArgs
from components.aws.tier import WebTier
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import (
    installer_mirrors,
    render_windows_user_data,
    windows_bootstrap_object,
)
from components.render.windows_release import render_windows_app_env, windows_release_script_path
from components.spec.stack import AppSpec


@dataclass(frozen=True, kw_only=True)
class WindowsWebTierArgs(TierArgs):
    pass


class WindowsWebTier(WebTier):
    platform = "windows"

    bootstrap_key: Output[str]

    def __init__(
        self, name: str, args: WindowsWebTierArgs, opts: ResourceOptions | None = None
    ) -> None:
        if args.plan.edge_mode != "alb":
            raise ValueError("a Windows tier sits behind the ALB (edge.mode alb)")
        super().__init__("webstack:windows:WindowsWebTier", name, args, opts)

    def _render(
        self, name: str, args: TierArgs, staged: StagedApp
    ) -> tuple[Output[str], list[pulumi.Resource]]:
        plan, app = args.plan, args.plan.app
        layout = vm_windows_layout()
        # The release (code, env, secrets) lives in its pointer, not in the bootstrap/user data.
        self._publish_release(
            name, args, staged, env_text=render_windows_app_env(plan, app, layout)
        )
        # No package key in what the VM is given at launch: only the pointer names it.
        refs = staged.refs.apply(lambda r: replace(r, package_key=""))
        bootstrap = refs.apply(lambda r: windows_bootstrap_object(plan, app, layout, r))
        self.bootstrap_key = bootstrap.apply(lambda b: b[0])
        bootstrap_object = aws.s3.BucketObjectv2(
            f"{name}-bootstrap",
            bucket=args.bucket_name,
            key=self.bootstrap_key,
            content=bootstrap.apply(lambda b: b[1]),
            content_type="text/plain; charset=utf-8",
            # Older launch-template versions (rollback, scale-out) still name this key.
            opts=ResourceOptions(parent=self, retain_on_delete=True),
        )
        # Each installer is copied from its vendor into the bucket here, once per pin (the key
        # carries the SHA-256): a scale-out never depends on nssm.cc or python.org, and the VM
        # checks the pinned SHA-256 of what it reads (Get-Installer in functions.ps1.j2).
        mirrors = [
            aws.s3.BucketObjectv2(
                f"{name}-installer-{installer_name}",
                bucket=args.bucket_name,
                key=key,
                source=pulumi.RemoteAsset(installer.url),
                content_type="application/octet-stream",
                metadata={"sha256": installer.sha256 or "unpinned", "source-url": installer.url},
                # Content-keyed and named by older launch-template versions: never deleted.
                opts=ResourceOptions(parent=self, retain_on_delete=True),
            )
            for installer_name, (key, installer) in installer_mirrors(app).items()
        ]
        user_data = refs.apply(lambda r: render_windows_user_data(plan, app, layout, r))
        return user_data, [bootstrap_object, *mirrors, self.release_pointer]

    def _release_script(self, app: AppSpec) -> str:
        return str(windows_release_script_path(app, vm_windows_layout()))

    def _extra_outputs(self) -> dict[str, Input[str]]:
        return {"bootstrap_key": self.bootstrap_key}
