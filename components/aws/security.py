"""Security groups: the edge (ALB or the Nginx VM) and one group per app tier.

Rules are separate resources, each with a description; nothing is open to the world except 80/443
on the edge, and admin access (SSH/RDP) only from `admin_cidrs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.plan.datastores import DataStoreRule
from components.plan.tier import ADMIN_PORTS, TARGET_PORT
from components.spec.cidrs import admin_cidr_problem, admin_list_problem

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"


@dataclass(frozen=True, kw_only=True)
class SecurityGroupsArgs:
    vpc_id: Input[str]
    edge_mode: Literal["alb", "nginx"]
    # app name -> "linux" | "windows"
    apps: dict[str, Literal["linux", "windows"]]
    admin_cidrs: list[str] = field(default_factory=list)
    # An existing ALB's security group: the app groups admit it and no edge group is created.
    edge_sg_id: Input[str] | None = None
    # app name -> the egress rules of its declared data stores (components/plan/datastores.py)
    datastores: dict[str, list[DataStoreRule]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class SecurityGroups(pulumi.ComponentResource):
    edge_sg_id: Output[str]
    app_sg_ids: dict[str, Output[str]]

    def __init__(
        self, name: str, args: SecurityGroupsArgs, opts: ResourceOptions | None = None
    ) -> None:
        # Also for stacks that build the args themselves (no StackSpec): the union of the admin
        # ranges is never the whole internet. The width bound and its opt-in live in the spec.
        world = admin_cidr_problem(args.admin_cidrs, allow_wide=True) or admin_list_problem(
            args.admin_cidrs
        )
        if world:
            raise ValueError(f"SecurityGroupsArgs.admin_cidrs: {world}")
        super().__init__("webstack:security:SecurityGroups", name, None, opts)
        self._name = name
        self._tags = args.tags
        edge_id = args.edge_sg_id if args.edge_sg_id is not None else self._edge(args).id
        self.app_sg_ids = {}
        if args.edge_mode == "nginx":
            # The Nginx VM is the edge: it needs the internet for packages, S3 and SSM.
            self._egress_internet(edge_id, "edge")
            self._admin(edge_id, "edge", "linux", args.admin_cidrs)
            for app in args.apps:
                self._datastores(edge_id, args.datastores.get(app, []))
                self.app_sg_ids[app] = Output.from_input(edge_id)
        else:
            for app, os_name in sorted(args.apps.items()):
                sg = self._group(
                    f"app-{app}", args.vpc_id, f"app tier {app}: HTTP only from the ALB"
                )
                self._ingress(
                    sg.id,
                    f"app-{app}-from-alb",
                    TARGET_PORT,
                    source=edge_id,
                    description="HTTP from the ALB only",
                )
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-alb-to-{app}",
                    security_group_id=edge_id,
                    ip_protocol="tcp",
                    from_port=TARGET_PORT,
                    to_port=TARGET_PORT,
                    referenced_security_group_id=sg.id,
                    description=f"ALB to app tier {app} (HTTP)",
                    opts=ResourceOptions(parent=self),
                )
                self._egress_internet(sg.id, f"app-{app}")
                self._datastores(sg.id, args.datastores.get(app, []))
                self._admin(sg.id, f"app-{app}", os_name, args.admin_cidrs)
                self.app_sg_ids[app] = sg.id
        self.edge_sg_id = Output.from_input(edge_id)
        self.register_outputs({"edge_sg_id": self.edge_sg_id, "app_sg_ids": self.app_sg_ids})

    def _edge(self, args: SecurityGroupsArgs) -> aws.ec2.SecurityGroup:
        """The edge's group (the ALB, or the Nginx VM): HTTP and HTTPS from the internet."""
        edge = self._group(
            "edge", args.vpc_id, f"{args.edge_mode} edge: HTTP/HTTPS from the internet"
        )
        for port in (80, 443):
            for cidr in (WORLD_V4, WORLD_V6):
                self._ingress(
                    edge.id,
                    f"edge-{port}-{'v6' if ':' in cidr else 'v4'}",
                    port,
                    cidr=cidr,
                    description=f"{'HTTPS' if port == 443 else 'HTTP (redirects)'} from the internet",
                )
        return edge

    def _group(self, suffix: str, vpc_id: Input[str], description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{self._name}-{suffix}",
            vpc_id=vpc_id,
            description=description,
            tags={**self._tags, "Name": f"{self._name}-{suffix}"},
            opts=ResourceOptions(parent=self),
        )

    def _ingress(
        self,
        sg_id: Input[str],
        suffix: str,
        port: int,
        description: str,
        cidr: str | None = None,
        source: Input[str] | None = None,
    ) -> None:
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{suffix}",
            security_group_id=sg_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr if cidr and ":" not in cidr else None,
            cidr_ipv6=cidr if cidr and ":" in cidr else None,
            referenced_security_group_id=source,
            description=description,
            opts=ResourceOptions(parent=self),
        )

    def _egress_internet(self, sg_id: Input[str], prefix: str) -> None:
        # Packages, S3, SSM and STS are all reached over HTTPS (apt mirrors also over HTTP).
        for port in (80, 443):
            aws.vpc.SecurityGroupEgressRule(
                f"{self._name}-{prefix}-out-{port}",
                security_group_id=sg_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=WORLD_V4,
                description=f"outbound {'HTTPS' if port == 443 else 'HTTP'}: packages, S3, SSM",
                opts=ResourceOptions(parent=self),
            )

    def _admin(
        self,
        sg_id: Input[str],
        prefix: str,
        os_name: Literal["linux", "windows"],
        admin_cidrs: list[str],
    ) -> None:
        port, label = ADMIN_PORTS[os_name], "RDP" if os_name == "windows" else "SSH"
        for cidr in admin_cidrs:
            key = cidr.replace("/", "-").replace(":", "_")
            self._ingress(
                sg_id,
                f"{prefix}-admin-{key}",
                port,
                cidr=cidr,
                description=f"{label} from admin range {cidr}",
            )

    # -- data stores (issue 17) ------------------------------------------------------------------
    def _datastores(self, sg_id: Input[str], rules: list[DataStoreRule]) -> None:
        """Exactly one egress rule per declared data store; its mirror ingress when asked."""
        for rule in rules:
            prefix = f"{self._name}-app-{rule.app}-to-{rule.key}"
            v6 = rule.cidr is not None and ":" in rule.cidr
            aws.vpc.SecurityGroupEgressRule(
                prefix,
                security_group_id=sg_id,
                ip_protocol="tcp",
                from_port=rule.port,
                to_port=rule.port,
                cidr_ipv4=rule.cidr if rule.cidr and not v6 else None,
                cidr_ipv6=rule.cidr if v6 else None,
                referenced_security_group_id=rule.security_group_id,
                description=rule.description,
                opts=ResourceOptions(parent=self),
            )
            if rule.ingress_on_target and rule.security_group_id:
                aws.vpc.SecurityGroupIngressRule(
                    f"{prefix}-in",
                    security_group_id=rule.security_group_id,
                    ip_protocol="tcp",
                    from_port=rule.port,
                    to_port=rule.port,
                    referenced_security_group_id=sg_id,
                    description=f"from {rule.description}",
                    opts=ResourceOptions(parent=self),
                )
