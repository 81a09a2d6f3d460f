"""Which image a VM boots: the AMI (or the public SSM parameter AWS resolves at launch) and its
root device, from the configured image name and the instance type's architecture."""

from __future__ import annotations

import re

_AMI_PARAMETERS = {
    "ubuntu-24.04": "/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id",
    "debian-12": "/aws/service/debian/release/12/latest/{arch}",
    "al2023": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{al_arch}",
    "windows-2022": "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base",
    # The plain 2019 image ships EC2Launch v1, which never runs EC2Launch v2 YAML user data; AWS
    # publishes 2019 with EC2Launch v2 as `EC2LaunchV2-Windows_Server-*` (AWS EC2 User Guide,
    # "Use the EC2Launch v2 agent", ec2launch-v2.html).
    "windows-2019": "/aws/service/ami-windows-latest/EC2LaunchV2-Windows_Server-2019-English-Full-Base",
    "windows-2025": "/aws/service/ami-windows-latest/Windows_Server-2025-English-Full-Base",
}
_ROOT_DEVICES = {"ubuntu-24.04": "/dev/sda1", "debian-12": "/dev/xvda", "al2023": "/dev/xvda"}


def is_graviton(instance_type: str) -> bool:
    """Graviton families carry a `g` after the generation digit: t4g, m7g, c6gn, r8g..."""
    family = instance_type.split(".", 1)[0]
    return bool(re.fullmatch(r"[a-z]+\d+g[a-z]*", family))


def image_reference(image: str, instance_type: str) -> str:
    """An AMI ID, or the public SSM parameter the launch template resolves at launch time."""
    if image.startswith("ami-"):
        return image
    arm = is_graviton(instance_type)
    if arm and image.startswith("windows"):
        raise ValueError(f"{instance_type} is an ARM (Graviton) type; Windows needs x86_64")
    param = _AMI_PARAMETERS[image].format(
        arch="arm64" if arm else "amd64", al_arch="arm64" if arm else "x86_64"
    )
    return f"resolve:ssm:{param}"


def root_device_name(image: str) -> str:
    """Root device of the named images; custom AMIs are assumed to follow the Nitro default."""
    if image.startswith("windows"):
        return "/dev/sda1"
    return _ROOT_DEVICES.get(image, "/dev/xvda")
