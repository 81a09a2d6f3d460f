"""The bootstraps' RDS CA bundle step (issue 17), as rendered: present only for an app with a
managed database and before its release starts, HTTPS only with the certificate checked, the
download kept only after a PEM check; valid bash / PowerShell that the project's grammar rules
accept; the Linux user data still inside AWS's 16 KiB."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from components.plan.linux_layout import vm_layout
from components.plan.rds_ca import rds_ca_bundle_url
from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.common import USER_DATA_LIMIT, CloudRefs, app_environment, pack_user_data
from components.render.linux import render_linux_host, render_linux_user_data
from components.render.release import render_app_env
from components.render.windows import render_windows_host
from components.render.windows_release import windows_app_environment
from components.spec.stack import StackSpec
from tests.helpers.powershell_ast import (
    parse,
    unchecked_native_calls,
    unclosed_web_responses,
    unretried_cloud_calls,
    walk,
)
from tests.helpers.specs import linux_spec, windows_spec
from tests.helpers.tools import require_tool

REGIONS = ("eu-west-1", "us-gov-east-1", "cn-northwest-1")


def refs(region: str = "eu-west-1") -> CloudRefs:
    return CloudRefs(region=region, bucket="b", package_key="apps/k.tar.gz", ssm_prefix="/ws/dev/a")


def linux_bootstrap(spec: StackSpec, region: str = "eu-west-1") -> str:
    app = spec.apps[0]
    files = render_linux_host(plan_tier(spec, app), app, vm_layout(app.linux.family), refs(region))
    return next(c for p, c in files.items() if "/bootstrap-" in p)


def windows_bootstrap(spec: StackSpec, region: str = "eu-west-1") -> str:
    app = spec.apps[0]
    files = render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), refs(region))
    return next(c for p, c in files.items() if p.endswith("bootstrap.ps1"))


def db_linux(image: str = "ubuntu-24.04") -> StackSpec:
    return linux_spec("django", "alb", 1, database={}, linux_extra={"image": image})


def db_windows(proxy: str = "nginx") -> StackSpec:
    return windows_spec("flask", proxy, app={"database": {}})


def curl_line(bootstrap: str) -> list[str]:
    [line] = [ln for ln in bootstrap.splitlines() if ln.startswith("curl ") and "rds-ca" in ln]
    return shlex.split(line)


# -- Linux -------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("image", ["ubuntu-24.04", "debian-12", "al2023"])
def test_linux_fetches_the_regions_bundle_over_https_only(image: str, region: str) -> None:
    text = linux_bootstrap(db_linux(image), region)
    args = curl_line(text)
    assert args[-1] == rds_ca_bundle_url(region), "AWS's documented URL of the VM's region"
    assert args[args.index("--proto") + 1] == "=https", "no plain HTTP, not even by a redirect"
    assert "--tlsv1.2" in args and "--fail" in args and "--retry" in args
    assert not {"-k", "--insecure", "-L", "--location"} & set(args), "certificate checked, no hop"
    assert args[args.index("--output") + 1] == "/etc/webstack/rds-ca-bundle.pem.part"
    # The PEM check runs on the download, and only then does it replace the bundle.
    step = text[text.index('step "RDS CA bundle"') :]
    check, move = step.index("ssl.create_default_context(cadata=block)"), step.index("mv -f")
    assert check < move and "FAILED" in step[:move] and "exit 1" in step[:move]


def test_linux_step_runs_before_the_release_starts_the_app() -> None:
    text = linux_bootstrap(db_linux())
    assert text.index('step "RDS CA bundle"') < text.index('step "release')


def test_linux_without_a_database_has_no_step_and_no_truststore() -> None:
    text = linux_bootstrap(linux_spec("django", "alb", 1))
    assert "RDS CA" not in text and "truststore" not in text and "rds-ca-bundle" not in text


def test_linux_bootstrap_with_the_step_is_valid_bash(tmp_path: Path) -> None:
    bash = require_tool("bash")
    (tmp_path / "b.sh").write_text(linux_bootstrap(db_linux()))
    res = subprocess.run([bash, "-n", str(tmp_path / "b.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_linux_user_data_with_the_step_fits_and_cloud_init_accepts_it(tmp_path: Path) -> None:
    cloud_init = require_tool("cloud-init")
    spec = db_linux()
    app = spec.apps[0]
    user_data = render_linux_user_data(plan_tier(spec, app), app, vm_layout("debian"), refs())
    assert len(pack_user_data(user_data, app.name)) <= USER_DATA_LIMIT
    (tmp_path / "ud").write_text(user_data)
    res = subprocess.run([cloud_init, "schema", "-c", str(tmp_path / "ud")], capture_output=True)
    assert res.returncode == 0, res.stdout + res.stderr
    written = {f["path"]: f["content"] for f in yaml.safe_load(user_data)["write_files"]}
    assert written["/opt/webstack/bootstrap-django-app.sh"] == linux_bootstrap(spec)


# -- Windows -----------------------------------------------------------------------------------
def powershell_errors(source: str) -> list[str]:
    return [
        f"line {n.start_point[0] + 1}: {n.type}"
        for n in walk(parse(source))
        if n.type == "ERROR" or n.is_missing
    ]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_windows_fetches_the_regions_bundle_over_https_only(proxy: str, region: str) -> None:
    text = windows_bootstrap(db_windows(proxy), region)
    url = rds_ca_bundle_url(region)
    step = text[text.index("Write-Step 'RDS CA bundle'") :]
    step = step[: step.index("Write-Step", 20)]
    assert f"Save-PemBundle -Url '{url}' -Path 'C:\\webstack\\tls\\rds-ca-bundle.pem'" in step
    assert "Invoke-Retry" in step and "-ne 'https'" in step, "retried; HTTPS refused otherwise"
    assert "AllowAutoRedirect = $false" in step and "X509Certificate2" in step
    assert "[Net.SecurityProtocolType]::Tls12" in text[: text.index("Write-Step 'RDS CA")]
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    for weakening in ("ServerCertificateValidationCallback", "Invoke-WebRequest", "http://"):
        assert weakening not in code[code.index("Save-PemBundle") :], weakening
    assert "ServerCertificateValidationCallback" not in code, "no certificate check turned off"
    assert text.index("Write-Step 'RDS CA bundle'") < text.index("Write-Step 'the release")


@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_windows_step_parses_and_keeps_the_projects_powershell_rules(proxy: str) -> None:
    text = windows_bootstrap(db_windows(proxy))
    assert "GetResponse()" in text[text.index("function Save-PemBundle") :]
    assert powershell_errors(text) == []
    assert unclosed_web_responses(text) == []
    assert unchecked_native_calls(text) == []
    assert unretried_cloud_calls(text) == []


def test_windows_without_a_database_has_no_step() -> None:
    text = windows_bootstrap(windows_spec("flask", "nginx"))
    assert "RDS CA" not in text and "Save-PemBundle" not in text and "truststore" not in text


# -- the app's plain environment ---------------------------------------------------------------
def test_the_release_environment_says_verify_full_with_the_bundle_on_both_tiers() -> None:
    """PGSSLMODE / PGSSLROOTCERT for apps that talk to libpq without DATABASE_URL: in the
    release's plain app.env (not secret), naming the file the bootstrap fetches."""
    linux = db_linux()
    app = linux.apps[0]
    env = dict(app_environment(plan_tier(linux, app), app, vm_layout("debian")))
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] == "/etc/webstack/rds-ca-bundle.pem"
    assert 'PGSSLROOTCERT="/etc/webstack/rds-ca-bundle.pem"' in render_app_env(
        plan_tier(linux, app), app, vm_layout("debian")
    )
    win = db_windows()
    wapp = win.apps[0]
    wenv = windows_app_environment(plan_tier(win, wapp), wapp, vm_windows_layout())
    assert wenv["PGSSLMODE"] == "verify-full"
    assert wenv["PGSSLROOTCERT"] == "C:/webstack/tls/rds-ca-bundle.pem"
    plain = linux_spec("django", "alb", 1)
    papp = plain.apps[0]
    assert "PGSSLMODE" not in dict(
        app_environment(plan_tier(plain, papp), papp, vm_layout("debian"))
    )
