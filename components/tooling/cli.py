"""The `webstack` command: review a stack before it touches a cloud, and run it on this machine.

    webstack check      [--stack NAME]              validate the config (one line per problem)
    webstack preview    [--stack NAME] [--json]     the resource tree under Pulumi mocks
    webstack render     [--stack NAME] --out DIR    every file each VM receives + SUMMARY.md
    webstack diagram    [--stack NAME] --out F.svg  topology picture (graphviz)
    webstack up --local [--stack NAME] [--serve]    run every app on loopback, smoke-check it
    webstack reference  [--write]                   the config reference (docs/config.md)

`--stack NAME` reads `Pulumi.NAME.yaml` of the project (the nearest folder up from here with a
`Pulumi.yaml`, or `--project DIR`). Offline commands never decrypt secrets: each secret value is a
marked placeholder. Exit codes: 0 fine, 1 a configuration problem (one line per problem on stderr),
2 usage, 3 a smoke check failed or a site did not start, 4 a tool is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.plan.sizing import waitress_instances, waitress_ports
from components.spec.errors import SpecError
from components.spec.stack import StackSpec

DEFAULT_STACK = "dev"
DEFAULT_REGION = "eu-west-1"


class CommandError(Exception):
    """A problem that is not the config's (missing tool, failed check): one line, an exit code."""

    def __init__(self, message: str, code: int = 3) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LoadedStack:
    """A validated stack file; `secrets` holds placeholders, never decrypted values."""

    name: str
    path: Path
    project_dir: Path
    spec: StackSpec
    secrets: dict[str, dict[str, str]]
    region: str


