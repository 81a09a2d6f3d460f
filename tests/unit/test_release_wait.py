"""The release channel's verdict against recorded SSM / Auto Scaling answers (botocore Stubber):
`pulumi up` succeeds only when every serving instance reports the new release active, fails and
rolls the switched instances back otherwise, and waits for an instance refresh to its end."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from components.aws.release_wait import (
    OUTPUT_TAIL,
    ReleaseFailed,
    Rollout,
    command,
    problems,
    roll_out,
    wait_for_instance_refresh,
)
from tests.helpers import ssm_stubs

ROLLOUT = Rollout(
    app="shop",
    release_id="r-00112233445566aa",
    script="/opt/webstack/webstack-release-shop.sh",
    pointer_name="/webstack/p/prod/site/shop/release",
    asg_name="shop-asg",
)
PREVIOUS = '{"release":"r-99887766554433bb"}'


_clients, _group = ssm_stubs.clients, ssm_stubs.group


def _command(
    ssm: Stubber, name: str, results: dict[str, tuple[str, str]], run: str = "", **where: Any
) -> None:
    ssm_stubs.record_command(
        ssm,
        name,
        results,
        document="AWS-RunShellScript",
        run=run or command(ROLLOUT)[1][0],
        plugin="aws:runShellScript",
        **where,
    )


ACTIVE = f"webstack-release: release {ROLLOUT.release_id} active\n"
SKIP = command(ROLLOUT, skip_release_command=True)[1][0]
TARGETS = [
    {"Key": "tag:webstack:app", "Values": ["shop"]},
    {"Key": "tag:aws:autoscaling:groupName", "Values": ["shop-asg"]},
]


def test_every_serving_instance_reports_the_release_active() -> None:
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE), "i-2": ("Success", ACTIVE)}, Targets=TARGETS)
    with s, a:
        assert roll_out(ssm, asg, ROLLOUT, PREVIOUS, sleep=lambda _: None) == ["i-1", "i-2"]
        s.assert_no_pending_responses()


def test_a_failing_instance_fails_the_update_and_rolls_the_switched_ones_back() -> None:
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2", "i-3")
    broken = "webstack-release: FAILED: slot 2 exited while starting; release r-9 keeps serving"
    # MaxErrors 0: after i-2 failed, SSM never sent the command to i-3.
    _command(s, "c-1", {"i-1": ("Success", ACTIVE), "i-2": ("Failed", broken)}, Targets=TARGETS)
    s.add_response(
        "put_parameter",
        {"Version": 3},
        {"Name": ROLLOUT.pointer_name, "Value": PREVIOUS, "Type": "String", "Overwrite": True},
    )
    # The rollback never re-runs the previous release's command (it ran at that release).
    # The failed one too (idempotent where it switched back itself).
    back = {"i-1": ("Success", "back"), "i-2": ("Success", "back")}
    _command(s, "c-2", back, run=SKIP, InstanceIds=["i-1", "i-2"])
    with s, a, pytest.raises(ReleaseFailed) as failed:
        roll_out(ssm, asg, ROLLOUT, PREVIOUS, sleep=lambda _: None)
    message = str(failed.value)
    assert "i-2: webstack-release: FAILED: slot 2 exited" in message
    assert "i-3: never ran the activation" in message
    assert "put the previous release back on i-1, i-2" in message
    s.assert_no_pending_responses()


def test_success_without_the_release_line_is_not_success() -> None:
    """Exit 0 is not enough: the script prints the id only after Nginx served it healthy."""
    ssm, asg, s, a = _clients()
    _group(a, "i-1")
    _command(s, "c-1", {"i-1": ("Success", "something else\n")}, Targets=TARGETS)
    with s, a, pytest.raises(ReleaseFailed, match="i-1: something else"):
        roll_out(ssm, asg, ROLLOUT, None, sleep=lambda _: None)


MIGRATING = Rollout(**{**ROLLOUT.__dict__, "release_command": True})


def test_the_release_command_runs_on_the_first_instance_alone() -> None:
    """issue 13 item 3: once per release. i-1 runs it (migrate); i-2, i-3 get the skip, after it."""
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2", "i-3")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE)}, InstanceIds=["i-1"])
    rest = {"i-2": ("Success", ACTIVE), "i-3": ("Success", ACTIVE)}
    _command(s, "c-2", rest, run=SKIP, InstanceIds=["i-2", "i-3"])
    with s, a:
        active = roll_out(ssm, asg, MIGRATING, PREVIOUS, sleep=lambda _: None)
        assert active == ["i-1", "i-2", "i-3"]
        s.assert_no_pending_responses()


def test_a_failing_release_command_stops_the_release_before_the_other_instances() -> None:
    """issue 17: the migration fails on i-1 (before its switch): no other instance is touched."""
    ssm, asg, s, a = _clients()
    _group(a, "i-1", "i-2")
    failed = "webstack-release: FAILED: release command failed; release r-9 keeps serving"
    _command(s, "c-1", {"i-1": ("Failed", failed)}, InstanceIds=["i-1"])
    # Nothing switched, but the pointer goes back: an instance booting now must not activate
    # (and migrate) the failed release. i-1 re-checks the previous release (a no-op there).
    s.add_response(
        "put_parameter",
        {"Version": 3},
        {"Name": ROLLOUT.pointer_name, "Value": PREVIOUS, "Type": "String", "Overwrite": True},
    )
    _command(s, "c-2", {"i-1": ("Success", "back")}, run=SKIP, InstanceIds=["i-1"])
    with s, a, pytest.raises(ReleaseFailed) as stopped:
        roll_out(ssm, asg, MIGRATING, PREVIOUS, sleep=lambda _: None)
    assert "i-1: webstack-release: FAILED: release command failed" in str(stopped.value)
    assert "i-2: never ran the activation" in str(stopped.value)
    s.assert_no_pending_responses()


NEW_POINTER = '{"release":"r-00112233445566aa"}'


@pytest.mark.parametrize("in_ssm", [PREVIOUS, None])
def test_a_retried_rollout_writes_its_pointer_again(in_ssm: str | None) -> None:
    """A failed rollout put the previous pointer back behind Pulumi's back; the next `pulumi up`
    retries the rollout with the new value in its state: the VMs must read the new one."""
    ssm, asg, s, a = _clients()
    if in_ssm is None:
        s.add_client_error("get_parameter", "ParameterNotFound", expected_params={"Name": ANY})
    else:
        found = {"Parameter": {"Name": ROLLOUT.pointer_name, "Value": in_ssm, "Version": 3}}
        s.add_response("get_parameter", found, {"Name": ROLLOUT.pointer_name})
    s.add_response(
        "put_parameter",
        {"Version": 4},
        {"Name": ROLLOUT.pointer_name, "Value": NEW_POINTER, "Type": "String", "Overwrite": True},
    )
    _group(a, "i-1")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE)}, Targets=TARGETS)
    with s, a:
        assert roll_out(ssm, asg, ROLLOUT, PREVIOUS, lambda _: None, pointer=NEW_POINTER) == ["i-1"]
        s.assert_no_pending_responses()


def test_a_pointer_already_in_ssm_is_not_written_again() -> None:
    """The usual case: Pulumi just wrote it; no second write (no extra parameter version)."""
    ssm, asg, s, a = _clients()
    found = {"Parameter": {"Name": ROLLOUT.pointer_name, "Value": NEW_POINTER, "Version": 4}}
    s.add_response("get_parameter", found, {"Name": ROLLOUT.pointer_name})
    _group(a, "i-1")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE)}, Targets=TARGETS)
    with s, a:
        roll_out(ssm, asg, ROLLOUT, PREVIOUS, lambda _: None, pointer=NEW_POINTER)
        s.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (["InProgress", "Successful"], "ok"),
        (["Pending", "InProgress", "Failed"], "Failed"),
        (["InProgress", "RollbackSuccessful"], "RollbackSuccessful"),
        (["Cancelled"], "Cancelled"),
    ],
)
def test_pulumi_up_waits_for_the_instance_refresh(statuses: list[str], verdict: str) -> None:
    _, asg, _, a = _clients()
    for st in statuses:
        a.add_response(
            "describe_instance_refreshes",
            {"InstanceRefreshes": [{"InstanceRefreshId": "ir-1", "Status": st}]},
            {"AutoScalingGroupName": "shop-asg", "MaxRecords": 1},
        )
    with a:
        if verdict == "ok":
            assert wait_for_instance_refresh(asg, "shop-asg", sleep=lambda _: None) == "ir-1"
        else:
            with pytest.raises(ReleaseFailed, match=verdict):
                wait_for_instance_refresh(asg, "shop-asg", sleep=lambda _: None)
        a.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"max_concurrency": "0"}, "max_concurrency"),
        ({"max_concurrency": "101%"}, "max_concurrency"),
        ({"max_errors": "-1"}, "max_errors"),
        ({"timeout_seconds": 29}, "timeout_seconds"),
        ({"tags": {f"k{i}": "v" for i in range(4)}}, "targets"),
    ],
)
def test_sendcommand_limits_are_checked_before_any_call(
    change: dict[str, Any], setting: str
) -> None:
    """botocore/data/ssm/2014-11-06/service-2.json: MaxConcurrency, MaxErrors, TimeoutSeconds, Targets."""
    assert problems(ROLLOUT) == []
    bad = Rollout(**{**ROLLOUT.__dict__, **change})
    assert any(setting in p for p in problems(bad)), problems(bad)


# ListCommandInvocations keeps the first 2,500 characters of a plugin's output (botocore's SSM
# model: CommandPluginOutput max 2500); the verdict line is the script's last.
PLUGIN_OUTPUT_MAX = 2500


@pytest.mark.parametrize("exit_code", [0, 3])
def test_a_long_activation_log_keeps_its_verdict_line_and_exit_code(
    tmp_path: Path, exit_code: int
) -> None:
    """Run the real command under POSIX sh (the agent's shell) against a script that logs 20 KB
    (pip, collectstatic) before its verdict: what reaches the agent fits in the part SSM keeps and
    ends with the verdict, the exit code passes through, and the whole log stays on the VM."""
    script = tmp_path / "webstack-release-shop.sh"
    script.write_text(
        'for i in $(seq 1 400); do echo "installing package number $i of the app"; done\n'
        f"echo 'webstack-release: release {ROLLOUT.release_id} active'\nexit {exit_code}\n"
    )
    rollout = Rollout(**{**ROLLOUT.__dict__, "script": str(script)})
    ran = subprocess.run(["sh", "-c", command(rollout)[1][0]], capture_output=True, text=True)
    assert ran.returncode == exit_code
    assert len(ran.stdout) <= OUTPUT_TAIL < PLUGIN_OUTPUT_MAX
    assert ran.stdout[:PLUGIN_OUTPUT_MAX].rstrip().endswith(f"release {ROLLOUT.release_id} active")
    assert "package number 1 of" in (tmp_path / "webstack-release-shop.sh.log").read_text()


def test_every_page_of_invocations_counts() -> None:
    """ListCommandInvocations pages at 50: an instance on page 2 must not count as never reached."""
    ssm, asg, s, a = _clients()
    names = [f"i-{n:03d}" for n in range(55)]
    _group(a, *names)
    cid = "p" * 36
    s.add_response(
        "send_command",
        {"Command": {"CommandId": cid}},
        {**ssm_stubs.send_params("AWS-RunShellScript", command(ROLLOUT)[1][0]), "Targets": ANY},
    )
    s.add_response("list_commands", {"Commands": [{"CommandId": cid, "Status": "Success"}]})
    for page, token in ((names[:50], {"NextToken": "t"}), (names[50:], {})):
        s.add_response(
            "list_command_invocations",
            {
                "CommandInvocations": [
                    {
                        "CommandId": cid,
                        "InstanceId": i,
                        "Status": "Success",
                        "CommandPlugins": [
                            {
                                "Name": "aws:runShellScript",
                                "Output": f"release {ROLLOUT.release_id} active",
                            }
                        ],
                    }
                    for i in page
                ],
                **token,
            },
        )
    with s, a:
        assert roll_out(ssm, asg, ROLLOUT, None, sleep=lambda _: None) == sorted(names)


def test_a_rollout_no_instance_ran_puts_the_pointer_back_and_sends_nothing_more() -> None:
    """SSM reached no instance (all skipped): the pointer goes back, but no rollback command goes
    out (an empty id list would target every tagged instance)."""
    ssm, asg, s, a = _clients()
    _group(a, "i-1")
    _command(s, "c-1", {}, Targets=TARGETS)
    s.add_response(
        "put_parameter",
        {"Version": 3},
        {"Name": ROLLOUT.pointer_name, "Value": PREVIOUS, "Type": "String", "Overwrite": True},
    )
    with s, a, pytest.raises(ReleaseFailed) as failed:
        roll_out(ssm, asg, ROLLOUT, PREVIOUS, sleep=lambda _: None)
    assert "i-1: never ran the activation" in str(failed.value)
    assert "put the previous release back" not in str(failed.value)
    s.assert_no_pending_responses()
