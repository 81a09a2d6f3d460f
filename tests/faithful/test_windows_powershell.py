"""The rendered PowerShell, read with a real PowerShell grammar (tree-sitter-powershell), against
what Windows PowerShell 5.1 and NSSM really do (tests/helpers/powershell_ast.py says why each
rule matters). Every check is also fed a deliberately bad script to show it can fail."""

from __future__ import annotations

from typing import Any

import pytest

from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import render_windows_host, render_windows_user_data_script
from components.render.windows_release import render_windows_release_script
from components.spec.stack import StackSpec
from components.spec.windows import NSSM_EXPANDED
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers import specs as catalogue
from tests.helpers.powershell_ast import (
    command_name,
    enclosing_function,
    function_body,
    nssm_set_names,
    parse,
    text,
    unchecked_native_calls,
    unclosed_web_responses,
    unretried_cloud_calls,
    walk,
)
from tests.helpers.windows_truth import NSSM_2_24_101_SETTINGS, NSSM_2_24_SETTINGS

PROXIES = ("iis", "nginx", "caddy")
FRAMEWORKS = ("flask", "django")


def windows_spec(framework: str, proxy: str, **windows: Any) -> StackSpec:
    return catalogue.windows_spec(framework, proxy, app={"secrets": ["SECRET_KEY"]}, **windows)


def scripts(framework: str, proxy: str) -> dict[str, str]:
    spec = windows_spec(framework, proxy)
    app, layout = spec.apps[0], vm_windows_layout()
    files = render_windows_host(plan_tier(spec, app), app, layout, OFFLINE_REFS)
    found = {path: text for path, text in files.items() if path.endswith(".ps1")}
    found["user data"] = render_windows_user_data_script(
        plan_tier(spec, app), app, layout, OFFLINE_REFS
    )
    found["webstack-release.ps1"] = render_windows_release_script(
        plan_tier(spec, app),
        app,
        layout,
        region=OFFLINE_REFS.region,
        bucket=OFFLINE_REFS.bucket,
        ssm_prefix=OFFLINE_REFS.ssm_prefix,
    )
    return found


CASES = [(f, p) for f in FRAMEWORKS for p in PROXIES]


@pytest.mark.parametrize(("framework", "proxy"), CASES)
def test_every_native_call_is_checked_for_its_exit_code(framework: str, proxy: str) -> None:
    for path, script in scripts(framework, proxy).items():
        assert unchecked_native_calls(script) == [], path


@pytest.mark.parametrize(("framework", "proxy"), CASES)
def test_every_web_request_closes_its_error_response(framework: str, proxy: str) -> None:
    for path, script in scripts(framework, proxy).items():
        assert unclosed_web_responses(script) == [], path
    bootstrap = next(s for p, s in scripts(framework, proxy).items() if p.endswith("bootstrap.ps1"))
    assert "GetResponse()" in bootstrap, "the health probe is a web request the rule must see"


@pytest.mark.parametrize(("framework", "proxy"), CASES)
def test_every_cloud_call_is_retried(framework: str, proxy: str) -> None:
    for path, script in scripts(framework, proxy).items():
        assert unretried_cloud_calls(script) == [], path
    bootstrap = next(s for p, s in scripts(framework, proxy).items() if p.endswith("bootstrap.ps1"))
    assert "Get-SSMParameter" in bootstrap and "Read-S3Object" in bootstrap


@pytest.mark.parametrize("proxy", PROXIES)
def test_every_nssm_setting_exists_in_the_pinned_nssm_build(proxy: str) -> None:
    """`nssm set <svc> <name>` with a name outside NSSM 2.24-101's settings table prints
    "Invalid parameter" and exits 1, which Invoke-Native turns into a failed boot."""
    bootstrap = next(s for p, s in scripts("flask", proxy).items() if p.endswith("bootstrap.ps1"))
    names = nssm_set_names(bootstrap)
    assert {"AppKillProcessTree", "AppExit", "AppStdout", "AppParameters"} <= set(names)
    assert sorted(set(names) - NSSM_2_24_101_SETTINGS) == []


# -- each rule can fail --------------------------------------------------------------------------
BAD_NATIVE = [
    "& $Nssm set web AppExit Default Restart",
    "icacls.exe C:\\webstack /grant Users:R",
    "nssm set web Start SERVICE_AUTO_START",
    "Start-Process -FilePath msiexec.exe -ArgumentList '/i x.msi'",
    "$p = Start-Process -FilePath x.exe -Wait -PassThru",
    "function Invoke-Native { param($FilePath) & $FilePath }",
]


