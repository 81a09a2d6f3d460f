"""The faithful layer's shared helpers: capture a stack under mocks, diff two captures as Pulumi
would, and model the provider behaviours mocks skip (update ordering, capacity waits).

Rules live beside this module: faithful_config (the Pulumi CLI), faithful_names (auto-naming and
AWS name rules), faithful_limits (argument constraints). Other helpers' tests import from here.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.spec.stack import StackSpec
from components.tooling.mocks import RecordedResource, build_webstack, run_under_mocks
from tests.helpers.specs import shipped_spec, shipped_stacks

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_STACKS = shipped_stacks()

# Inputs whose change makes the provider replace the resource (terraform-provider-aws `ForceNew`),
# so a diff there is a replacement, not an update.
FORCE_NEW = {
    "aws:lb/targetGroup:TargetGroup": {"name", "port", "protocol", "vpcId", "targetType"},
    "aws:lb/loadBalancer:LoadBalancer": {"name", "internal", "loadBalancerType"},
    "aws:lb/listenerRule:ListenerRule": {"listenerArn"},
    "aws:iam/role:Role": {"name", "path"},
    "aws:iam/instanceProfile:InstanceProfile": {"name", "path"},
    "aws:ec2/securityGroup:SecurityGroup": {"name", "description", "vpcId"},
    "aws:ec2/subnet:Subnet": {"cidrBlock", "availabilityZone", "vpcId"},
    "aws:s3/bucket:Bucket": {"bucket"},
    "aws:ssm/parameter:Parameter": {"name"},
    "aws:s3/bucketObjectv2:BucketObjectv2": {"bucket", "key"},
    "aws:autoscaling/group:Group": {"name"},
}


def capture(spec: StackSpec, stack: str = "dev", secrets: dict[str, dict[str, str]] | None = None):
    """Every resource a spec's WebStack registers, recorded by the mocks (inputs resolved)."""
    values = secrets or {a.name: dict.fromkeys(a.secrets, "s3cr3t-value") for a in spec.apps}
    build_dir = Path(tempfile.mkdtemp(prefix="ws-faithful-"))
    mocks, _ = run_under_mocks(build_webstack(spec, values, ROOT, build_dir), stack=stack)
    return [r for r in mocks.resources if not r.type.startswith("webstack:")]


def capture_stack_file(stack: str) -> list[RecordedResource]:
    spec, placeholders = shipped_spec(stack)
    return capture(spec, stack, placeholders)


def _comparable(value: Any) -> Any:
    """Assets print their object id, and their build path differs per run: compare the bytes."""
    if hasattr(value, "path") and type(value).__name__.endswith("Asset"):
        return ("asset", hashlib.sha256(Path(value.path).read_bytes()).hexdigest())
    if hasattr(value, "uri") and type(value).__name__ == "RemoteAsset":
        # The engine hashes a remote asset by its bytes; the same URI (pinned installer) is the
        # same asset, so compare the URI.
        return ("remote-asset", value.uri)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


@dataclass
class Diff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)  # key -> changed inputs
    replaced: dict[str, list[str]] = field(default_factory=dict)  # key -> ForceNew inputs changed

    def touched(self) -> set[str]:
        return set(self.updated) | set(self.replaced)


def diff(before: list[RecordedResource], after: list[RecordedResource]) -> Diff:
    """Pulumi's diff by URN (type + logical name): added, removed, updated, replaced."""
    old = {f"{r.type}::{r.name}": r for r in before}
    new = {f"{r.type}::{r.name}": r for r in after}
    out = Diff(added=sorted(set(new) - set(old)), removed=sorted(set(old) - set(new)))
    for key in sorted(set(old) & set(new)):
        a, b = _comparable(old[key].inputs), _comparable(new[key].inputs)
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if not changed:
            continue
        forced = sorted(set(changed) & FORCE_NEW.get(new[key].type, set()))
        (out.replaced if forced else out.updated)[key] = forced or changed
    return out


def priority_transition_problems(
    before: list[RecordedResource], after: list[RecordedResource]
) -> list[str]:
    """Pulumi creates and updates first and deletes last, so during an update a rule's new priority
    must be free of every priority still held: deleted rules' and other rules' old ones
    (ELBv2 answers PriorityInUse otherwise)."""
    rule = "aws:lb/listenerRule:ListenerRule"
    old = {r.name: r for r in before if r.type == rule}
    new = {r.name: r for r in after if r.type == rule}
    out = []
    for name, res in new.items():
        prio = res.inputs.get("priority")
        if name in old and old[name].inputs.get("priority") == prio:
            continue
        for other, held in old.items():
            if other != name and held.inputs.get("priority") == prio:
                out.append(f"{name} moves to priority {prio:g}, still held by {other}")
    return out


@dataclass(frozen=True)
class AsgInputs:
    """The ASG inputs the provider's capacity wait reads (autoscaling/group.go)."""

    min_size: int
    desired_capacity: int
    wait_for_elb_capacity: int = 0
    min_elb_capacity: int = 0
    wait_for_capacity_timeout: str = "10m"

    @classmethod
    def of(cls, res: RecordedResource) -> AsgInputs:
        i = res.inputs
        return cls(
            int(i.get("minSize", 0)),
            int(i.get("desiredCapacity", 0)),
            int(i.get("waitForElbCapacity", 0)),
            int(i.get("minElbCapacity", 0)),
            str(i.get("waitForCapacityTimeout", "10m")),
        )


def create_wait_satisfied(asg: AsgInputs, in_service: int, elb_healthy: int) -> bool:
    """tf-aws autoscaling/group.go resourceGroupCreate: every target is a minimum."""
    if asg.wait_for_capacity_timeout == "0":
        return True
    want_asg = asg.desired_capacity or asg.min_size
    want_elb = asg.wait_for_elb_capacity or asg.min_elb_capacity
    return in_service >= want_asg and elb_healthy >= want_elb


def update_wait_satisfied(
    old: AsgInputs, new: AsgInputs, in_service: int, elb_healthy: int, refreshed: bool
) -> bool:
    """tf-aws autoscaling/group.go resourceGroupUpdate: the wait runs only when min_size (or
    desired_capacity) changed, and then wants *exactly* max(min_size, desired_capacity) in service
    and exactly wait_for_elb_capacity healthy. desired_capacity is under ignore_changes, so the
    provider sees the previous input; after a refresh that input is the group's real desired count
    (pulumi-terraform-bridge Read: ExtractInputsFromOutputs)."""
    desired = in_service if refreshed else old.desired_capacity
    if new.min_size == old.min_size or new.wait_for_capacity_timeout == "0":
        return True
    want = max(new.min_size, desired)
    if in_service < new.min_size:
        in_service = new.min_size  # AWS raises desired to the new minimum and launches the rest
        elb_healthy = max(elb_healthy, in_service)
        want = max(new.min_size, desired)
    if in_service != want:
        return False
    return not (new.wait_for_elb_capacity and elb_healthy != new.wait_for_elb_capacity)
