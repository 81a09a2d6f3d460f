"""Where raw configuration comes from: the running Pulumi program, or a `Pulumi.<env>.yaml` file.

Both produce the same raw dict for `spec.load_stack_spec`. Secret values are never decrypted offline:
a stack file only tells which secret names exist, and their values become a marked placeholder.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.plan.checks import load_stack_spec
from components.spec.errors import SpecError
from components.spec.stack import StackSpec

NAMESPACE = "webstack"
DEFAULT_STACK = "dev"
DEFAULT_REGION = "eu-west-1"
SPEC_KEYS = (
    "environment",
    "production",
    "request_timeout",
    "timeouts",
    "admin_cidrs",
    "insecure_allow_wide_admin_cidrs",
    "network",
    "edge",
    "observability",
    "apps",
)
SECRET_PLACEHOLDER = "<secret: decrypted only by `pulumi up`>"


def _secret_names(secrets: Any) -> dict[str, set[str]]:
    if secrets is None:
        return {}
    if not isinstance(secrets, dict) or not all(isinstance(v, dict) for v in secrets.values()):
        raise SpecError(["secrets: must map app name -> secret name -> value (set with --path)"])
    return {app: set(values) for app, values in secrets.items()}


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "empty"}.get(type(value), repr(value))


def pulumi_top_level(value: Any) -> Any:
    """A top-level value as the program sees it. `pulumi config set KEY VALUE` stores top-level
    entries as strings (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/: "Top
    level entries are always treated as strings"; values set with --path keep true/false and
    integers typed), and the program reads a string back and decodes it as JSON (raw_from_pulumi).
    So `webstack:request_timeout: "30"` in a stack file is the number 30, exactly as in `pulumi up`;
    nested values keep their YAML type."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def read_stack_file(path: Path) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Raw spec dict and the secret names of a stack file (secrets stay encrypted)."""
    if not path.is_file():
        raise SpecError([f"stack file {path} does not exist"])
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise SpecError([f"{path.name}: not valid YAML ({e})".replace("\n", " ")]) from None
    if not isinstance(doc, dict):
        raise SpecError(
            [f"config: {path.name} must be a mapping with a `config:` key, not {_kind(doc)}"]
        )
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise SpecError(
            [f"config: must be a mapping of `webstack:<setting>: value`, not {_kind(config)}"]
        )
    raw: dict[str, Any] = {}
    for key, value in config.items():
        ns, _, name = str(key).partition(":")
        if ns != NAMESPACE or name == "secrets":
            continue
        if name not in SPEC_KEYS:
            raise SpecError([f"{name}: unknown setting webstack:{name} in {path.name}"])
        raw[name] = pulumi_top_level(value)
    raw.setdefault("environment", path.stem.split(".", 1)[-1])
    return raw, _secret_names(config.get(f"{NAMESPACE}:secrets"))


def spec_from_stack_file(path: Path) -> tuple[StackSpec, dict[str, dict[str, str]]]:
    """Validated spec plus placeholder secret values, for offline commands."""
    raw, names = read_stack_file(path)
    spec = load_stack_spec(raw, names)
    placeholders = {app: dict.fromkeys(sorted(n), SECRET_PLACEHOLDER) for app, n in names.items()}
    return spec, placeholders


def raw_from_pulumi() -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Raw spec dict and secret values (plain; the caller wraps them in Output.secret)."""
    import pulumi
    from pulumi.runtime.config import get_config

    raw: dict[str, Any] = {}
    for key in SPEC_KEYS:
        value = get_config(f"{NAMESPACE}:{key}")
        if value is None:
            continue
        raw[key] = pulumi_top_level(value)
    raw.setdefault("environment", pulumi.get_stack())
    secrets_raw = get_config(f"{NAMESPACE}:secrets")
    secrets = json.loads(secrets_raw) if secrets_raw else {}
    _secret_names(secrets)
    return raw, {app: {k: str(v) for k, v in vals.items()} for app, vals in secrets.items()}


@dataclass(frozen=True)
class LoadedStack:
    """A validated stack file; `secrets` holds placeholders, never decrypted values."""

    name: str
    path: Path
    project_dir: Path
    spec: StackSpec
    secrets: dict[str, dict[str, str]]
    region: str


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
