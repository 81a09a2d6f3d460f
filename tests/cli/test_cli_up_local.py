"""`webstack up --local`: the stack's apps on loopback, smoke checks, and nothing left running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import ROOT, run_module

from components.plan.checks import parse_stack_spec
from components.tooling.local.up import _processes_under
from components.tooling.local.venv import venv_key

pytestmark = pytest.mark.e2e

BROKEN_APP = """\
from flask import Flask


def create_app():
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/")
    def index():
        raise RuntimeError("broken on purpose")

    return app
"""


def workdir_of(output: str) -> Path:
    match = re.search(r" under (/\S+) ", output)
    assert match, output
    return Path(match.group(1))


def table_rows(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("APP "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_dev_stack_runs_and_every_check_passes() -> None:
    result = run_module("up", "--local", "--stack", "dev", "--venv", "current", timeout=180)
    assert result.code == 0, result.out + result.err
    header = next(line for line in result.out.splitlines() if line.startswith("APP "))
    for column in ("URL", "STATUS", "LATENCY", "RESULT"):
        assert column in header
    rows = table_rows(result.out)
    names = [row.split()[1] for row in rows]
    assert {"health", "app", "static", "http"} <= set(names), rows
    assert all(" PASS" in row for row in rows), rows
    assert any("https://127.0.0.1:" in row for row in rows)
    assert "no process left running" in result.out
    workdir = workdir_of(result.out)
    assert not workdir.exists(), "the temp work dir is removed"
    assert _processes_under(workdir) == [], "every process it started is gone"


def test_a_failing_check_exits_non_zero(tmp_path: Path) -> None:
    app = tmp_path / "apps" / "broken"
    app.mkdir(parents=True)
    (app / "app.py").write_text(BROKEN_APP)
    (tmp_path / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n  webstack:apps:\n    - name: broken\n      framework: flask\n"
        "      wsgi: app:create_app()\n      source: {path: apps/broken}\n      static: null\n"
    )
    result = run_module("up", "--local", "--stack", "t", "--venv", "current", cwd=tmp_path)
    assert result.code == 3, result.out + result.err
    rows = table_rows(result.out)
    failed = [row for row in rows if "FAIL" in row]
    assert len(failed) == 1 and "server error 500" in failed[0], rows
    assert any(row.split()[1] == "health" and "PASS" in row for row in rows)
    assert _processes_under(workdir_of(result.out)) == []


def test_serve_keeps_running_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "components", "up", "--local", "--stack", "dev", "--venv",
         "current", "--serve"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("serving"):
                break
        else:
            pytest.fail("no `serving` line:\n" + "".join(seen))
        url_line = proc.stdout.readline()
        seen.append(url_line)
        assert "https://127.0.0.1:" in url_line
        workdir = workdir_of("".join(seen))
        assert _processes_under(workdir), "the site serves while waiting"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(seen) + rest
    assert "no process left running" in rest
    assert _processes_under(workdir) == []


def _gunicorn_masters(parent: int) -> list[int]:
    """Children of `parent` that are Gunicorn masters (the local site starts them directly)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"gunicorn" in cmd:
            found.append(int(proc.name))
    return found


def test_serve_restarts_a_master_killed_with_sigkill() -> None:
    """Issue 12: a master killed with -9 stayed dead (every request 502) under a "passed" table.
    Now it is restarted as systemd's Restart=always would, and the restart is reported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "components", "up", "--local", "--stack", "dev", "--venv",
         "current", "--serve"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("  logs:"):
                break
        masters = _gunicorn_masters(proc.pid)
        assert masters, "no gunicorn master found:\n" + "".join(seen)
        os.kill(masters[0], signal.SIGKILL)
        for line in proc.stdout:
            seen.append(line)
            if "restarted" in line:
                break
        assert "killed by SIGKILL" in "".join(seen), "".join(seen)
        assert len(_gunicorn_masters(proc.pid)) == len(masters), "the master is back"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(seen) + rest


def test_unknown_app_is_a_config_problem() -> None:
    result = run_module("up", "--local", "--stack", "dev", "--app", "nosuch")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "Pulumi.dev.yaml: --app nosuch: no such app in this stack (apps: flask-app)"
    ]


def test_venv_is_reused_only_while_what_it_holds_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    req = tmp_path / "app" / "requirements.txt"
    req.write_text("flask>=3.0\n")

    def spec(worker_class: str):  # type: ignore[no-untyped-def]
        return parse_stack_spec(
            {"environment": "t", "edge": {"mode": "nginx"}, "network": {"nat": "none"},
             "apps": [{"name": "a", "framework": "flask", "wsgi": "app:create_app()",
                       "source": {"path": "app"},
                       "linux": {"gunicorn": {"worker_class": worker_class}}}]}
        ).apps[0]  # fmt: skip

    first = venv_key(spec("gthread"), tmp_path)
    assert venv_key(spec("gthread"), tmp_path) == first
    assert venv_key(spec("gevent"), tmp_path) != first, "gevent needs another install"
    req.write_text("flask>=3.0\nrequests\n")
    assert venv_key(spec("gthread"), tmp_path) != first, "new requirements, new venv"


def test_windows_apps_run_behind_their_proxy_stand_in(mixed_stack: Path) -> None:
    """Waitress services behind the rendered Caddy; IIS has no stand-in and says so."""
    result = run_module(
        "up", "--local", "--stack-file", mixed_stack, "--project", ROOT, "--venv", "current",
        "--app", "reports", "--app", "backoffice", timeout=180,
    )  # fmt: skip
    assert result.code == 0, result.out + result.err
    rows = table_rows(result.out)
    reports = [r for r in rows if r.startswith("reports ")]
    assert sum("waitress" in r and "PASS" in r for r in reports) == 2, rows
    assert any(r.split()[1] == "health" and "PASS" in r for r in reports), rows
    backoffice = [r for r in rows if r.startswith("backoffice ")]
    # instances: auto on the default t3.medium (2 vCPUs) = 3 Waitress services
    assert sum("waitress" in r and "PASS" in r for r in backoffice) == 3, rows
    assert any("SKIP" in r and "IIS" in r for r in backoffice), rows
    assert _processes_under(workdir_of(result.out)) == []
