"""What the bench measures: the rendered Linux stack and the configs a user would pick instead.

Each peer is reproduced from its public documentation; only the host differs (loopback ports, a
temp dir for sockets, logs and pid files, and Nginx running as the current user):

- Gunicorn defaults (https://docs.gunicorn.org/en/stable/settings.html: 1 `sync` worker) behind
  Nginx's plain `proxy_pass` (HTTP/1.0 to the upstream, so no upstream keepalive), in Debian's
  stock /etc/nginx/nginx.conf.
- DigitalOcean, "How To Serve Flask Applications with Gunicorn and Nginx on Ubuntu": the systemd
  unit runs `gunicorn --workers 3 --bind unix:myproject.sock -m 007 wsgi:app`, and the server
  block is `location / { include proxy_params; proxy_pass http://unix:...sock; }` in the stock
  nginx.conf.
- AWS Elastic Beanstalk, Python platform (Amazon Linux 2/2023): Nginx -> Gunicorn on
  127.0.0.1:8000. With no Procfile the platform runs Gunicorn from the
  `aws:elasticbeanstalk:container:python` options, NumProcesses=1 and NumThreads=15 by default
  ("Platform specific options"). The Procfile page's Gunicorn example
  (`web: gunicorn --bind :8000 --workers 3 --threads 2 ...`) is measured too. Nginx is the
  platform's nginx.conf: `proxy_pass http://127.0.0.1:8000` with `Connection $connection_upgrade`
  (always "upgrade", so no upstream keepalive), its `main` access log plus the enhanced-health
  (healthd) hourly log, keepalive_timeout 60, gzip off, /static served from the app's `static`.

References (not production setups): Gunicorn alone (defaults) and Flask's development server.
Ceiling: Nginx answering `return 200` itself, and Nginx serving the static file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.spec.stack import StackSpec  # noqa: E402
from components.tooling.local.linux import LocalLinuxSite  # noqa: E402
from components.tooling.local.procs import free_port  # noqa: E402
from tests.helpers.specs import linux_spec  # noqa: E402

APP_DIR = REPO / "examples" / "flask_app"
WSGI = "app:create_app()"
STATIC_PATH = "/static/hello.txt"
VENV_BIN = Path(sys.prefix) / "bin"
MIME_TYPES = "/etc/nginx/mime.types"
Kind = Literal["rendered", "peer", "reference", "ceiling", "windows", "windows-peer"]


def bench_spec(
    gunicorn: dict[str, object] | None = None, microcache: dict[str, object] | None = None
) -> StackSpec:
    """The sample Flask app as a prod-like stack renders it (ALB edge, every default unless
    `gunicorn` / `microcache` override some linux.gunicorn / linux.microcache settings)."""
    return linux_spec(
        "flask",
        "alb",
        None,  # masters and workers: the defaults, not the tests' 2-core sizing
        workers=None,
        environment="bench",
        gunicorn=gunicorn,
        linux_extra={"microcache": microcache or {}},
        source={"path": "examples/flask_app"},
    )


@dataclass
class Target:
    name: str
    kind: Kind
    path: str = "/"
    description: str = ""
    port: int = 0
    slow_clients: bool = True  # also measured with slow clients held open

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def roots(self) -> list[int]:
        """Top processes of everything this config runs (for peak RSS)."""
        raise NotImplementedError

    def process_groups(self) -> dict[str, list[int]]:
        """Nginx's and the app server's top processes, for the CPU split (children count too)."""
        return {"all": self.roots()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


# -- the rendered Linux stack ------------------------------------------------------------------
@dataclass
class RenderedLinux(Target):
    """LocalLinuxSite: the rendered nginx.conf, gunicorn conf and systemd unit, on loopback.
    127.0.0.1 plays the ALB (a trusted proxy), so the client IP comes from X-Forwarded-For."""

    site: LocalLinuxSite | None = None
    gunicorn: dict[str, object] = field(default_factory=dict)  # linux.gunicorn overrides
    microcache: dict[str, object] = field(default_factory=dict)  # linux.microcache overrides

    def start(self) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="wsb-", dir="/tmp"))
        self._workdir = workdir
        self.site = LocalLinuxSite(
            bench_spec(self.gunicorn, self.microcache),
            workdir=workdir,
            trusted_proxy_cidrs=("127.0.0.1/32",),
            timeout=60,
        )
        self.site.start()
        self.port = self.site.http_port

    def stop(self) -> None:
        if self.site is not None:
            self.site.stop()
            shutil.rmtree(self._workdir, ignore_errors=True)
            self.site = None

    def roots(self) -> list[int]:
        site = self.site
        if site is None:
            return []
        pids = [site.master_pid(n) for n in range(1, site.app.linux.gunicorn.masters + 1)]
        return pids + ([site.nginx_pid] if site.nginx_pid else [])

    def process_groups(self) -> dict[str, list[int]]:
        site = self.site
        if site is None:
            return {}
        masters = [site.master_pid(n) for n in range(1, site.app.linux.gunicorn.masters + 1)]
        return {"nginx": [site.nginx_pid or 0], "app": masters}

    def rendered_settings(self) -> str:
        site = self.site
        if site is None:
            return ""
        conf = next(v for k, v in site.files.items() if k.endswith("gunicorn-1.conf.py"))
        keep = ("workers", "worker_class", "threads")
        vals = {}
        for line in conf.splitlines():
            key, _, value = line.partition(" = ")
            if key in keep:
                vals[key] = value.strip('"')
        return ", ".join(f"{k}={vals[k]}" for k in keep if k in vals)


# -- peers, references and ceilings: plain processes from documented configs -------------------
@dataclass
class Proc:
    argv: list[str]
    cwd: Path | None = None
    ready_socket: Path | None = None  # unix socket to wait for
    ready_port: int | None = None  # or TCP port


@dataclass
class ProcessTarget(Target):
    """Processes started in order (the app server first, then Nginx), each in its own session."""

    build: object = None  # callable(self, tmp: Path) -> list[Proc]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="wsb-", dir="/tmp"))
        self.port = free_port()
        specs: list[Proc] = self.build(self, self.tmp)  # type: ignore[operator]
        log = (self.tmp / "procs.log").open("ab")
        try:
            for spec in specs:
                proc = subprocess.Popen(
                    spec.argv,
                    cwd=spec.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                self.procs.append(proc)
                _wait_ready(proc, spec, self.tmp)
        except BaseException:
            self.stop()
            raise
        finally:
            log.close()
        _wait_http(self.url, self.tmp)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _kill_tree(proc)
        self.procs.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def roots(self) -> list[int]:
        return [p.pid for p in self.procs]

    def process_groups(self) -> dict[str, list[int]]:
        """The app server is started first, Nginx (when there is one) last."""
        if len(self.procs) < 2:
            key = "nginx" if self.kind == "ceiling" else "app"
            return {key: [p.pid for p in self.procs]}
        return {"app": [self.procs[0].pid], "nginx": [self.procs[-1].pid]}


def _wait_ready(proc: subprocess.Popen[bytes], spec: Proc, tmp: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{spec.argv[0]} exited:\n{_tail(tmp)}")
        if spec.ready_socket is not None and spec.ready_socket.exists():
            return
        if spec.ready_port is not None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", spec.ready_port), timeout=0.5),
            ):
                return
        if spec.ready_socket is None and spec.ready_port is None:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{spec.argv} not ready in {timeout}s:\n{_tail(tmp)}")


def _wait_http(url: str, tmp: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
                last = resp.status
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 (last: {last}):\n{_tail(tmp)}")


def _tail(tmp: Path) -> str:
    out = []
    for p in sorted(tmp.glob("*.log")):
        out.append(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-20:]))
    return "\n".join(out)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _nginx(conf: Path, tmp: Path, port: int) -> Proc:
    return Proc(
        ["nginx", "-c", str(conf), "-e", str(tmp / "error.log"), "-g", "daemon off;"],
        ready_port=port,
    )


def _gunicorn(*args: str) -> list[str]:
    return [str(VENV_BIN / "gunicorn"), *args, WSGI]


def _temp_paths(tmp: Path) -> str:
    """Per-instance temp dirs (Debian compiles in /var/lib/nginx; instances must not share)."""
    lines = []
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
        lines.append(f"    {d}_temp_path {tmp / d};")
    return "\n".join(lines)


def debian_nginx_conf(tmp: Path, site: str) -> Path:
    """Debian's stock /etc/nginx/nginx.conf (bookworm), with its sites-enabled include inlined."""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""user {_user()};
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;

