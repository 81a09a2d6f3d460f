"""EC2 policies: IMDSv2, encrypted EBS, no public IP on app instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import EDGE_TAG_KEY, EDGE_TAG_VALUE, INSTANCE, LAUNCH_TEMPLATE, StackIndex
from .props import UNKNOWN, WORLD_CIDRS, as_bool, as_int, config, elements, get, label, mandatory

LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
EBS_VOLUME = "aws:ebs/volume:Volume"

# -- IMDSv2 -------------------------------------------------------------------------------------
IMDS_DEFAULTS = {"maxHopLimit": 2}


def validate_imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION):
        return
    cfg = config(args, IMDS_DEFAULTS)
    what = label(args.resource_type, args.name)
    meta = get(args.props, "metadataOptions")
    if meta is UNKNOWN:
        return
    if not isinstance(meta, Mapping):
        report(
            f"{what} sets no metadataOptions, so instances accept IMDSv1: an SSRF bug in the app "
            "can then read the instance role's credentials from 169.254.169.254. Set "
            "metadataOptions.httpTokens to 'required'.",
            None,
        )
        return
    endpoint = get(meta, "httpEndpoint", "enabled")
    if endpoint == "disabled":
        return  # no metadata service at all: nothing to steal
    tokens = get(meta, "httpTokens")
    if tokens is not UNKNOWN and tokens != "required":
        report(
            f"{what}: metadataOptions.httpTokens is {tokens!r}, so IMDSv1 stays on: an SSRF bug "
            "in the app can read the instance role's credentials without a session token. Set it "
            "to 'required' (IMDSv2 only).",
            None,
        )
    hops = as_int(get(meta, "httpPutResponseHopLimit"))
    limit = int(cfg["maxHopLimit"])
    if hops is UNKNOWN:
        return
    if hops is None:
        if args.resource_type == INSTANCE:
            return  # instances default to 1 (AMI default): fine
        report(
            f"{what}: metadataOptions.httpPutResponseHopLimit is not set; set it to 1 (or 2 for "
            f"containers) so IMDS tokens can't be relayed beyond the host (max {limit}).",
            None,
        )
    elif hops > limit:
        report(
            f"{what}: metadataOptions.httpPutResponseHopLimit is {hops}; above {limit} an IMDS "
            "token can travel through extra network hops (containers, proxies) to code that "
            f"should never get the instance's credentials. Use 1, or 2 for containers.",
            None,
        )


imdsv2_required = mandatory(
    "imdsv2-required",
    "Launch templates and instances require IMDSv2 (httpTokens: required) with a "
    "hop limit of at most 2.",
    validate_imdsv2,
    Severity.HIGH,
    config={"maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 2}},
)


# -- EBS encryption -----------------------------------------------------------------------------
def validate_ebs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, p = args.resource_type, args.props
    what = label(t, args.name)
    why = (
        "an unencrypted volume (and every snapshot of it) can be read by anyone who gets a copy; "
        "encryption at rest costs nothing noticeable"
    )
    if t == EBS_VOLUME:
        if as_bool(get(p, "encrypted")) is not True and get(p, "encrypted") is not UNKNOWN:
            report(f"{what} is not encrypted: {why}. Set encrypted: true.", None)
        return
    if t == LAUNCH_TEMPLATE:
        mappings = elements(get(p, "blockDeviceMappings"))
        if not mappings:
            report(
                f"{what} declares no blockDeviceMappings, so the root volume inherits the AMI's "
                f"(usually unencrypted) settings: {why}. Declare the root device with "
                "ebs.encrypted: 'true'.",
                None,
            )
        for m in mappings:
            if m is UNKNOWN or not isinstance(m, Mapping):
                continue
            ebs = get(m, "ebs")
            if ebs is UNKNOWN or (ebs is None and get(m, "virtualName")):
                continue  # instance-store (ephemeral) devices have no EBS settings
            raw = get(ebs, "encrypted") if isinstance(ebs, Mapping) else None
            enc = as_bool(raw)
            if enc is not True and enc is not UNKNOWN:
                report(
                    f"{what}: device {get(m, 'deviceName', '?')} is not encrypted "
                    f"(ebs.encrypted={raw!r}): {why}. Set ebs.encrypted: 'true'.",
                    None,
                )
        return
    if t in (INSTANCE, LAUNCH_CONFIGURATION):
        root = get(p, "rootBlockDevice")
        # An instance launched from a template without its own root device gets the template's
        # (checked as a launch template above).
        from_template = t == INSTANCE and root is None and get(p, "launchTemplate") is not None
        if root is not UNKNOWN and not from_template:
            enc = as_bool(get(root, "encrypted")) if isinstance(root, Mapping) else None
            if enc is not True and enc is not UNKNOWN:
                report(
                    f"{what}: the root volume is not encrypted (rootBlockDevice.encrypted unset or "
                    f"false): {why}. Set rootBlockDevice.encrypted: true.",
                    None,
                )
        for dev in elements(get(p, "ebsBlockDevices")):
            if dev is UNKNOWN or not isinstance(dev, Mapping):
                continue
            enc = as_bool(get(dev, "encrypted"))
            if enc is not True and enc is not UNKNOWN:
                report(
                    f"{what}: EBS device {get(dev, 'deviceName', '?')} is not encrypted: {why}.",
                    None,
                )


ebs_encrypted = mandatory(
    "ebs-encrypted",
    "Every EBS device (launch templates, instances, volumes) is encrypted.",
    validate_ebs_encrypted,
    Severity.HIGH,
)


# -- public IPs ---------------------------------------------------------------------------------
PUBLIC_IP_DEFAULTS = {"edgeTagKey": EDGE_TAG_KEY, "edgeTagValue": EDGE_TAG_VALUE}


def validate_no_public_ip(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, PUBLIC_IP_DEFAULTS)
    index = StackIndex(args.resources)
    edges = index.edge_instances(WORLD_CIDRS, (cfg["edgeTagKey"], cfg["edgeTagValue"]))
    for r in index.of_type(INSTANCE, LAUNCH_TEMPLATE):
        if r.urn in edges:
            continue
        reasons = index.public_ip_reasons(r)
        if reasons:
            report(
                f"{label(r.resource_type, r.name)} is an app instance with a public IP "
                f"({'; '.join(reasons)}): it is reachable from the internet around the edge "
                "(ALB / Nginx VM) and its security group. Put app instances in private subnets; "
                f"only the Nginx edge VM (tag {cfg['edgeTagKey']}={cfg['edgeTagValue']}) may be "
                "public.",
                r.urn,
            )


no_public_ip = StackValidationPolicy(
    name="no-public-ip-on-app-instances",
    description="App instances get no public IP; only the Nginx edge VM may have one.",
    validate=validate_no_public_ip,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={
            "edgeTagKey": {"type": "string", "default": EDGE_TAG_KEY},
            "edgeTagValue": {"type": "string", "default": EDGE_TAG_VALUE},
        }
    ),
)

POLICIES: list[Any] = [imdsv2_required, ebs_encrypted, no_public_ip]
