"""`webstack diagram`: the stack's topology drawn with graphviz.

Internet -> edge (ALB, or the Nginx edge VM) -> one cluster per app tier -> the processes on each VM
(Nginx -> Gunicorn masters over unix sockets; a proxy -> Waitress services on loopback ports),
with ports, TLS and the VPC's subnets. Built from the validated spec alone (no cloud, no mocks), so
the picture is the same on every run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from components.plan.alb import TLS_POLICY
from components.plan.linux_layout import vm_layout
from components.plan.sizing import waitress_ports
from components.plan.timeouts import timeout_chain
from components.render.linux import gunicorn_workers
from components.spec.stack import AppSpec, StackSpec
from components.tooling.config import load_stack
from components.tooling.diagram_observability import observability_lines
from components.tooling.errors import CommandError

FORMATS = {".svg": "svg", ".png": "png", ".dot": None}


def write_diagram(spec: StackSpec, out: Path, region: str = "") -> Path:
    """Write `out` (.svg/.png through `dot`, or the .dot source itself)."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise CommandError(f"--out {out}: use a .svg, .png or .dot file name", 2)
    source = to_dot(spec, region)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = FORMATS[suffix]
    if fmt is None:
        out.write_text(source)
        return out
    dot = shutil.which("dot")
    if dot is None:
        raise CommandError(
            "graphviz `dot` is not installed (apt-get install graphviz, or `make setup`); "
            "--out FILE.dot writes the source instead",
            4,
        )
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", str(out)], input=source.encode(), capture_output=True, timeout=60
    )
    if result.returncode != 0:
        raise CommandError(f"dot failed: {result.stderr.decode(errors='replace').strip()}", 3)
    return out


def to_dot(spec: StackSpec, region: str = "") -> str:
    g = _Graph()
    net = spec.network
    g.line("digraph webstack {")
    g.line('  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.6,')
    g.line(f"         label={_q(_title(spec, region))}, labelloc=t];")
    g.line('  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica",')
    g.line("        fontsize=10];")
    g.line('  edge [fontname="Helvetica", fontsize=9];')
    g.line('  internet [label="Internet", shape=ellipse, fillcolor="#e8f0fe"];')
    if net.existing:
        vpc_label = f"existing VPC {net.existing.vpc_id} ({net.existing.vpc_cidr})"
    else:
        vpc_label = f"VPC {net.cidr}: {net.az_count} AZs, NAT {net.nat}"
    g.line(f"  subgraph cluster_vpc {{ label={_q(vpc_label)}; style=dashed;")
    if spec.edge.mode == "alb":
        _alb_edge(g, spec)
    else:
        _nginx_edge(g, spec)
    g.line("  }")
    observability_lines(spec, g.line, g.edge, _q, lambda app: f"{_id(app)}_app")
    g.line("}")
    return g.text()


# -- edges ---------------------------------------------------------------------------------------
def _alb_edge(g: _Graph, spec: StackSpec) -> None:

    tls = spec.edge.tls
    cert = {
        "acm": f"ACM {tls.domain}",
        "existing": "existing ACM cert",
        "self-signed": "self-signed",
    }
    g.line('    subgraph cluster_public { label="public subnets"; style=dotted;')
    alb_label = "\n".join(
        [
            "Application Load Balancer",
            ":80 HTTP -> 301 HTTPS",
            f":443 HTTPS ({cert[tls.mode]})",
            f"TLS policy {TLS_POLICY}",
            f"idle timeout {timeout_chain(spec).alb_idle_timeout}s",
        ]
    )
    g.line(f'      alb [label={_q(alb_label)}, fillcolor="#fde7d9"];')
    g.line("    }")
    g.line('    subgraph cluster_private { label="private subnets"; style=dotted;')
    for app in spec.apps:
        entry = _app_cluster(g, spec, app, indent="      ")
        hosts = ", ".join(app.hostnames) or "any host"
        path = "/*" if app.path_prefix == "/" else f"{app.path_prefix}*"
        g.edge("alb", entry, f"HTTP :80\n{hosts} {path}\nhealth {app.health_path}")
    g.line("    }")
    g.edge("internet", "alb", "HTTPS :443\nHTTP :80 (redirect)")


