"""LinuxWebTier: one app on Linux VMs: Nginx -> Gunicorn (1 or 2 masters) -> the app.

It packages and uploads the app, stores its secrets as SSM SecureStrings, renders the user data
(the same bytes the tests validate and the rehearsal boots) and hands it to the shared VmFleet:
all of that is WebTier's; this tier supplies the Linux renderer (and the Nginx edge's key).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi import Input, Output, ResourceOptions

from components.aws.fleet import StagedApp, TierArgs, VmFleet, stage_app
from components.aws.release_channel import rollout_for
from components.aws.release_pointer import publish_release
from components.aws.tier import WebTier
from components.plan.linux_layout import vm_layout
from components.render.linux import render_linux_user_data
from components.render.release import release_script_path


@dataclass(frozen=True, kw_only=True)
class LinuxWebTierArgs(TierArgs):
    # The Nginx edge's certificate and key (the key only ever travels as an SSM SecureString).
    tls_cert_pem: Input[str] | None = None
    tls_private_key_pem: Input[str] | None = None


class LinuxWebTier(WebTier):
    def __init__(
        self, name: str, args: LinuxWebTierArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:linux:LinuxWebTier", name, args, opts)

    def _stage(self, name: str, args: TierArgs) -> StagedApp:
        assert isinstance(args, LinuxWebTierArgs)
        key = args.tls_private_key_pem
        return stage_app(
            name,
            args,
            self,
            extra_secrets={"tls-private-key": key} if key is not None else None,
            tls_cert_pem=args.tls_cert_pem,
        )

    def _render(
        self, name: str, args: TierArgs, staged: StagedApp
    ) -> tuple[Output[str], list[pulumi.Resource]]:
        plan, layout = args.plan, vm_layout(args.plan.app.linux.family)
        # The release (code, env, secrets) lives in its pointer, not in the user data.
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
        )
        user_data = staged.refs.apply(
            lambda refs: render_linux_user_data(plan, plan.app, layout, refs)
        )
        return user_data, [self.release_pointer]

    def _after_fleet(self, name: str, args: TierArgs, fleet: VmFleet) -> None:
        # `pulumi up` waits here: the release (and any instance refresh) on every instance.
        app = args.plan.app
        self.rollout = rollout_for(
            name,
            app=app.name,
            pointer=self.release_pointer,
            script=str(release_script_path(app, vm_layout(app.linux.family))),
            fleet=fleet,
            parent=self,
            region=args.context.region if args.context else None,
        )
