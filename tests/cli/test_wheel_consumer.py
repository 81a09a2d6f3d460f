"""The wheel: built from the repository, installed into a fresh venv, used by another team's stack.

`examples/consumer` runs under Pulumi mocks from a temp dir outside the repository, with nothing of
the repository on its path: the components and their templates must come from site-packages.
Dependencies are fetched once into `.work/wheelhouse/<hash>` (then reused offline), the wheel is
built with this venv's setuptools and nothing is byte-compiled at install, to keep it short.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_support import ROOT

SOURCES = ("pyproject.toml", "README.md", "components", "templates")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".webstack-build")


def run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def wheelhouse(wheel: Path, scratch: Path) -> Path:
    """The wheel's dependencies as wheels, downloaded once per dependency list."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256("\n".join([sys.version, *sorted(deps)]).encode()).hexdigest()[:12]
    house = ROOT / ".work" / "wheelhouse" / key
    if (house / ".complete").is_file():
        return house
    partial = scratch / "wheelhouse"
    run([sys.executable, "-m", "pip", "download", "--quiet", "-d", partial, wheel], scratch)
    for own in partial.glob("webstack-*"):
        own.unlink()
    (partial / ".complete").write_text("\n".join(deps) + "\n")
    house.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(house, ignore_errors=True)
    shutil.copytree(partial, house)
    return house


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with only the wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=IGNORE)
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(item, src / name)
    dist = tmp / "dist"
    # With setuptools and wheel in this venv (the dev extra) no isolated build env is set up.
    local = all(importlib.util.find_spec(m) for m in ("setuptools", "wheel"))
    flags = ["--no-isolation", "--skip-dependency-check"] if local else []
    run([sys.executable, "-m", "build", "--wheel", *flags, "--outdir", dist, src], tmp)
    (wheel,) = dist.glob("webstack-*.whl")
    house = wheelhouse(wheel, tmp)
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp)
    run(
        [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
         "--no-compile", "--no-index", "--find-links", house, wheel],
        tmp,
    )  # fmt: skip
    return venv


def site_packages(venv: Path) -> Path:
    (path,) = (venv / "lib").glob("python3*/site-packages")
    return path


def test_wheel_contains_the_templates(installed: Path) -> None:
    templates = site_packages(installed) / "components" / "templates"
    for name in ("linux/nginx.conf.j2", "linux/bootstrap.sh.j2", "linux/cloud-config.yaml.j2"):
        assert (templates / name).is_file(), name
    if (ROOT / "templates" / "windows").is_dir():
        shipped = {p.name for p in (ROOT / "templates" / "windows").iterdir()}
        assert shipped <= {p.name for p in (templates / "windows").iterdir()}


def test_consumer_runs_under_mocks_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    consumer = tmp_path / "consumer"
    shutil.copytree(ROOT / "examples" / "consumer", consumer, ignore=IGNORE)
    report = json.loads(run([installed / "bin" / "python", "mock_run.py"], consumer))
    site = site_packages(installed)
    components_file = Path(report["components_file"])
    templates = Path(report["templates_dir"])
    assert components_file.is_relative_to(site), components_file
    assert templates == site / "components" / "templates", "templates load from site-packages"
    assert not templates.is_relative_to(ROOT)

    types = {r["type"] for r in report["resources"]}
    for expected in (
        "webstack:network:Network",
        "webstack:edge:Alb",
        "webstack:linux:LinuxWebTier",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:autoscaling/group:Group",
    ):
        assert expected in types, expected
    assert "webstack:index:WebStack" in types, "the consumer uses the front door's WebStack"
    assert "webstack:tls:Certificate" not in types, "the certificate is brought, not created"
    assert "command:local:Command" not in types, "their pipeline checks the URL itself"
    by_name = {r["name"]: r for r in report["resources"]}
    assert by_name["storefront-ci-catalog-fleet"]["parent"] == "storefront-ci-catalog"
    assert report["outputs"]["catalog_user_data_bytes"] > 1000, "user data rendered"
    windows_available = (ROOT / "components" / "aws" / "windows_tier.py").is_file()
    assert report["windows_tier"] is windows_available
    if windows_available:
        assert any("reports" in r["name"] for r in report["resources"])
        assert report["outputs"]["reports_user_data_bytes"] > 0


def test_console_script_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """`webstack` is installed with the package and renders from the installed templates."""
    out = run(
        [installed / "bin" / "webstack", "check", "--stack-file", ROOT / "Pulumi.prod.yaml",
         "--project", ROOT],
        tmp_path,
    )  # fmt: skip
    assert "Pulumi.prod.yaml: OK" in out
    run([installed / "bin" / "python", "-m", "components", "--help"], tmp_path)
