"""LocalLinuxSite: run one Linux app of a StackSpec on 127.0.0.1 exactly as its VM would.

The files are the bytes `render_linux_host` puts in the user data; only the host differs (a work
dir, free loopback ports and the current user, see `local_layout`). Gunicorn masters are started
by reading the rendered systemd unit (ExecStart, WorkingDirectory, EnvironmentFile, Environment,
Type=notify readiness, TimeoutStopSec), never by retyping the command, and Nginx runs the rendered
nginx.conf. Used by the e2e tests, `webstack up --local` and the benchmarks:

    with LocalLinuxSite(spec, "flask-app", secrets={"API_KEY": "..."}) as site:
        urllib.request.urlopen(site.url("/healthz"))
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Self

from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import HostLayout, local_layout
from components.plan.tier import plan_tier
from components.render.common import CloudRefs, _systemd_quote, file_mode
from components.render.linux import render_linux_host
from components.spec.stack import AppSpec, StackSpec
from components.tooling.errors import SiteError
from components.tooling.local.edge import self_signed_cert, start_nginx, wait_healthy
from components.tooling.local.procs import (
    UnixHTTPConnection,
    free_port,
    open_log,
    run_checked,
    terminate,
    write_private,
)
from components.tooling.local.release import link_local_slots
from components.tooling.local.systemd_unit import (
    ServiceUnit,
    _expand_vars,
    _NotifySocket,
    parse_unit,
    service_env,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the NUL
Progress = Callable[[str], None]


# -- the site -------------------------------------------------------------------------------------
class LocalLinuxSite:
    """One app's Nginx and Gunicorn masters on loopback, run from the rendered files."""

    def __init__(
        self,
        spec: StackSpec,
        app: str | None = None,
        workdir: Path | None = None,
        *,
        secrets: Mapping[str, str] | None = None,
        trusted_proxy_cidrs: tuple[str, ...] | None = None,
        http_port: int | None = None,
        https_port: int | None = None,
        venv: Path | None = None,
        project_dir: Path = REPO_ROOT,
        progress: Progress | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.spec = spec
        self.app: AppSpec = _pick_app(spec, app)
        self.secrets = dict(secrets or {})
        _check_secrets(self.app, self.secrets)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="webstack-")).resolve()
        self._trusted = trusted_proxy_cidrs
        self._fixed_ports = (http_port, https_port)
        self.venv = Path(venv or sys.prefix)
        self.project_dir = project_dir
        self._progress = progress
        self.timeout = timeout
        self.layout: HostLayout = self._make_layout()
        self.files: dict[str, str] = {}
        self._masters: dict[int, subprocess.Popen[bytes]] = {}
        self._nginx: subprocess.Popen[bytes] | None = None
        self._atexit = False

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stage(self) -> dict[str, str]:
        """Write every rendered file, the app code, the TLS key and secrets; run collectstatic."""
        code = self.app.source_or_default
        if code.kind != "path" or code.path is None:
            raise SiteError(f"apps.{self.app.name}: the local site runs path sources only")
        src = (self.project_dir / code.path).resolve()
        if not src.is_dir():
            raise SiteError(f"apps.{self.app.name}.source.path: {src} is not a folder")
        for sub in ("run", "log", "nginx-state", "etc", "srv"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self._write_rendered()
        dest = Path(self.layout.code_dir(self.app.name))
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(
            src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git", "collected-*")
        )
        write_private(Path(self.layout.secrets_file(self.app.name)), self._secrets_text())
        link_local_slots(self.layout, self.app.name)
        Path(self.layout.nginx_state_dir).mkdir(parents=True, exist_ok=True)
        Path(self.layout.nginx_log_dir).mkdir(parents=True, exist_ok=True)
        if self.app.framework == "django" and self.app.static:
            self._collectstatic()
        return self.files

    def start(self) -> Self:
        """Stage, start every Gunicorn master and Nginx; return once the health path answers 200."""
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        try:
            self.stage()
            for n in range(1, self.app.linux.gunicorn.masters + 1):
                self._start_master(n)
            for attempt in range(3):
                if self._start_nginx():
                    break
                if self._fixed_ports != (None, None) or attempt == 2:
                    raise SiteError(f"nginx could not listen:\n{self.log_tail()}")
                self.layout = self._make_layout()  # a port was taken meanwhile: new ports
                self._write_rendered()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop Nginx, then every master: TERM, KILL after the timeout. Leaves no process behind."""
        if self._nginx is not None:
            terminate(self._nginx, signal.SIGTERM, 10.0)
            self._nginx = None
        for n in sorted(self._masters):
            self._stop_master(n)
        if self._atexit:
            atexit.unregister(self.stop)
            self._atexit = False
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- what tests and tools use ----------------------------------------------------------------
    @property
    def http_port(self) -> int:
        return self.layout.http_port

    @property
    def https_port(self) -> int:
        return self.layout.https_port

    @property
    def tls_cert(self) -> Path | None:
        """The self-signed certificate (nginx edge): a client's CA file."""
        return Path(self.layout.tls_cert(self.app.name)) if self.spec.edge.mode == "nginx" else None

    def url(self, path: str = "/", https: bool = False) -> str:
        if https and self.spec.edge.mode != "nginx":
            raise ValueError("https: only the nginx edge listens with TLS (the ALB terminates it)")
        port = self.https_port if https else self.http_port
        return f"{'https' if https else 'http'}://127.0.0.1:{port}{path}"

    def master_pid(self, n: int) -> int:
        return self._master(n).pid

    @property
    def nginx_pid(self) -> int | None:
        return self._nginx.pid if self._nginx else None

    def reload_master(self, n: int) -> None:
        """`systemctl reload webstack-<app>@n`: run the unit's ExecReload with $MAINPID."""
        unit = self.unit(n)
        if not unit.exec_reload:
            raise SiteError(f"{unit.name} has no ExecReload")
        env = {**service_env(unit), "MAINPID": str(self.master_pid(n))}
        subprocess.run(_expand_vars(unit.exec_reload, env), check=True, env=env, timeout=10)

    def restart_master(self, n: int) -> None:
        """`systemctl restart webstack-<app>@n`: stop (TERM, KILL after TimeoutStopSec), start."""
        self._master(n)
        self._stop_master(n)
        self._start_master(n)

    def exited_masters(self) -> dict[int, int]:
        """Masters whose main process has exited: {n: exit status} (negative: killed by signal)."""
        return {n: p.returncode for n, p in self._masters.items() if p.poll() is not None}

    @property
    def nginx_exit(self) -> int | None:
        """Nginx's exit status once it has died (None while it runs or before it started)."""
        return self._nginx.poll() if self._nginx is not None else None

    def unit(self, n: int) -> ServiceUnit:
        """Instance n of the rendered template unit, as systemd reads it."""
        name = self.layout.unit_name(self.app.name).replace("@.", f"@{n}.")
        path = str(self.layout.systemd_dir / self.layout.unit_name(self.app.name))
        return parse_unit(self.files[path], name)

    def direct_request(
        self, n: int, path: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """GET `path` from master n's socket, bypassing Nginx: (status, headers, body)."""
        conn = UnixHTTPConnection(str(self.layout.socket(self.app.name, n)), timeout=5.0)
        try:
            conn.request("GET", path, headers={"Host": self.app.health_host, **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def log_paths(self) -> list[Path]:
        return sorted(Path(self.layout.log_dir).glob("*.log"))

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of every log (reads at most 16 KB of each: access logs grow large)."""
        out = []
        for p in self.log_paths():
            with p.open("rb") as f:
                f.seek(max(0, p.stat().st_size - 16384))
                text = f.read().decode(errors="replace").splitlines()[-lines:]
            out.append(f"--- {p.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- internals -------------------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        if self._progress:
            self._progress(msg)

    def _make_layout(self) -> HostLayout:
        http_port, https_port = self._fixed_ports
        return local_layout(
            self.workdir,
            http_port or free_port(),
            https_port or free_port(),
            venv=self.venv,
            trusted_proxy_cidrs=self._trusted,
        )

    def _write_rendered(self) -> None:
        tls_pem = self._make_tls() if self.spec.edge.mode == "nginx" else None
        refs = CloudRefs(
            region="us-east-1",
            bucket="webstack-local-artifacts",
            package_key=f"apps/{self.app.name}/local.tar.gz",
            ssm_prefix=stack_ssm_prefix(self.spec.environment, self.app.name),
            tls_cert_pem=tls_pem,
        )
        self.files = render_linux_host(plan_tier(self.spec, self.app), self.app, self.layout, refs)
        for target, content in self.files.items():
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            path.chmod(int(file_mode(target), 8))
        self._say(f"rendered {len(self.files)} files into {self.workdir}")

    def _make_tls(self) -> str:
        return self_signed_cert(Path(self.layout.tls_key(self.app.name)))

    def _secrets_text(self) -> str:
        """The format webstack-fetch writes on the VM: NAME="value" lines (systemd quoting)."""
        lines = []
        for name in self.app.secrets:
            value = self.secrets[name]
            if "\n" in value or "\x00" in value:
                raise SiteError(f"secret {name} spans lines; store it on one line")
            lines.append(f'{name}="{_systemd_quote(value)}"\n')
        return "".join(lines)

    def _collectstatic(self) -> None:
        unit = self.unit(1)
        env = service_env(unit)
        cmd = [str(self.venv / "bin" / "python"), "-m", "django", "collectstatic", "--noinput",
               "--clear", "--verbosity", "0"]  # fmt: skip
        run_checked(cmd, "django collectstatic", cwd=unit.working_directory, env=env)
        self._say("collectstatic done")

    def _master(self, n: int) -> subprocess.Popen[bytes]:
        if n not in self._masters:
            raise KeyError(f"no running master {n} (masters: {sorted(self._masters)})")
        return self._masters[n]

    def _start_master(self, n: int) -> None:
        unit = self.unit(n)
        if unit.user and unit.user != pwd.getpwuid(os.getuid()).pw_name:
            raise SiteError(f"{unit.name} runs as {unit.user}; the local site needs local_layout")
        sock_path = Path(self.layout.socket(self.app.name, n))
        if len(str(sock_path)) > UNIX_PATH_MAX:
            raise SiteError(
                f"socket path too long for AF_UNIX ({sock_path}); use a shorter workdir"
            )
        runtime = Path(self.layout.runtime_dir(self.app.name, n))
        shutil.rmtree(runtime, ignore_errors=True)  # systemd recreates RuntimeDirectory= fresh
        runtime.mkdir(parents=True)
        runtime.chmod(unit.runtime_directory_mode)
        env = {**service_env(unit), "RUNTIME_DIRECTORY": str(runtime)}
        notify = _NotifySocket() if unit.notify else None
        if notify:
            env["NOTIFY_SOCKET"] = notify.address
        argv = _expand_vars(unit.exec_start, env)
        log = open_log(Path(self.layout.log_dir) / f"{self.app.name}-{n}.log")
        try:
            proc = subprocess.Popen(
                argv,
                cwd=unit.working_directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the unit's cgroup
            )
        finally:
            log.close()
        self._masters[n] = proc
        deadline = time.monotonic() + self.timeout
        try:
            if notify:
                notify.wait_ready(proc, deadline)
            while self._socket_status(n) != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SiteError(f"{unit.name} did not serve on {sock_path}:\n{self.log_tail()}")
                time.sleep(0.05)
        finally:
            if notify:
                notify.close()
        self._say(f"gunicorn master {n} ready (pid {proc.pid})")

    def _socket_status(self, n: int) -> int | None:
        try:
            return self.direct_request(n, self.app.health_path)[0]
        except OSError:
            return None

    def _stop_master(self, n: int) -> None:
        proc = self._masters.pop(n, None)
        if proc is None:
            return
        timeout = self.unit(n).stop_timeout if self.files else 10.0
        terminate(proc, signal.SIGTERM, timeout)  # KillMode=mixed: TERM main, KILL the rest
        shutil.rmtree(self.layout.runtime_dir(self.app.name, n), ignore_errors=True)
        self._say(f"gunicorn master {n} stopped")

    def _start_nginx(self) -> bool:
        """Start Nginx on the staged config; False if a listen port was taken meanwhile."""
        self._nginx = start_nginx(self.layout, self._ports(), self.timeout, self.log_tail)
        if self._nginx is not None:
            self._say(f"nginx listening on {self.url('/')}")
        return self._nginx is not None

    def _ports(self) -> list[int]:
        return [self.http_port] + ([self.https_port] if self.spec.edge.mode == "nginx" else [])

    def _wait_healthy(self) -> None:
        https = self.spec.edge.mode == "nginx"
        port = self.https_port if https else self.http_port
        cafile = self.tls_cert if https else None
        wait_healthy(port, self.app.health_path, cafile, self.timeout, self.log_tail)
        self._say(f"healthy: {self.url(self.app.health_path, https=https)}")


# -- private helpers ------------------------------------------------------------------------------


def _pick_app(spec: StackSpec, name: str | None) -> AppSpec:
    linux = [a for a in spec.apps if a.os == "linux"]
    if name is None and len(linux) == 1:
        return linux[0]
    for a in linux:
        if a.name == name:
            return a
    raise ValueError(f"app {name!r}: pick one of the Linux apps {[a.name for a in linux]}")


def _check_secrets(app: AppSpec, values: Mapping[str, str]) -> None:
    missing = sorted(set(app.secrets) - set(values))
    extra = sorted(set(values) - set(app.secrets))
    if missing or extra:
        raise ValueError(
            f"apps.{app.name}.secrets: values missing for {missing}, not declared: {extra}"
        )
