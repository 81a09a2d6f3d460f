"""Releases inside the booted rehearsal guest (issues 13 and 17), after release 1 serves.

`rehearse(..., releases=True)` (`python -m components.tooling.vm_rehearsal --releases`) hands the
live guest here. Each release is published as `pulumi up` would (components/tooling/release_stage.py
on the moto stand-in) and activated by the release channel's own command line
(`release_wait.command()`), written to `_script.sh` and run with `sh -c` inside the guest as the
SSM agent's aws:runShellScript plugin does (amazon-ssm-agent agent/plugins/runscript/
runshellscript.go: `_script.sh`, `sh`, `-c`), while a bounded load of ~50 req/s from the host goes
through the guest's Nginx (TLS, the app's Host) and every answer is counted with its release id.

The releases after 1 are packages built from a copy of the app whose `create_app()` adds an
`X-Release` header (the id the activation writes into the release's env); release 1 is the
unmodified app, so an answer without the header is release 1's. There is no PostgreSQL in the
Debian root: the failing migration is a release command in the package that fails as `manage.py
migrate` does against a broken migration (a traceback, exit 1).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from components.aws.release_wait import Rollout, command
from components.plan import release as release_plan
from components.plan.linux_layout import HostLayout
from components.plan.tier import plan_tier
from components.render.packaging import build_package
from components.render.release import release_script_path
from components.spec.stack import AppSpec, StackSpec
from components.tooling.rate_load import RateLoad
from components.tooling.release_stage import publish_pointer
from components.tooling.vm_checks import request
from components.tooling.vm_guest import Guest, RehearsalError, Timings, log

LOAD_RATE = 50.0  # requests per second from the host, during each activation
# Every 5th request goes to `/` (10 r/s: under the dev stack's 20 r/s per-IP limit); the rest go to
# the health path, which Nginx leaves unlimited for loopback (a trusted health peer).
APP_PATH_EVERY = 5
ACTIVATION_TIMEOUT = 300.0
SWITCHED = "switched to release"
RELEASE_HOOK = """

# -- added by the boot rehearsal (components/tooling/vm_release.py): release id, broken health --
_rehearsal_create_app = create_app


def create_app() -> Flask:
    app = _rehearsal_create_app()

    @app.before_request
    def _rehearsal_health() -> Response | None:
        if {failing_health} and request.path == {health_path!r}:
            return Response("release rehearsal: a broken health path", status=500)
        return None

    @app.after_request
    def _rehearsal_release(resp: Response) -> Response:
        resp.headers["X-Release"] = os.environ.get("WEBSTACK_RELEASE", "")
        return resp

    return app
"""
MIGRATION = '''"""Stands in for `manage.py migrate` against a broken migration (no PostgreSQL here)."""
raise RuntimeError('django.db.utils.ProgrammingError: relation "sample_note" already exists')
'''


@dataclass
class Booted:
    """The live guest after release 1 serves, and what the rehearsal published for it."""

    guest: Guest
    cloud: Any  # vm_rehearsal.CloudStandIn: .client(service), .guest_environment()
    spec: StackSpec
    app: AppSpec
    layout: HostLayout
    bucket: str
    ssm_prefix: str
    cafile: Path | None
    boot_release: str  # release 1's id
    source_dir: Path  # the app's code (release 1's package was built from it)
    work_dir: Path


@dataclass
class Activation:
    """One run of the channel's command under load, and what it should have done."""

    name: str
    release_id: str
    previous: str  # the release serving before it
    expect_active: bool
    exit_code: int = -1
    seconds: float = 0.0  # wall clock of the whole command
    switched_seconds: float | None = None  # start to the script's "switched to release" stamp
    statuses: Counter[str] = field(default_factory=Counter)
    releases: Counter[str] = field(default_factory=Counter)
    served_after: str = ""
    output: str = ""
    expect_log: tuple[str, ...] = ()  # the script must print one of these (why it refused)
    secret_sha256: tuple[str, str] | None = None  # (expected, answered) for a rotated secret

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "200")

    def problems(self) -> list[str]:
        """What went wrong against the expectation; [] when the activation did what it should."""
        out = [f"{self.failed} failed requests: {dict(self.statuses)}"] if self.failed else []
        verdict = f"release {self.release_id} active" in self.output
        if self.expect_active:
            if self.exit_code != 0 or not verdict:
                out.append(f"exit {self.exit_code}, verdict line printed: {verdict}")
            if not (self.releases[self.previous] and self.releases[self.release_id]):
                out.append(f"requests did not switch from {self.previous}: {dict(self.releases)}")
            if self.served_after != self.release_id:
                out.append(f"serves {self.served_after or '?'} after it, not {self.release_id}")
        else:
            if self.exit_code == 0:
                out.append("a broken release exited 0")
            if self.releases[self.release_id] or set(self.releases) - {self.previous}:
                out.append(f"not only {self.previous} served: {dict(self.releases)}")
            if self.served_after != self.previous:
                out.append(f"serves {self.served_after or '?'} after it, not {self.previous}")
            if f"release {self.previous} keeps serving" not in self.output:
                out.append(f"the script did not say release {self.previous} keeps serving")
        if self.expect_log and not any(line in self.output for line in self.expect_log):
            out.append(f"the script printed none of {self.expect_log}")
        if self.secret_sha256 and self.secret_sha256[0] != self.secret_sha256[1]:
            out.append("the app does not answer with the rotated secret")
        return out


