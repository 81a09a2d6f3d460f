"""webstack-release on 127.0.0.1: the rendered activation script, the rendered units and Nginx, with
moto as S3 + SSM. Release 2 goes live over release 1 under ~50 req/s with 0 failed requests; broken
releases (import error, failing health path, missing secret) exit non-zero while release 2 keeps
serving (0 failed requests, none served by the broken one); a rotated secret arrives without a
restart of anything but the app's slot. systemd is stood in for by tests/helpers/servicectl.py,
which runs the same unit file; everything else is the bytes a VM runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.plan.linux_layout import HostLayout, local_layout
from components.plan.tier import plan_tier
from components.render.common import CloudRefs, file_mode
from components.render.linux import render_linux_infra
from components.render.packaging import build_package
from components.render.release import release_script_path
from components.tooling.local.procs import free_port
from components.tooling.rate_load import RateLoad
from components.tooling.release_stage import publish_pointer
from tests.helpers.specs import linux_spec
from tests.helpers.tools import require_tool as require

REGION = "us-east-1"
BUCKET = "webstack-release-test"
SERVICECTL = Path(__file__).resolve().parents[1] / "helpers" / "servicectl.py"
APP_SOURCE = """import hashlib, os
RELEASE = os.environ.get("WEBSTACK_RELEASE", "?")
TOKEN = hashlib.sha256(os.environ.get("APP_TOKEN", "").encode()).hexdigest()[:12]
{broken_import}
def app(environ, start_response):
    failing = {failing_health} and environ["PATH_INFO"] == "/healthz"
    start_response("500 Broken" if failing else "200 OK",
                   [("Content-Type", "text/plain"), ("X-Release", RELEASE), ("X-Token", TOKEN)])
    return [RELEASE.encode()]
"""


def nginx_load(port: int) -> RateLoad:
    """~50 req/s of `/` through the host's Nginx; every answer counted by its X-Release."""

    def ask(_n: int) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/", headers={"Host": "localhost"})
            resp = conn.getresponse()
            resp.read()
            return resp.status, resp.getheader("X-Release") or "?"
        finally:
            conn.close()

    return RateLoad(ask, rate=50.0)