def _nginx_edge(g: _Graph, spec: StackSpec) -> None:
    app = spec.apps[0]
    g.line('    subgraph cluster_public { label="public subnet (Elastic IP)"; style=dotted;')
    entry = _app_cluster(g, spec, app, indent="      ", edge=True)
    g.line("    }")
    g.edge("internet", entry, "HTTPS :443 (TLS 1.2/1.3, self-signed)\nHTTP :80 -> 301 HTTPS")


# -- tiers ---------------------------------------------------------------------------------------
def _app_cluster(g: _Graph, spec: StackSpec, app: AppSpec, indent: str, edge: bool = False) -> str:
    """Draw one app's tier; return the node that receives its traffic."""
    key = _id(app.name)
    app_label = f"{app.name}\n{app.framework} {app.wsgi}"
    if app.os == "windows":
        w = app.windows
        cap = w.capacity
        title = f"{app.name}: Windows {w.image}, {w.instance_type} x {cap.min}..{cap.max}"
        g.line(f"{indent}subgraph cluster_{key} {{ label={_q(title)}; style=rounded;")
        proxy = f"{key}_proxy"
        g.line(f"{indent}  {proxy} [label={_q(f'{w.proxy} :80 ({w.balance})')}];")
        g.line(f'{indent}  {key}_app [label={_q(app_label)}, fillcolor="#e6f4ea"];')
        for i, port in enumerate(waitress_ports(w), start=1):
            node = f"{key}_waitress_{i}"
            label = f"Waitress {i}\n127.0.0.1:{port}\n{w.threads} threads"
            g.line(f"{indent}  {node} [label={_q(label)}];")
            g.edge(proxy, node, f"HTTP :{port}")
            g.edge(node, f"{key}_app", "")
        g.line(f"{indent}}}")
        return proxy
    t, gu = app.linux, app.linux.gunicorn
    layout = vm_layout(t.family)
    cap = t.capacity
    kind = "1 VM" if edge else f"auto scaling group x {cap.min}..{cap.max}"
    title = f"{app.name}: Linux {t.image}, {t.instance_type}, {kind}"
    g.line(f"{indent}subgraph cluster_{key} {{ label={_q(title)}; style=rounded;")
    nginx_lines = ["Nginx :443 TLS, :80 -> 301" if edge else "Nginx :80"]
    nginx_lines.append(
        f"{t.nginx.rate_limit_rps} r/s per IP, body <= {t.nginx.client_max_body_size}"
    )
    if app.static:
        nginx_lines.append(f"static {app.static.url}")
    nginx = f"{key}_nginx"
    g.line(f"{indent}  {nginx} [label={_q(chr(10).join(nginx_lines))}];")
    g.line(f'{indent}  {key}_app [label={_q(app_label)}, fillcolor="#e6f4ea"];')
    workers = gunicorn_workers(app, layout)
    for m in range(1, gu.masters + 1):
        node = f"{key}_gunicorn_{m}"
        label = f"Gunicorn master {m}\n{workers} workers x {gu.threads} threads ({gu.worker_class})"
        g.line(f"{indent}  {node} [label={_q(label)}];")
        g.edge(nginx, node, f"unix:{layout.socket(app.name, m)}")
        g.edge(node, f"{key}_app", "WSGI")
    g.line(f"{indent}}}")
    return nginx


# -- helpers -------------------------------------------------------------------------------------
class _Graph:
    def __init__(self) -> None:
        self._lines: list[str] = []
        self._edges: list[str] = []

    def line(self, text: str) -> None:
        self._lines.append(text)

    def edge(self, a: str, b: str, label: str) -> None:
        attrs = f" [label={_q(label)}]" if label else ""
        self._edges.append(f"  {a} -> {b}{attrs};")

    def text(self) -> str:
        body = self._lines[:-1] + self._edges + self._lines[-1:]
        return "\n".join(body) + "\n"


def _title(spec: StackSpec, region: str) -> str:
    where = f" in {region}" if region else ""
    return f"webstack {spec.environment}{where}: edge {spec.edge.mode}, TLS {spec.edge.tls.mode}"


def _id(name: str) -> str:
    return "app_" + name.replace("-", "_")


def _q(text: str) -> str:
    """A DOT string literal; newlines become centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def cmd_diagram(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    out = write_diagram(stack.spec, args.out, stack.region)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0
