"""User data must not carry secrets: it is readable by anything on the instance that can reach
IMDS, by anyone with ec2:DescribeInstanceAttribute, and it sits in the Pulumi state in plain text.

The policy decodes user data the way cloud-init does (base64, gzip, MIME multipart) and looks for
(1) well-known key formats and `NAME=value` assignments of secret-looking names, and (2) the stack's
own secret values: SSM SecureString parameter values and Secrets Manager strings in the same stack,
secret stack config (when the CLI passes it), and values given in the policy config.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .graph import INSTANCE, LAUNCH_CONFIGURATION, LAUNCH_TEMPLATE
from .props import UNKNOWN, config, get, label, strings_in

SSM_PARAMETER = "aws:ssm/parameter:Parameter"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"

# (name, pattern): formats that are secrets wherever they appear.
KEY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    (
        "AWS secret access key",
        re.compile(r"(?i)aws_?secret_?access_?key\W{0,5}[A-Za-z0-9/+=]{40}\b"),
    ),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Stripe live key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    (
        "JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
    (
        "credentials in a URL",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"$]{6,}@[A-Za-z0-9.-]+"),
    ),
]
# NAME=value / NAME: value where NAME looks secret and value is a literal (not $VAR, a path, ...).
ASSIGNMENT = re.compile(
    r"(?im)^[ \t-]*(?:export[ \t]+)?[\"']?(?P<name>[A-Za-z0-9_.-]*"
    r"(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIALS?)"
    r"[A-Za-z0-9_.-]*)[\"']?[ \t]*[=:][ \t]*[\"']?(?P<value>[^\s\"'#]{8,})"
)
NOT_A_VALUE = re.compile(
    r"^(?:\$|/|\{\{|<|%|\(|\[|resolve:|arn:|\.\.?/|true$|false$|none$|null$)", re.I
)


# -- decoding -----------------------------------------------------------------------------------
def _inflate(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return data
    return data


def decode_user_data(value: str | bytes, *, base64_encoded: bool) -> str:
    """The text cloud-init would read: base64 -> gzip -> MIME parts (each decoded the same way)."""
    raw = value.encode() if isinstance(value, str) else value
    if base64_encoded:
        with contextlib.suppress(binascii.Error, ValueError):
            raw = base64.b64decode(raw, validate=False)
    raw = _inflate(raw)
    text = raw.decode("utf-8", errors="replace")
    if text.lstrip().lower().startswith(("content-type: multipart", "mime-version:")):
        msg = email.message_from_string(text)
        parts = [text]
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append(_inflate(payload).decode("utf-8", errors="replace"))
        text = "\n".join(parts)
    return text


def user_data_of(resource_type: str, props: Any) -> str | Any | None:
    """Decoded user data of a launch template / instance / launch configuration."""
    if resource_type == LAUNCH_TEMPLATE:
        ud = get(props, "userData")
        return ud if ud in (None, UNKNOWN) else decode_user_data(ud, base64_encoded=True)
    if resource_type in (INSTANCE, LAUNCH_CONFIGURATION):
        b64 = get(props, "userDataBase64")
        if b64 is UNKNOWN:
            return UNKNOWN
        if b64:
            return decode_user_data(b64, base64_encoded=True)
        ud = get(props, "userData")
        return ud if ud in (None, UNKNOWN) else decode_user_data(ud, base64_encoded=False)
    return None


# -- scanning -----------------------------------------------------------------------------------
def find_secrets(text: str, secret_values: Iterable[str] = (), min_length: int = 8) -> list[str]:
    """What in `text` looks like a secret (a description per finding, never the value itself)."""
    found = []
    for name, pattern in KEY_PATTERNS:
        if pattern.search(text):
            found.append(f"a {name}")
    for m in ASSIGNMENT.finditer(text):
        if not NOT_A_VALUE.match(m.group("value")):
            found.append(f"a literal value assigned to {m.group('name')}")
    for i, value in enumerate(sorted({v for v in secret_values if len(v) >= min_length})):
        if value in text:
            found.append(f"the value of one of the stack's secrets (#{i + 1})")
    return found


def _config_secrets() -> list[str]:
    """Secret stack config values, when the Pulumi CLI hands the stack's config to the pack."""
    try:
        raw = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
        secret_keys = json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]")
    except ValueError:
        return []
    values: list[str] = []
    for key in secret_keys:
        value = raw.get(key)
        if not isinstance(value, str):
            continue
        try:
            values.extend(strings_in(json.loads(value)))
        except ValueError:
            values.append(value)
    return values


def stack_secret_values(resources: Iterable[Any], extra: Iterable[str] = ()) -> list[str]:
    """Every secret value the stack itself holds (the policy sees them in plain text)."""
    values = list(extra) + _config_secrets()
    for r in resources:
        if r.resource_type == SSM_PARAMETER and get(r.props, "type") == "SecureString":
            values.extend(strings_in(get(r.props, "value")))
        elif r.resource_type == SECRET_VERSION:
            values.extend(strings_in(get(r.props, "secretString")))
        elif r.resource_type == PRIVATE_KEY:
            values.extend(strings_in(get(r.props, "privateKeyPem")))
    return [v for v in values if isinstance(v, str) and v]


USER_DATA_DEFAULTS: dict[str, Any] = {"secretValues": [], "minSecretLength": 8}


def validate_user_data(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, USER_DATA_DEFAULTS)
    secrets = stack_secret_values(args.resources, cfg["secretValues"])
    for r in args.resources:
        if r.resource_type not in (LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION):
            continue
        text = user_data_of(r.resource_type, r.props)
        if not text or text is UNKNOWN:
            continue
        findings = find_secrets(text, secrets, int(cfg["minSecretLength"]))
        if findings:
            report(
                f"{label(r.resource_type, r.name)}: user data contains {'; '.join(findings)}. "
                "User data is readable by any process on the VM via IMDS, by anyone allowed "
                "ec2:DescribeInstanceAttribute, and is stored unencrypted in the Pulumi state. "
                "Put secrets in SSM SecureString / Secrets Manager and fetch them at boot.",
                r.urn,
            )


user_data_no_secrets = StackValidationPolicy(
    name="user-data-no-secrets",
    description="User data (decoded: base64, gzip, MIME) contains no key material, no literal "
    "secret assignments and none of the stack's secret values.",
    validate=validate_user_data,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(
        properties={
            "secretValues": {"type": "array", "items": {"type": "string"}},
            "minSecretLength": {"type": "integer", "minimum": 1},
        }
    ),
)

POLICIES: list[Any] = [user_data_no_secrets]
