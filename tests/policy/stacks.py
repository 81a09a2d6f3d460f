"""Every shipped stack captured through the Pulumi mocks, in the shape CrossGuard gives policies.

The mocks record each resource's inputs as the engine sends them (camelCase names, secrets in the
engine's secret envelope, numbers as floats); `to_policy_resources` adds what the engine adds for
stack policies: outputs and property dependencies (a property depends on the resources whose
ID/ARN its value carries).
"""

from __future__ import annotations

import copy
import functools
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from webstack_policy.harness import Resource, link_by_value  # noqa: E402

from components.plan.checks import load_stack_spec  # noqa: E402
from components.spec.stack import StackSpec  # noqa: E402
from components.tooling.mocks import RecordedResource, build_webstack, run_under_mocks  # noqa: E402
from tests.helpers.specs import shipped_spec, shipped_stacks  # noqa: E402

SHIPPED_STACKS = shipped_stacks()


def known_secret(app: str, name: str) -> str:
    """A recognisable, unique secret value per app and name (long enough for every detector)."""
    return f"S3cr3t-{app}-{name}-7f3a9c1e5b"


@dataclass
class Captured:
    name: str
    spec: StackSpec
    secrets: dict[str, dict[str, str]]
    resources: list[RecordedResource]
    outputs: dict[str, Any]

    @property
    def secret_values(self) -> list[str]:
        return [v for vals in self.secrets.values() for v in vals.values()]


def capture_spec(name: str, spec: StackSpec, secrets: dict[str, dict[str, str]]) -> Captured:
    build_dir = Path(tempfile.mkdtemp(prefix="ws-policy-build-"))
    mocks, outputs = run_under_mocks(build_webstack(spec, secrets, ROOT, build_dir), stack=name)
    return Captured(name, spec, secrets, list(mocks.resources), outputs or {})


@functools.cache
def capture(name: str) -> Captured:
    """A shipped stack (`Pulumi.<name>.yaml`) with known secret values, under the mocks."""
    spec, placeholders = shipped_spec(name)
    secrets = {app: {k: known_secret(app, k) for k in names} for app, names in placeholders.items()}
    return capture_spec(name, spec, secrets)


# Stacks not shipped as Pulumi.<env>.yaml that still must hold every guarantee: a Windows tier
# (IIS/Nginx/Caddy + Waitress) next to a Linux one behind the ALB, with secrets in both.
EXTRA_STACKS: dict[str, dict[str, Any]] = {
    "mixed": {
        "environment": "mixed",
        "production": True,
        "edge": {"mode": "alb", "tls": {"mode": "self-signed"}},
        "admin_cidrs": ["192.0.2.0/24"],
        "apps": [
            {
                "name": "flask-app",
                "framework": "flask",
                "wsgi": "app:create_app()",
                "source": {"path": "examples/flask_app"},
                "secrets": ["APP_API_TOKEN"],
                "path_prefix": "/api/",
                "linux": {"capacity": {"min": 2, "max": 3}},
            },
            {
                "name": "win-app",
                "framework": "flask",
                "wsgi": "app:create_app()",
                "os": "windows",
                "source": {"path": "examples/flask_app"},
                "secrets": ["WIN_SECRET", "DB_PASSWORD"],
                "env": {"APP_GREETING": "hello"},
                "windows": {"proxy": "caddy", "instances": 2},
            },
        ],
    },
    # Issue 17: a managed PostgreSQL per app (Linux and Windows) and data stores the apps bring.
    "database": {
        "environment": "database",
        "production": True,
        "edge": {"mode": "alb", "tls": {"mode": "self-signed"}},
        "apps": [
            {
                "name": "django-app",
                "framework": "django",
                "wsgi": "proj.wsgi:application",
                "source": {"path": "examples/django_app"},
                "secrets": ["DJANGO_SECRET_KEY"],
                "database": {"backup_retention_days": 14},
                "datastores": [
                    {
                        "name": "legacy-pg",
                        "security_group_id": "sg-0123456789abcdef0",
                        "allow_ingress": True,
                    },
                    {"name": "cache", "engine": "redis", "cidr": "10.99.8.0/24"},
                ],
            },
            {
                "name": "win-app",
                "framework": "flask",
                "wsgi": "app:create_app()",
                "os": "windows",
                "source": {"path": "examples/flask_app"},
                "secrets": ["WIN_SECRET"],
                "path_prefix": "/win/",
                "database": {},
                "datastores": [{"name": "reports", "engine": "mysql", "cidr": "10.99.9.10/32"}],
            },
        ],
    },
}
ALL_STACKS = SHIPPED_STACKS + sorted(EXTRA_STACKS)


@functools.cache
def capture_any(name: str) -> Captured:
    """A shipped stack, or one of EXTRA_STACKS, with known secret values."""
    if name not in EXTRA_STACKS:
        return capture(name)
    spec = load_stack_spec(
        EXTRA_STACKS[name],
        {a["name"]: set(a.get("secrets", [])) for a in EXTRA_STACKS[name]["apps"]},
    )
    secrets = {a.name: {k: known_secret(a.name, k) for k in a.secrets} for a in spec.apps}
    return capture_spec(name, spec, secrets)


def _identities(r: RecordedResource) -> set[str]:
    ids = {getattr(r, "id", "") or "", str(r.outputs.get("arn") or "")}
    if r.type == "aws:s3/bucket:Bucket":
        ids.add(str(r.outputs.get("bucket") or ""))
    return {i for i in ids if i}


def to_policy_resources(
    recorded: list[RecordedResource],
    mutate: Callable[[list[Resource]], None] | None = None,
) -> list[Resource]:
    """Harness resources (deep copies: mutate freely), linked by ID/ARN after `mutate`."""
    ids = {r.name: _identities(r) for r in recorded}
    kept = [r for r in recorded if not r.type.startswith("webstack:")]  # components: no props
    out = [Resource(type=r.type, name=r.name, inputs=copy.deepcopy(r.inputs)) for r in kept]
    if mutate:
        mutate(out)
    computed = {
        r.name: {k: copy.deepcopy(v) for k, v in r.outputs.items() if k not in r.inputs}
        for r in kept
    }
    for r in out:
        # Stack policies read outputs: the (possibly mutated) inputs plus what the cloud computed.
        r.outputs = {**copy.deepcopy(r.inputs), **computed.get(r.name, {})}
        ids.setdefault(r.name, {f"{r.name}-id"})
    link_by_value(out, ids)
    return out


def find(resources: list[Resource], type_: str, contains: str = "") -> Resource:
    """The resource of `type_` whose name ends with `contains` (else: contains it)."""
    of_type = [r for r in resources if r.type == type_]
    found = [r for r in of_type if r.name.endswith(contains)] or [
        r for r in of_type if contains in r.name
    ]
    assert len({r.name for r in found}) <= 1 or not contains, (
        f"ambiguous: {[r.name for r in found]}"
    )
    assert found, f"no {type_} named *{contains}*"
    return found[0]
