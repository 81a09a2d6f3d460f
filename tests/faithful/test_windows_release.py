"""The Windows activation script, read with the real PowerShell grammar: it parses, moves the
services one at a time (each health-checked before the next) and moves them back on a failure."""

from __future__ import annotations

import re

import pytest
from tree_sitter import Node

from components.plan.release import PROXY_REJOIN_SECONDS
from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import render_windows_host
from components.render.windows_release import render_windows_release_script
from components.tooling.local.windows import OFFLINE_REFS
from tests.faithful.test_windows_powershell import PROXIES, windows_spec
from tests.helpers.powershell_ast import (
    command_name,
    enclosing_function,
    function_body,
    parse,
    text,
    walk,
)


def release_script(proxy: str) -> str:
    spec = windows_spec("flask", proxy)
    refs = OFFLINE_REFS
    return render_windows_release_script(
        plan_tier(spec, spec.apps[0]),
        spec.apps[0],
        vm_windows_layout(),
        region=refs.region,
        bucket=refs.bucket,
        ssm_prefix=refs.ssm_prefix,
    )


def syntax_errors(source: str) -> list[str]:
    return [text(n)[:80] for n in walk(parse(source)) if n.type == "ERROR" or n.is_missing]


@pytest.mark.parametrize("proxy", PROXIES)
def test_the_release_script_parses(proxy: str) -> None:
    assert syntax_errors(release_script(proxy)) == []


def test_the_parse_check_can_fail() -> None:
    assert syntax_errors("foreach ($x in @(1, 2) {\n  Write-Host $x\n")


def _service_loop(source: str) -> str:
    loops = [
        text(n)
        for n in walk(parse(source))
        if n.type == "foreach_statement" and "$Definitions.services" in text(n)[:60]
    ]
    assert len(loops) == 1, "one loop over the services moves them"
    return loops[0]


def test_services_move_one_at_a_time_each_checked_before_the_next() -> None:
    loop = _service_loop(release_script("nginx"))
    commands = [command_name(n) for n in walk(parse(loop)) if n.type == "command"]
    first_move = commands.index("Move-Service")
    assert commands.index("Wait-Healthy") > first_move, "health-check the moved service"
    assert "throw" in loop and "moving the moved services back" in loop
    # A parallel or unchecked move would show as no Wait-Healthy between two moves.
    moves = [i for i, c in enumerate(commands) if c == "Move-Service"]
    assert any(c == "Wait-Healthy" for c in commands[moves[0] : moves[1]]), commands


@pytest.mark.parametrize(
    ("proxy", "window"), [("nginx", r"fail_timeout=(\d+)s"), ("caddy", r"fail_duration (\d+)s")]
)
def test_the_script_waits_the_proxys_rejoin_window_between_services(
    proxy: str, window: str
) -> None:
    """The rendered proxy's own window is what the script sleeps between services (the stand-in's
    rollout lost 195 of 500 requests to 502 without it: tests/e2e/test_windows_rollout.py)."""
    spec = windows_spec("flask", proxy)
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), OFFLINE_REFS
    )
    config = next(c for p, c in files.items() if p.endswith(("nginx.conf", "Caddyfile")))
    assert {int(s) for s in re.findall(window, config)} == {PROXY_REJOIN_SECONDS[proxy]}
    loop = _service_loop(release_script(proxy))
    assert f"Start-Sleep -Seconds {PROXY_REJOIN_SECONDS[proxy]} }}" in loop


def _top_level(source: str, kind: str, marker: str) -> list[Node]:
    return [
        n
        for n in walk(parse(source))
        if n.type == kind and marker in text(n) and enclosing_function(n) is None
    ]


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_reboot_restarts_nothing_when_the_active_release_serves(proxy: str) -> None:
    """The bootstrap runs the activation at every boot (EC2Launch v2 `frequency: always`); NSSM
    has already started the services on the active release. An experienced operator expects the
    boot to check them, not to move them one by one again through the proxy's rejoin windows."""
    source = release_script(proxy)
    (early,) = _top_level(source, "if_statement", "already active")
    condition, body = text(early.children[2]), text(early.children[4])
    for needed in ("$Id -eq $Previous", "$ActiveServices -eq $ServicesHash", "'.complete'"):
        assert needed in condition, f"the early exit must check {needed}"
    assert "Test-ServingRelease" in condition, "every service must answer before nothing moves"
    assert "exit 0" in body and "webstack-release: release $Id active" in body, body
    first_restart = min(
        n.start_byte
        for n in walk(parse(source))
        if n.type == "command"
        and command_name(n) in ("Move-Service", "Restart-Service", "Get-SSMParameter")
        and enclosing_function(n) is None
        and "$PointerName" not in text(n)
    )
    assert early.start_byte < first_restart, "the check comes before any secret read or restart"
    check = function_body(parse(source), "Test-ServingRelease") or ""
    assert "AppDirectory" in check and "Wait-Healthy" in check and "return $false" in check
    loop = _service_loop(source)
    assert source.index("-Value $ServicesHash") > source.index(loop), (
        "the services.json a release moved onto is recorded only after every service moved"
    )


