"""The Windows rolling order on the local stand-in (Waitress behind the rendered Nginx / Caddy):
the services of services.json move to a new release one at a time, each health-checked before
the next, under a request loop through the proxy; a release that cannot start rolls back. Both
lose 0 requests (components/tooling/local/windows_rollout.py, the .ps1's order and contract)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.tooling.local.windows import LocalWindowsHost
from components.tooling.local.windows_rollout import RolloutFailed, healthy, roll
from tests.e2e.test_windows_e2e import make_spec
from tests.helpers.load import run_load
from tests.helpers.net import fetch

pytestmark = pytest.mark.e2e
RPS = 50  # the bounded load
BROKEN_REQUESTS = 500  # 10 s: the failed service and its way back take about 6

SOURCE = Path(__file__).resolve().parents[2] / "examples" / "flask_app"
REQUESTS = 1750  # 35 s at RPS: a 3-service rollout with Caddy's 10 s rejoin windows fits


def release_code(root: Path, release: str, *, broken: bool = False) -> Path:
    """The example app, answering its release id in `/`; `broken`: an import error."""
    code = root / "releases" / release / "code"
    shutil.copytree(SOURCE, code, ignore=shutil.ignore_patterns("__pycache__"))
    app = code / "app.py"
    source = app.read_text().replace(
        'framework="flask",', 'framework="flask", release=os.environ["WEBSTACK_RELEASE"],'
    )
    assert "WEBSTACK_RELEASE" in source, "the example's index() changed: update this test"
    app.write_text(("import not_a_module  # noqa\n" if broken else "") + source)
    return code


@contextlib.contextmanager
def running_host(proxy: str, prefix: str) -> Iterator[LocalWindowsHost]:
    """A Flask app's 3 Waitress services behind `proxy` under a throwaway root."""
    spec, app = make_spec("flask", proxy, instances=3)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        with LocalWindowsHost(spec, app, root, SOURCE) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["nginx", "caddy"])
def host(request: pytest.FixtureRequest) -> Iterator[LocalWindowsHost]:
    with running_host(request.param, "ws-winroll-") as running:
        yield running


def test_the_rolling_order_loses_no_request(host: LocalWindowsHost) -> None:
    code = release_code(host.root, "r-2")
    order: list[str] = []
    result = run_load(
        host.url + "/",
        REQUESTS,
        actions={
            40: lambda: (roll(host, code, "r-2"), order.extend(s.name for s in host.services))
        },
        timeout=120,
        rps=RPS,
    )
    print(result.summary("windows rollout"), f"{result.sent / result.seconds:.0f} req/s")
    assert result.failed == 0, result.summary("windows rollout")
    assert order == [s.name for s in host.services]  # every service, in services.json order
    assert {s.environment["WEBSTACK_RELEASE"] for s in host.services} == {"r-2"}
    assert result.marks[0] < result.sent, "the loop ended before the rollout: raise REQUESTS"
    assert result.bodies[-1].get("release") == "r-2", result.bodies[-1]


def test_a_release_that_cannot_start_rolls_back_and_serves_nothing(host: LocalWindowsHost) -> None:
    good = release_code(host.root, "r-2")
    roll(host, good, "r-2")
    broken = release_code(host.root, "r-3", broken=True)
    failed: list[str] = []

    def activate_broken() -> None:
        with pytest.raises(RolloutFailed) as error:
            roll(host, broken, "r-3", within=5)
        failed.append(str(error.value))

    result = run_load(
        host.url + "/", BROKEN_REQUESTS, actions={40: activate_broken}, timeout=120, rps=RPS
    )
    print(result.summary("windows broken release"), f"{result.sent / result.seconds:.0f} req/s")
    assert result.marks[0] < result.sent, "the loop ended before the rollback: raise REQUESTS"
    assert failed and f"failed on {host.services[0].name}" in failed[0]
    assert result.failed == 0, result.summary("windows broken release")
    assert {b.get("release") for b in result.bodies} == {"r-2"}  # r-3 served no request
    assert {s.environment["WEBSTACK_RELEASE"] for s in host.services} == {"r-2"}