# -- entry point ---------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SpecError as error:
        where = getattr(args, "_stack_label", "")
        for problem in error.problems:
            print(f"{where}{problem}", file=sys.stderr)
        return 1
    except CommandError as error:
        print(f"webstack {args.command}: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a one-line report; the traceback on request
        if os.environ.get("WEBSTACK_DEBUG"):
            raise
        message = f"{type(error).__name__}: {error}".splitlines()[0]
        print(
            f"webstack {args.command}: internal error: {message} "
            "(set WEBSTACK_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 70


def build_parser() -> argparse.ArgumentParser:
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument(
        "--stack",
        "-s",
        default=os.environ.get("WEBSTACK_STACK", DEFAULT_STACK),
        help="stack name: reads Pulumi.NAME.yaml (default: $WEBSTACK_STACK or dev)",
    )
    stack.add_argument("--stack-file", type=Path, help="a stack file anywhere (instead of --stack)")
    stack.add_argument(
        "--project",
        "-C",
        type=Path,
        help="project folder (default: the nearest folder up from here with a Pulumi.yaml)",
    )

    parser = argparse.ArgumentParser(
        prog="webstack",
        description="Review a webstack stack offline and run its apps on this machine.",
        epilog="Offline commands never decrypt secrets. Exit codes: 0 fine, 1 a configuration "
        "problem (one line per problem), 2 usage, 3 a smoke check failed, 4 a tool is missing.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", parents=[stack], help="validate the stack configuration")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "preview", parents=[stack], help="resource tree under Pulumi mocks (no cloud, no CLI)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("render", parents=[stack], help="write every file each VM receives")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder (replaced)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("diagram", parents=[stack], help="topology picture with graphviz")
    p.add_argument("--out", "-o", type=Path, required=True, help="FILE.svg, FILE.png or FILE.dot")
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("up", parents=[stack], help="run the stack (only --local: this machine)")
    p.add_argument(
        "--local", action="store_true", required=True, help="on 127.0.0.1, no cloud (required)"
    )
    p.add_argument("--serve", action="store_true", help="keep serving until Ctrl-C")
    p.add_argument("--app", action="append", help="only this app (repeatable)")
    p.add_argument(
        "--venv",
        default="per-app",
        help="per-app (default: a venv per app, cached under .work/venvs) | current (this "
        "Python's environment, nothing installed) | a venv folder",
    )
    p.add_argument("--workdir", type=Path, help="where the sites live (default: a temp dir)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("reference", help="the config reference generated from the models")
    p.add_argument("--write", action="store_true", help="write docs/config.md")
    p.add_argument("--check", action="store_true", help="exit 1 when docs/config.md is stale")
    p.add_argument("--project", "-C", type=Path, help="project folder (for --write/--check)")
    p.set_defaults(func=cmd_reference)
    return parser


# -- commands ------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from components.tooling.render_tree import render_tier

    stack = load_stack(args)
    spec = stack.spec
    # What only rendering finds (user data over AWS's limit, a missing source folder) counts too.
    problems: list[str] = []
    for app in spec.apps:
        try:
            render_tier(spec, app, stack.project_dir, stack.region)
        except SpecError as error:
            problems += error.problems
    if problems:
        raise SpecError(problems)
    print(f"{stack.path.name}: OK ({_describe(spec)})")
    for app in spec.apps:
        print(f"  {app.name}: {_describe_app(spec, app)}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from components.tooling.preview import format_tree, preview_stack, to_json

    stack = load_stack(args)
    result = preview_stack(stack.spec, stack.secrets, stack.project_dir)
    if args.json:
        import json

        print(json.dumps(to_json(result, stack.name), indent=2, sort_keys=True))
    else:
        print(format_tree(result, stack.name))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from components.tooling.render_tree import write_render_tree

    stack = load_stack(args)
    files = write_render_tree(stack.spec, args.out, stack.project_dir, stack.region, stack.name)
    print(f"wrote {len(files)} files for {len(stack.spec.apps)} app(s) into {args.out}")
    for path in files:
        print(f"  {path}")
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from components.tooling.diagram import write_diagram

    stack = load_stack(args)
    out = write_diagram(stack.spec, args.out, stack.region)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from components.tooling.local.up import run_local

    stack = load_stack(args)
    return run_local(
        stack.spec,
        project_dir=stack.project_dir,
        apps=args.app,
        venv=args.venv,
        workdir=args.workdir,
        serve=args.serve,
    )


def cmd_reference(args: argparse.Namespace) -> int:
    from components.tooling.reference import render_reference

    text = render_reference()
    if not (args.write or args.check):
        sys.stdout.write(text)
        return 0
    target = find_project(args.project) / "docs" / "config.md"
    current = target.read_text() if target.is_file() else None
    if args.check:
        if current != text:
            print(f"{target} is stale: run `webstack reference --write`", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    if current == text:
        print(f"{target} is up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}")
    return 0


# -- loading -------------------------------------------------------------------------------------
def find_project(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return here


def load_stack(args: argparse.Namespace) -> LoadedStack:
    """Validate the stack file; SpecError (one line per problem) on any mistake."""
    from components.tooling.config import spec_from_stack_file

    if args.stack_file is not None:
        path = args.stack_file.resolve()
        project = find_project(args.project) if args.project else path.parent
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    else:
        project = find_project(args.project)
        name = args.stack
        path = project / f"Pulumi.{name}.yaml"
    args._stack_label = f"{path.name}: "
    spec, secrets = spec_from_stack_file(path)
    return LoadedStack(
        name=name,
        path=path,
        project_dir=project,
        spec=spec,
        secrets=secrets,
        region=_region(path),
    )


def _region(path: Path) -> str:
    """`aws:region` of the stack file (a plain setting, not a secret), else the default."""
    try:
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_REGION
    region = config.get("aws:region")
    return region if isinstance(region, str) and region else DEFAULT_REGION


def _describe(spec: StackSpec) -> str:
    apps = len(spec.apps)
    return (
        f"{apps} app{'s' if apps != 1 else ''}, edge {spec.edge.mode}, "
        f"TLS {spec.edge.tls.mode}, {spec.network.az_count} AZs, "
        f"request timeout {spec.request_timeout}s"
    )


def _describe_app(spec: StackSpec, app: object) -> str:
    from components.spec.stack import AppSpec

    assert isinstance(app, AppSpec)
    if app.os == "windows":
        w, cap = app.windows, app.windows.capacity
        return (
            f"{app.framework} on Windows ({w.image}, {w.instance_type} x {cap.min}..{cap.max}), "
            f"{w.proxy} -> {waitress_instances(w)} Waitress on ports {waitress_ports(w)[0]}..{waitress_ports(w)[-1]}"
        )
    t = app.linux
    g = t.gunicorn
    cap = t.capacity
    return (
        f"{app.framework} on Linux ({t.image}, {t.instance_type} x {cap.min}..{cap.max}), "
        f"nginx -> {g.masters} gunicorn master(s), {g.worker_class} workers={g.workers}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
