"""`webstack render`: every file each VM of a stack receives, as a reviewable, diffable tree.

    OUT/SUMMARY.md                              ports, sockets, timeout chain, limits, file list
    OUT/<app>/<tier>/user-data.<ext>            the user data exactly as the VM gets it (as text)
    OUT/<app>/<tier>/files/<path on the VM>     each file the user data writes

The bytes are the render functions' (the same the VM, the rehearsal and the tests get). Cloud
values that exist only after `pulumi up` are fixed placeholders and secrets are never rendered
(VMs read them from SSM at boot), so rendering twice gives identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from components.plan.alb import TLS_POLICY
from components.plan.datastores import database_secret_names, with_database_secrets
from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import vm_layout
from components.plan.sizing import vcpus_of, waitress_instances, waitress_ports
from components.plan.tier import plan_tier
from components.plan.timeouts import gunicorn_timeouts, timeout_chain
from components.plan.windows_layout import vm_windows_layout
from components.render.common import USER_DATA_LIMIT, CloudRefs, pack_user_data
from components.render.linux import gunicorn_workers, render_linux_host, render_linux_user_data
from components.render.packaging import build_package
from components.render.windows import render_windows_host, render_windows_user_data
from components.spec.errors import SpecError
from components.spec.stack import AppSpec, StackSpec
from components.tooling.config import load_stack
from components.tooling.errors import CommandError

SUMMARY = "SUMMARY.md"
SUMMARY_TITLE = "# webstack render"
PLACEHOLDER_BUCKET = "placeholder-artifact-bucket"
PLACEHOLDER_CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "PLACEHOLDER: the self-signed certificate is created by `pulumi up`\n"
    "-----END CERTIFICATE-----\n"
)


@dataclass(frozen=True)
class TierRender:
    """What one VM of one app receives."""

    app: str
    tier: str  # "linux" | "windows"
    user_data_name: str
    user_data: str
    files: dict[str, str]  # target path on the VM -> content
    packed_size: int | None  # user data bytes as AWS counts them (gzipped on Linux)


def placeholder_refs(spec: StackSpec, app: AppSpec, project_dir: Path, region: str) -> CloudRefs:
    return CloudRefs(
        region=region,
        bucket=PLACEHOLDER_BUCKET,
        package_key=package_key(app, project_dir),
        ssm_prefix=stack_ssm_prefix(spec.environment, app.name),
        tls_cert_pem=PLACEHOLDER_CERT if spec.edge.mode == "nginx" else None,
    )


def package_key(app: AppSpec, project_dir: Path) -> str:
    """The S3 key `pulumi up` would upload the app's package under (content-addressed)."""
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        return ""
    folder = project_dir / source.path
    if not folder.is_dir():
        raise SpecError([f"apps.{app.name}.source.path: {folder} is not a folder"])
    with tempfile.TemporaryDirectory(prefix="webstack-package-") as tmp:
        return build_package(folder, Path(tmp), app.name)[1]


def render_tier(spec: StackSpec, app: AppSpec, project_dir: Path, region: str) -> TierRender:
    # As `pulumi up` deploys it: a managed database's variables travel as the app's secrets.
    app = with_database_secrets(app, database_secret_names(app))
    refs = placeholder_refs(spec, app, project_dir, region)
    if app.os == "windows":
        return _render_windows(spec, app, refs)
    layout = vm_layout(app.linux.family)
    user_data = render_linux_user_data(plan_tier(spec, app), app, layout, refs)
    return TierRender(
        app=app.name,
        tier="linux",
        user_data_name="user-data.yaml",
        user_data=user_data,
        files=render_linux_host(plan_tier(spec, app), app, layout, refs),
        packed_size=len(pack_user_data(user_data, app.name)),
    )


def render_stack(spec: StackSpec, project_dir: Path, region: str, stack: str) -> dict[str, str]:
    """Relative output path -> content, for the whole stack (sorted)."""
    tiers = [render_tier(spec, app, project_dir, region) for app in spec.apps]
    out: dict[str, str] = {}
    for t in tiers:
        base = PurePosixPath(t.app) / t.tier
        out[str(base / t.user_data_name)] = t.user_data
        for target, content in t.files.items():
            out[str(base / "files" / _relative_target(target))] = content
    out[SUMMARY] = summary_markdown(spec, tiers, stack, region)
    return dict(sorted(out.items()))


