"""LinuxWebTier: one app on Linux VMs: Nginx -> Gunicorn (1 or 2 masters) -> the app.

It packages and uploads the app, stores its secrets as SSM SecureStrings, renders the user data
(the same bytes the tests validate and the rehearsal boots) and hands it to the shared VmFleet:
all of that is WebTier's; this tier supplies the Linux renderer (and the Nginx edge's key).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi import Input, Output, ResourceOptions

from components.aws.fleet import StagedApp, TierArgs, stage_app
from components.aws.tier import WebTier
from components.plan.linux_layout import vm_layout
from components.render.linux import render_linux_user_data
from components.render.release import release_script_path
from components.spec.stack import AppSpec


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
        self._publish_release(name, args, staged)
        user_data = staged.refs.apply(
            lambda refs: render_linux_user_data(plan, plan.app, layout, refs)
        )
        return user_data, [self.release_pointer]

    def _release_script(self, app: AppSpec) -> str:
        return str(release_script_path(app, vm_layout(app.linux.family)))