events {{
    worker_connections 768;
}}

http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include {MIME_TYPES};
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {tmp}/access.log;
    gzip on;
{_temp_paths(tmp)}

{site}
}}
"""
    )
    return conf


def gunicorn_defaults_behind_nginx(t: ProcessTarget, tmp: Path) -> list[Proc]:
    gport = free_port()
    site = f"""    server {{
        listen 127.0.0.1:{t.port} default_server;
        server_name _;
        location / {{
            proxy_pass http://127.0.0.1:{gport};
        }}
    }}"""
    return [
        Proc(_gunicorn("--bind", f"127.0.0.1:{gport}"), cwd=APP_DIR, ready_port=gport),
        _nginx(debian_nginx_conf(tmp, site), tmp, t.port),
    ]


def digitalocean_tutorial(t: ProcessTarget, tmp: Path) -> list[Proc]:
    sock = tmp / "myproject.sock"
    site = f"""    server {{
        listen 127.0.0.1:{t.port};
        server_name _;

        location / {{
            include /etc/nginx/proxy_params;
            proxy_pass http://unix:{sock};
        }}
    }}"""
    return [
        Proc(
            _gunicorn("--workers", "3", "--bind", f"unix:{sock}", "-m", "007"),
            cwd=APP_DIR,
            ready_socket=sock,
        ),
        _nginx(debian_nginx_conf(tmp, site), tmp, t.port),
    ]


def beanstalk_nginx_conf(tmp: Path, port: int, app_port: int) -> Path:
    """The Python platform's nginx.conf (AL2/AL2023) with its conf.d includes inlined."""
    (tmp / "healthd").mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""# Elastic Beanstalk Nginx Configuration File
