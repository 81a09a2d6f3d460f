"""Release decisions without Pulumi: the release pointer, its id, its SSM path, the kept count.

A release is what changes without touching infrastructure: the app's code (package key + SHA-256),
its plain environment (a content-hashed config object) and its secrets (their SSM versions). The
pointer names all three; the VM reads it at boot and the release channel activates it in place, so
user data and launch templates carry none of it (issue 13).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

# The activation keeps this many releases on disk (instant rollback) and the same number of
# packages is what an operator can roll back to from the bucket.
KEEP_RELEASES = 5
# Consecutive local health answers a new release must give before Nginx switches to it.
HEALTH_SUCCESSES = 5
# Windows: how long the proxy keeps a restarted Waitress out of rotation after one failed attempt
# (templates/windows/nginx.conf.j2 `max_fails=1 fail_timeout=5s`, Caddyfile.j2 `fail_duration
# 10s`). The next service stops only once the moved one is back in rotation; otherwise every
# upstream is out at once and the proxy answers 502 (tests/e2e/test_windows_rollout.py saw 195 of
# 500). IIS: ARR's own window was not measured here (no IIS stand-in); the longer value is used.
PROXY_REJOIN_SECONDS = {"nginx": 5, "caddy": 10, "iis": 10}
POINTER_NAME = "release"  # `<app ssm prefix>/release`: under the path the instance role reads
RELEASE_ID = re.compile(r"^r-[0-9a-f]{16}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ReleasePointer:
    """What the VM activates: every field a release may change, nothing infrastructure owns."""

    package_key: str  # "" for pip / git sources (installed from `requirement`)
    package_sha256: str
    config_key: str  # the rendered app.env (plain environment) in the artifact bucket
    config_sha256: str
    secrets: tuple[str, ...]  # names under the app's SSM prefix
    secrets_version: str  # digest of the secrets' SSM versions: a rotation is a new release
    requirement: str = ""  # pip requirement for `requirement` / `git` sources
    release_command: tuple[str, ...] = field(default_factory=tuple)

    @property
    def release_id(self) -> str:
        return release_id(self)

    def to_json(self) -> str:
        body = asdict(self)
        body["release"] = self.release_id
        body["secrets"] = list(self.secrets)
        body["release_command"] = list(self.release_command)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))


def release_id(p: ReleasePointer) -> str:
    """A stable id of everything a release carries: the same inputs always give the same id."""
    body = asdict(p)
    body["secrets"] = list(p.secrets)
    body["release_command"] = list(p.release_command)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return "r-" + digest[:16]


def secrets_version(versions: dict[str, int | str]) -> str:
    """Digest of each secret's SSM parameter version (never its value): rotation changes it."""
    text = ",".join(f"{k}={versions[k]}" for k in sorted(versions))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pointer_parameter(ssm_prefix: str) -> str:
    """The pointer's SSM name, inside the app's own prefix (the role reads `<prefix>/*` only)."""
    return f"{ssm_prefix.rstrip('/')}/{POINTER_NAME}"


def config_key(app: str, text: str) -> str:
    """Content-hashed key of the app's rendered environment, under the app's artifact prefix."""
    return f"apps/{app}/config/{sha256_text(text)[:16]}.env"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_pointer(text: str) -> dict[str, object]:
    """The pointer as the VM reads it; ValueError naming the field that is wrong."""
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("release pointer: not a JSON object")
    rid = body.get("release")
    if not isinstance(rid, str) or not RELEASE_ID.match(rid):
        raise ValueError(f"release pointer: release {rid!r} is not r-<16 hex>")
    for key in ("package_sha256", "config_sha256"):
        value = body.get(key, "")
        if value and not SHA256.match(str(value)):
            raise ValueError(f"release pointer: {key} is not a SHA-256 hex digest")
    if not body.get("config_key"):
        raise ValueError("release pointer: config_key is empty")
    if not body.get("package_key") and not body.get("requirement"):
        raise ValueError("release pointer: needs package_key or requirement")
    return body