def test_after_a_reboot_the_boot_activation_restarts_nothing(host: LocalWindowsHost) -> None:
    """The bootstrap runs the activation at every boot; NSSM has started every service on the
    active release already, so the same release restarts no service (same processes, no request
    lost, no rejoin window)."""
    code = release_code(host.root, "r-2")
    roll(host, code, "r-2")
    for svc in host.services:  # the reboot: every service down, then NSSM's auto-start
        host.kill(svc.name)
    for svc in host.services:
        host.start_service(svc)
    assert all(healthy(f"http://127.0.0.1:{s.port}{host.app.health_path}") for s in host.services)
    before = {name: proc.pid for name, proc in host.processes.items()}
    result = run_load(
        host.url + "/", 300, actions={40: lambda: roll(host, code, "r-2")}, timeout=60, rps=RPS
    )
    assert result.failed == 0, result.summary("boot activation of the active release")
    assert {name: proc.pid for name, proc in host.processes.items()} == before, (
        "a service restarted for the release it already runs"
    )
    assert {b.get("release") for b in result.bodies} == {"r-2"}


@pytest.fixture
def nginx_host() -> Iterator[LocalWindowsHost]:
    with running_host("nginx", "ws-winstatic-") as running:
        yield running


def _static_release(root: Path, release: str, files: dict[str, str]) -> Path:
    code = release_code(root, release)
    for name, body in files.items():
        (code / "static" / name).write_text(body)
    return code


def test_static_files_follow_the_rolling_order(
    nginx_host: LocalWindowsHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While old and new code both serve, each finds its files: the new release's new files are
    served before its first service moves, a same-named file keeps the old content until the last
    one moved, and the previous release's files outlive one release (pages it rendered)."""
    from components.tooling.local import windows_rollout

    host = nginx_host
    (Path(host.layout.code_dir(host.app.name)) / "static" / "old-r1.txt").write_text("r1 only\n")
    served = Path(host.layout.collected_static(host.app.name))
    shutil.copy2(Path(host.layout.code_dir(host.app.name)) / "static" / "old-r1.txt", served)
    r2 = _static_release(host.root, "r-2", {"hello.txt": "hello from r-2\n", "new-r2.txt": "r2\n"})
    seen: list[tuple[str, str, str]] = []
    real_move = windows_rollout.move

    def watching_move(*args: object, **kwargs: object) -> object:
        seen.append(
            (get("/static/hello.txt"), get("/static/new-r2.txt"), get("/static/old-r1.txt"))
        )
        return real_move(*args, **kwargs)  # type: ignore[arg-type]

    def get(path: str) -> str:
        reply = fetch(host.url + path)
        return reply.body.decode() if reply.status == 200 else str(reply.status)

    old_hello = get("/static/hello.txt")
    monkeypatch.setattr(windows_rollout, "move", watching_move)
    roll(host, r2, "r-2")
    assert len(seen) == 3, "one look before each service moved"
    assert all(s == (old_hello, "r2\n", "r1 only\n") for s in seen), seen
    assert get("/static/hello.txt") == "hello from r-2\n", "after the last move: the new content"
    assert get("/static/old-r1.txt") == "r1 only\n", "the previous release's files stay"
    r3 = _static_release(host.root, "r-3", {"hello.txt": "hello from r-3\n"})
    (r3 / "static" / "new-r2.txt").unlink(missing_ok=True)
    roll(host, r3, "r-3")
    assert get("/static/old-r1.txt") == "404", "two releases later a file no kept release has goes"
    assert get("/static/new-r2.txt") == "r2\n", "the previous release's (r-2) files stay"


def test_a_django_release_collects_into_its_own_folder_and_reads_its_own_manifest() -> None:
    """Django: collectstatic goes into releases/<id>/static (not the served folder, which the old
    code still serves from), the moved services get it as STATIC_ROOT, and the proxy serves the
    new content once every service runs the new code."""
    from tests.e2e.test_windows_e2e import running

    with contextlib.closing(running("django", "nginx")) as hosts:
        host = next(hosts)
        code = host.root / "releases" / "r-2" / "code"
        shutil.copytree(
            SOURCE.parent / "django_app", code, ignore=shutil.ignore_patterns("__pycache__")
        )
        (code / "static" / "hello.txt").write_text("hello from r-2\n")
        served = Path(host.layout.collected_static(host.app.name))
        before = (served / "hello.txt").read_text()
        roll(host, code, "r-2")
        own = code.parent / "static"
        assert (own / "hello.txt").read_text() == "hello from r-2\n", "collected into the release"
        assert {s.environment["STATIC_ROOT"] for s in host.services} == {str(own)}
        assert fetch(host.url + "/static/hello.txt").body == b"hello from r-2\n"
        assert before != "hello from r-2\n"
