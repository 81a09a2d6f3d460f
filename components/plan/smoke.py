"""The check `pulumi up` runs after a deploy: the public health URL must answer 200 (WebStack
runs it as a local command; tests/faithful/test_faithful_defects.py runs it against real servers)."""

from __future__ import annotations

from components.spec.stack import AppSpec


def smoke_path(app: AppSpec) -> str:
    """The health URL path as the public edge routes it: path prefix + health path."""
    return app.path_prefix.rstrip("/") + app.health_path


def smoke_command(url: str, host: str, attempts: int = 60, delay: int = 10) -> str:
    """A POSIX sh loop around plain curl: any curl version (no curl >= 7.71 `--retry-all-errors`,
    whose `--retry` alone skips connection refusals and 5xx). -k: the edge may be self-signed or
    named for the app's host, not the ALB/EIP address."""
    return (
        f"i=0; until curl -fsS -k -o /dev/null --max-time 10 -H 'Host: {host}' '{url}'; do "
        f"i=$((i+1)); [ $i -ge {attempts} ] && exit 1; sleep {delay}; done"
    )