def guest_load(b: Booted) -> RateLoad:
    """~LOAD_RATE req/s from 4 threads through the guest's Nginx: 1 in APP_PATH_EVERY to `/`,
    the rest to the health path; a 200 without X-Release is the boot's release."""

    def ask(n: int) -> tuple[int, str | None]:
        path = "/" if n % APP_PATH_EVERY == 0 else b.app.health_path
        status, headers = answer(b, path)[:2]
        return status, (headers.get("x-release") or b.boot_release) if status == 200 else None

    return RateLoad(ask, LOAD_RATE, threads=4)


def answer(b: Booted, path: str) -> tuple[int, dict, bytes]:
    port = b.layout.https_port if b.cafile else b.layout.http_port
    return request(port, path, b.app.health_host, b.cafile)


def served_release(b: Booted) -> str:
    status, headers, _ = answer(b, b.app.health_path)
    return (headers.get("x-release") or b.boot_release) if status == 200 else f"HTTP {status}"


# -- the releases ------------------------------------------------------------------------------
class GuestReleases:
    """Publishes releases for the booted guest and activates them as the release channel does."""

    def __init__(self, b: Booted) -> None:
        self.b = b
        self.s3, self.ssm = b.cloud.client("s3"), b.cloud.client("ssm")
        self.plan = plan_tier(b.spec, b.app)
        self.runs = 0

    def package(self, name: str, variant: str = "") -> tuple[Path, str]:
        """A modified copy of the app (release id header; `variant` breaks it), uploaded."""
        src = self.b.work_dir / "releases" / name
        shutil.copytree(self.b.source_dir, src, ignore=shutil.ignore_patterns("__pycache__"))
        app_py = src / "app.py"
        if not app_py.is_file():
            raise RehearsalError(f"{self.b.source_dir}: no app.py with create_app() to modify")
        code = app_py.read_text()
        if variant == "import":
            code = "import no_such_module_in_this_release  # the broken release\n" + code
        hook = RELEASE_HOOK.format(
            failing_health=variant == "health", health_path=self.b.app.health_path
        )
        app_py.write_text(code + hook)
        if variant == "migration":
            (src / "migrate.py").write_text(MIGRATION)
        package, key = build_package(src, self.b.work_dir / "build", self.b.app.name)
        self.s3.upload_file(str(package), self.b.bucket, key)
        return package, key

    def publish(
        self,
        built: tuple[Path, str],
        secret_names: tuple[str, ...] | None = None,
        release_command: list[str] | None = None,
    ) -> str:
        app = self.b.app.model_copy(update={"release_command": release_command})
        return publish_pointer(
            self.s3, self.ssm, self.plan, app, self.b.layout,
            bucket=self.b.bucket, ssm_prefix=self.b.ssm_prefix, package=built[0],
            package_key=built[1], secrets=secret_names,
        )  # fmt: skip

    def rotate(self, name: str) -> str:
        """A new SSM value (a new parameter version) for secret `name`; the value."""
        value = "rehearsal-rotated-" + secrets.token_urlsafe(18)
        where = f"{self.b.ssm_prefix}/{name}"
        self.ssm.put_parameter(Name=where, Value=value, Type="SecureString", Overwrite=True)
        return value

    def activate(self, a: Activation) -> Activation:
        """The channel's command in the guest under load; fills `a` with what happened."""
        with guest_load(self.b) as load:
            time.sleep(1)
            started = time.time()
            a.exit_code, a.output = self.channel_command(a.release_id)
            a.seconds = time.time() - started
            time.sleep(1)
        a.statuses, a.releases = load.statuses, load.releases
        a.switched_seconds = switched_after(a.output, a.release_id, started)
        a.served_after = served_release(self.b)
        log(f"  {a.name}: exit {a.exit_code} in {a.seconds:.1f}s, load {dict(a.statuses)}")
        return a

    def channel_command(self, release_id: str) -> tuple[int, str]:
        """What SendCommand runs: AWS-RunShellScript's `commands` as `_script.sh`, `sh -c` it."""
        b = self.b
        rollout = Rollout(
            app=b.app.name,
            release_id=release_id,
            script=str(release_script_path(b.app, b.layout)),
            pointer_name=release_plan.pointer_parameter(b.ssm_prefix),
            instance_ids=("i-rehearsal",),
        )
        document, commands = command(rollout)
        if document != "AWS-RunShellScript":
            raise RehearsalError(f"the channel sends {document}, not a shell script")
        self.runs += 1
        where = f"/var/lib/amazon/ssm/i-rehearsal/document/{self.runs}/runShellScript"
        script = b.guest.path(f"{where}/_script.sh")
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text("\n".join(commands) + "\n")
        script.chmod(0o700)
        # The instance role's stand-in: the endpoint and keys of moto, as cloud-final gets them.
        env = [f"{k}={v}" for k, v in sorted(b.cloud.guest_environment().items())]
        out_file = b.work_dir / f"activation-{self.runs}.log"
        with out_file.open("w") as sink:  # a file, not a pipe: what nsenter started may outlive it
            p = subprocess.Popen(
                [*b.guest.nsenter(), *env, "sh", "-c", f"{where}/_script.sh"],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            code = p.wait(ACTIVATION_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
            raise RehearsalError(
                f"activation of {release_id} ran over {ACTIVATION_TIMEOUT:.0f}s",
                out_file.read_text(errors="replace")[-4000:],
            ) from None
        return code, out_file.read_text(errors="replace")


def switched_after(output: str, release_id: str, started: float) -> float | None:
    """Seconds from the command's start to the script's `switched to release` line (its stamps are
    whole seconds of the guest's clock, the host's: rounded up)."""
    for line in output.splitlines():
        if f"{SWITCHED} {release_id}" in line and line.startswith("webstack-release: ["):
            day = datetime.fromtimestamp(started, UTC).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            h, m, s = (int(x) for x in line[19:27].split(":"))
            stamp = day + timedelta(hours=h, minutes=m, seconds=s + 1)
            if stamp.timestamp() < started - 1:  # past midnight
                stamp += timedelta(days=1)
            return max(0.0, stamp.timestamp() - started)
    return None


# Long: the rehearsal's releases in order, each published then activated under load.
def rehearse_releases(b: Booted, timings: Timings) -> list[Activation]:
    """Release 2, broken 3 (three ways), a failing migration, a rotated secret; in this order."""
    g, done = GuestReleases(b), []
    secret = b.app.secrets[0] if b.app.secrets else None

    def run(a: Activation) -> Activation:
        with timings.phase(f"  release: {a.name}"):
            done.append(g.activate(a))
        return a

    code2 = g.package("2")
    r2 = g.publish(code2)
    run(Activation("release 2", r2, b.boot_release, expect_active=True))
    for variant, why in (
        ("import", ("did not start", "exited while starting")),  # systemd's verdict or the gate's
        ("health", (f"answered {b.app.health_path} with 500",)),
        ("missing secret", ("the secrets of release",)),
    ):
        names = (*b.app.secrets, "NOT_IN_SSM") if variant == "missing secret" else None
        r3 = g.publish(g.package(f"3-{variant.replace(' ', '-')}", variant), names)
        run(Activation(f"release 3: {variant}", r3, r2, expect_active=False, expect_log=why))
    migrate = ["python", "migrate.py"]
    r4 = g.publish(g.package("4-migration", "migration"), release_command=migrate)
    refused = ("release command failed",)
    run(Activation("failing migration", r4, r2, expect_active=False, expect_log=refused))
    if secret is not None:
        value = g.rotate(secret)
        r5 = g.publish(code2)  # the same code and env: only the secret's SSM version changed
        a = run(Activation(f"rotated {secret}", r5, r2, expect_active=True))
        status, _h, body = answer(b, f"/secret-check?name={secret}")
        got = json.loads(body).get("sha256", "") if status == 200 else f"HTTP {status}"
        a.secret_sha256 = (hashlib.sha256(value.encode()).hexdigest(), str(got))
    return done


def p50_switched(done: list[Activation]) -> float | None:
    """The median start-to-switched time over the activations that succeeded."""
    times = [a.switched_seconds for a in done if a.exit_code == 0 and a.switched_seconds]
    return statistics.median(times) if times else None


def table(done: list[Activation]) -> str:
    rows = [f"  {'activation':<30} {'exit':>4} {'answers':>7} {'failed':>6} {'switched':>8} "
            f"{'total':>6}  served (release: answers)"]  # fmt: skip
    for a in done:
        switched = f"{a.switched_seconds:.0f}s" if a.switched_seconds is not None else "-"
        served = ", ".join(f"{r}: {n}" for r, n in a.releases.items())
        rows.append(
            f"  {a.name:<30} {a.exit_code:>4} {sum(a.statuses.values()):>7} {a.failed:>6} "
            f"{switched:>8} {a.seconds:>5.0f}s  {served}"
        )
    p50 = p50_switched(done)
    rows.append(f"  p50 start -> switched and verified: {p50:.0f}s" if p50 else "  p50: none")
    return "\n".join(["releases in the guest:", *rows])