@pytest.mark.parametrize("script", BAD_NATIVE)
def test_the_native_call_rule_can_fail(script: str) -> None:
    assert unchecked_native_calls(script + "\n") != []


def test_the_native_call_rule_accepts_what_it_should() -> None:
    good = (
        "$p = Start-Process -FilePath x.exe -Wait -PassThru\nif ($p.ExitCode -ne 0) { throw 'x' }\n"
        "& powershell.exe -File x.ps1\nexit $LASTEXITCODE\n"
    )
    assert unchecked_native_calls(good) == []


BAD_WEB = [
    "try { $r = $q.GetResponse(); $r.Close() } catch { return $false }",
    "try { $r = $q.GetResponse() } catch [Net.WebException] { return $false } finally { $r.Close() }",
    "Invoke-WebRequest -Uri https://nssm.cc/x.zip -OutFile x.zip",
]


@pytest.mark.parametrize("script", BAD_WEB)
def test_the_web_response_rule_can_fail(script: str) -> None:
    assert unclosed_web_responses(script + "\n") != []


BAD_CLOUD = [
    "Read-S3Object -BucketName b -Key k -File f",
    "$v = (Get-SSMParameter -Name n -WithDecryption $true).Value",
    "Invoke-Other -Action { Read-S3Object -BucketName b -Key k -File f }",
    "try { Get-SSMParameter -Name n } catch { }",
]


@pytest.mark.parametrize("script", BAD_CLOUD)
def test_the_cloud_retry_rule_can_fail(script: str) -> None:
    assert unretried_cloud_calls(script + "\n") != []


def test_the_nssm_rule_can_fail() -> None:
    """The 2.24 release has no AppKillProcessTree: the same check against its table fails."""
    bootstrap = next(s for p, s in scripts("flask", "nginx").items() if p.endswith("bootstrap.ps1"))
    assert "AppKillProcessTree" in set(nssm_set_names(bootstrap)) - NSSM_2_24_SETTINGS
    bad = "Invoke-Native $Nssm @('set', $name, 'AppKillTree', '1')\n"
    assert set(nssm_set_names(bad)) - NSSM_2_24_101_SETTINGS == {"AppKillTree"}


def bootstrap_of(proxy: str) -> str:
    return next(s for p, s in scripts("flask", proxy).items() if p.endswith("bootstrap.ps1"))


def commands_in(source: str, function: str, name: str) -> list[str]:
    root = parse(source)
    return [
        text(n)
        for n in walk(root)
        if n.type == "command" and command_name(n) == name and enclosing_function(n) == function
    ]


@pytest.mark.parametrize("proxy", PROXIES)
def test_no_service_account_reaches_the_metadata_service(proxy: str) -> None:
    """Every NSSM service (Waitress and the proxy) is installed by Install-NssmService, which
    blocks 169.254.169.254 outbound for that service's SID."""
    bootstrap = bootstrap_of(proxy)
    assert commands_in(bootstrap, "Install-NssmService", "Block-MetadataService") == [
        "Block-MetadataService -Name $name"
    ]
    [rule] = commands_in(bootstrap, "Block-MetadataService", "New-NetFirewallRule")
    for part in ("-Direction Outbound", "-Action Block", "169.254.169.254", "-Service $Name"):
        assert part in rule, part
    activation = scripts("flask", proxy)["webstack-release.ps1"]
    assert "Install-NssmService -Definition $moved" in (
        function_body(parse(activation), "Move-Service") or ""
    )
    installs = [text(n) for n in walk(parse(bootstrap)) if n.type == "command"]
    if proxy != "iis":
        assert any("Update-ProxyService -Definition $Definitions.proxy" in c for c in installs)
        assert commands_in(bootstrap, "Update-ProxyService", "Install-NssmService")


def test_secrets_nssm_would_expand_are_refused_at_boot() -> None:
    bootstrap = bootstrap_of("nginx")
    assert f"if ($value -match '{NSSM_EXPANDED.pattern}') {{ throw" in bootstrap
    for value, expanded in (("a%PATH%b", True), ("50%", False), ("%%", False), ("1%=2%", False)):
        assert bool(NSSM_EXPANDED.search(value)) is expanded, value
