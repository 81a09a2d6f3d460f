"""WebTier: what both web tiers are, Linux or Windows: stage the app (package, secrets), render its
user data, run it on a VmFleet as the tier plan says. Each OS supplies only its renderer
(`_render`); the plan (components/plan/tier.py) decides everything else for both.
"""

from __future__ import annotations

import base64

import pulumi
from pulumi import Input, Output, ResourceOptions

from components.aws.fleet import StagedApp, TierArgs, VmFleet, VmFleetArgs, stage_app
from components.aws.release_channel import ReleaseRollout, rollout_for
from components.aws.release_pointer import publish_release
from components.plan.observability import telemetry_scope
from components.plan.tier import TierPlan
from components.render.common import user_data_base64
from components.spec.stack import AppSpec


class WebTier(pulumi.ComponentResource):
    user_data: Output[str]
    role_arn: Output[str]
    asg_name: Output[str] | None
    instance_id: Output[str] | None
    public_ip: Output[str] | None

    def __init__(
        self, token: str, name: str, args: TierArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__(token, name, None, opts)
        plan = args.plan
        staged = self._stage(name, args)
        self.user_data, boot_needs = self._render(name, args, staged)
        fleet = VmFleet(
            f"{name}-fleet",
            fleet_args(plan, args, staged.ssm_prefix, self.user_data),
            # Secrets, package (and the bootstrap) exist before any VM boots and asks for them.
            opts=ResourceOptions(parent=self, depends_on=[*staged.depends_on, *boot_needs]),
        )
        self._after_fleet(name, args, fleet)
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
                **self._extra_outputs(),
            }
        )

    # -- what an OS supplies -----------------------------------------------------------------
    def _stage(self, name: str, args: TierArgs) -> StagedApp:
        return stage_app(name, args, self)

    def _render(
        self, name: str, args: TierArgs, staged: StagedApp
    ) -> tuple[Output[str], list[pulumi.Resource]]:
        """The user data text, and what must exist before a VM boots with it."""
        raise NotImplementedError

    def _release_script(self, app: AppSpec) -> str:
        """The activation script's path on the VM (the OS's layout)."""
        raise NotImplementedError

    # -- what both OSes share -----------------------------------------------------------------
    platform = "linux"  # the release channel's SSM document family

    def _publish_release(
        self, name: str, args: TierArgs, staged: StagedApp, env_text: str | None = None
    ) -> pulumi.Resource:
        """The release (code, env, secrets) lives in its pointer, not in the user data."""
        plan = args.plan
        self.release_pointer = publish_release(
            name,
            plan,
            plan.app,
            ssm_prefix=staged.ssm_prefix,
            bucket=args.bucket_name,
            project_root=args.project_root,
            build_dir=args.build_dir,
            secret_params=[staged.secret_params[k] for k in sorted(plan.app.secrets)],
            depends_on=staged.depends_on,
            tags=args.tags,
            parent=self,
            env_text=env_text,
        )
        return self.release_pointer

    def _after_fleet(self, name: str, args: TierArgs, fleet: VmFleet) -> None:
        # `pulumi up` waits here: the release (and any instance refresh) on every instance.
        app = args.plan.app
        self.rollout: ReleaseRollout = rollout_for(
            name,
            app=app.name,
            pointer=self.release_pointer,
            script=self._release_script(app),
            fleet=fleet,
            parent=self,
            platform=self.platform,
            region=args.context.region if args.context else None,
            max_concurrency=app.release.ssm_max_concurrency,
        )

    def _extra_outputs(self) -> dict[str, Input[str]]:
        return {}


def fleet_args(
    plan: TierPlan, args: TierArgs, ssm_prefix: str, user_data: Output[str]
) -> VmFleetArgs:
    """The fleet of a tier, entirely from its plan and the IDs the stack hands in."""
    app = plan.app
    return VmFleetArgs(
        app=app.name,
        environment=plan.environment,
        image=plan.image,
        instance_type=plan.instance_type,
        root_volume_gb=plan.root_volume_gb,
        subnet_ids=args.subnet_ids,
        security_group_ids=[args.security_group_id],
        user_data_base64=user_data.apply(lambda text: encode_user_data(plan, text)),
        artifact_bucket_arn=args.bucket_arn,
        artifact_prefixes=list(plan.artifact_prefixes),
        ssm_prefix=ssm_prefix,
        mode=plan.fleet_mode,
        min_size=plan.capacity.min,
        max_size=plan.capacity.max,
        desired=plan.capacity.start,
        target_group_arns=[args.target_group_arn] if args.target_group_arn else [],
        health_check_grace_seconds=plan.health_grace_seconds,
        telemetry=telemetry_scope(plan.observability, ssm_prefix),
        # Windows fetches the CloudWatch agent MSI from AWS's regional bucket with its role.
        agent_installer=plan.observability.enabled and app.os == "windows",
        tags={**args.tags, "webstack:app": app.name},
        context=args.context,
    )


def encode_user_data(plan: TierPlan, text: str) -> str:
    """What the launch template carries, as the plan says (SpecError over AWS's 16 KB)."""
    if plan.user_data_encoding == "gzip+base64":
        return user_data_base64(text, plan.app.name)
    return base64.b64encode(text.encode()).decode()
