"""The staging stack (a longer environment name, a Linux and a Windows app on one ALB) through
every offline command and `up --local`, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.faithful import ROOT


def webstack(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WEBSTACK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "components", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_check_and_preview() -> None:
    check = webstack("check", "--stack", "staging")
    assert check.returncode == 0, check.stderr
    assert "2 apps, edge alb" in check.stdout
    preview = webstack("preview", "--stack", "staging")
    assert preview.returncode == 0, preview.stderr
    rules = [line for line in preview.stdout.splitlines() if "ListenerRule webstack-" in line]
    assert len(rules) == 2 and all("priority=" in r for r in rules), rules


def test_render_writes_both_tiers(tmp_path: Path) -> None:
    result = webstack("render", "--stack", "staging", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rendered = {p.relative_to(tmp_path / "out").parts[0] for p in (tmp_path / "out").rglob("*")}
    assert {"shop", "reports"} <= rendered, rendered


@pytest.mark.e2e
def test_up_local_runs_both_apps_and_leaves_nothing() -> None:
    result = webstack("up", "--local", "--stack", "staging", "--venv", "current")
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout.split("APP ", 1)[1]
    for app in ("shop", "reports"):
        rows = [r for r in table.splitlines() if r.startswith(app + " ")]
        assert rows and all("PASS" in r for r in rows), rows
    assert sum("waitress" in r for r in table.splitlines()) == 2
    assert "no process left running" in result.stdout
