"""WebStack: one environment composed from the components (network, edge, tiers, smoke check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
from pulumi import Input, Output, ResourceOptions

from components.artifacts import ArtifactStore, ArtifactStoreArgs
from components.edge import Alb, AlbArgs, AlbRoute
from components.iam_plan import ssm_prefix, ssm_scope
from components.linux_tier import LinuxWebTier, LinuxWebTierArgs
from components.network import Network, NetworkArgs
from components.observability import (
    AccessLogBucket,
    AccessLogBucketArgs,
    Alarms,
    AlarmsArgs,
    AppLogGroups,
    AppLogGroupsArgs,
    AppTargets,
)
from components.security import SecurityGroups, SecurityGroupsArgs
from components.spec import AppSpec, StackSpec
from components.tls import Certificate, CertificateArgs
from components.windows_tier import WindowsWebTier, WindowsWebTierArgs


@dataclass(frozen=True, kw_only=True)
class WebStackArgs:
    spec: StackSpec
    # app name -> secret name -> value (Pulumi secret Outputs)
    secrets: dict[str, dict[str, Input[str]]] = field(default_factory=dict)
    project_root: Path = field(default_factory=Path.cwd)
    build_dir: Path = field(default_factory=lambda: Path(".webstack-build"))


class WebStack(pulumi.ComponentResource):
    urls: dict[str, Output[str]]
    alb_dns_name: Output[str] | None
    edge_public_ip: Output[str] | None
    bucket_name: Output[str]
    vpc_id: Output[str]
    dashboard_url: Output[str] | None
    alarm_topic_arn: Output[str] | None
    access_logs_bucket: Output[str] | None

    def __init__(self, name: str, args: WebStackArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("webstack:index:WebStack", name, None, opts)
        spec = args.spec
        child = ResourceOptions(parent=self)
        tags = {"webstack:stack": spec.environment, "webstack:managed-by": "pulumi"}

        network = Network(f"{name}-net", NetworkArgs(spec=spec.network, tags=tags), child)
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(
                vpc_id=network.vpc_id,
                edge_mode=spec.edge.mode,
                apps={a.name: a.os for a in spec.apps},
                admin_cidrs=spec.admin_cidrs,
                tags=tags,
            ),
            child,
        )
        store = ArtifactStore(
            f"{name}-artifacts",
            ArtifactStoreArgs(
                force_destroy=not spec.production, keep_on_destroy=spec.production, tags=tags
            ),
            child,
        )
        hostnames = sorted({h for a in spec.apps for h in a.hostnames})
        cert = Certificate(
            f"{name}-cert",
            CertificateArgs(
                spec=spec.edge.tls,
                hostnames=hostnames,
                import_to_acm=spec.edge.mode == "alb",
                tags=tags,
            ),
            child,
        )
        access_logs: AccessLogBucket | None = None
        if spec.edge.mode == "alb" and spec.observability.access_logs_on(spec.production):
            access_logs = AccessLogBucket(
                f"{name}-access-logs",
                AccessLogBucketArgs(
                    expire_days=spec.observability.access_log_days,
                    force_destroy=not spec.production,
                    keep_on_destroy=spec.production,
                    tags=tags,
                ),
                child,
            )
        alb: Alb | None = None
        if spec.edge.mode == "alb":
            assert spec.chain.alb_idle_timeout is not None and cert.certificate_arn is not None
            alb = Alb(
                f"{name}-edge",
                AlbArgs(
                    vpc_id=network.vpc_id,
                    public_subnet_ids=network.public_subnet_ids,
                    security_group_id=groups.edge_sg_id,
                    certificate_arn=cert.certificate_arn,
                    idle_timeout=spec.chain.alb_idle_timeout,
                    routes=[
                        AlbRoute(
                            app=a.name,
                            hostnames=a.hostnames,
                            path_prefix=a.path_prefix,
                            health_path=a.health_path,
                            priority=a.priority,
                        )
                        for a in spec.apps
                    ],
                    network_key=_network_key(spec),
                    deletion_protection=spec.deletion_protection,
                    zone_id=spec.edge.tls.zone_id if spec.edge.tls.mode == "acm" else None,
                    access_logs_bucket=access_logs.bucket_name if access_logs else None,
                    access_logs_prefix=access_logs.prefix if access_logs else "alb",
                    tags=tags,
                ),
                child,
            )

        self.urls = {}
        self.edge_public_ip = None
        scope = ssm_scope(pulumi.get_project(), pulumi.get_stack(), name)
        targets: list[AppTargets] = []
        for app in spec.apps:
            prefix = ssm_prefix(scope, app.name)  # the app's SSM path names its log groups too
            log_groups = (
                [self._log_groups(name, spec, app, prefix, tags)]
                if spec.observability.enabled
                else []
            )
            tier = self._tier(
                name, spec, app, args, network, groups, store, cert, alb, tags, log_groups
            )
            targets.append(
                AppTargets(
                    app=app,
                    prefix=prefix,
                    target_group_suffix=alb.target_group_arn_suffixes[app.name] if alb else None,
                    asg_name=tier.asg_name,
                    instance_id=tier.instance_id,
                )
            )
            target = alb.dns_name if alb else tier.public_ip
            assert target is not None
            host = app.health_host if app.hostnames else None
            self.urls[app.name] = (
                Output.concat("https://", host, app.path_prefix)
                if host
                else Output.concat("https://", target, app.path_prefix)
            )
            if alb is None:
                self.edge_public_ip = tier.public_ip
            if spec.edge.health_check_url:
                self._smoke_check(name, app, target, tier)

        self.dashboard_url = self.alarm_topic_arn = None
        if spec.observability.enabled:
            alarms = Alarms(
                f"{name}-alarms",
                AlarmsArgs(
                    spec=spec,
                    apps=targets,
                    load_balancer_suffix=alb.arn_suffix if alb else None,
                    scope=f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
                    tags=tags,
                ),
                child,
            )
            self.dashboard_url = alarms.dashboard_url
            self.alarm_topic_arn = alarms.topic_arn
        self.access_logs_bucket = access_logs.bucket_name if access_logs else None
        self.alb_dns_name = alb.dns_name if alb else None
        self.bucket_name = store.bucket_name
        self.vpc_id = network.vpc_id
        self.register_outputs(
            {
                "dashboard_url": self.dashboard_url,
                "alarm_topic_arn": self.alarm_topic_arn,
                "access_logs_bucket": self.access_logs_bucket,
                "urls": self.urls,
                "alb_dns_name": self.alb_dns_name,
                "edge_public_ip": self.edge_public_ip,
                "bucket_name": self.bucket_name,
                "vpc_id": self.vpc_id,
            }
        )

    def _tier(
        self,
        name: str,
        spec: StackSpec,
        app: AppSpec,
        args: WebStackArgs,
        network: Network,
        groups: SecurityGroups,
        store: ArtifactStore,
        cert: Certificate,
        alb: Alb | None,
        tags: dict[str, str],
        log_groups: list[pulumi.Resource],
    ) -> LinuxWebTier | WindowsWebTier:
        subnets = network.private_subnet_ids if alb else network.public_subnet_ids
        common = dict(
            spec=spec,
            app=app,
            subnet_ids=subnets,
            security_group_id=groups.app_sg_ids[app.name],
            bucket_name=store.bucket_name,
            bucket_arn=store.bucket_arn,
            secrets=args.secrets.get(app.name, {}),
            target_group_arn=alb.target_group_arns[app.name] if alb else None,
            project_root=args.project_root,
            build_dir=args.build_dir,
            tags=tags,
            # Parameters scoped by project, stack and this WebStack: no clash between two of them.
            ssm_scope=ssm_scope(pulumi.get_project(), pulumi.get_stack(), name),
            # First boot needs egress (NAT routes), its listener rule and target group, and the
            # log groups its agent ships to.
            boot_after=[network, *([alb] if alb else []), *log_groups],
        )
        if app.os == "windows":
            return WindowsWebTier(
                f"{name}-{app.name}", WindowsWebTierArgs(**common), ResourceOptions(parent=self)
            )
        return LinuxWebTier(
            f"{name}-{app.name}",
            LinuxWebTierArgs(
                **common,
                tls_cert_pem=cert.cert_pem if alb is None else None,
                tls_private_key_pem=cert.private_key_pem if alb is None else None,
            ),
            ResourceOptions(parent=self),
        )

    def _log_groups(
        self, name: str, spec: StackSpec, app: AppSpec, prefix: str, tags: dict[str, str]
    ) -> AppLogGroups:
        obs = spec.observability
        return AppLogGroups(
            f"{name}-{app.name}-logs",
            AppLogGroupsArgs(
                app=app,
                prefix=prefix,
                retention_days=obs.retention_days,
                kms_key_arn=obs.kms_key_arn,
                tags={**tags, "webstack:app": app.name},
            ),
            ResourceOptions(parent=self),
        )

    def _smoke_check(
        self, name: str, app: AppSpec, target: Output[str], tier: LinuxWebTier | WindowsWebTier
    ) -> None:
        """After deploy, the public URL must answer the health path with 200, or `pulumi up` fails."""
        # Through the ALB an app answers only under its path prefix (other paths hit the
        # listener's fixed 404 or another app's rule).
        url = Output.concat("https://", target, smoke_path(app))
        script = url.apply(lambda u: smoke_command(u, app.health_host))
        command.local.Command(
            f"{name}-{app.name}-smoke",
            create=script,
            triggers=[tier.user_data],
            opts=ResourceOptions(parent=self, depends_on=[tier]),
        )


def smoke_path(app: AppSpec) -> str:
    """The health URL path as the public edge routes it: path prefix + health path."""
    return app.path_prefix.rstrip("/") + app.health_path


def smoke_command(url: str, host: str, attempts: int = 60, delay: int = 10) -> str:
    """A POSIX sh loop around plain curl: any curl version (no curl >= 7.71 `--retry-all-errors`,
    whose `--retry` alone skips connection refusals and 5xx). -k: the edge may be self-signed or
    named for the app's host, not the ALB/EIP address."""
    return (
        f"i=0; until curl -fsS -k -o /dev/null --max-time 10 -H 'Host: {host}' '{url}'; do "
        f"i=$((i+1)); [ $i -ge {attempts} ] && exit 1; sleep {delay}; done"
    )


