"""`webstack preview`: the Pulumi program run in-process under mocks, shown as a resource tree.

No cloud call and no Pulumi CLI: `components.tooling.mocks` answers every resource and invoke with
realistic placeholder IDs. The tree comes from the real parent links of the resource objects
(component -> children); each resource shows the few inputs a reviewer checks (ports, CIDRs,
instance type, capacity, TLS policy). Secret inputs are never shown.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.aws.webstack import build_stack
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from components.tooling.config import load_stack
from components.tooling.mocks import RecordedResource, run_under_mocks

PLACEHOLDER_NOTE = (
    "Pulumi mocks: nothing was created and no cloud was asked; IDs, ARNs, IP addresses, DNS "
    "names and other cloud-computed values are placeholders."
)
_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value


@dataclass
class PreviewNode:
    type: str
    name: str
    component: bool
    properties: dict[str, Any]
    children: list[PreviewNode] = field(default_factory=list)

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def walk(self, parent: str | None = None) -> Iterable[tuple[PreviewNode, str | None]]:
        yield self, parent
        for child in self.children:
            yield from child.walk(self.name)


@dataclass
class PreviewResult:
    roots: list[PreviewNode]
    outputs: dict[str, Any]

    def nodes(self) -> list[tuple[PreviewNode, str | None]]:
        return [pair for root in self.roots for pair in root.walk()]

    def counts(self) -> Counter[str]:
        return Counter(node.type for node, _ in self.nodes())


# -- running -------------------------------------------------------------------------------------
def preview_build(
    build: Callable[[], tuple[list[pulumi.Resource], Any]], stack: str = "dev"
) -> PreviewResult:
    """Run `build` under mocks. It returns (root resources, outputs to resolve)."""
    roots: list[pulumi.Resource] = []

    def wrapped() -> Any:
        made, outputs = build()
        roots.extend(made)
        return outputs

    mocks, outputs = run_under_mocks(wrapped, stack=stack)
    return PreviewResult(roots=_tree(roots, mocks.resources), outputs=_plain(outputs or {}))


def preview_stack(
    spec: StackSpec, secrets: dict[str, dict[str, str]], project_root: Path
) -> PreviewResult:
    """The WebStack of a spec under mocks (app packages are built in a temp dir, then removed)."""
    with tempfile.TemporaryDirectory(prefix="webstack-preview-") as build_dir:

        def build() -> tuple[list[pulumi.Resource], dict[str, Any]]:
            stack, outputs = build_stack(spec, secrets, project_root, Path(build_dir))
            return [stack], outputs

        try:
            return preview_build(build, stack=spec.environment)
        except ModuleNotFoundError as error:
            if error.name != "components.aws.windows_tier":
                raise
            windows = [a.name for a in spec.apps if a.os == "windows"]
            raise SpecError(
                [
                    f"apps.{name}.os: windows needs the Windows tier component "
                    "(components.aws.windows_tier), which this version does not have yet"
                    for name in windows
                ]
            ) from None


# -- presenting ----------------------------------------------------------------------------------
def summary_line(result: PreviewResult) -> str:
    nodes = [n for n, _ in result.nodes()]
    components = sum(1 for n in nodes if n.component)
    by_type = Counter(n.short_type for n in nodes if not n.component)
    top = ", ".join(f"{count} {kind}" for kind, count in sorted(by_type.items()))
    return (
        f"{len(nodes)} resources: {components} components, {len(nodes) - components} cloud "
        f"resources ({top})"
    )


def format_tree(result: PreviewResult, stack: str) -> str:
    lines = [f"webstack preview --stack {stack}", f"NOTE: {PLACEHOLDER_NOTE}", ""]

    def emit(node: PreviewNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        props = "  ".join(f"{k}={_fmt(v)}" for k, v in node.properties.items())
        label = f"{node.short_type} {node.name}"
        if node.component:
            label += f"  [{node.type}]"
        lines.append(f"{prefix}{branch}{label}" + (f"  {props}" if props else ""))
        inner = prefix if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            emit(child, inner, i == len(node.children) - 1, False)

    for root in result.roots:
        emit(root, "", True, True)
    lines.append("")
    lines.append("outputs (placeholders):")
    for key, value in sorted(result.outputs.items()):
        lines.append(f"  {key}: {_fmt(value)}")
    lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines)


def to_json(result: PreviewResult, stack: str) -> dict[str, Any]:
    nodes = result.nodes()
    by_type = Counter(n.type for n, _ in nodes)
    return {
        "stack": stack,
        "note": PLACEHOLDER_NOTE,
        "placeholders": True,
        "resources": [
            {
                "type": n.type,
                "name": n.name,
                "parent": parent,
                "component": n.component,
                "properties": n.properties,
            }
            for n, parent in nodes
        ],
        "outputs": result.outputs,
        "summary": {
            "total": len(nodes),
            "components": sum(1 for n, _ in nodes if n.component),
            "by_type": dict(sorted(by_type.items())),
            "line": summary_line(result),
        },
    }


# -- internals -----------------------------------------------------------------------------------
def _tree(roots: list[pulumi.Resource], recorded: list[RecordedResource]) -> list[PreviewNode]:
    by_key = {(r.type, r.name): r for r in recorded}
    seen: set[tuple[str, str]] = set()

    def node(res: pulumi.Resource) -> PreviewNode:
        key = (res._type, res._name)
        seen.add(key)
        rec = by_key.get(key)
        component = not isinstance(res, pulumi.CustomResource)
        children = sorted(res._childResources, key=_order)
        return PreviewNode(
            type=res._type,
            name=res._name,
            component=component,
            properties={} if rec is None or component else key_properties(rec.type, rec.inputs),
            children=[node(c) for c in children],
        )

    out = [node(r) for r in sorted(roots, key=_order)]
    # Anything built without a parent link still shows up, at the top level.
    for rec in sorted(recorded, key=lambda r: (r.type, r.name)):
        if (rec.type, rec.name) not in seen:
            out.append(
                PreviewNode(
                    type=rec.type,
                    name=rec.name,
                    component=not rec.type.startswith(("aws:", "tls:", "command:", "random:")),
                    properties=key_properties(rec.type, rec.inputs),
                )
            )
    return out


def _order(res: pulumi.Resource) -> tuple[int, str, str]:
    """Components first, then by type and name: the same tree every run."""
    custom = isinstance(res, pulumi.CustomResource)
    return (1 if custom else 0, res._type.rsplit(":", 1)[-1], res._name)


def _plain(value: Any) -> Any:
    """JSON-friendly: integral floats become ints, secrets become a marker."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return "[secret]"
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ports(i: dict[str, Any]) -> str:
    lo, hi = _plain(i.get("fromPort")), _plain(i.get("toPort"))
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
            p["root_volume"] = f"{_plain(ebs.get('volumeSize'))}GB {ebs.get('volumeType')}" + (
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
            p["root_volume"] = f"{_plain(root.get('volumeSize'))}GB {root.get('volumeType')}" + (
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
    return {k: _plain(v) for k, v in p.items() if v is not None}


def _imds(options: dict[str, Any] | None) -> str | None:
    if not options:
        return None
    tokens = options.get("httpTokens")
    hops = _plain(options.get("httpPutResponseHopLimit"))
    return f"v2-only hop={hops}" if tokens == "required" else f"tokens={tokens}"


def cmd_preview(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    result = preview_stack(stack.spec, stack.secrets, stack.project_dir)
    if args.json:
        print(json.dumps(to_json(result, stack.name), indent=2, sort_keys=True))
    else:
        print(format_tree(result, stack.name))
    return 0