user                    {_user()};
error_log               {tmp}/error.log warn;
pid                     {tmp}/nginx.pid;
worker_processes        auto;
worker_rlimit_nofile    32633;

events {{
    worker_connections  1024;
}}

http {{
    server_tokens off;

    include       {MIME_TYPES};
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    # conf.d/healthd_logformat.conf
    log_format healthd '$msec"$uri"'
                       '$status"$request_time"$upstream_response_time"'
                       '$http_x_forwarded_for';
{_temp_paths(tmp)}

    map $http_upgrade $connection_upgrade {{
        default     "upgrade";
    }}

    server {{
        listen        127.0.0.1:{port} default_server;
        access_log    {tmp}/access.log main;

        client_header_timeout 60;
        client_body_timeout   60;
        keepalive_timeout     60;
        gzip                  off;
        gzip_comp_level       4;
        gzip_types text/plain text/css application/json application/javascript
                   application/x-javascript text/xml application/xml application/xml+rss
                   text/javascript;

        # conf.d/elasticbeanstalk/healthd.conf (enhanced health reporting, on by default)
        if ($time_iso8601 ~ "^(\\d{{4}})-(\\d{{2}})-(\\d{{2}})T(\\d{{2}})") {{
            set $year $1;
            set $month $2;
            set $day $3;
            set $hour $4;
        }}
        access_log {tmp}/healthd/application.log.$year-$month-$day-$hour healthd;

        # conf.d/elasticbeanstalk/00_application.conf
        location / {{
            proxy_pass          http://127.0.0.1:{app_port};
            proxy_http_version  1.1;

            proxy_set_header    Connection          $connection_upgrade;
            proxy_set_header    Upgrade             $http_upgrade;
            proxy_set_header    Host                $host;
            proxy_set_header    X-Real-IP           $remote_addr;
            proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
        }}

        # the Python platform's default static mapping: /static -> static
        location /static {{
            alias {APP_DIR}/static;
            access_log off;
        }}
    }}
}}
"""
    )
    return conf


def beanstalk(workers: int, threads: int) -> Callable[[ProcessTarget, Path], list[Proc]]:
    def build(t: ProcessTarget, tmp: Path) -> list[Proc]:
        gport = free_port()
        argv = _gunicorn(
            "--bind", f"127.0.0.1:{gport}", f"--workers={workers}", f"--threads={threads}"
        )
        return [
            Proc(argv, cwd=APP_DIR, ready_port=gport),
            _nginx(beanstalk_nginx_conf(tmp, t.port, gport), tmp, t.port),
        ]

    return build


def gunicorn_alone(t: ProcessTarget, tmp: Path) -> list[Proc]:
    return [Proc(_gunicorn("--bind", f"127.0.0.1:{t.port}"), cwd=APP_DIR, ready_port=t.port)]


def flask_dev_server(t: ProcessTarget, tmp: Path) -> list[Proc]:
    argv = [str(VENV_BIN / "flask"), "--app", WSGI, "run", "--host", "127.0.0.1",
            "--port", str(t.port)]  # fmt: skip
    return [Proc(argv, cwd=APP_DIR, ready_port=t.port)]


def ceiling_conf(tmp: Path, port: int) -> Path:
    """Nginx doing the least work: no logs, `return 200` and the static file straight from disk."""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""user {_user()};
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{
    worker_connections 16384;
}}
http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    keepalive_requests 10000;
{_temp_paths(tmp)}
    server {{
        listen 127.0.0.1:{port} default_server;
        location = / {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}
        location /static/ {{
            alias {APP_DIR}/static/;
        }}
    }}
}}
"""
    )
    return conf


