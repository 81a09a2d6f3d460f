"""Instance sizing: vCPUs of an instance type, Gunicorn's `auto` worker count and the Windows tier's
Waitress services (how many, on which ports)."""

from __future__ import annotations

import re

from components.spec.windows import WindowsTier

# vCPUs by size suffix for current-generation x86/Graviton families (t3, m5+, c5+, r5+, ...).
_SIZE_VCPUS = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}
# Older/burstable exceptions where the suffix rule does not hold.
_EXCEPTIONS = {
    "t2.nano": 1,
    "t2.micro": 1,
    "t2.small": 1,
    "t4g.nano": 2,
    "m6g.medium": 1,
    "c6g.medium": 1,
    "r6g.medium": 1,
    "m7g.medium": 1,
    "c7g.medium": 1,
    "r7g.medium": 1,
}


def vcpus_of(instance_type: str) -> int:
    """vCPUs of an EC2 instance type; ValueError for sizes the table cannot know (e.g. metal)."""
    if instance_type in _EXCEPTIONS:
        return _EXCEPTIONS[instance_type]
    size = instance_type.split(".", 1)[-1]
    if size in _SIZE_VCPUS:
        return _SIZE_VCPUS[size]
    m = re.fullmatch(r"(\d+)xlarge", size)
    if m:
        return 4 * int(m.group(1))
    raise ValueError(
        f"cannot tell the vCPUs of {instance_type}; set linux.gunicorn.workers to a number"
    )


def auto_workers(vcpus: int) -> int:
    """One worker per vCPU plus one spare. Gunicorn's 2 x cores + 1 assumes a worker also waits on
    its client; behind Nginx's buffering it never does, and on a CPU-bound host the extra workers
    only add context switches: 2 x 2 + 1 sync workers cost about 15% more CPU per request than 3
    (docs/performance.md). Apps that wait on I/O get their concurrency from gthread threads."""
    return vcpus + 1


def waitress_instances(tier: WindowsTier) -> int:
    """How many Waitress services a VM runs (`auto` resolved for the instance type)."""
    if tier.instances == "auto":
        return min(auto_workers(vcpus_of(tier.instance_type)), 16)
    return tier.instances


def waitress_ports(tier: WindowsTier) -> list[int]:
    return [tier.base_port + i for i in range(waitress_instances(tier))]
