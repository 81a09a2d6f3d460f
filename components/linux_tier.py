"""LinuxWebTier: one app on Linux VMs: Nginx -> Gunicorn (1 or 2 masters) -> the app.

It packages and uploads the app, stores its secrets as SSM SecureStrings, renders the user data
(the same bytes the tests validate and the rehearsal boots) and hands it to the shared VmFleet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi import Input, Output, ResourceOptions

from components.fleet import TierArgs, VmFleet, VmFleetArgs, stage_app
from components.layout import vm_layout
from components.observability_plan import telemetry_scope
from components.render import render_linux_user_data, user_data_base64


@dataclass(frozen=True, kw_only=True)
class LinuxWebTierArgs(TierArgs):
    # The Nginx edge's certificate and key (the key only ever travels as an SSM SecureString).
    tls_cert_pem: Input[str] | None = None
    tls_private_key_pem: Input[str] | None = None


class LinuxWebTier(pulumi.ComponentResource):
    user_data: Output[str]
    role_arn: Output[str]
    asg_name: Output[str] | None
    instance_id: Output[str] | None
    public_ip: Output[str] | None

    def __init__(
        self, name: str, args: LinuxWebTierArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:linux:LinuxWebTier", name, None, opts)
        spec, app = args.spec, args.app
        staged = stage_app(
            name,
            args,
            self,
            extra_secrets=(
                {"tls-private-key": args.tls_private_key_pem}
                if args.tls_private_key_pem is not None
                else None
            ),
            tls_cert_pem=args.tls_cert_pem,
        )
        layout = vm_layout(app.linux.family)
        self.user_data = staged.refs.apply(
            lambda refs: render_linux_user_data(spec, app, layout, refs)
        )
        cap = app.linux.capacity
        fleet = VmFleet(
            f"{name}-fleet",
            VmFleetArgs(
                app=app.name,
                environment=spec.environment,
                image=app.linux.image,
                instance_type=app.linux.instance_type,
                root_volume_gb=app.linux.root_volume_gb,
                subnet_ids=args.subnet_ids,
                security_group_ids=[args.security_group_id],
                user_data_base64=self.user_data.apply(lambda ud: user_data_base64(ud, app.name)),
                artifact_bucket_arn=args.bucket_arn,
                artifact_prefixes=[f"apps/{app.name}"],
                ssm_prefix=staged.ssm_prefix,
                telemetry=telemetry_scope(spec, staged.ssm_prefix),
                mode="single" if spec.edge.mode == "nginx" else "asg",
                min_size=cap.min,
                max_size=cap.max,
                desired=cap.start,
                target_group_arns=[args.target_group_arn] if args.target_group_arn else [],
                tags={**args.tags, "webstack:app": app.name},
            ),
            # Secrets and the package exist before any VM boots and asks for them.
            opts=ResourceOptions(parent=self, depends_on=staged.depends_on),
        )
        self.role_arn = fleet.role_arn
        self.asg_name = fleet.asg_name
        self.instance_id = fleet.instance_id
        self.public_ip = fleet.public_ip
        self.register_outputs(
            {
                "user_data": self.user_data,
                "role_arn": self.role_arn,
                "asg_name": self.asg_name,
                "instance_id": self.instance_id,
                "public_ip": self.public_ip,
            }
        )