def nginx_ceiling(t: ProcessTarget, tmp: Path) -> list[Proc]:
    return [_nginx(ceiling_conf(tmp, t.port), tmp, t.port)]


@dataclass
class SharedPath(Target):
    """Another path of a target that is already running (same processes, same port)."""

    base: Target | None = None

    def start(self) -> None:
        assert self.base is not None
        self.port = self.base.port

    def stop(self) -> None:
        pass

    def roots(self) -> list[int]:
        assert self.base is not None
        return self.base.roots()

    def process_groups(self) -> dict[str, list[int]]:
        assert self.base is not None
        return self.base.process_groups()


def linux_targets() -> list[Target]:
    rendered = RenderedLinux("webstack rendered (Nginx -> Gunicorn)", "rendered")
    ceiling = ProcessTarget("ceiling: Nginx `return 200`", "ceiling", build=nginx_ceiling)
    return [
        rendered,
        ProcessTarget(
            "Gunicorn defaults behind plain proxy_pass",
            "peer",
            build=gunicorn_defaults_behind_nginx,
        ),
        ProcessTarget(
            "DigitalOcean tutorial (3 sync, unix socket)", "peer", build=digitalocean_tutorial
        ),
        ProcessTarget(
            "Elastic Beanstalk defaults (1 proc x 15 threads)", "peer", build=beanstalk(1, 15)
        ),
        ProcessTarget("Elastic Beanstalk Procfile example (3 x 2)", "peer", build=beanstalk(3, 2)),
        ProcessTarget("Gunicorn alone (defaults)", "reference", build=gunicorn_alone),
        ProcessTarget("Flask development server", "reference", build=flask_dev_server),
        ceiling,
        SharedPath("webstack rendered, static file", "rendered", path=STATIC_PATH, base=rendered),
        SharedPath("ceiling: Nginx static file", "ceiling", path=STATIC_PATH, base=ceiling),
    ]
