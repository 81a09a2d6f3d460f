"""The Windows activation's rolling order, run on the local stand-in (webstack-release.ps1 cannot).

Same contract and same plan data as templates/windows/webstack-release.ps1.j2: the services in the
rendered services.json order move to the new release ONE AT A TIME (stop, start on the release's
code with WEBSTACK_RELEASE set), each must answer its own health URL HEALTH_SUCCESSES times in a
row and the proxy's rejoin window (PROXY_REJOIN_SECONDS) must pass before the next moves, and
the proxy sends to the others meanwhile. When one fails, every
service already moved (the failed one included) goes back to the previous release. A release
that already serves on every service (the re-run at boot after a reboot) restarts nothing.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from components.plan.release import HEALTH_SUCCESSES, PROXY_REJOIN_SECONDS
from components.render.release import STARTUP_SECONDS
from components.tooling.local.windows import LocalWindowsHost, ServiceDef


class RolloutFailed(RuntimeError):
    """A service of the new release never became healthy; the moved ones are back."""


def healthy(url: str, successes: int = HEALTH_SUCCESSES, within: float = STARTUP_SECONDS) -> bool:
    """Wait-Healthy: `successes` answers 200 in a row before `within` seconds pass."""
    deadline, streak = time.monotonic() + within, 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                streak = streak + 1 if r.status == 200 else 0
        except OSError:
            streak = 0
        if streak >= successes:
            return True
        time.sleep(0.2)
    return False


def restart(host: LocalWindowsHost, svc: ServiceDef) -> None:
    """A graceful stop (NSSM's Ctrl+C; SIGTERM here), then a start of `svc` as defined."""
    proc = host.processes.get(svc.name)
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    host.start_service(svc)


def move(host: LocalWindowsHost, svc: ServiceDef, code: Path, release: str) -> ServiceDef:
    """Move-Service: the same service, on the release's code, knowing its release id."""
    environment = {**svc.environment, "WEBSTACK_RELEASE": release}
    if host.app.framework == "django" and (static := host.release_static(code)) is not None:
        environment["STATIC_ROOT"] = str(static)  # its own manifest (Get-AppEnvironment)
    moved = dataclasses.replace(svc, app_directory=str(code), environment=environment)
    restart(host, moved)
    return moved


def serving(host: LocalWindowsHost, code: Path, release: str) -> bool:
    """Test-ServingRelease: every service runs on `code` as `release` and answers healthy."""
    return all(
        svc.app_directory == str(code)
        and svc.environment.get("WEBSTACK_RELEASE") == release
        and (proc := host.processes.get(svc.name)) is not None
        and proc.poll() is None
        and healthy(f"http://127.0.0.1:{svc.port}{host.app.health_path}")
        for svc in host.services
    )


def publish_static(host: LocalWindowsHost, source: Path | None, keep_existing: bool) -> None:
    """Publish-Static: copy a release's files into the served folder; `keep_existing`: new
    files only (robocopy /XC /XN /XO)."""
    served = Path(host.layout.collected_static(host.app.name))
    if source is None or not source.is_dir():
        return
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = served / path.relative_to(source)
        if keep_existing and target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def remove_stale_static(host: LocalWindowsHost, keep: list[Path | None]) -> None:
    """Remove-StaleStatic: drop served files that no kept release has."""
    served = Path(host.layout.collected_static(host.app.name))
    for path in [p for p in served.rglob("*") if p.is_file()]:
        relative = path.relative_to(served)
        if not any(k is not None and (k / relative).is_file() for k in keep):
            path.unlink()


def _collect(host: LocalWindowsHost, code: Path, release: str) -> None:
    """Django: collectstatic into the release's own folder, once."""
    target = host.release_static(code)
    if host.app.framework != "django" or target is None or target.is_dir():
        return
    env = {**os.environ, **host.services[0].environment, **host.secrets}
    subprocess.run(
        [host.services[0].application, "-m", "django", "collectstatic", "--noinput"],
        cwd=code,
        env={**env, "STATIC_ROOT": str(target), "WEBSTACK_RELEASE": release},
        check=True,
        capture_output=True,
    )


def roll(host: LocalWindowsHost, code: Path, release: str, within: float = STARTUP_SECONDS) -> None:
    """Activate `release` (its code in `code`) on every service, one at a time, or roll back."""
    if serving(host, code, release):
        return  # already active and healthy: nothing restarts
    previous = list(host.services)
    previous_static = host.release_static(Path(previous[0].app_directory))
    _collect(host, code, release)
    publish_static(host, host.release_static(code), keep_existing=True)
    moved: list[ServiceDef] = []
    for i, svc in enumerate(previous):
        moved.append(move(host, svc, code, release))
        if healthy(f"http://127.0.0.1:{svc.port}{host.app.health_path}", within=within):
            if i < len(previous) - 1:
                time.sleep(PROXY_REJOIN_SECONDS[host.app.windows.proxy])
            continue
        for back in previous[: i + 1]:
            restart(host, back)
            healthy(f"http://127.0.0.1:{back.port}{host.app.health_path}", within=within)
        host.services = previous
        raise RolloutFailed(
            f"release {release} failed on {svc.name}; the previous one keeps serving"
        )
    publish_static(host, host.release_static(code), keep_existing=False)
    remove_stale_static(host, [host.release_static(code), previous_static])
    host.services = moved