class Host:
    """One VM's files under a temp root, its AWS (moto) and the activation script's runs."""

    def __init__(self, root: Path, endpoint: str, own_venv: bool = False) -> None:
        require("nginx")
        require("curl")
        self.root = root
        self.spec = linux_spec(wsgi="app:app", secrets=["APP_TOKEN"], static=None)
        self.app = self.spec.apps[0]
        self.plan = plan_tier(self.spec, self.app)
        self.layout: HostLayout = local_layout(
            root,
            free_port(),
            free_port(),
            venv=None if own_venv else Path(sys.prefix),  # own: the VM's venv per build
            trusted_proxy_cidrs=(),
        )
        self.prefix = f"/webstack/test/{self.app.name}"
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "WEBSTACK_SERVICE_CTL": " ".join(
                [
                    sys.executable,
                    str(SERVICECTL),
                    "--systemd-dir",
                    str(self.layout.systemd_dir),
                    "--run-dir",
                    str(self.layout.run_dir),
                    "--state",
                    str(root / "ctl"),
                    "--nginx-conf",
                    str(self.layout.nginx_conf),
                    "--log-dir",
                    str(self.layout.log_dir),
                ]
            ),
        }
        import boto3

        kw = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, **kw)
        self.ssm = boto3.client("ssm", region_name=REGION, endpoint_url=endpoint, **kw)
        self.s3.create_bucket(Bucket=BUCKET)
        self.put_secret("APP_TOKEN", "token-1")
        refs = CloudRefs(region=REGION, bucket=BUCKET, package_key="", ssm_prefix=self.prefix)
        for target, text in render_linux_infra(self.plan, self.app, self.layout, refs).items():
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(int(file_mode(target), 8))
        for sub in ("log", "nginx-state", "run"):
            (root / sub).mkdir(exist_ok=True)
        tools = Path(self.layout.tools_dir) / "tools" / "bin"  # the bootstrap's boto3 venv
        tools.mkdir(parents=True)
        (tools / "python").symlink_to(sys.executable)
        self.script = str(release_script_path(self.app, self.layout))

    def put_secret(self, name: str, value: str) -> None:
        self.ssm.put_parameter(
            Name=f"{self.prefix}/{name}", Value=value, Type="SecureString", Overwrite=True
        )

    def publish(
        self,
        n: int,
        broken: str = "",
        secrets: tuple[str, ...] = ("APP_TOKEN",),
        release_command: list[str] | None = None,
    ) -> str:
        """Upload release `n` (code, env) and point the SSM pointer at it; return its id."""
        src = self.root / "src" / f"{n}-{broken}"
        src.mkdir(parents=True, exist_ok=True)
        (src / "app.py").write_text(
            APP_SOURCE.format(
                broken_import="import no_such_module_in_release" if broken == "import" else "",
                failing_health=broken == "health",
            )
        )
        (src / "VERSION").write_text(str(n))
        package, key = build_package(src, self.root / "build", self.app.name)
        self.s3.upload_file(str(package), BUCKET, key)
        app = self.app.model_copy(update={"release_command": release_command})
        return publish_pointer(
            self.s3, self.ssm, self.plan, app, self.layout,
            bucket=BUCKET, ssm_prefix=self.prefix, package=package, package_key=key,
            secrets=secrets,
        )  # fmt: skip

    def activate(self, **env: str) -> tuple[int, float, str]:
        started = time.monotonic()
        run = subprocess.run(
            ["bash", self.script],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=180,
        )
        return run.returncode, time.monotonic() - started, run.stderr

    def served_release(self) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", self.layout.http_port, timeout=5)
        conn.request("GET", "/", headers={"Host": "localhost"})
        resp = conn.getresponse()
        resp.read()
        return resp.getheader("X-Release") or ""

    def stop(self) -> None:
        ctl = self.root / "ctl"
        for pid_file in ctl.glob("*.pid") if ctl.exists() else []:
            subprocess.run(
                [*self.env["WEBSTACK_SERVICE_CTL"].split(), "stop", pid_file.stem], env=self.env
            )
        pid = Path(self.layout.nginx_pid)
        if pid.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid.read_text()), signal.SIGQUIT)


@pytest.fixture(params=[False])
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    root = Path(tempfile.mkdtemp(prefix="wsr", dir="/tmp"))  # short: AF_UNIX paths <= 107
    h = Host(root, f"http://127.0.0.1:{port}", own_venv=request.param)
    try:
        yield h
    finally:
        h.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_release_2_goes_live_under_load_and_broken_releases_change_nothing(host: Host) -> None:
    r1 = host.publish(1)
    code, seconds, log = host.activate()
    assert code == 0, f"release 1 (first boot) failed:\n{log}"
    assert host.served_release() == r1
    code, _, log = host.activate()
    assert code == 0 and "already active" in log, f"activation must be idempotent:\n{log}"

    r2 = host.publish(2)
    with nginx_load(host.layout.http_port) as load:
        time.sleep(1)
        code, seconds, log = host.activate()
        time.sleep(1)
    assert code == 0, f"release 2 failed:\n{log}"
    print(f"release 2: switched and verified in {seconds:.1f}s; load {dict(load.statuses)}")
    assert load.failed == 0, f"requests failed during the switch: {dict(load.statuses)}\n{log}"
    assert load.releases[r1] > 0 and load.releases[r2] > 0, dict(load.releases)
    assert host.served_release() == r2

    for broken, secrets in (
        ("import", ("APP_TOKEN",)),
        ("health", ("APP_TOKEN",)),
        ("", ("APP_TOKEN", "NOT_STORED")),
    ):
        r3 = host.publish(3, broken, secrets)
        with nginx_load(host.layout.http_port) as load:
            time.sleep(0.5)
            code, seconds, log = host.activate()
            time.sleep(0.5)
        what = broken or "missing secret"
        print(f"release 3 ({what}): refused in {seconds:.1f}s; load {dict(load.statuses)}")
        assert code != 0, f"a broken release ({what}) must fail the activation:\n{log}"
        assert f"release {r2} keeps serving" in log, log
        assert load.failed == 0, f"{what}: requests failed: {dict(load.statuses)}"
        assert r3 not in load.releases and set(load.releases) == {r2}, (
            f"{what}: release 3 served: {dict(load.releases)}"
        )
        assert host.served_release() == r2


