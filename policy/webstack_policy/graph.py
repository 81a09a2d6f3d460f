"""A stack's resources as a small graph, for policies that look across resources.

References between resources (a rule's `securityGroupId`, an ALB's `subnets`) are followed through
the engine's property dependencies, which exist even in a preview where the IDs are still unknown.
Literal IDs (pre-existing resources outside the stack) can't be followed; policies treat them as
"not visible" rather than as violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .props import UNKNOWN, as_bool, elements, get, port_range, tags_of, world_sources

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
RULE_TYPES = (INGRESS_RULE, EGRESS_RULE, LEGACY_RULE)
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
ASG = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULE_TYPES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")

EDGE_TAG_KEY = "webstack:role"
EDGE_TAG_VALUE = "edge"


class StackIndex:
    """Lookups over `StackValidationArgs.resources` (PolicyResource objects)."""

    def __init__(self, resources: Iterable[Any]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type in types]

    def deps(self, resource: Any, prop: str) -> list[Any]:
        """In-stack resources the value of `prop` came from (engine property dependencies)."""
        found = (getattr(resource, "property_dependencies", None) or {}).get(prop, [])
        return [d for d in found if d is not None]

    def referrers(self, target: Any, types: tuple[str, ...], props: tuple[str, ...]) -> list[Any]:
        """Resources of `types` whose `props` depend on `target`."""
        out = []
        for r in self.of_type(*types):
            if any(d.urn == target.urn for p in props for d in self.deps(r, p)):
                out.append(r)
        return out

    # -- security groups ---------------------------------------------------------------------
    def rules_of(self, sg: Any) -> list[Any]:
        """Separate rule resources attached to a security group."""
        return self.referrers(sg, RULE_TYPES, ("securityGroupId",))

    def world_open_groups(self, world: tuple[str, ...]) -> dict[str, Any]:
        """urn -> security group that admits the world (inline or separate ingress rules)."""
        groups: dict[str, Any] = {}
        for sg in self.of_type(*SG_TYPES):
            if any(world_sources(r, world) for r in elements(get(sg.props, "ingress"))):
                groups[sg.urn] = sg
        for rule in self.of_type(INGRESS_RULE, LEGACY_RULE):
            if rule.resource_type == LEGACY_RULE and get(rule.props, "type") != "ingress":
                continue
            if world_sources(rule.props, world):
                for sg in self.deps(rule, "securityGroupId"):
                    groups[sg.urn] = sg
        return groups

    def attachments(self, sg: Any) -> list[Any]:
        """Load balancers, instances and launch templates that use a security group."""
        return self.referrers(
            sg,
            (*LOAD_BALANCER_TYPES, INSTANCE, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION),
            ("securityGroups", "vpcSecurityGroupIds", "networkInterfaces"),
        )

    # -- the edge ----------------------------------------------------------------------------
    def edge_instances(self, world: tuple[str, ...], tag: tuple[str, str]) -> set[str]:
        """URNs of instances that are the public edge (the `edge.mode: nginx` VM).

        Tagged `webstack:role=edge` (configurable); or, in a stack without a load balancer, an
        instance whose security group admits the world (the VM *is* the edge there).
        """
        key, value = tag
        edges = {
            r.urn
            for r in self.of_type(INSTANCE, LAUNCH_TEMPLATE)
            if tags_of(r.props).get(key) == value
        }
        if edges or self.of_type(*LOAD_BALANCER_TYPES):
            return edges
        for sg in self.world_open_groups(world).values():
            for r in self.attachments(sg):
                if r.resource_type == INSTANCE:
                    edges.add(r.urn)
        return edges

    def public_ip_reasons(self, resource: Any) -> list[str]:
        """Why an instance / launch template gets a public IP ([]: none, as far as known)."""
        reasons = []
        p = resource.props
        if resource.resource_type == INSTANCE:
            explicit = as_bool(get(p, "associatePublicIpAddress"))
            if explicit is True:
                reasons.append("associatePublicIpAddress is true")
            for eip in self.referrers(resource, (EIP,), ("instance",)):
                reasons.append(f"Elastic IP {eip.name!r} is attached")
            for assoc in self.referrers(resource, (EIP_ASSOCIATION,), ("instanceId",)):
                reasons.append(f"Elastic IP association {assoc.name!r} targets it")
            if explicit is not False:
                for subnet in self.deps(resource, "subnetId"):
                    if as_bool(get(subnet.props, "mapPublicIpOnLaunch")) is True:
                        reasons.append(f"subnet {subnet.name!r} maps public IPs on launch")
        else:
            nics = elements(get(p, "networkInterfaces"))
            explicit = None
            for nic in nics:
                if nic is UNKNOWN or not isinstance(nic, Mapping):
                    continue
                v = as_bool(get(nic, "associatePublicIpAddress"))
                if v is True:
                    reasons.append("a network interface sets associatePublicIpAddress")
                if v is not None and v is not UNKNOWN:
                    explicit = v
            if explicit is not False:
                for group in self.referrers(resource, (ASG,), ("launchTemplate",)):
                    for subnet in self.deps(group, "vpcZoneIdentifiers"):
                        if as_bool(get(subnet.props, "mapPublicIpOnLaunch")) is True:
                            reasons.append(
                                f"its auto scaling group {group.name!r} launches into subnet "
                                f"{subnet.name!r}, which maps public IPs on launch"
                            )
        return reasons

    # -- availability zones ------------------------------------------------------------------
    def az_count(self, resource: Any, prop: str) -> int | Any:
        """Distinct AZs of the subnets in `prop` (unknown AZs count as distinct)."""
        values = elements(get(resource.props, prop))
        subnets = self.deps(resource, prop)
        if not values and not subnets:
            return 0
        if UNKNOWN in values and not subnets:
            return UNKNOWN  # IDs not known yet and no dependency to follow: can't tell
        azs: set[str] = set()
        unknown = 0
        for s in subnets:
            az = get(s.props, "availabilityZone", get(s.props, "availabilityZoneId"))
            if isinstance(az, str):
                azs.add(az)
            else:
                unknown += 1
        # Subnets outside the stack (literal IDs) can't be placed: count each as its own AZ.
        outside = max(0, len([v for v in values if v is not UNKNOWN]) - len(subnets))
        return len(azs) + unknown + outside


def rule_ports(rule_props: Mapping[str, Any]) -> tuple[str, int, int] | Any:
    return port_range(rule_props)