def _script(framework: str, proxy: str) -> str:
    spec = windows_spec(framework, proxy)
    return render_windows_release_script(
        plan_tier(spec, spec.apps[0]),
        spec.apps[0],
        vm_windows_layout(),
        region=OFFLINE_REFS.region,
        bucket=OFFLINE_REFS.bucket,
        ssm_prefix=OFFLINE_REFS.ssm_prefix,
    )


def _top_commands(source: str, name: str) -> list[Node]:
    return [
        n
        for n in walk(parse(source))
        if n.type == "command" and command_name(n) == name and enclosing_function(n) is None
    ]


@pytest.mark.parametrize("framework", ["flask", "django"])
def test_static_files_follow_the_rolling_order(framework: str) -> None:
    """Old and new code serve side by side while the services move: new files go in before the
    first move (add only), changed ones after the last, then what neither the active nor the
    previous release has is removed; a failure before that leaves the served files as they were."""
    source = _script(framework, "nginx")
    loop = parse(source)
    (services,) = [
        n
        for n in walk(loop)
        if n.type == "foreach_statement" and "$Definitions.services" in text(n)[:60]
    ]
    early, late = _top_commands(source, "Publish-Static")
    assert "-KeepExisting" in text(early) and "-KeepExisting" not in text(late)
    assert early.end_byte < services.start_byte < services.end_byte < late.start_byte
    (prune,) = _top_commands(source, "Remove-StaleStatic")
    (active,) = [n for n in _top_commands(source, "Set-Content") if "$ActiveFile" in text(n)]
    assert late.end_byte < prune.start_byte < active.start_byte
    publish = function_body(loop, "Publish-Static") or ""
    assert "'/XC', '/XN', '/XO'" in publish, "add only: skip changed, newer and older files"
    assert "robocopy.exe" in publish and "-Ok @(0, 1, 2, 3, 4, 5, 6, 7)" in publish
    if framework == "django":
        (collect,) = _top_level(source, "if_statement", "collectstatic")
        assert '"STATIC_ROOT=$collecting"' in text(collect) and "$ServedStatic" not in text(collect)
        assert collect.end_byte < early.start_byte, "collected into the release before publishing"
        env = function_body(loop, "Get-AppEnvironment") or ""
        assert "$ownStatic = Get-ReleaseStatic -Folder $Folder" in env, "its own manifest"
        assert '"STATIC_ROOT=$ownStatic"' in env
        # Only when that folder exists: a release staged by an older script has none, and a
        # rollback onto it keeps app.env's STATIC_ROOT rather than a manifest that is not there.
        assert "if (Test-Path -LiteralPath $ownStatic)" in env


@pytest.mark.parametrize("framework", ["flask", "django"])
@pytest.mark.parametrize("proxy", PROXIES)
def test_every_proxy_serves_the_folder_the_activation_fills(framework: str, proxy: str) -> None:
    """Not `current\\static`: no release writes it on a VM (the services run releases\\<id>)."""
    spec = windows_spec(framework, proxy)
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), OFFLINE_REFS
    )
    served = "$ServedStatic = 'C:\\webstack\\web\\collected-static'"
    assert served in _script(framework, proxy)
    text_of = "\n".join(files.values())
    wanted = {
        "nginx": "alias C:/webstack/web/collected-static/;",
        "caddy": "root * C:/webstack/web/collected-static",
        "iis": "'/physicalPath:C:\\webstack\\web\\collected-static'",
    }[proxy]
    assert wanted in text_of
    assert "current/static" not in text_of and "current\\static" not in text_of
