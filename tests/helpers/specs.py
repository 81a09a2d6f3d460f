"""One-app Linux stack specs for the tests: the sample Flask or Django app with a few settings."""

from __future__ import annotations

from typing import Any

from components.plan.checks import parse_stack_spec
from components.spec.stack import StackSpec

SAMPLE_APPS = {
    "flask": ("flask-app", "app:create_app()"),
    "django": ("django-app", "proj.wsgi:application"),
}


def linux_spec(
    framework: str = "flask",
    edge: str = "alb",
    masters: int = 1,
    *,
    environment: str = "dev",
    gunicorn: dict[str, Any] | None = None,
    nginx: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
    linux_extra: dict[str, Any] | None = None,
    **app: Any,
) -> StackSpec:
    """The sample app of `framework` behind `edge`, with 2 Gunicorn workers per master (enough to
    show concurrency, few enough for a 2-core machine) unless `gunicorn` says otherwise."""
    name, wsgi = SAMPLE_APPS[framework]
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
                        "gunicorn": {"masters": masters, "workers": 2, **(gunicorn or {})},
                        "nginx": nginx or {},
                        **(linux_extra or {}),
                    },
                    **app,
                }
            ],
        }
    )
