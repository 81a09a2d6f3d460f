"""Boot rehearsal: the exact Linux user data boots a Debian 12 root under systemd + cloud-init here.

`python -m components.tooling.vm_rehearsal --stack dev` (`make rehearse-vm`; root only) takes the stack's Linux
app with its image set to debian-12, renders its user data exactly as the launch template carries it
(the gzipped cloud-config, base64-decoded as EC2 hands it to cloud-init), seeds it through NoCloud into
a Debian 12 root, boots that root with systemd as PID 1 (`components.tooling.vm_guest`), waits for cloud-init
and checks from the host what a load balancer and an operator would. What the cloud provides comes
from stand-ins outside the user data: a moto server on 127.0.0.1 as the artifact bucket and SSM, and
its endpoint and credentials in a systemd drop-in for cloud-final.service.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.plan.checks import load_stack_spec
from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import vm_layout
from components.plan.tier import plan_tier
from components.render.common import CloudRefs, user_data_base64
from components.render.linux import render_linux_user_data
from components.render.packaging import build_package
from components.spec.stack import AppSpec, StackSpec
from components.tooling.config import read_stack_file
from components.tooling.errors import CommandError
from components.tooling.extras import require
from components.tooling.local.procs import free_port
from components.tooling.release_stage import publish_pointer
from components.tooling.vm_agent_checks import check_agent_inputs, install_standin
from components.tooling.vm_checks import check_serving
from components.tooling.vm_guest import (
    Guest,
    RehearsalError,
    Timings,
    ensure_base,
    log,
    mounts_under,
    port_in_use,
    run,
)
from components.tooling.vm_release import Activation, Booted, rehearse_releases
from components.tooling.vm_release import table as release_table
from components.tooling.vm_seed import prepare_guest, self_signed

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("WEBSTACK_REHEARSAL_CACHE", "/var/cache/webstack-rehearsal"))
PASS_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
PASS_ENV += ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT")
STEP_LINE = re.compile(r"^webstack: \[(\d\d):(\d\d):(\d\d)\] (.*)$")


@dataclass
class Rehearsal:
    """One boot's outcome: checks, timings, and the guest (the test checks its teardown)."""

    stack: str
    app: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    guest: Guest | None = None
    user_data_bytes: int = 0
    releases: list[Activation] = field(default_factory=list)  # with `releases=True`


# -- stand-ins for the cloud -----------------------------------------------------------------------
class CloudStandIn:
    """moto on 127.0.0.1 (the guest shares this network) as the artifact bucket and SSM."""

    def __init__(self, region: str) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.region, self.port = region, free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        moto_server = require(
            "moto.server", "local", "the boot rehearsal's stand-in for S3 and SSM"
        )
        self.server = moto_server.ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )
        self.server.start()
        self.stopped = False

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="rehearsal",
            aws_secret_access_key="rehearsal",
        )

    def seed(self, bucket: str, key: str, package: Path | None, params: dict[str, str]) -> None:
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            where = {"LocationConstraint": self.region}
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)
        if package is not None:
            s3.upload_file(str(package), bucket, key)
        ssm = self.client("ssm")
        for name, value in params.items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)

    def guest_environment(self) -> dict[str, str]:
        """What cloud-final (so the bootstrap) gets instead of an instance role and real AWS."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        env |= {k: os.environ[k] for k in PASS_ENV if os.environ.get(k)}
        if any(k.lower().endswith("_proxy") for k in env):  # moto is reached directly
            for k in ("no_proxy", "NO_PROXY"):
                env[k] = ",".join(filter(None, [env.get(k), "127.0.0.1", "localhost"]))
        return env

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.stop()


# -- the spec and the wait ------------------------------------------------------------------------
def rehearsal_spec(
    stack_file: Path, app_name: str | None = None, extra_packages: tuple[str, ...] = ()
) -> tuple[StackSpec, AppSpec, str]:
    """The stack with its Linux app's image set to debian-12 (plus any injected extra packages)."""
    raw, names = read_stack_file(stack_file)
    apps = [a for a in raw.get("apps") or [] if isinstance(a, dict)]
    picked = [a for a in apps if a.get("os", "linux") == "linux" and app_name in (None, a["name"])]
    if not picked:
        raise RehearsalError(f"{stack_file.name}: no Linux app {app_name or ''} to rehearse")
    tier = picked[0].setdefault("linux", {})
    tier["image"] = "debian-12"
    tier.pop("image_family", None)
    if extra_packages:
        tier["extra_packages"] = [*tier.get("extra_packages", []), *extra_packages]
    spec = load_stack_spec(raw, names)
    app = next(a for a in spec.apps if a.name == picked[0]["name"])
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    return spec, app, str(config.get("aws:region", "us-east-1"))


