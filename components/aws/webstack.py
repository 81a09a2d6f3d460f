"""WebStack: one environment composed from the components (network, edge, tiers, smoke check)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
from pulumi import Input, Output, ResourceOptions

from components.aws.alb import Alb, AlbArgs, AlbRoute, ExistingLoadBalancer
from components.aws.artifacts import ArtifactStore, ArtifactStoreArgs
from components.aws.context import lookup_aws_context
from components.aws.database import ManagedPostgres, managed_databases
from components.aws.linux_tier import LinuxWebTier, LinuxWebTierArgs
from components.aws.network import Network, NetworkArgs
from components.aws.observability import access_logs_for, alarms_for, log_groups_for
from components.aws.security import SecurityGroups, SecurityGroupsArgs
from components.aws.tier import WebTier
from components.aws.tls import Certificate, CertificateArgs
from components.aws.windows_tier import WindowsWebTier, WindowsWebTierArgs
from components.plan.datastores import datastore_rules, with_database_secrets
from components.plan.iam import ssm_scope
from components.plan.smoke import smoke_command, smoke_path
from components.plan.tier import TARGET_PORT, TierPlan, plan_tiers
from components.plan.timeouts import timeout_chain
from components.spec.errors import SpecError
from components.spec.stack import AppSpec, StackSpec


@dataclass(frozen=True, kw_only=True)
class ExistingVpc:
    """A VPC made elsewhere (another stack's Outputs, or IDs): WebStack creates no network."""

    vpc_id: Input[str]
    public_subnet_ids: Input[list[str]]  # where the ALB (or the Nginx VM) lives
    private_subnet_ids: Input[list[str]]  # where the app VMs live behind an ALB
    # Plain text, not an Output: the apps trust X-Forwarded-For from it, in their rendered config.
    vpc_cidr: str


@dataclass(frozen=True, kw_only=True)
class ExistingAlb:
    """An ALB made elsewhere: WebStack adds one target group and listener rule per app to its
    HTTPS listener (whose certificate serves the apps) and admits its security group."""

    arn: Input[str]
    dns_name: Input[str]
    zone_id: Input[str]
    https_listener_arn: Input[str]
    security_group_id: Input[str]


@dataclass(frozen=True, kw_only=True)
class WebStackArgs:
    spec: StackSpec
    # app name -> secret name -> value (Pulumi secret Outputs)
    secrets: dict[str, dict[str, Input[str]]] = field(default_factory=dict)
    project_root: Path = field(default_factory=Path.cwd)
    build_dir: Path = field(default_factory=lambda: Path(".webstack-build"))
    # Bring your own (each None: created from the spec). Outputs of other stacks are fine.
    network: ExistingVpc | None = None
    certificate_arn: Input[str] | None = None  # an ACM certificate for the ALB's HTTPS listener
    alb: ExistingAlb | None = None
    tags: dict[str, str] = field(default_factory=dict)  # added to webstack's own tags


class WebStack(pulumi.ComponentResource):
    """One environment: network, security groups, certificate, edge and one tier per app."""

    urls: dict[str, Output[str]]  # app -> its public URL
    endpoint: Output[str]  # the ALB's DNS name, or the Nginx edge VM's public IP
    alb_dns_name: Output[str] | None  # None with edge.mode nginx (then see edge_public_ip)
    edge_public_ip: Output[str] | None  # None with edge.mode alb
    bucket_name: Output[str]
    vpc_id: Output[str]
    dashboard_url: Output[str] | None  # the environment's CloudWatch dashboard (issue 15)
    alarm_topic_arn: Output[str] | None
    access_logs_bucket: Output[str] | None  # ALB access logs, when on
    tiers: dict[str, WebTier]  # app -> its tier (user_data, role_arn, asg_name, ...)

    def __init__(self, name: str, args: WebStackArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("webstack:index:WebStack", name, None, opts)
        spec = args.spec
        _check_bring_your_own(args)
        self._name, self._args = name, args
        self._tags = {
            **args.tags,
            "webstack:stack": spec.environment,
            "webstack:managed-by": "pulumi",
        }
        child = ResourceOptions(parent=self)
        self._aws = lookup_aws_context(self)  # one lookup for every part below
        # Parameters scoped by project, stack and this WebStack: no clash between two of them.
        self._scope = ssm_scope(pulumi.get_project(), pulumi.get_stack(), name)
        network = self._network()
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(
                vpc_id=network.vpc_id,
                edge_mode=spec.edge.mode,
                apps={a.name: a.os for a in spec.apps},
                admin_cidrs=spec.admin_cidrs,
                edge_sg_id=args.alb.security_group_id if args.alb else None,
                datastores={a.name: datastore_rules(a) for a in spec.apps},
                tags=self._tags,
            ),
            child,
        )
        self._databases = self._managed_databases(network, groups)
        store = ArtifactStore(
            f"{name}-artifacts",
            ArtifactStoreArgs(
                force_destroy=not spec.production, keep_on_destroy=spec.production, tags=self._tags
            ),
            child,
        )
        cert = self._certificate()
        # Observability (issue 15): access logs before the ALB, log groups before any VM.
        logs = (
            access_logs_for(name, spec, self._tags, self, self._aws) if args.alb is None else None
        )
        self.access_logs_bucket = logs.bucket_name if logs else None
        alb = self._alb(network, groups, cert) if spec.edge.mode == "alb" else None
        self._log_groups = log_groups_for(name, spec, self._scope, self._tags, self)
        plans = plan_tiers(spec, trusted_cidrs=(args.network.vpc_cidr,) if args.network else None)
        tiers = {
            a.name: self._tier(plans[a.name], network, groups, store, cert, alb) for a in spec.apps
        }
        self.tiers = dict(tiers)
        lb, tgs = (alb.arn_suffix, alb.target_group_arn_suffixes) if alb else (None, {})
        alarms = alarms_for(name, spec, self._scope, lb, tgs, tiers, self._tags, self, self._aws)
        self.dashboard_url = alarms.dashboard_url if alarms else None
        self.alarm_topic_arn = alarms.topic_arn if alarms else None
        self._outputs(network, store, alb, tiers)

    def _managed_databases(
        self, network: Network | ExistingVpc, groups: SecurityGroups
    ) -> dict[str, ManagedPostgres]:
        """One RDS PostgreSQL per app that asks for `database:` (issue 17)."""
        return managed_databases(
            self._name,
            self._args.spec,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            app_sg_ids=groups.app_sg_ids,
            scope=self._scope,
            tags=self._tags,
            parent=self,
        )

    def _network(self) -> Network | ExistingVpc:
        if self._args.network is not None:
            return self._args.network
        spec = self._args.spec
        return Network(
            f"{self._name}-net",
            NetworkArgs(spec=spec.network, tags=self._tags),
            ResourceOptions(parent=self),
        )

    def _certificate(self) -> Certificate | None:
        """None when the ALB's certificate is brought (its ARN, or an existing ALB's listener)."""
        args, spec = self._args, self._args.spec
        if args.certificate_arn is not None or args.alb is not None:
            return None
        return Certificate(
            f"{self._name}-cert",
            CertificateArgs(
                spec=spec.edge.tls,
                hostnames=sorted({h for a in spec.apps for h in a.hostnames}),
                import_to_acm=spec.edge.mode == "alb",
                tags=self._tags,
            ),
            ResourceOptions(parent=self),
        )

    def _alb(
        self, network: Network | ExistingVpc, groups: SecurityGroups, cert: Certificate | None
    ) -> Alb:
        args, spec = self._args, self._args.spec
        idle = timeout_chain(spec).alb_idle_timeout
        certificate_arn = args.certificate_arn
        if cert is not None:
            certificate_arn = cert.certificate_arn
        return Alb(
            f"{self._name}-edge",
            AlbArgs(
                vpc_id=network.vpc_id,
                public_subnet_ids=network.public_subnet_ids,
                security_group_id=groups.edge_sg_id,
                certificate_arn=certificate_arn or "",
                idle_timeout=idle or 0,
                routes=[
                    AlbRoute(
                        app=a.name,
                        hostnames=a.hostnames,
                        path_prefix=a.path_prefix,
                        health_path=a.health_path,
                        priority=a.priority,
                        target_port=TARGET_PORT,
                    )
                    for a in spec.apps
                ],
                network_key=_network_key(spec, args.network),
                deletion_protection=spec.deletion_protection,
                zone_id=spec.edge.tls.zone_id if spec.edge.tls.mode == "acm" else None,
                access_logs_bucket=self.access_logs_bucket,
                existing=(
                    ExistingLoadBalancer(
                        arn=args.alb.arn,
                        dns_name=args.alb.dns_name,
                        zone_id=args.alb.zone_id,
                        https_listener_arn=args.alb.https_listener_arn,
                    )
                    if args.alb
                    else None
                ),
                tags=self._tags,
            ),
            ResourceOptions(parent=self),
        )

    def _outputs(
        self,
        network: Network | ExistingVpc,
        store: ArtifactStore,
        alb: Alb | None,
        tiers: dict[str, LinuxWebTier | WindowsWebTier],
    ) -> None:
        spec = self._args.spec
        self.urls = {}
        self.edge_public_ip = None
        for app in spec.apps:
            tier = tiers[app.name]
            target = alb.dns_name if alb else tier.public_ip
            assert target is not None  # the single edge VM has an address
            host = app.health_host if app.hostnames else None
            self.urls[app.name] = Output.concat("https://", host or target, app.path_prefix)
            if alb is None:
                self.edge_public_ip = tier.public_ip
            if spec.edge.health_check_url:
                self._smoke_check(self._name, app, target, tier)
        self.alb_dns_name = alb.dns_name if alb else None
        endpoint = self.alb_dns_name if alb else self.edge_public_ip
        assert endpoint is not None
        self.endpoint = endpoint
        self.bucket_name = store.bucket_name
        self.vpc_id = Output.from_input(network.vpc_id)
        self.register_outputs(
            {
                "urls": self.urls,
                "endpoint": self.endpoint,
                "alb_dns_name": self.alb_dns_name,
                "edge_public_ip": self.edge_public_ip,
                "bucket_name": self.bucket_name,
                "vpc_id": self.vpc_id,
                "dashboard_url": self.dashboard_url,
                "alarm_topic_arn": self.alarm_topic_arn,
                "access_logs_bucket": self.access_logs_bucket,
            }
        )

    def _tier(
        self,
        plan: TierPlan,
        network: Network | ExistingVpc,
        groups: SecurityGroups,
        store: ArtifactStore,
        cert: Certificate | None,
        alb: Alb | None,
    ) -> LinuxWebTier | WindowsWebTier:
        name, args = self._name, self._args
        # A managed database's connection variables travel as the app's own secrets.
        db = self._databases.get(plan.app.name)
        database_env = db.environment if db else {}
        plan = replace(plan, app=with_database_secrets(plan.app, list(database_env)))
        app = plan.app
        subnets = network.private_subnet_ids if alb else network.public_subnet_ids
        boot_after: list[pulumi.Resource] = [alb] if alb else []
        if app.name in self._log_groups:  # the agent ships to them from the first boot
            boot_after.append(self._log_groups[app.name])
        if isinstance(network, Network):
            boot_after.insert(0, network)
        common = dict(
            plan=plan,
            subnet_ids=subnets,
            security_group_id=groups.app_sg_ids[app.name],
            bucket_name=store.bucket_name,
            bucket_arn=store.bucket_arn,
            secrets={**args.secrets.get(app.name, {}), **database_env},
            target_group_arn=alb.target_group_arns[app.name] if alb else None,
            project_root=args.project_root,
            build_dir=args.build_dir,
            tags=self._tags,
            ssm_scope=self._scope,
            # First boot needs egress (NAT routes), its listener rule and target group.
            boot_after=boot_after,
            context=self._aws,
        )
        opts = ResourceOptions(parent=self)
        if app.os == "windows":
            return WindowsWebTier(f"{name}-{app.name}", WindowsWebTierArgs(**common), opts)
        edge_tls = alb is None and cert is not None
        return LinuxWebTier(
            f"{name}-{app.name}",
            LinuxWebTierArgs(
                **common,
                tls_cert_pem=cert.cert_pem if edge_tls and cert else None,
                tls_private_key_pem=cert.private_key_pem if edge_tls and cert else None,
            ),
            opts,
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


def _network_key(spec: StackSpec, brought: ExistingVpc | None) -> str:
    """What a new VPC would come from: the adopted VPC's ID, or the planned CIDR."""
    if brought is not None:
        return f"cidr:{brought.vpc_cidr}"  # an Output ID is not known when names are chosen
    existing = spec.network.existing
    return f"vpc:{existing.vpc_id}" if existing is not None else f"cidr:{spec.network.cidr}"


def _check_bring_your_own(args: WebStackArgs) -> None:
    """Each part is brought or created, never both, and only where the edge mode uses it."""
    spec, problems = args.spec, []
    if args.network is not None and spec.network.existing is not None:
        problems.append("WebStackArgs.network: the spec names network.existing too; give one")
    if spec.edge.mode == "nginx" and (args.alb is not None or args.certificate_arn is not None):
        problems.append(
            "WebStackArgs.alb/certificate_arn: edge.mode nginx has no ALB (its certificate is "
            "self-signed on the VM); use edge.mode alb"
        )
    if args.alb is not None and args.certificate_arn is not None:
        problems.append(
            "WebStackArgs.certificate_arn: an existing ALB's HTTPS listener already carries the "
            "certificate; give alb or certificate_arn, not both"
        )
    if problems:
        raise SpecError(problems)


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