def write_render_tree(
    spec: StackSpec, out_dir: Path, project_dir: Path, region: str, stack: str
) -> list[str]:
    """Replace `out_dir` with the rendered tree; refuse to clobber a folder that is not one."""
    files = render_stack(spec, project_dir, region, stack)
    if out_dir.exists():
        summary = out_dir / SUMMARY
        ours = summary.is_file() and summary.read_text().startswith(SUMMARY_TITLE)
        if not out_dir.is_dir() or (any(out_dir.iterdir()) and not ours):
            raise CommandError(
                f"{out_dir} exists and is not a webstack render folder; pick another --out", 1
            )
        shutil.rmtree(out_dir)
    for rel, content in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return list(files)


# -- SUMMARY.md ----------------------------------------------------------------------------------
def summary_markdown(spec: StackSpec, tiers: list[TierRender], stack: str, region: str) -> str:
    e = spec.edge
    lines = [
        f"{SUMMARY_TITLE}: stack `{stack}`",
        "",
        f"Generated by `webstack render --stack {stack}`; do not edit. Region `{region}`.",
        f"Placeholders (known only after `pulumi up`): artifact bucket `{PLACEHOLDER_BUCKET}`"
        + (", the self-signed certificate" if e.mode == "nginx" else "")
        + ". Secret values are never rendered: each VM reads them from SSM Parameter Store at "
        "boot.",
        "",
        "## Edge",
        "",
    ]
    if e.mode == "alb":
        lines += [
            f"- Application Load Balancer: `:80` redirects (301) to HTTPS; `:443` terminates TLS "
            f"({e.tls.mode} certificate) with policy `{TLS_POLICY}`.",
            f"- Idle timeout {timeout_chain(spec).alb_idle_timeout}s; deletion protection "
            f"{'on' if spec.deletion_protection else 'off'}; targets: each app's VMs on `:80`.",
        ]
    else:
        lines += [
            "- One VM with an Elastic IP; Nginx is the edge: `:80` redirects (301) to HTTPS "
            "(except the health path), `:443` terminates TLS 1.2/1.3 (self-signed certificate).",
        ]
    lines += ["", "## Timeout chain", "", "| hop | value |", "|---|---|"]
    lines += [f"| {hop} | {value} |" for hop, value in timeout_chain(spec).as_rows()]
    lines.append("")
    for tier in tiers:
        app = next(a for a in spec.apps if a.name == tier.app)
        lines += _app_section(spec, app, tier)
    return "\n".join(lines).rstrip("\n") + "\n"