def _network_key(spec: StackSpec) -> str:
    """What a new VPC would come from: the adopted VPC's ID, or the planned CIDR."""
    existing = spec.network.existing
    return f"vpc:{existing.vpc_id}" if existing is not None else f"cidr:{spec.network.cidr}"


def build_stack(
    spec: StackSpec, secrets: dict[str, dict[str, str]], project_root: Path, build_dir: Path
) -> tuple[WebStack, dict[str, Any]]:
    """The WebStack of a spec (plain secret values become secret Outputs) and its stack outputs.

    One place for `__main__.py`, the mocks harness and `webstack preview`, so all three build the
    same thing and export the same names.
    """
    stack = WebStack(
        f"webstack-{spec.environment}",
        WebStackArgs(
            spec=spec,
            secrets={
                app: {name: Output.secret(value) for name, value in values.items()}
                for app, values in secrets.items()
            },
            project_root=project_root,
            build_dir=build_dir,
        ),
    )
    outputs: dict[str, Any] = {
        "urls": stack.urls,
        "alb_dns_name": stack.alb_dns_name,
        "edge_public_ip": stack.edge_public_ip,
        "artifact_bucket": stack.bucket_name,
        "vpc_id": stack.vpc_id,
        "dashboard_url": stack.dashboard_url,
        "alarm_topic_arn": stack.alarm_topic_arn,
        "access_logs_bucket": stack.access_logs_bucket,
    }
    return stack, outputs
