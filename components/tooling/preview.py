"""`webstack preview`: the Pulumi program run in-process under mocks, shown as a resource tree.

No cloud call and no Pulumi CLI: `components.tooling.mocks` answers every resource and invoke with
realistic placeholder IDs. The tree comes from the real parent links of the resource objects
(component -> children); each resource shows the few inputs a reviewer checks (ports, CIDRs,
instance type, capacity, TLS policy). Secret inputs are never shown.
"""

from __future__ import annotations

import argparse
import json
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
from components.tooling.preview_properties import key_properties, plain

PLACEHOLDER_NOTE = (
    "Pulumi mocks: nothing was created and no cloud was asked; IDs, ARNs, IP addresses, DNS "
    "names and other cloud-computed values are placeholders."
)


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
    return PreviewResult(roots=_tree(roots, mocks.resources), outputs=plain(outputs or {}))


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


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cmd_preview(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    result = preview_stack(stack.spec, stack.secrets, stack.project_dir)
    if args.json:
        print(json.dumps(to_json(result, stack.name), indent=2, sort_keys=True))
    else:
        print(format_tree(result, stack.name))
    return 0
