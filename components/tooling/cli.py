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
from pathlib import Path

from components.spec.errors import SpecError
from components.tooling.check import cmd_check
from components.tooling.config import DEFAULT_STACK
from components.tooling.diagram import cmd_diagram
from components.tooling.errors import CommandError
from components.tooling.local.up import cmd_up
from components.tooling.reference import cmd_reference
from components.tooling.render_tree import cmd_render


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


# Long: declarations only (one argparse block per subcommand).
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
    p.set_defaults(func=_preview)

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


def _preview(args: argparse.Namespace) -> int:
    # Imported here for start-up cost, not for a cycle: preview loads pulumi_aws (about 2 s), which
    # no other command needs.
    from components.tooling.preview import cmd_preview

    return cmd_preview(args)
