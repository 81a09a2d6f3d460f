"""Windows rendering, part 2: the services' accounts and the release path (the activation script
and the release's config object). Helpers are test_windows_render.py's."""

from __future__ import annotations

import json
from pathlib import PureWindowsPath

import pytest

from components.plan.sizing import waitress_instances
from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import render_windows_host
from components.render.windows_release import render_windows_app_env
from components.spec.errors import SpecError
from components.spec.sources import AppSource
from tests.render.test_windows_render import PROXIES, REFS, make_spec, one, powershell_errors


@pytest.mark.parametrize("proxy", PROXIES)
def test_bootstrap_for_a_pip_requirement_parses(proxy: str) -> None:
    spec = make_spec("flask", proxy)
    app = spec.apps[0].model_copy(update={"source": AppSource(requirement="mysite==1.4.2")})
    bootstrap = one(
        render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS), "bootstrap.ps1"
    )
    assert powershell_errors(bootstrap) == []
    # The requirement is the release's (its SSM pointer): the activation installs it, the
    # bootstrap (and so the user data) does not name it.
    assert "mysite" not in bootstrap
    assert "Invoke-Native $venvPython ($pip + @($Pointer.requirement))" in bootstrap


@pytest.mark.parametrize("proxy", PROXIES)
def test_each_service_runs_as_its_own_virtual_account(proxy: str) -> None:
    spec = make_spec("flask", proxy)
    app = spec.apps[0]
    layout = vm_windows_layout()
    data = json.loads(
        one(render_windows_host(plan_tier(spec, app), app, layout, REFS), "services.json")
    )
    services = data["services"] + ([data["proxy"]] if data["proxy"] else [])
    assert len(services) == waitress_instances(app.windows) + (proxy != "iis")
    for svc in services:
        own = str(layout.service_log_dir("web", svc["name"]))
        assert svc["account"] == f"NT SERVICE\\{svc['name']}", svc["name"]
        # NSSM writes the service's stdout/stderr as the service: its own log folder is
        # writable, and no other service's, nor the bootstrap transcript's folder.
        assert svc["writable"][0] == own == svc["log_dir"]
        assert PureWindowsPath(svc["stdout"]).parent == PureWindowsPath(own)
        assert PureWindowsPath(svc["stderr"]).parent == PureWindowsPath(own)
        assert str(layout.log_dir("web")) not in svc["writable"]
        assert str(layout.code_dir("web")) not in svc["writable"]
        assert str(layout.root) not in svc["writable"]
    others = {s["name"]: s["log_dir"] for s in services}
    for svc in services:
        assert not set(svc["writable"]) & {d for n, d in others.items() if n != svc["name"]}
    logs = data["proxy"]["log_dir"] if data["proxy"] else ""
    if proxy == "nginx":
        assert data["proxy"]["writable"] == [
            logs,
            str(layout.proxy_dir("web")),
            str(layout.nginx_dir() / "logs"),
            str(layout.nginx_dir() / "temp"),
        ]
    if proxy == "caddy":  # its certificates and config live in the proxy folder
        assert data["proxy"]["writable"] == [logs, str(layout.proxy_dir("web"))]
    for svc in data["services"]:  # Waitress writes nothing but its logs
        assert svc["writable"] == [svc["log_dir"]]


def test_bootstrap_locks_the_root_and_sets_accounts_before_starting_services() -> None:
    spec = make_spec("flask", "nginx")
    bootstrap = one(
        render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS),
        "bootstrap.ps1",
    )
    body = bootstrap[bootstrap.index("\ntry {") :]
    protect = body.index("Protect-Root -Path 'C:\\webstack'")
    assert protect < body.index("Write-Step 'configuration files'")
    # SYSTEM and Administrators full control, Users read: by SID, on any Windows language.
    assert "'/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'" in (
        bootstrap
    )
    assert "'*S-1-5-32-545:(OI)(CI)RX'" in bootstrap
    install = bootstrap[bootstrap.index("function Install-NssmService") :]
    install = install[: install.index("\n}\n")]
    # The account may read its own parameters (NSSM reads them as the service), then is set.
    assert "RegistryAccessRule($Definition.account, 'ReadKey'" in install
    assert "Set-ServiceAccount -Name $name -Account $Definition.account" in install
    assert "'config', $Name, 'obj=', $Account" in bootstrap
    assert '"$($Account):(OI)(CI)M"' in bootstrap
    assert not powershell_errors(bootstrap)


@pytest.mark.parametrize("proxy", PROXIES)
def test_localsystem_is_an_explicit_opt_out(proxy: str) -> None:
    spec = make_spec("flask", proxy, service_account="localsystem")
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS
    )
    data = json.loads(one(files, "services.json"))
    for svc in data["services"] + ([data["proxy"]] if data["proxy"] else []):
        assert (svc["account"], svc["writable"]) == ("LocalSystem", [])
    assert "Protect-Root -Path" not in one(files, "bootstrap.ps1")
    assert make_spec("flask", proxy).apps[0].windows.service_account == "virtual"


def test_unknown_service_account_is_a_clear_error() -> None:
    with pytest.raises(SpecError) as err:
        make_spec("flask", "nginx", service_account="admin")
    assert "service_account" in str(err.value)
    assert "virtual" in str(err.value) and "localsystem" in str(err.value)


def test_the_release_env_is_one_ascii_line_per_name_and_refuses_what_nssm_would_break() -> None:
    spec = make_spec("flask", "iis")
    app = spec.apps[0]
    text = render_windows_app_env(plan_tier(spec, app), app, vm_windows_layout())
    assert "APP_COLOR=blue\n" in text and text.endswith("\n")
    assert all("=" in line for line in text.splitlines())
    for value, problem in (("a\nb", "one ASCII line"), ("%PATH%", "NSSM would expand")):
        bad = app.model_copy(update={"env": {"APP_COLOR": value}})
        with pytest.raises(SpecError, match=f"apps.web.env.APP_COLOR: {problem}"):
            render_windows_app_env(plan_tier(spec, bad), bad, vm_windows_layout())


def test_the_activation_reads_the_secrets_before_it_builds_a_venv() -> None:
    """issue 13: a missing secret must fail in seconds, before any pip run."""
    spec = make_spec("flask", PROXIES[0])
    app = spec.apps[0]
    script = one(
        render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS),
        "webstack-release.ps1",
    )
    assert script.index('Get-SSMParameter -Name "$SsmPrefix/$name"') < script.index("'-m', 'venv'")
