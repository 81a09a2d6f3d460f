"""Virtualenvs for `webstack up --local`: one per app, cached under `.work/venvs` and keyed by what it
holds (Python, the app's requirements.txt, its source and WSGI server), so a second run reuses it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from components.spec.stack import AppSpec
from components.tooling.errors import CommandError

SERVER_REQUIREMENTS = {"gunicorn": ["gunicorn>=23.0"], "waitress": ["waitress>=3.0.1"]}
SERVER_PROGRAMS = {"gunicorn": "gunicorn", "waitress": "waitress-serve"}
READY_MARKER = ".webstack-ready"


class Console:
    """Progress lines with the elapsed time, flushed at once (they show while pip runs)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {message}", flush=True)


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
