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
    moved = dataclasses.replace(
        svc, app_directory=str(code), environment={**svc.environment, "WEBSTACK_RELEASE": release}
    )
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


def roll(host: LocalWindowsHost, code: Path, release: str, within: float = STARTUP_SECONDS) -> None:
    """Activate `release` (its code in `code`) on every service, one at a time, or roll back."""
    if serving(host, code, release):
        return  # already active and healthy: nothing restarts
    previous = list(host.services)
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
    host.services = moved
