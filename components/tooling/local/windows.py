"""The Windows tier's stand-in on this machine: the rendered services and proxy, on loopback.

Renders the app through `local_windows_layout` (temp dir, free loopback ports, this venv's python,
Debian's nginx/caddy), writes the files where the layout says, and starts every service exactly as
`services.json` defines it for NSSM: same program, same command line (split with the Windows
rules), same directory and environment. Used by the e2e tests and by hand:

    .venv/bin/python -m components.tooling.local.windows --framework flask --proxy caddy
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from components.plan.checks import parse_stack_spec
from components.plan.sizing import waitress_instances
from components.plan.tier import plan_tier
from components.plan.windows_layout import WindowsHostLayout, local_windows_layout
from components.render.common import CloudRefs
from components.render.windows import render_windows_host
from components.render.windows_release import windows_app_environment
from components.spec.stack import AppSpec, StackSpec

REPO = Path(__file__).resolve().parents[3]
OFFLINE_REFS = CloudRefs(
    region="us-east-1",
    bucket="webstack-local",
    package_key="apps/local/local.tar.gz",
    ssm_prefix="/webstack/local",
)


def split_windows_command_line(line: str) -> list[str]:
    """Split a command line as the MS C runtime (and Python on Windows) does: CommandLineToArgvW."""
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            n = len(line) - i - len(line[i:].lstrip("\\"))
            i += n
            if i < len(line) and line[i] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += 1
            else:
                current.append("\\" * n)
            in_arg = True
            continue
        if c == '"':
            if in_quotes and line[i + 1 : i + 2] == '"':
                current.append('"')
                i += 1
            else:
                in_quotes = not in_quotes
            in_arg = True
        elif c in " \t" and not in_quotes:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(c)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


@dataclass(frozen=True)
class ServiceDef:
    """One NSSM service as services.json defines it."""

    name: str
    application: str
    arguments: str
    app_directory: str
    environment: dict[str, str]
    stdout: str
    stderr: str
    port: int | None = None
    instance: int | None = None

    @property
    def argv(self) -> list[str]:
        return [self.application, *split_windows_command_line(self.arguments)]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceDef:
        keys = ("name", "application", "arguments", "app_directory", "stdout", "stderr")
        return cls(
            **{k: data[k] for k in keys},
            environment=dict(data.get("environment") or {}),
            port=data.get("port"),
            instance=data.get("instance"),
        )


def load_services(services_json: str) -> tuple[list[ServiceDef], ServiceDef | None]:
    """(Waitress services, proxy service or None for IIS) from a rendered services.json."""
    data = json.loads(services_json)
    proxy = ServiceDef.from_json(data["proxy"]) if data["proxy"] else None
    return [ServiceDef.from_json(s) for s in data["services"]], proxy


def free_ports(count: int) -> list[int]:
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


class LocalWindowsHost:
    """Render, write and run one Windows app locally; `stop()` ends every process it started."""

    def __init__(
        self,
        spec: StackSpec,
        app: AppSpec,
        root: Path,
        source: Path,
        trusted_proxy_cidrs: tuple[str, ...] = (),
        venv: Path | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        """`venv`: the environment the services run in (default: this Python's); `secrets`:
        stand-in values of the app's secrets, in each service's environment as SSM's would be."""
        ports = free_ports(waitress_instances(app.windows) + 1)
        self.spec, self.app, self.root, self.source = spec, app, root, source
        self.secrets = dict(secrets or {})
        self.layout: WindowsHostLayout = local_windows_layout(
            root,
            http_port=ports[0],
            waitress_ports=tuple(ports[1:]),
            venv=venv or Path(sys.prefix),
            trusted_proxy_cidrs=trusted_proxy_cidrs,
        )
        self.files = render_windows_host(plan_tier(spec, app), app, self.layout, OFFLINE_REFS)
        services_json = self.files[str(self.layout.services_file(app.name))]
        services, self.proxy = load_services(services_json)
        # As webstack-release.ps1 does: the release's config object (the app's env) + services.json's.
        env = windows_app_environment(plan_tier(spec, app), app, self.layout)
        code = Path(self.layout.code_dir(app.name))
        if app.framework == "django" and (own := self.release_static(code)) is not None:
            env["STATIC_ROOT"] = str(own)  # the release's own folder (Get-AppEnvironment)
        self.services = [replace(s, environment={**env, **s.environment}) for s in services]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.layout.http_port}"

    def prepare(self) -> None:
        """What the bootstrap does before the services: files, code, collectstatic, folders."""
        # Nginx started as root serves files as `nobody` (on Windows there is no user switch).
        self.root.chmod(0o755)
        for path, content in self.files.items():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(content)
        code = Path(self.layout.code_dir(self.app.name))
        if code.exists():
            shutil.rmtree(code)
        shutil.copytree(self.source, code, ignore=shutil.ignore_patterns("__pycache__"))
        for folder in (self.layout.log_dir(self.app.name), self.layout.proxy_dir(self.app.name)):
            Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(self.layout.nginx_dir()) / "logs").mkdir(parents=True, exist_ok=True)
        if self.app.static is not None:
            self._first_static(code)

    def release_static(self, code: Path) -> Path | None:
        """Get-ReleaseStatic (webstack-release.ps1): where the release whose code is `code` keeps
        its static files. Flask: its code's folder; Django: its collectstatic, beside the code."""
        if self.app.static is None:
            return None
        if self.app.framework == "flask":
            return code / self.app.static.folder
        return code.parent / "static"

    def _first_static(self, code: Path) -> None:
        """As the first activation: the release's own static files, copied into the served one."""
        own = self.release_static(code)
        if own is None:
            return
        if self.app.framework == "django":
            first = self.services[0]
            subprocess.run(
                [first.application, "-m", "django", "collectstatic", "--noinput", "--clear"],
                cwd=first.app_directory,
                env={**os.environ, **first.environment, **self.secrets},
                check=True,
                capture_output=True,
            )
        served = Path(self.layout.collected_static(self.app.name))
        if served.exists():
            shutil.rmtree(served)
        if own.is_dir():
            shutil.copytree(own, served)

    def start_service(self, svc: ServiceDef) -> subprocess.Popen[bytes]:
        """Run a service as NSSM would: its program, arguments, directory, environment, logs."""
        for log in (svc.stdout, svc.stderr):
            Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(svc.stdout, "ab") as out, open(svc.stderr, "ab") as err:
            proc = subprocess.Popen(
                svc.argv,
                cwd=svc.app_directory,
                env={**os.environ, **svc.environment, **self._secrets_for(svc)},
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.processes[svc.name] = proc
        return proc

    def _secrets_for(self, svc: ServiceDef) -> dict[str, str]:
        """The app's Waitress services get its secrets; the proxy never does."""
        return {} if self.proxy is not None and svc.name == self.proxy.name else self.secrets

    def start(self) -> LocalWindowsHost:
        self.prepare()
        try:
            for svc in self.services:
                self.start_service(svc)
            for svc in self.services:
                wait_http(f"http://127.0.0.1:{svc.port}{self.app.health_path}")
            if self.proxy is not None:
                self.start_service(self.proxy)
                wait_http(self.url + self.app.health_path)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, name: str) -> None:
        """A crash: SIGKILL, no graceful shutdown."""
        proc = self.processes[name]
        proc.kill()
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def __enter__(self) -> LocalWindowsHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def example_spec(framework: str, proxy: str, instances: int = 3) -> tuple[StackSpec, AppSpec, Path]:
    """A one-app Windows stack around examples/<framework>_app, and that source folder."""
    wsgi = "app:create_app()" if framework == "flask" else "proj.wsgi:application"
    spec = parse_stack_spec(
        {
            "environment": "local",
            "apps": [
                {
                    "name": f"{framework}-app",
                    "framework": framework,
                    "wsgi": wsgi,
                    "os": "windows",
                    "windows": {"proxy": proxy, "instances": instances},
                }
            ],
        }
    )
    return spec, spec.apps[0], REPO / "examples" / f"{framework}_app"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="local_windows", description=__doc__.splitlines()[0])
    p.add_argument("--framework", choices=["flask", "django"], default="flask")
    p.add_argument("--proxy", choices=["nginx", "caddy"], default="nginx")
    p.add_argument("--instances", type=int, default=3)
    a = p.parse_args(argv)
    spec, app, source = example_spec(a.framework, a.proxy, a.instances)
    with tempfile.TemporaryDirectory(prefix="webstack-win-") as tmp:
        host = LocalWindowsHost(spec, app, Path(tmp), source)
        with host:
            print(f"{app.name}: {a.proxy} on {host.url}, Waitress on", end=" ")
            print(", ".join(str(s.port) for s in host.services), "- Ctrl+C to stop")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