def _echo_steps(out_log: Path, pos: int) -> int:
    """Print the bootstrap's new `webstack:` lines; the new read position."""
    try:
        with out_log.open("rb") as f:
            f.seek(pos)
            chunk = f.read()
    except OSError:
        return pos
    end = chunk.rfind(b"\n") + 1
    for line in chunk[:end].decode(errors="replace").splitlines():
        if line.startswith("webstack:"):
            log(f"  guest| {line}")
    return pos + end


def step_durations(out_log: Path) -> list[tuple[str, float]]:
    """Seconds per bootstrap step, from its timestamped `webstack: [hh:mm:ss] step` lines."""
    text = out_log.read_text(errors="replace") if out_log.exists() else ""
    marks = []
    for m in filter(None, map(STEP_LINE.match, text.splitlines())):
        h, mi, s, name = m.groups()
        marks.append((name, int(h) * 3600 + int(mi) * 60 + int(s)))
    return [(n, float((marks[i + 1][1] - t) % 86400)) for i, (n, t) in enumerate(marks[:-1])]


def wait_for_cloud_init(guest: Guest, timeout: float, units: tuple[str, ...] = ()) -> str:
    """`cloud-init status --wait` inside, bounded; RehearsalError with the logs on any failure."""
    wait = ["timeout", "-k", "5", str(int(timeout)), "cloud-init", "status", "--wait", "--long"]
    status_file = guest.run_dir / "cloud-init-status.txt"
    with status_file.open("w") as sink:  # a file, not a pipe: what nsenter started may outlive it
        p = subprocess.Popen([*guest.nsenter(), *wait], stdin=subprocess.DEVNULL, stdout=sink)
    deadline, pos = time.monotonic() + timeout + 20, 0
    try:
        while p.poll() is None:
            pos = _echo_steps(guest.path("/var/log/cloud-init-output.log"), pos)
            if not guest.alive():
                raise RehearsalError("systemd in the root died during cloud-init")
            if time.monotonic() > deadline:
                raise RehearsalError(f"cloud-init did not finish in {timeout:.0f}s")
            time.sleep(1)
        _echo_steps(guest.path("/var/log/cloud-init-output.log"), pos)
        out = status_file.read_text(errors="replace").strip(". \n")
        if p.returncode == 124:
            raise RehearsalError(f"cloud-init did not finish in {timeout:.0f}s")
        result = guest.path("/run/cloud-init/result.json")
        errors = json.loads(result.read_text())["v1"]["errors"] if result.exists() else ["none"]
        if p.returncode != 0 or "status: done" not in out or errors:
            raise RehearsalError(f"cloud-init failed: {out}\nerrors: {errors}")
        return out
    except RehearsalError as e:
        e.diagnostics = e.diagnostics or guest.diagnostics(("cloud-final.service", *units))
        raise
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)