def test_a_rotated_secret_reaches_the_app_without_a_failed_request(host: Host) -> None:
    host.publish(1)
    assert host.activate()[0] == 0
    host.put_secret("APP_TOKEN", "token-2")
    r2 = host.publish(1)  # same code and env: only the secret's SSM version changed
    with nginx_load(host.layout.http_port) as load:
        code, _, log = host.activate()
    assert code == 0, log
    assert load.failed == 0, dict(load.statuses)
    conn = http.client.HTTPConnection("127.0.0.1", host.layout.http_port, timeout=5)
    conn.request("GET", "/", headers={"Host": "localhost"})
    resp = conn.getresponse()
    assert resp.getheader("X-Release") == r2
    assert resp.getheader("X-Token") == hashlib.sha256(b"token-2").hexdigest()[:12]


def test_a_failing_release_command_stops_the_release_and_runs_once_per_release(host: Host) -> None:
    """issue 17: a migration that exits 1 stops the release before its start; the previous release
    keeps serving with 0 failed requests. issue 13: the channel's skip keeps it to one instance."""
    r1 = host.publish(1)
    assert host.activate()[0] == 0
    migrate = ["python", "-c", "import sys; sys.exit('migrate: relation already exists')"]
    r2 = host.publish(2, release_command=migrate)
    with nginx_load(host.layout.http_port) as load:
        time.sleep(0.5)
        code, _, log = host.activate()
        time.sleep(0.5)
    assert code != 0 and "release command failed" in log, log
    assert f"release {r1} keeps serving" in log and "start slot" not in log, log
    assert load.failed == 0 and set(load.releases) == {r1}, dict(load.statuses)
    assert r2 not in load.releases and host.served_release() == r1

    ran = host.root / "migrations-ran"
    once = ["python", "-c", f"open({str(ran)!r}, 'a').write('x')"]
    host.publish(3, release_command=once)
    code, _, log = host.activate(WEBSTACK_RELEASE_COMMAND="skip")  # not the first instance
    assert code == 0 and "release command skipped" in log and not ran.exists(), log
    host.publish(4, release_command=once)
    code, _, log = host.activate()  # the first instance: runs it, exactly once
    assert code == 0 and ran.read_text() == "x", log


def test_two_activations_at_once_run_one_after_the_other(host: Host) -> None:
    """The boot's activation and a channel command (or one by hand) on one VM: the second waits
    for the first's lock, then finds the release active and only re-checks it."""
    r2 = host.publish(2)
    first_log = host.root / "first.log"
    with first_log.open("w") as sink:
        first = subprocess.Popen(["bash", host.script], env=host.env, stderr=sink, text=True)
    deadline = time.monotonic() + 60
    while f"release {r2} (active: none" not in first_log.read_text():  # it holds the lock now
        assert first.poll() is None, first_log.read_text()
        assert time.monotonic() < deadline, "the first activation never started"
        time.sleep(0.05)
    code, _, second = host.activate()
    assert first.wait(180) == 0, first_log.read_text()
    assert code == 0, second
    assert f"release {r2} is already active and healthy" in second, second
    assert "stage" not in second and "start slot" not in second, "it ran beside the first"
    assert host.served_release() == r2
