"""WindowsWebTier: one app on Windows VMs: IIS / Nginx / Caddy -> N Waitress services -> the app.

Same cloud shape as the Linux tier (the shared VmFleet: IAM profile, launch template with IMDSv2 and
an encrypted root, ASG behind the ALB). Windows user data is limited to 16 KB and cannot be gzipped,
so it only fetches the full bootstrap from the artifact bucket (content-hashed key, verified by its
SHA-256) and runs it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions

from components.fleet import TierArgs, VmFleet, VmFleetArgs, stage_app
from components.observability_plan import telemetry_scope
from components.windows_layout import vm_windows_layout
from components.windows_render import (
    installer_mirrors,
    render_windows_user_data,
    windows_bootstrap_object,
)

# Python, IIS features, MSIs and NSSM services take a while on first boot.
WINDOWS_HEALTH_GRACE_SECONDS = 1200


@dataclass(frozen=True, kw_only=True)
class WindowsWebTierArgs(TierArgs):
    pass


class WindowsWebTier(pulumi.ComponentResource):
    user_data: Output[str]
    bootstrap_key: Output[str]
    role_arn: Output[str]
    asg_name: Output[str] | None
    instance_id: Output[str] | None
    public_ip: Output[str] | None

    def __init__(
        self, name: str, args: WindowsWebTierArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:windows:WindowsWebTier", name, None, opts)
        spec, app = args.spec, args.app
        if spec.edge.mode != "alb":
            raise ValueError("a Windows tier sits behind the ALB (edge.mode alb)")
        staged = stage_app(name, args, self)
        layout = vm_windows_layout()
        refs = staged.refs
        bootstrap = refs.apply(lambda r: windows_bootstrap_object(spec, app, layout, r))
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
        self.user_data = refs.apply(lambda r: render_windows_user_data(spec, app, layout, r))
        tier = app.windows
        fleet = VmFleet(
            f"{name}-fleet",
            VmFleetArgs(
                app=app.name,
                environment=spec.environment,
                image=tier.image,
                instance_type=tier.instance_type,
                root_volume_gb=tier.root_volume_gb,
                subnet_ids=args.subnet_ids,
                security_group_ids=[args.security_group_id],
                user_data_base64=self.user_data.apply(
                    lambda text: base64.b64encode(text.encode()).decode()
                ),
                artifact_bucket_arn=args.bucket_arn,
                artifact_prefixes=[f"apps/{app.name}", f"windows/{app.name}"],
                ssm_prefix=staged.ssm_prefix,
                telemetry=telemetry_scope(spec, staged.ssm_prefix),
                agent_installer=spec.observability.enabled,
                mode="asg",
                min_size=tier.capacity.min,
                max_size=tier.capacity.max,
                desired=tier.capacity.start,
                target_group_arns=[args.target_group_arn] if args.target_group_arn else [],
                health_check_grace_seconds=WINDOWS_HEALTH_GRACE_SECONDS,
                tags={**args.tags, "webstack:app": app.name},
            ),
            # The bootstrap, package and secrets exist before a VM boots and asks for them.
            opts=ResourceOptions(
                parent=self, depends_on=[*staged.depends_on, bootstrap_object, *mirrors]
            ),
        )
        self.role_arn = fleet.role_arn
        self.asg_name = fleet.asg_name
        self.instance_id = fleet.instance_id
        self.public_ip = fleet.public_ip
        self.register_outputs(
            {
                "user_data": self.user_data,
                "bootstrap_key": self.bootstrap_key,
                "role_arn": self.role_arn,
                "asg_name": self.asg_name,
                "instance_id": self.instance_id,
                "public_ip": self.public_ip,
            }
        )
