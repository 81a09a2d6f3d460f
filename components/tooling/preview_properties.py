"""What `webstack preview` shows of each resource: the few inputs a reviewer checks, as plain
JSON-friendly values (never a secret value)."""

from __future__ import annotations

import re
from typing import Any

_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value


def plain(value: Any) -> Any:
    """JSON-friendly: integral floats become ints, secrets become a marker."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return "[secret]"
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _ports(i: dict[str, Any]) -> str:
    lo, hi = plain(i.get("fromPort")), plain(i.get("toPort"))
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _peer(i: dict[str, Any]) -> str | None:
    for key, label in (
        ("cidrIpv4", ""),
        ("cidrIpv6", ""),
        ("referencedSecurityGroupId", "sg:"),
        ("prefixListId", "pl:"),
    ):
        if i.get(key):
            return f"{label}{i[key]}"
    return None


def _action(actions: list[dict[str, Any]] | None) -> str | None:
    if not actions:
        return None
    a = actions[0]
    if a.get("type") == "redirect":
        r = a.get("redirect") or {}
        code = str(r.get("statusCode", "")).removeprefix("HTTP_")
        return f"redirect {code} -> {r.get('protocol', '')}:{r.get('port', '')}"
    if a.get("type") == "fixed-response":
        return f"fixed {(a.get('fixedResponse') or {}).get('statusCode')}"
    if a.get("type") == "forward":
        return "forward"
    return str(a.get("type"))


def _user_data_size(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return f"{len(value) * 3 // 4 - value.count('=')} of 16384 bytes"


# Long: a table of the properties worth showing per resource type.
def key_properties(type_: str, i: dict[str, Any]) -> dict[str, Any]:
    """The few inputs a reviewer checks, per resource type (never a secret value)."""
    kind = type_.rsplit(":", 1)[-1]
    p: dict[str, Any] = {}
    if kind in ("LoadBalancer", "TargetGroup", "Role") and i.get("name"):
        p["name"] = i["name"]  # the explicit physical name (docs/naming.md)
    tags = i.get("tags") or {}
    if kind == "Vpc":
        p["cidr"] = i.get("cidrBlock")
    elif kind == "Subnet":
        p.update(cidr=i.get("cidrBlock"), az=i.get("availabilityZone"))
        if tags.get("webstack:tier"):
            p["tier"] = tags["webstack:tier"]
    elif kind in ("SecurityGroupIngressRule", "SecurityGroupEgressRule"):
        direction = "from" if kind.endswith("IngressRule") else "to"
        p.update(port=_ports(i), protocol=i.get("ipProtocol"))
        p[direction] = _peer(i)
        p["description"] = i.get("description")
    elif kind == "SecurityGroup":
        p["description"] = i.get("description")
    elif kind == "DefaultSecurityGroup":
        p["rules"] = "none (the VPC's default group is emptied)"
    elif kind == "Route":
        via = i.get("gatewayId") or i.get("natGatewayId")
        p.update(destination=i.get("destinationCidrBlock"), via=via)
    elif kind == "Eip":
        p["domain"] = i.get("domain")
    elif kind == "Bucket":
        p["force_destroy"] = i.get("forceDestroy", False)
    elif kind == "BucketPublicAccessBlock":
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls")
        flags += ("restrictPublicBuckets",)
        p["all_public_access_blocked"] = all(i.get(f) for f in flags)
    elif kind == "BucketVersioning":
        p["status"] = (i.get("versioningConfiguration") or {}).get("status")
    elif kind == "BucketObjectv2":
        p["key"] = i.get("key")
    elif kind == "Certificate" and type_.startswith("aws:acm"):
        if i.get("domainName"):
            p.update(domain=i.get("domainName"), validation=i.get("validationMethod"))
            if i.get("subjectAlternativeNames"):
                p["sans"] = i.get("subjectAlternativeNames")
        else:
            p["imported"] = "self-signed"
    elif kind == "Record":
        p.update(name=i.get("name"), type=i.get("type"))
        if i.get("aliases"):
            p["alias"] = True
    elif kind == "PrivateKey":
        p.update(algorithm=i.get("algorithm"), curve=i.get("ecdsaCurve"))
    elif kind == "SelfSignedCert":
        p.update(dns_names=i.get("dnsNames"), validity_hours=i.get("validityPeriodHours"))
    elif kind == "LoadBalancer":
        p.update(
            type=i.get("loadBalancerType"),
            internal=i.get("internal"),
            idle_timeout=i.get("idleTimeout"),
            deletion_protection=i.get("enableDeletionProtection"),
            drop_invalid_headers=i.get("dropInvalidHeaderFields"),
            desync=i.get("desyncMitigationMode"),
        )
    elif kind == "Listener":
        p.update(port=i.get("port"), protocol=i.get("protocol"))
        if i.get("sslPolicy"):
            p["tls_policy"] = i.get("sslPolicy")
        p["default"] = _action(i.get("defaultActions"))
    elif kind == "TargetGroup":
        hc = i.get("healthCheck") or {}
        p.update(
            port=i.get("port"),
            protocol=i.get("protocol"),
            health=f"{hc.get('protocol', '')} {hc.get('path', '')} -> {hc.get('matcher', '')}",
            deregistration_delay=i.get("deregistrationDelay"),
        )
    elif kind == "ListenerRule":
        p["priority"] = i.get("priority")
        for cond in i.get("conditions") or []:
            if cond.get("hostHeader"):
                p["hosts"] = cond["hostHeader"].get("values")
            if cond.get("pathPattern"):
                p["paths"] = cond["pathPattern"].get("values")
        p["action"] = _action(i.get("actions"))
    elif kind == "LaunchTemplate":
        p.update(instance_type=i.get("instanceType"), image=i.get("imageId"))
        p["imds"] = _imds(i.get("metadataOptions"))
        for bdm in i.get("blockDeviceMappings") or []:
            ebs = bdm.get("ebs") or {}
            p["root_volume"] = f"{plain(ebs.get('volumeSize'))}GB {ebs.get('volumeType')}" + (
                " encrypted" if str(ebs.get("encrypted")).lower() == "true" else ""
            )
        p["user_data"] = _user_data_size(i.get("userData"))
    elif kind == "Group" and type_.startswith("aws:autoscaling"):
        p.update(
            min=i.get("minSize"),
            max=i.get("maxSize"),
            desired=i.get("desiredCapacity"),
            health_check=i.get("healthCheckType"),
            refresh=(i.get("instanceRefresh") or {}).get("strategy"),
        )
    elif kind == "Policy" and type_.startswith("aws:autoscaling"):
        ttc = i.get("targetTrackingConfiguration") or {}
        metric = (ttc.get("predefinedMetricSpecification") or {}).get("predefinedMetricType")
        p.update(type=i.get("policyType"), metric=metric, target=ttc.get("targetValue"))
    elif kind == "Instance":
        p.update(instance_type=i.get("instanceType"), ami=i.get("ami"))
        p["imds"] = _imds(i.get("metadataOptions"))
        root = i.get("rootBlockDevice") or {}
        if root:
            p["root_volume"] = f"{plain(root.get('volumeSize'))}GB {root.get('volumeType')}" + (
                " encrypted" if root.get("encrypted") else ""
            )
        elif i.get("launchTemplate"):
            p["root_volume"] = "from its launch template (image and disk)"
        p["user_data"] = _user_data_size(i.get("userDataBase64"))
    elif kind == "Parameter":
        p.update(name=i.get("name"), type=i.get("type"))
    elif kind == "RolePolicyAttachment":
        p["policy"] = i.get("policyArn")
    elif kind == "Command":
        urls = re.findall(r"https?://[^\s']+", str(i.get("create", "")))
        p["checks"] = urls[-1] if urls else None
    return {k: plain(v) for k, v in p.items() if v is not None}


def _imds(options: dict[str, Any] | None) -> str | None:
    if not options:
        return None
    tokens = options.get("httpTokens")
    hops = plain(options.get("httpPutResponseHopLimit"))
    return f"v2-only hop={hops}" if tokens == "required" else f"tokens={tokens}"
