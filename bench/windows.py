"""The Windows tier's stand-in: N rendered Waitress services behind the rendered Nginx or Caddy
(LocalWindowsHost runs them as services.json defines them for NSSM), against one Waitress.

References: one Waitress with its defaults (`waitress-serve --call app:create_app`: 4 threads,
connection_limit 100, https://docs.pylonsproject.org/projects/waitress/en/stable/arguments.html)
and one Waitress with the tier's threads, each alone on its port.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.targets import (
    APP_DIR,
    STATIC_PATH,
    VENV_BIN,
    Proc,
    ProcessTarget,
    SharedPath,
    Target,
)
from components.plan.sizing import waitress_instances
from components.plan.tier import plan_tier
from components.render.common import CloudRefs
from components.render.windows import render_windows_host
from components.spec.stack import StackSpec
from components.tooling.local.windows import LocalWindowsHost, load_services
from tests.helpers import specs as catalogue

REFS = CloudRefs(
    region="us-east-1", bucket="bench", package_key="apps/bench.tar.gz", ssm_prefix="/b"
)
FACTORY = "app:create_app"
IO_PATH = "/slow?seconds=0.02"
IO_LABEL = "20 ms wait"


def windows_spec(proxy: str, overrides: dict[str, object] | None = None) -> StackSpec:
    """The sample Flask app on the Windows tier with every default but the proxy (and any
    `overrides` of other windows settings)."""
    windows = {k: v for k, v in (overrides or {}).items() if k != "proxy"}  # `proxy` wins
    return catalogue.windows_spec("flask", proxy, name="flask-app", environment="bench", **windows)


@dataclass
class RenderedWindows(Target):
    """The rendered services and proxy. 127.0.0.1 plays the ALB (the only trusted proxy), so the
    client IP, and with it the per-client rate limit, comes from X-Forwarded-For."""

    proxy: str = "nginx"
    host: LocalWindowsHost | None = None
    overrides: dict[str, object] = dataclasses.field(default_factory=dict)  # windows settings

    def start(self) -> None:
        spec = windows_spec(self.proxy, self.overrides)
        app = spec.apps[0]
        self.tmp = Path(tempfile.mkdtemp(prefix="wsb-win-", dir="/tmp"))
        host = LocalWindowsHost(spec, app, self.tmp, APP_DIR)
        host.layout = dataclasses.replace(host.layout, trusted_proxy_cidrs=("127.0.0.1/32",))
        host.files = render_windows_host(plan_tier(spec, app), app, host.layout, REFS)
        host.services, host.proxy = load_services(
            host.files[str(host.layout.services_file(app.name))]
        )
        self.host = host.start()
        self.port = host.layout.http_port

    def stop(self) -> None:
        if self.host is not None:
            self.host.stop()
            self.host = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def roots(self) -> list[int]:
        return [p.pid for p in self.host.processes.values()] if self.host else []


def waitress(threads: int | None) -> object:
    def build(t: ProcessTarget, tmp: Path) -> list[Proc]:
        args = [str(VENV_BIN / "waitress-serve"), f"--listen=127.0.0.1:{t.port}"]
        if threads is not None:
            args.append(f"--threads={threads}")
        return [Proc([*args, "--call", FACTORY], cwd=APP_DIR, ready_port=t.port)]

    return build


def windows_targets() -> list[Target]:
    tier = windows_spec("nginx").apps[0].windows
    nginx = RenderedWindows(
        f"webstack Windows: Nginx -> {waitress_instances(tier)} Waitress", "windows", proxy="nginx"
    )
    caddy = RenderedWindows(
        f"webstack Windows: Caddy -> {waitress_instances(tier)} Waitress", "windows", proxy="caddy"
    )
    single = ProcessTarget("one Waitress, defaults", "windows-peer", build=waitress(None))
    single_tier = ProcessTarget(
        f"one Waitress, tier's threads ({tier.threads})",
        "windows-peer",
        build=waitress(tier.threads),
    )
    main: list[Target] = [
        nginx,
        caddy,
        single,
        single_tier,
        SharedPath("webstack Windows: Nginx, static file", "windows", path=STATIC_PATH, base=nginx),
    ]
    # The same four on a request that waits 20 ms (a database call's worth) and uses little CPU:
    # here the instances x threads of the tier matter, not the CPU cost of a hop.
    waiting = [
        SharedPath(f"{t.name}, {IO_LABEL}", t.kind, path=IO_PATH, base=t, slow_clients=False)
        for t in (nginx, caddy, single, single_tier)
    ]
    return main + waiting
