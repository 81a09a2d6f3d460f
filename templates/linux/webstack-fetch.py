"""webstack-fetch: get this VM's artifact and secrets from S3 / SSM with the instance role.

Uses boto3, so AWS_ENDPOINT_URL / AWS_* credentials in the environment are honoured (the boot
rehearsal points them at a local stand-in). Secrets are written 0600 and never printed.
"""

import argparse
import os
import sys

import boto3


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
    one = sub.add_parser("ssm-file", help="write one SecureString to DEST (0600)")
    one.add_argument("name")
    one.add_argument("dest")
    a = p.parse_args()

    if a.cmd == "s3":
        os.makedirs(os.path.dirname(a.dest), exist_ok=True)
        boto3.client("s3", region_name=a.region).download_file(a.bucket, a.key, a.dest)
        return 0
    ssm = boto3.client("ssm", region_name=a.region)
    if a.cmd == "ssm-file":
        value = ssm.get_parameter(Name=a.name, WithDecryption=True)["Parameter"]["Value"]
        _write_private(a.dest, value.encode())
        return 0
    lines = []
    for name in a.names:
        param = a.prefix.rstrip("/") + "/" + name
        value = ssm.get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
        lines.append(f"{name}={_quote(value)}\n")
    _write_private(a.dest, "".join(lines).encode())
    print(f"webstack-fetch: wrote {len(lines)} secret(s) to {a.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
