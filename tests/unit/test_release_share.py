"""The rollout share (issue 13 Build 2: "one at a time or a configured share"): the app's
`release.max_concurrency` is validated in the spec, reaches SendCommand's MaxConcurrency, and the
release command still runs on the first instance alone before the others (recorded SSM answers,
botocore Stubber)."""

from __future__ import annotations

from typing import Any

import pytest

from components.aws.release_wait import MAX_CONCURRENCY, ReleaseFailed, Rollout, command, roll_out
from components.plan.checks import parse_stack_spec
from components.spec.errors import SpecError
from tests.helpers import ssm_stubs

FLASK = {"name": "web", "framework": "flask", "wsgi": "app:create_app()"}


def _stack(release: object) -> dict[str, Any]:
    return {"environment": "test", "edge": {"mode": "alb"}, "apps": [{**FLASK, "release": release}]}


@pytest.mark.parametrize(("given", "ssm"), [(1, "1"), (4, "4"), ("25%", "25%"), ("100%", "100%")])
def test_a_share_or_a_count_is_what_sendcommand_gets(given: object, ssm: str) -> None:
    app = parse_stack_spec(_stack({"max_concurrency": given})).apps[0]
    assert app.release.ssm_max_concurrency == ssm
    assert MAX_CONCURRENCY.match(ssm), "every value the spec accepts must be one SSM accepts"


def test_one_at_a_time_is_the_default() -> None:
    app = parse_stack_spec({**_stack({}), "apps": [FLASK]}).apps[0]
    assert app.release.ssm_max_concurrency == "1"


@pytest.mark.parametrize("bad", [0, -1, True, "0%", "101%", "2", "25 %", 2.5, "half", None])
def test_a_bad_share_is_one_clear_line(bad: object) -> None:
    with pytest.raises(SpecError) as error:
        parse_stack_spec(_stack({"max_concurrency": bad}))
    (line,) = error.value.problems
    assert line.startswith("apps.web.release.max_concurrency: "), line
    assert "whole number" in line and '"1%".."100%"' in line, line


def test_an_unknown_release_setting_is_refused() -> None:
    with pytest.raises(SpecError, match=r"apps\.web\.release\.max_concurency: unknown setting"):
        parse_stack_spec(_stack({"max_concurency": 2}))


# -- the channel with a share ------------------------------------------------------------------
SHARE = Rollout(
    app="shop",
    release_id="r-00112233445566aa",
    script="/opt/webstack/webstack-release-shop.sh",
    pointer_name="/webstack/p/prod/site/shop/release",
    asg_name="shop-asg",
    max_concurrency="50%",
)
ACTIVE = f"webstack-release: release {SHARE.release_id} active\n"
RUN, SKIP = command(SHARE)[1][0], command(SHARE, skip_release_command=True)[1][0]
TARGETS = [
    {"Key": "tag:webstack:app", "Values": ["shop"]},
    {"Key": "tag:aws:autoscaling:groupName", "Values": ["shop-asg"]},
]


def _command(s: Any, name: str, results: dict[str, tuple[str, str]], **kw: Any) -> None:
    ssm_stubs.record_command(
        s,
        name,
        results,
        document="AWS-RunShellScript",
        plugin="aws:runShellScript",
        **{"run": RUN, **kw},
    )


def test_the_share_is_sendcommands_max_concurrency() -> None:
    ssm, asg, s, a = ssm_stubs.clients()
    ssm_stubs.group(a, "i-1", "i-2", "i-3", "i-4")
    ok = {i: ("Success", ACTIVE) for i in ("i-1", "i-2", "i-3", "i-4")}
    _command(s, "c-1", ok, max_concurrency="50%", Targets=TARGETS)
    with s, a:
        assert roll_out(ssm, asg, SHARE, None, sleep=lambda _: None) == sorted(ok)
        s.assert_no_pending_responses()


def test_with_a_share_the_release_command_runs_on_the_first_instance_alone_first() -> None:
    """The migration runs once, on i-1, one instance at a time; the rest follow at the share."""
    ssm, asg, s, a = ssm_stubs.clients()
    ssm_stubs.group(a, "i-1", "i-2", "i-3", "i-4")
    _command(s, "c-1", {"i-1": ("Success", ACTIVE)}, max_concurrency="1", InstanceIds=["i-1"])
    rest = {i: ("Success", ACTIVE) for i in ("i-2", "i-3", "i-4")}
    _command(s, "c-2", rest, run=SKIP, max_concurrency="50%", InstanceIds=sorted(rest))
    migrating = Rollout(**{**SHARE.__dict__, "release_command": True})
    with s, a:
        assert roll_out(ssm, asg, migrating, None, sleep=lambda _: None) == [
            "i-1",
            "i-2",
            "i-3",
            "i-4",
        ]
        s.assert_no_pending_responses()


def test_more_than_fifty_instances_go_in_batches_and_stop_at_a_failed_batch() -> None:
    """SendCommand takes at most 50 InstanceIds (botocore's InstanceIdList, max 50): 1 + 50 + 2
    instances are three commands; a failure in the second stops before the third."""
    ssm, asg, s, a = ssm_stubs.clients()
    ids = [f"i-{n:03d}" for n in range(53)]
    ssm_stubs.group(a, *ids)
    _command(s, "c-1", {ids[0]: ("Success", ACTIVE)}, max_concurrency="1", InstanceIds=ids[:1])
    second = {i: ("Success", ACTIVE) for i in ids[1:51]} | {ids[50]: ("Failed", "boom")}
    _command(s, "c-2", second, run=SKIP, max_concurrency="50%", InstanceIds=ids[1:51])
    s.add_response(
        "put_parameter",
        {"Version": 2},
        {"Name": SHARE.pointer_name, "Value": "{}", "Type": "String", "Overwrite": True},
    )
    # Every instance that ran (i-050 failed: it too), in batches of 50 again.
    back = {i: ("Success", "back") for i in ids[:51]}
    first, rest = dict(list(back.items())[:50]), dict(list(back.items())[50:])
    _command(s, "c-3", first, run=SKIP, max_concurrency="50%", InstanceIds=ids[:50])
    _command(s, "c-4", rest, run=SKIP, max_concurrency="50%", InstanceIds=ids[50:51])
    migrating = Rollout(**{**SHARE.__dict__, "release_command": True})
    with s, a, pytest.raises(ReleaseFailed) as failed:
        roll_out(ssm, asg, migrating, "{}", sleep=lambda _: None)
    assert "i-050: boom" in str(failed.value)
    assert "i-051: never ran the activation" in str(failed.value)
    s.assert_no_pending_responses()