# -- the rehearsal ---------------------------------------------------------------------------------
def preflight(ports: list[int]) -> None:
    if os.geteuid() != 0:
        raise RehearsalError("the boot rehearsal needs root (debootstrap, namespaces, mounts)")
    tools = ("debootstrap", "unshare", "nsenter", "setpriv", "openssl")
    if missing := [c for c in tools if shutil.which(c) is None]:
        raise RehearsalError(f"missing {' '.join(missing)}: apt-get install debootstrap openssl")
    for port in ports:
        if port_in_use(port):
            ss = ["ss", "-Hltnp", f"sport = :{port}"]
            who = run(ss, 10, check=False).strip() if shutil.which("ss") else ""
            raise RehearsalError(
                f"port {port} is in use on this host ({who or 'unknown listener'}); the guest "
                "shares the host's network and its Nginx needs the port: stop the host's server "
                "first (e.g. `systemctl stop nginx`)"
            )


def prune_stale_runs(cache_dir: Path, older_than: float = 6 * 3600) -> None:
    """Remove run/build dirs a killed rehearsal left (their guests died with it: pdeathsig)."""
    for d in [*cache_dir.glob("run-*"), *cache_dir.glob("build-*")]:
        if time.time() - d.stat().st_mtime > older_than and not mounts_under(d):
            shutil.rmtree(d, ignore_errors=True)


