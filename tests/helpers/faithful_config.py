"""What the Pulumi CLI checks in Pulumi.yaml and Pulumi.<stack>.yaml before the program runs.

Each rule cites pulumi/pulumi `sdk/go/common/workspace/` (project.json schema, project.go
`ValidateProject`/`Project.Validate`/`ValidateConfigValue`, config.go `mergeConfig`) or
`sdk/go/common/resource/config/` (keys and secure values). Messages follow the CLI's wording, so a
failing test reads like the CLI's refusal.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

import yaml

# project.json `$defs/simpleConfigType`: the only types a config declaration may name.
SIMPLE_TYPES = ("string", "integer", "boolean", "array")
# project.json `$defs/configTypeDeclaration`: additionalProperties false.
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}
# project.json `properties` + `required: [name, runtime]`; the top level allows extra keys.
PROJECT_OPTIONS_KEYS = {"refresh"}  # project.json `options` (additionalProperties false)
# Stack names (pulumi/pulumi sdk/go/common/tokens: ValidateStackName): letters, digits, -_. , max 100.
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# config.ParseKey: `namespace:name` (the legacy `namespace:config:name` is also accepted).
CONFIG_KEY = re.compile(r"^[^:\s]+:(config:)?[^:\s]+$")


def _namespaced_by_project(project: str, key: str) -> bool:
    """project.go configKeyIsNamespacedByProject."""
    return ":" not in key or key.startswith(project + ":")


def value_matches(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:
    """project.go ValidateConfigValue (YAML gives ints/bools; strings that parse are accepted)."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if not isinstance(value, list) or items is None:
        return False
    return all(value_matches(items.get("type", ""), items.get("items"), v) for v in value)


def project_problems(doc: Any) -> list[str]:
    """ValidateProject (schema) + Project.Validate for a parsed Pulumi.yaml."""
    if not isinstance(doc, dict):
        return ["project is not a mapping"]
    problems = []
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        problems.append("project is missing a non-empty string 'name' attribute")
        name = ""
    if "runtime" not in doc:
        problems.append("#: missing properties: 'runtime'")
    options = doc.get("options") or {}
    for key, value in options.items() if isinstance(options, dict) else []:
        if key not in PROJECT_OPTIONS_KEYS:
            problems.append(f"#/options: additionalProperties '{key}' not allowed")
        elif value != "always":
            problems.append(f"#/options/{key}: value must be 'always'")
    config = doc.get("config") or {}
    for key, decl in config.items():
        if not isinstance(decl, dict):
            # Shorthand (string/integer/boolean): a default for project keys (RewriteShorthand...).
            continue
        extra = set(decl) - DECLARATION_KEYS
        if extra:
            problems.append(f"#/config/{key}: additionalProperties {sorted(extra)} not allowed")
        if "default" in decl and "value" in decl:
            problems.append(f"project config '{key}' cannot have both a 'default' and 'value'")
        type_name = decl.get("type")
        if _namespaced_by_project(name, key):
            if type_name is not None and type_name not in SIMPLE_TYPES:
                problems.append(f"#/config/{key}/type: must be one of {list(SIMPLE_TYPES)}")
            if type_name == "array" and decl.get("items") is None:
                problems.append(
                    f"The configuration key '{key}' declares an array but does not specify "
                    "the underlying type via the 'items' attribute"
                )
            default = decl.get("default")
            if (
                type_name
                and default is not None
                and not value_matches(type_name, decl.get("items"), default)
            ):
                problems.append(
                    f"The default value specified for configuration key '{key}' is not of "
                    f"the expected type '{type_name}'"
                )
        else:
            if type_name is not None:
                problems.append(
                    f"Configuration key '{key}' is not namespaced by the project and should not "
                    "define a type"
                )
            if "default" in decl:
                problems.append(
                    f"Configuration key '{key}' is not namespaced by the project and should not "
                    "define a default value"
                )
    return problems


def _secure_problem(key: str, value: Any) -> str | None:
    """A `secure:` leaf must be ciphertext text (config.Value); passphrase ciphertext is
    `v1:<base64 nonce>:<base64 ciphertext>` (pkg/secrets/passphrase symmetricCrypter)."""
    if not isinstance(value, str) or not value:
        return f"{key}: a secure value must be a non-empty string, not {value!r}"
    if value.startswith("v1:"):
        parts = value.split(":")
        try:
            ok = len(parts) == 3 and all(base64.b64decode(p, validate=True) for p in parts[1:])
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            return f"{key}: {value!r} is not passphrase ciphertext (v1:<base64>:<base64>)"
    return None


def _walk_secure(key: str, node: Any) -> list[str]:
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            problem = _secure_problem(key, node["secure"])
            return [problem] if problem else []
        return [p for k, v in node.items() for p in _walk_secure(f"{key}.{k}", v)]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _walk_secure(f"{key}[{i}]", v)]
    return []


def stack_problems(project_doc: dict[str, Any], stack_doc: Any, stack: str) -> list[str]:
    """config.go mergeConfig + validateStackConfigValue for one stack file (before decryption)."""
    problems = []
    if not STACK_NAME.fullmatch(stack):
        problems.append(f"stack name {stack!r} may only contain alphanumerics, -, _ and .")
    if not isinstance(stack_doc, dict):
        return [*problems, f"Pulumi.{stack}.yaml is not a mapping"]
    config = stack_doc.get("config") or {}
    project = str(project_doc.get("name", ""))
    for key, value in config.items():
        if not CONFIG_KEY.fullmatch(str(key)):
            problems.append(f"could not parse {key!r} as a configuration key (namespace:name)")
        problems += _walk_secure(str(key), value)
    declared = project_doc.get("config") or {}
    missing = []
    for key, decl in sorted(declared.items()):
        full = key if ":" in key else f"{project}:{key}"
        if not _namespaced_by_project(project, key):
            continue
        decl = decl if isinstance(decl, dict) else {"default": decl}
        if full not in config:
            if decl.get("default") is None and decl.get("value") is None:
                missing.append(key)
            continue
        value = config[full]
        if decl.get("secret") and not (isinstance(value, dict) and "secure" in value):
            problems.append(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        type_name = decl.get("type")
        is_secure = isinstance(value, dict) and set(value) == {"secure"}
        if type_name and not is_secure and not value_matches(type_name, decl.get("items"), value):
            full_type = f"array<{decl['items'].get('type')}>" if decl.get("items") else type_name
            problems.append(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{full_type}'"
            )
    if missing:
        quoted = ", ".join(f"'{k}'" for k in missing)
        word = "value" if len(missing) == 1 else "values"
        problems.append(f"Stack '{stack}' is missing configuration {word} {quoted}")
    return problems


def project_dir_problems(project_dir: Path) -> dict[str, list[str]]:
    """Every problem of Pulumi.yaml and each Pulumi.<stack>.yaml in a folder, by file name."""
    project_doc = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    out = {"Pulumi.yaml": project_problems(project_doc)}
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        out[path.name] = stack_problems(project_doc, yaml.safe_load(path.read_text()), stack)
    return out
