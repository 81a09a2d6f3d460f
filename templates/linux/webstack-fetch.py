"""webstack-fetch: get this VM's artifact and secrets from S3 / SSM with the instance role.

Uses boto3, so AWS_ENDPOINT_URL / AWS_* credentials in the environment are honoured (the boot
rehearsal points them at a local stand-in). Secrets are written 0600 and never printed.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import sys

import boto3

# What a release pointer may hold (components/plan/release.py writes it).
_POINTER_FIELDS = ("release", "package_key", "package_sha256", "config_key", "config_sha256",
                   "secrets", "secrets_version", "requirement", "release_command")  # fmt: skip


def _write_private(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _quote(value: str) -> str:
    if "\n" in value or "\x00" in value:
        raise SystemExit("webstack-fetch: a secret value spans lines; store it on one line")
    # The same escaping as render._systemd_quote: systemd and the bootstrap's shell read it alike.
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    )
    return '"' + escaped + '"'


def _pointer_shell(source: str, region: str) -> str:
    """The pointer's fields as `WS_<FIELD>=<shell-quoted>` lines, refused unless well formed."""
    if source.startswith("file:"):
        with open(source[5:]) as f:
            text = f.read()
    else:
        ssm = boto3.client("ssm", region_name=region)
        text = ssm.get_parameter(Name=source)["Parameter"]["Value"]
    body = json.loads(text)
    if not re.fullmatch(r"r-[0-9a-f]{16}", str(body.get("release", ""))):
        raise SystemExit("webstack-fetch: the release pointer has no valid release id")
    for key in ("package_sha256", "config_sha256"):
        if body.get(key) and not re.fullmatch(r"[0-9a-f]{64}", str(body[key])):
            raise SystemExit(f"webstack-fetch: the release pointer's {key} is not a SHA-256")
    lines = []
    for key in _POINTER_FIELDS:
        value = body.get(key, "")
        if key == "release_command":
            value = shlex.join(value or [])
        elif key == "secrets":
            value = " ".join(value or [])
        lines.append(f"WS_{key.upper()}={shlex.quote(str(value))}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(prog="webstack-fetch")
    p.add_argument("--region", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    s3 = sub.add_parser("s3", help="download s3://BUCKET/KEY to DEST")
    s3.add_argument("bucket")
    s3.add_argument("key")
    s3.add_argument("dest")
    env = sub.add_parser("ssm-env", help="write SecureStrings PREFIX/NAME as NAME=value lines")
    env.add_argument("prefix")
    env.add_argument("dest")
    env.add_argument("names", nargs="*")
    s3.add_argument("--sha256", default="", help="refuse the file unless it has this digest")
    ptr = sub.add_parser(
        "pointer", help="print the release pointer (SSM name or file:PATH) as shell"
    )
    ptr.add_argument("source")
    one = sub.add_parser("ssm-file", help="write one SecureString to DEST (0600)")
    one.add_argument("name")
    one.add_argument("dest")
    a = p.parse_args()

    if a.cmd == "s3":
        os.makedirs(os.path.dirname(a.dest), exist_ok=True)
        boto3.client("s3", region_name=a.region).download_file(a.bucket, a.key, a.dest)
        if a.sha256:
            digest = hashlib.sha256()
            with open(a.dest, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            got = digest.hexdigest()
            if got != a.sha256:
                os.unlink(a.dest)
                raise SystemExit(f"webstack-fetch: {a.key} has SHA-256 {got}, expected {a.sha256}")
        return 0
    if a.cmd == "pointer":
        print(_pointer_shell(a.source, a.region))
        return 0
    ssm = boto3.client("ssm", region_name=a.region)
    if a.cmd == "ssm-file":
        value = ssm.get_parameter(Name=a.name, WithDecryption=True)["Parameter"]["Value"]
        _write_private(a.dest, value.encode())
        return 0
    lines = []
    for name in a.names:
        param = a.prefix.rstrip("/") + "/" + name
        try:
            value = ssm.get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            raise SystemExit(f"webstack-fetch: the secret {param} does not exist") from None
        lines.append(f"{name}={_quote(value)}\n")
    _write_private(a.dest, "".join(lines).encode())
    print(f"webstack-fetch: wrote {len(lines)} secret(s) to {a.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
