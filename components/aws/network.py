"""Network: a VPC with public and private subnets over N AZs, or an adopted existing one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi import Output, ResourceOptions

from components.plan.subnets import SubnetPlan, plan_subnets_by_zone
from components.spec.network import NetworkSpec


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    spec: NetworkSpec
    tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    vpc_id: Output[str]
    vpc_cidr: Output[str]
    public_subnet_ids: Output[list[str]]
    private_subnet_ids: Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("webstack:network:Network", name, None, opts)
        spec = args.spec
        if spec.existing is not None:
            self.vpc_id = Output.from_input(spec.existing.vpc_id)
            self.vpc_cidr = Output.from_input(spec.existing.vpc_cidr)
            self.public_subnet_ids = Output.from_input(list(spec.existing.public_subnet_ids))
            self.private_subnet_ids = Output.from_input(list(spec.existing.private_subnet_ids))
        else:
            self._create(name, spec, args.tags)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )

    # Long: the VPC's resources in dependency order (VPC, gateways, subnets per AZ, routes); each
    # block is one AWS object.
    def _create(self, name: str, spec: NetworkSpec, tags: dict[str, str]) -> None:
        child = ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=spec.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        # Lock down the default security group: nothing should ever land in it by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=tags, opts=child)
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
        )
        # Plain invoke: the AZ names key the subnets' logical names, so they are needed now.
        # Regional zones only (local/wavelength zones are opt-in): terraform-provider-aws
        # website/docs/d/availability_zones.html.markdown, filter opt-in-status.
        zones = aws.get_availability_zones(
            state="available",
            filters=[
                aws.GetAvailabilityZonesFilterArgs(
                    name="opt-in-status", values=["opt-in-not-required"]
                )
            ],
            opts=pulumi.InvokeOptions(parent=self),
        ).names
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        public_ids: list[Output[str]] = []
        private_ids: list[Output[str]] = []
        nat_ids: list[Output[str]] = []
        for plan in plan_subnets_by_zone(spec.cidr, zones, spec.az_count):
            assert plan.az is not None
            az = key = plan.az  # keyed by AZ name: an AZ leaving the list moves no other subnet
            keep = self._keeper(plan)
            public = aws.ec2.Subnet(
                f"{name}-public-{key}",
                vpc_id=vpc.id,
                cidr_block=plan.public_cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-public-{key}", "webstack:tier": "public"},
                opts=keep(f"{name}-public-{key}"),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{key}-rta",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=keep(f"{name}-public-{key}-rta"),
            )
            public_ids.append(public.id)
            if spec.nat == "per-az" or (spec.nat == "single" and not nat_ids):
                # "EIP may require IGW to exist prior to association" (terraform-provider-aws
                # website/docs/r/eip.html.markdown).
                eip = aws.ec2.Eip(
                    f"{name}-nat-{key}-eip",
                    domain="vpc",
                    tags=tags,
                    opts=ResourceOptions.merge(
                        keep(f"{name}-nat-{key}-eip"), ResourceOptions(depends_on=[igw])
                    ),
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{key}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={**tags, "Name": f"{name}-nat-{key}"},
                    opts=ResourceOptions.merge(
                        keep(f"{name}-nat-{key}"), ResourceOptions(depends_on=[igw])
                    ),
                )
                nat_ids.append(nat.id)
            private = aws.ec2.Subnet(
                f"{name}-private-{key}",
                vpc_id=vpc.id,
                cidr_block=plan.private_cidr,
                availability_zone=az,
                tags={**tags, "Name": f"{name}-private-{key}", "webstack:tier": "private"},
                opts=keep(f"{name}-private-{key}"),
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{key}-rt",
                vpc_id=vpc.id,
                tags={**tags, "Name": f"{name}-private-{key}"},
                opts=keep(f"{name}-private-{key}-rt"),
            )
            if nat_ids:
                aws.ec2.Route(
                    f"{name}-private-{key}-default",
                    route_table_id=private_rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat_ids[-1],
                    opts=keep(f"{name}-private-{key}-default"),
                )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{key}-rta",
                subnet_id=private.id,
                route_table_id=private_rt.id,
                opts=keep(f"{name}-private-{key}-rta"),
            )
            private_ids.append(private.id)
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.public_subnet_ids = Output.all(*public_ids)
        self.private_subnet_ids = Output.all(*private_ids)

    def _keeper(self, plan: SubnetPlan) -> Callable[[str], ResourceOptions]:
        """Options for a per-AZ child; stacks made when subnets were keyed `az1`, `az2`... by
        position keep their resources (an alias) where the AZ's block is the one it had then."""

        def keep(logical: str) -> ResourceOptions:
            if plan.slot != plan.az_index or plan.az is None:
                return ResourceOptions(parent=self)
            old = logical.replace(plan.az, f"az{plan.az_index + 1}", 1)
            return ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old)])

        return keep