# Long: the rehearsal's steps in order (root, user data, boot, checks, teardown) under one cleanup.
def rehearse(
    stack: str = "dev",
    app_name: str | None = None,
    extra_packages: tuple[str, ...] = (),
    timeout: float = 600,
    cache_dir: Path = CACHE_DIR,
    fresh_base: bool | None = None,
    keep: bool = False,
    project_root: Path = PROJECT_ROOT,
    result: Rehearsal | None = None,
    releases: bool = False,
) -> Rehearsal:
    """Boot the stack's Linux user data in a Debian 12 root and check it serves; always tears down.

    `fresh_base` None = debootstrap again under CI (CI=true), else reuse the cached base root.
    Pass `result` to keep the guest's identity even when this raises. `releases`: then activate
    releases 2, broken 3, a failing migration and a rotated secret in it (vm_release).
    """
    r = result or Rehearsal(stack)
    t, cloud = r.timings, None
    prune_stale_runs(cache_dir)
    fresh = os.environ.get("CI") == "true" if fresh_base is None else fresh_base
    try:
        with t.phase("preflight + spec"):
            stack_file = project_root / f"Pulumi.{stack}.yaml"
            spec, app, region = rehearsal_spec(stack_file, app_name, extra_packages)
            r.app, layout, tls = app.name, vm_layout(app.linux.family), spec.edge.mode == "nginx"
            preflight([layout.http_port, layout.https_port] if tls else [layout.http_port])
        with t.phase("base root"):
            base = ensure_base(cache_dir, fresh, t)
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=cache_dir))
        r.guest = guest = Guest(base, run_dir, keep=keep)
        atexit.register(guest.close)
        with t.phase("stand-ins (moto, package, TLS)"):
            cloud = CloudStandIn(region)
            atexit.register(cloud.stop)
            prefix = stack_ssm_prefix(spec.environment, app.name)
            values = {n: "rehearsal-" + secrets.token_urlsafe(18) for n in app.secrets}
            params = {f"{prefix}/{n}": v for n, v in values.items()}
            package, key, source = None, "", app.source_or_default
            if source.kind == "path":
                assert source.path is not None
                built = build_package(project_root / source.path, run_dir / "build", app.name)
                package, key = built
            cert_pem, cafile = None, None
            if tls:
                names = [h for h in app.hostnames if not h.startswith("*.")] or ["localhost"]
                cert_pem, key_pem = self_signed(run_dir, names)
                params[f"{prefix}/tls-private-key"] = key_pem  # as the Pulumi program stores it
                cafile = run_dir / "tls.crt"
            bucket = f"webstack-{spec.environment}-artifacts-bucket-{secrets.token_hex(4)}"
            cloud.seed(bucket, key, package, params)
            # The release the VM activates at boot: its pointer and config object, as `pulumi up`.
            release_id = publish_pointer(
                cloud.client("s3"), cloud.client("ssm"), plan_tier(spec, app), app, layout,
                bucket=bucket, ssm_prefix=prefix, package=package, package_key=key,
            )  # fmt: skip
        with t.phase("render user data"):
            refs = CloudRefs(
                region=region,
                bucket=bucket,
                package_key=key,
                ssm_prefix=prefix,
                tls_cert_pem=cert_pem,
            )
            text = render_linux_user_data(plan_tier(spec, app), app, layout, refs)
            (run_dir / "user-data.yaml").write_text(text)
            # What the launch template carries, decoded as EC2 hands it to cloud-init (gzip).
            packed = base64.b64decode(user_data_base64(text, app.name))
            r.user_data_bytes = len(packed)
            # No AWS to ship to: the bootstrap runs the agent stand-in on the same config.
            env = cloud.guest_environment() | install_standin(guest)
            prepare_guest(guest, packed, f"{app.name}-rehearsal", env)
        with t.phase("boot to systemd"):
            guest.boot()
        with t.phase("cloud-init + bootstrap"):
            # The slots' journals too: a release that fails to start stops its unit (not "failed").
            slots = tuple(f"webstack-{app.name}@{s}.service" for s in (1, 2))
            wait_for_cloud_init(guest, timeout, slots)
        for name, secs in step_durations(guest.path("/var/log/cloud-init-output.log")):
            t.phases[f"  bootstrap: {name}"] = secs
        with t.phase("checks from the host"):
            r.checks = check_serving(guest, app, layout, cafile, values, release_id)
            if spec.observability.enabled:
                check_agent_inputs(guest, app, layout, r.checks, cafile)
        if releases:
            with t.phase("releases (2, broken 3, migration, secret)"):
                code = project_root / (source.path or "")  # release 1's package came from it
                booted = Booted(guest, cloud, spec, app, layout, bucket, prefix, cafile,
                                release_id, code, run_dir)  # fmt: skip
                r.releases = rehearse_releases(booted, t)
        return r
    except RehearsalError as e:
        log(f"FAILED: {e}\n{e.diagnostics}".rstrip())
        raise
    finally:
        with t.phase("teardown"):
            if cloud is not None:
                cloud.stop()
            if r.guest is not None:
                r.guest.close()
        log(t.table())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m components.tooling.vm_rehearsal", description=__doc__
    )
    p.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml")
    p.add_argument("--app", help="which Linux app (default: the first)")
    p.add_argument(
        "--extra-package",
        action="append",
        default=[],
        help="inject an OS package through the spec (a wrong name shows a failing boot)",
    )
    p.add_argument("--timeout", type=float, default=600, help="bound for cloud-init (seconds)")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    p.add_argument("--fresh-base", action="store_true", help="debootstrap again (CI always does)")
    p.add_argument("--keep", action="store_true", help="keep the run's files (changes, logs)")
    p.add_argument("--releases", action="store_true", help="then release 2, broken 3, migration")
    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the teardown runs
    fresh = True if a.fresh_base else None
    try:
        extra = tuple(a.extra_package)
        r = rehearse(
            a.stack, a.app, extra, a.timeout, a.cache_dir, fresh, a.keep, releases=a.releases
        )
    except RehearsalError as e:
        print(f"boot rehearsal FAILED: {e}", file=sys.stderr)
        return 1
    except CommandError as e:
        print(f"boot rehearsal: {e}", file=sys.stderr)
        return e.code
    print(f"boot rehearsal of {r.stack}/{r.app} passed ({r.user_data_bytes} bytes of user data):")
    for name, outcome in r.checks.items():
        print(f"  {name}: {outcome}")
    if r.releases:
        print(release_table(r.releases))
    failed = {a.name: a.problems() for a in r.releases if a.problems()}
    for name, problems in failed.items():
        print(f"release rehearsal FAILED: {name}: {'; '.join(problems)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