# Long: the SUMMARY.md section of one app, line by line as it is printed.
def _app_section(spec: StackSpec, app: AppSpec, tier: TierRender) -> list[str]:
    rows: list[tuple[str, str]] = []
    limits: list[tuple[str, str]] = []
    if app.os == "windows":
        w = app.windows
        rows += [
            ("VM", f"{w.instance_type} x {w.capacity.min}..{w.capacity.max}, image `{w.image}`"),
            ("proxy", f"{w.proxy} on `:80` ({w.balance})"),
            ("Waitress", f"{waitress_instances(w)} services x {w.threads} threads"),
            ("ports", ", ".join(f"`127.0.0.1:{p}`" for p in waitress_ports(w))),
        ]
        lim = w.limits
        limits += [
            ("client_max_body_size", lim.client_max_body_size),
            ("channel_timeout", f"{w.channel_timeout}s"),
            ("connection_limit", str(w.connection_limit)),
        ]
        if w.proxy == "nginx":
            limits.append(
                (
                    "rate limit",
                    f"{lim.rate_limit_rps} r/s per client IP, burst {lim.rate_limit_burst}",
                )
            )
        if lim.allow_cidrs:
            limits.append(("allow", ", ".join(lim.allow_cidrs)))
        if lim.deny_cidrs:
            limits.append(("deny", ", ".join(lim.deny_cidrs)))
    else:
        t, g = app.linux, app.linux.gunicorn
        layout = vm_layout(t.family)
        timeout, keepalive = gunicorn_timeouts(spec, app)
        front = "`:80` (from the ALB)" if spec.edge.mode == "alb" else "`:80` -> 301, `:443` TLS"
        rows += [
            ("VM", f"{t.instance_type} ({vcpus_of(t.instance_type)} vCPU) x "
                   f"{t.capacity.min}..{t.capacity.max}, image `{t.image}` "
                   f"(python {app.python_version})"),
            ("nginx", front),
            ("sockets", ", ".join(
                f"`{layout.socket(app.name, m)}`" for m in range(1, g.masters + 1))),
            ("gunicorn", f"{g.masters} master(s) x {gunicorn_workers(app, layout)} workers x "
                         f"{g.threads} threads ({g.worker_class}), timeout {timeout}s, "
                         f"keepalive {keepalive}s"),
        ]  # fmt: skip
        n = t.nginx
        limits += [
            ("client_max_body_size", n.client_max_body_size),
            ("rate limit", f"{n.rate_limit_rps} r/s per client IP, burst {n.rate_limit_burst}"),
            ("max_requests", f"{g.max_requests} (+ jitter {g.max_requests_jitter})"),
            ("graceful_timeout", f"{g.graceful_timeout}s"),
        ]
        if n.allow_cidrs:
            limits.append(("allow", ", ".join(n.allow_cidrs)))
        if n.deny_cidrs:
            limits.append(("deny", ", ".join(n.deny_cidrs)))
    rows += [
        ("health", f"GET `{app.health_path}` (Host `{app.health_host}`)"),
        ("route", f"hosts {', '.join(app.hostnames) or '(any)'}, path `{app.path_prefix}`"),
    ]
    if tier.packed_size is not None:
        packed = " (gzipped)" if tier.tier == "linux" else ""
        limits.append(("user data", f"{tier.packed_size} of {USER_DATA_LIMIT} bytes{packed}"))
    out = [f"## {app.name} ({app.framework}, {tier.tier})", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out += ["", "Limits:", ""]
    out += [f"- {k}: {v}" for k, v in limits]
    out += _secret_lines(spec, app)
    out += ["", "Files (`files/` mirrors the VM's paths):", ""]
    out += ["| path on the VM | bytes | sha256 |", "|---|---|---|"]
    entries = {f"(user data) {tier.user_data_name}": tier.user_data, **tier.files}
    for path, content in entries.items():
        digest = hashlib.sha256(content.encode()).hexdigest()[:12]
        out.append(f"| `{path}` | {len(content.encode())} | `{digest}` |")
    out.append("")
    return out


def secret_placeholder(spec: StackSpec, app: AppSpec, name: str) -> str:
    """What SUMMARY.md shows for one secret: where its value comes from, never the value."""
    where = f"SSM SecureString `{stack_ssm_prefix(spec.environment, app.name)}/{name}`"
    if name in database_secret_names(app):
        return f"<placeholder: {where}, written by `pulumi up` from the managed database>"
    return f"<placeholder: {where}, from the stack's `secrets` config>"


def _secret_lines(spec: StackSpec, app: AppSpec) -> list[str]:
    names = [*app.secrets, *database_secret_names(app)]
    if not names:
        return []
    out = ["", "Environment from secrets (read at boot, 0600 env file / service environment):", ""]
    return out + [f"- `{n}`: {secret_placeholder(spec, app, n)}" for n in names]


# -- helpers -------------------------------------------------------------------------------------
def _relative_target(target: str) -> str:
    """`/etc/x` -> `etc/x`; `C:\\webstack\\x` -> `C/webstack/x`."""
    if len(target) > 1 and target[1] == ":":
        win = PureWindowsPath(target)
        return str(PurePosixPath(win.drive.rstrip(":"), *win.parts[1:]))
    return str(PurePosixPath(target).relative_to("/"))


def _render_windows(spec: StackSpec, app: AppSpec, refs: CloudRefs) -> TierRender:
    """The Windows tier's files: services.json, proxy config, the bootstrap, the user data."""
    layout = vm_windows_layout()
    user_data = render_windows_user_data(plan_tier(spec, app), app, layout, refs)
    return TierRender(
        app=app.name,
        tier="windows",
        user_data_name="user-data.yaml",
        user_data=user_data,
        files=render_windows_host(plan_tier(spec, app), app, layout, refs),
        packed_size=len(user_data.encode()),
    )


def cmd_render(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    files = write_render_tree(stack.spec, args.out, stack.project_dir, stack.region, stack.name)
    print(f"wrote {len(files)} files for {len(stack.spec.apps)} app(s) into {args.out}")
    for path in files:
        print(f"  {path}")
    return 0
