"""`webstack check`: validate a stack file (the models, the plan's rules, and what only rendering
finds) and describe what it would build, one line per app. A mistake is a SpecError: exit 1."""

from __future__ import annotations

import argparse

from components.plan.sizing import waitress_instances, waitress_ports
from components.spec.errors import SpecError
from components.spec.stack import AppSpec, StackSpec
from components.tooling.config import load_stack
from components.tooling.render_tree import render_tier


def cmd_check(args: argparse.Namespace) -> int:
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


def _describe(spec: StackSpec) -> str:
    apps = len(spec.apps)
    return (
        f"{apps} app{'s' if apps != 1 else ''}, edge {spec.edge.mode}, "
        f"TLS {spec.edge.tls.mode}, {spec.network.az_count} AZs, "
        f"request timeout {spec.request_timeout}s"
    )


def _describe_app(spec: StackSpec, app: object) -> str:

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
