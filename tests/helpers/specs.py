"""The catalogue of stack specs for the tests and bench/: the sample Flask or Django app on the
Linux or Windows tier with a few settings, and the shipped stacks loaded the way the CLI does.

Builders keep the callers' differences as explicit arguments (name, environment, instances), so a
moved call site renders the same spec it built by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.plan.checks import parse_stack_spec
from components.spec.stack import StackSpec
from components.tooling.config import spec_from_stack_file

ROOT = Path(__file__).resolve().parents[2]

SAMPLE_APPS = {
    "flask": ("flask-app", "app:create_app()"),
    "django": ("django-app", "proj.wsgi:application"),
}


def linux_spec(
    framework: str = "flask",
    edge: str = "alb",
    masters: int | None = 1,
    *,
    workers: int | str | None = 2,
    environment: str = "dev",
    gunicorn: dict[str, Any] | None = None,
    nginx: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
    linux_extra: dict[str, Any] | None = None,
    **app: Any,
) -> StackSpec:
    """The sample app of `framework` behind `edge`, with 2 Gunicorn workers per master (enough to
    show concurrency, few enough for a 2-core machine) unless `gunicorn` says otherwise.
    `masters` / `workers` None leave that setting to its default."""
    name, wsgi = SAMPLE_APPS[framework]
    sizing = {"masters": masters, "workers": workers}
    return parse_stack_spec(
        {
            "environment": environment,
            "edge": {"mode": edge},
            **(top or {}),
            "apps": [
                {
                    "name": name,
                    "framework": framework,
                    "wsgi": wsgi,
                    "linux": {
                        "gunicorn": {
                            **{k: v for k, v in sizing.items() if v is not None},
                            **(gunicorn or {}),
                        },
                        "nginx": nginx or {},
                        **(linux_extra or {}),
                    },
                    **app,
                }
            ],
        }
    )


def windows_spec(
    framework: str = "flask",
    proxy: str | None = "nginx",
    *,
    name: str = "web",
    environment: str = "dev",
    top: dict[str, Any] | None = None,
    app: dict[str, Any] | None = None,
    **windows: Any,
) -> StackSpec:
    """The sample app of `framework` on the Windows tier behind `proxy` (None: the default),
    named `name` (the Linux builder names it after the framework), with `windows` settings,
    `app` settings and `top` (stack-level) settings on top."""
    wsgi = SAMPLE_APPS[framework][1]
    tier = {"proxy": proxy, **windows} if proxy is not None else windows
    return parse_stack_spec(
        {
            "environment": environment,
            **(top or {}),
            "apps": [
                {
                    "name": name,
                    "framework": framework,
                    "wsgi": wsgi,
                    "os": "windows",
                    **(app or {}),
                    "windows": tier,
                }
            ],
        }
    )


def sample_app(name: str, framework: str = "flask", **settings: Any) -> dict[str, Any]:
    """One app entry of a multi-app stack: the sample app of `framework`, packaged from
    examples/, named `name`, with `settings` (hostnames, secrets, os, ...) on top."""
    return {
        "name": name,
        "framework": framework,
        "wsgi": SAMPLE_APPS[framework][1],
        "source": {"path": f"examples/{framework}_app"},
        **settings,
    }


def stack_of(
    *apps: dict[str, Any],
    environment: str = "dev",
    edge: str | dict[str, Any] = "alb",
    **top: Any,
) -> StackSpec:
    """A stack of `apps` (sample_app entries, or any app dicts) behind `edge` (a mode, or the
    whole edge settings), with `top` (stack-level) settings; bad input raises SpecError."""
    edge_settings = {"mode": edge} if isinstance(edge, str) else edge
    return parse_stack_spec(
        {"environment": environment, "edge": edge_settings, **top, "apps": list(apps)}
    )


def shipped_spec(stack: str) -> tuple[StackSpec, dict[str, dict[str, str]]]:
    """Pulumi.<stack>.yaml from the repository root, read as the CLI's offline commands read it:
    the validated spec and placeholder values for each app's secret names."""
    return spec_from_stack_file(ROOT / f"Pulumi.{stack}.yaml")


def shipped_stacks() -> list[str]:
    """The names of the shipped stacks (Pulumi.<name>.yaml at the repository root)."""
    return sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
