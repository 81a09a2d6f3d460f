"""The release channel for a Windows app against recorded SSM / Auto Scaling answers (botocore
Stubber): AWS-RunPowerShellScript runs webstack-release.ps1 in a child powershell.exe whose exit
code reaches the agent, the verdict is the Linux one (every InService instance printed
`release <id> active`), and a failure puts the pointer back and moves the switched VMs back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from components.aws.release_wait import ReleaseFailed, Rollout, command, problems, roll_out
from tests.helpers import ssm_stubs
from tests.helpers.powershell_ast import parse, text, walk

ROLLOUT = Rollout(
    app="shop",
    release_id="r-00112233445566aa",
    script=r"C:\webstack\apps\shop\webstack-release.ps1",
    pointer_name="/webstack/p/prod/site/shop/release",
    asg_name="shop-asg",
    platform="windows",
)
PREVIOUS = '{"release":"r-99887766554433bb"}'
RUN = command(ROLLOUT)[1][0]
ACTIVE = f"webstack-release: release {ROLLOUT.release_id} active\r\n"
TARGETS = [
    {"Key": "tag:webstack:app", "Values": ["shop"]},
    {"Key": "tag:aws:autoscaling:groupName", "Values": ["shop-asg"]},
]


_clients, _group = ssm_stubs.clients, ssm_stubs.group


def _command(ssm: Stubber, name: str, results: dict[str, tuple[str, str]], **where: Any) -> None:
    """One recorded AWS-RunPowerShellScript run: its plugin is aws:runPowerShellScript."""
    ssm_stubs.record_command(
        ssm,
        name,
        results,
        document="AWS-RunPowerShellScript",
        run=RUN,
        plugin="aws:runPowerShellScript",
        statuses=("Success",),
        **where,
    )


def test_a_windows_release_runs_the_powershell_script_on_every_serving_instance() -> None:
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE), "i-2": ("Success", ACTIVE)}, Targets=TARGETS)
    with s, a:
        assert roll_out(ssm, asg, ROLLOUT, PREVIOUS, sleep=lambda _: None) == ["i-1", "i-2"]
        s.assert_no_pending_responses()


def test_a_thrown_release_fails_the_update_and_moves_the_switched_vms_back() -> None:
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2", "i-3")
    # The script's last words when a service of the new release stays unhealthy (it throws).
    thrown = (
        "webstack-release: shop-2 is not healthy on release r-00112233445566aa\r\n"
        "release r-00112233445566aa failed on shop-2; release r-99887766554433bb keeps serving"
    )
    _command(s, "c-1", {"i-1": ("Success", ACTIVE), "i-2": ("Failed", thrown)}, Targets=TARGETS)
    s.add_response(
        "put_parameter",
        {"Version": 3},
        {"Name": ROLLOUT.pointer_name, "Value": PREVIOUS, "Type": "String", "Overwrite": True},
    )
    # i-2 too: a throw after its last service moved would leave it on the failed release.
    _command(s, "c-2", {"i-1": ("Success", "back"), "i-2": ("Success", "back")},
             InstanceIds=["i-1", "i-2"])  # fmt: skip
    with s, a, pytest.raises(ReleaseFailed) as failed:
        roll_out(ssm, asg, ROLLOUT, PREVIOUS, sleep=lambda _: None)
    message = str(failed.value)
    assert "i-2: release r-00112233445566aa failed on shop-2" in message
    assert "i-3: never ran the activation" in message
    assert "put the previous release back on i-1, i-2" in message
    s.assert_no_pending_responses()


def test_exit_zero_without_the_release_line_is_not_success() -> None:
    ssm, asg, s, a = _clients()
    _group(a, "i-1")
    _command(s, "c-1", {"i-1": ("Success", "webstack-release: staging\r\n")}, Targets=TARGETS)
    with s, a, pytest.raises(ReleaseFailed, match="i-1: webstack-release: staging"):
        roll_out(ssm, asg, ROLLOUT, None, sleep=lambda _: None)


@pytest.mark.parametrize(
    "script",
    [r"C:\webstack\apps\shop\webstack-release.ps1", r"C:\Program Files\o'brien\release.ps1"],
)
def test_the_command_is_one_powershell_statement_passing_the_exit_code_on(script: str) -> None:
    """Parsed by the real PowerShell grammar: the path stays one single-quoted argument of -File
    (a quote in it doubled), and the command ends by exiting with the child's $LASTEXITCODE."""
    document, commands = command(Rollout(**{**ROLLOUT.__dict__, "script": script}))
    assert document == "AWS-RunPowerShellScript"
    root = parse(commands[0])
    assert [n for n in walk(root) if n.type == "ERROR" or n.is_missing] == []
    quoted = [text(n) for n in walk(root) if text(n).startswith("'") and text(n).endswith("'")]
    assert "'" + script.replace("'", "''") + "'" in quoted
    assert (
        "-File '" + script.replace("'", "''") + "' | Out-String; $rc = $LASTEXITCODE;"
        in commands[0]
    )
    assert commands[0].endswith("; exit $rc")


def test_linux_keeps_bash_and_an_unknown_platform_is_refused_before_any_call() -> None:
    linux = Rollout(**{**ROLLOUT.__dict__, "platform": "linux", "script": "/opt/r.sh"})
    document, commands = command(linux)
    assert document == "AWS-RunShellScript" and "bash /opt/r.sh 2>&1" in commands[0]
    assert problems(ROLLOUT) == []
    bad = Rollout(**{**ROLLOUT.__dict__, "platform": "macos"})
    assert problems(bad) == ["platform 'macos': one of linux, windows"]
