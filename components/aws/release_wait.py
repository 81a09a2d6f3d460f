"""The release channel's verdict: roll a release out with SSM Run Command and wait for every instance.

Pure boto3 (no Pulumi): the dynamic resource in components/aws/release_channel.py calls it during
`pulumi up`, and the tests drive it with botocore's Stubber on recorded SSM / Auto Scaling answers.

- `roll_out`: SendCommand (AWS-RunShellScript, or AWS-RunPowerShellScript for a Windows app,
  running webstack-release on the instances tagged for the app, `MaxConcurrency` at a time, `MaxErrors` 0: stop on the first failure). Success only when
  *every* instance that serves (the group's InService instances) ran it and reported the release
  active (the script prints it after Nginx answered the health path with the release id). A
  skipped instance (one that appeared while the concurrency limit was full) fails too. On failure
  the pointer goes back and the instances that had switched activate the previous release again.
- `wait_for_instance_refresh`: the provider starts a refresh and returns; this waits for its end.

SendCommand limits come from botocore's model (botocore/data/ssm/2014-11-06/service-2.json):
MaxConcurrency `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`, MaxErrors `^([1-9][0-9]*|[0]|[1-9][0-9]%|
[0-9]%|100%)$`, TimeoutSeconds 30..2592000, at most 5 Targets and 50 InstanceIds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

MAX_CONCURRENCY = re.compile(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$")
MAX_ERRORS = re.compile(r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$")
TIMEOUT_RANGE = (30, 2592000)
MAX_TARGETS = 5
MAX_INSTANCE_IDS = 50  # SendCommand's InstanceIds (InstanceIdList max 50 in the same model)
OUTPUT_TAIL = 2000  # < 2,500: what ListCommandInvocations keeps of a plugin's output
DOCUMENT = "AWS-RunShellScript"  # AWS's own Command document: nothing of ours to version
# Windows: AWS's own PowerShell document; like AWS-RunShellScript its parameter is `commands`
# (StringList, minItems 1; `aws ssm get-document --name AWS-RunPowerShellScript`).
WINDOWS_DOCUMENT = "AWS-RunPowerShellScript"
PLATFORMS = ("linux", "windows")
# Invocation states that end (ListCommandInvocations CommandInvocationStatus).
DONE = {"Success", "Failed", "Cancelled", "TimedOut", "Undeliverable", "Terminated"}
# Instance refresh states (DescribeInstanceRefreshes): only Successful counts as success.
REFRESH_RUNNING = {"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"}


class ReleaseFailed(RuntimeError):
    """The release (or refresh) did not reach every instance healthy; the message says where."""


@dataclass(frozen=True)
class Rollout:
    app: str
    release_id: str
    script: str  # the activation script's path on the VM
    pointer_name: str
    asg_name: str | None = None
    instance_ids: tuple[str, ...] = ()  # the single-VM tier (Nginx edge)
    max_concurrency: str = "1"
    max_errors: str = "0"
    timeout_seconds: int = 900
    tags: dict[str, str] = field(default_factory=dict)  # extra tag targets, e.g. the environment
    platform: str = "linux"  # "windows": the script is webstack-release.ps1 (PowerShell 5.1)
    # The app has a release_command (e.g. migrate): it runs on the first serving instance alone,
    # the others activate with WEBSTACK_RELEASE_COMMAND=skip (once per release, not per instance).
    release_command: bool = False


def problems(r: Rollout) -> list[str]:
    """Why SSM would refuse this SendCommand, before any call."""
    out = []
    if r.platform not in PLATFORMS:
        out.append(f"platform {r.platform!r}: one of {', '.join(PLATFORMS)}")
    if not MAX_CONCURRENCY.match(r.max_concurrency):
        out.append(f"max_concurrency {r.max_concurrency!r}: a number >= 1 or 1%..100%")
    if not MAX_ERRORS.match(r.max_errors):
        out.append(f"max_errors {r.max_errors!r}: a number >= 0 or 0%..100%")
    if not TIMEOUT_RANGE[0] <= r.timeout_seconds <= TIMEOUT_RANGE[1]:
        out.append(f"timeout_seconds {r.timeout_seconds}: {TIMEOUT_RANGE[0]}..{TIMEOUT_RANGE[1]}")
    if len(targets(r)) > MAX_TARGETS:
        out.append(f"{len(targets(r))} targets: SendCommand takes at most {MAX_TARGETS}")
    return out


def targets(r: Rollout) -> list[dict[str, Any]]:
    if r.instance_ids:
        return []
    found = [{"Key": "tag:webstack:app", "Values": [r.app]}]
    if r.asg_name:
        found.append({"Key": "tag:aws:autoscaling:groupName", "Values": [r.asg_name]})
    return found + [{"Key": f"tag:{k}", "Values": [v]} for k, v in sorted(r.tags.items())]


def command(r: Rollout, skip_release_command: bool = False) -> tuple[str, list[str]]:
    """The SSM document and its `commands` that run the activation script on the VM.

    Windows: a child powershell.exe with -File, so the script's own `param()`, `exit 1` and an
    uncaught `throw` under `$ErrorActionPreference = 'Stop'` end that process non-zero (PowerShell
    5.1 -File semantics); `exit $LASTEXITCODE` hands that code to the agent, which otherwise
    reports the wrapper's own last status.

    Both keep the whole log on the VM and hand the agent only its last OUTPUT_TAIL characters:
    ListCommandInvocations returns the *first* 2,500 characters of a plugin's output
    (CommandPluginOutput max 2500 in botocore's SSM model), and the verdict line
    `release <id> active` is the script's last; a long log (pip, collectstatic) would cut it off
    and fail a release that succeeded.
    """
    if r.platform == "windows":
        path = r.script.replace("'", "''")  # a single-quoted PowerShell string: ' doubles
        # stdout only: in 5.1 a native command's stderr merged with 2>&1 becomes error records,
        # terminating under a Stop preference; stderr goes to the agent as it is.
        log = f"{path}.log"
        run = (
            "$out = & powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass "
            f"-File '{path}' | Out-String; $rc = $LASTEXITCODE; "
            f"Add-Content -LiteralPath '{log}' -Value $out; "
            f"$out.Substring([Math]::Max(0, $out.Length - {OUTPUT_TAIL})); exit $rc"
        )
        return WINDOWS_DOCUMENT, [run]
    skip = "WEBSTACK_RELEASE_COMMAND=skip " if skip_release_command else ""
    # POSIX sh (the agent's shell): no PIPESTATUS, so capture, then log, then the tail.
    run = (
        f'out=$({skip}bash {r.script} 2>&1); rc=$?; printf "%s\\n" "$out" >> {r.script}.log; '
        f'printf "%s\\n" "$out" | tail -c {OUTPUT_TAIL}; exit $rc'
    )
    return DOCUMENT, [run]


def serving_instances(autoscaling: Any, r: Rollout) -> list[str]:
    if not r.asg_name:
        return list(r.instance_ids)
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[r.asg_name])
    return sorted(
        i["InstanceId"]
        for g in groups["AutoScalingGroups"]
        for i in g["Instances"]
        if i["LifecycleState"] == "InService"
    )


def roll_out(
    ssm: Any,
    autoscaling: Any,
    r: Rollout,
    previous_pointer: str | None,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 5.0,
    pointer: str | None = None,
) -> list[str]:
    """Activate `r.release_id` everywhere or fail after rolling the switched instances back.

    `pointer`: the value this rollout activates. A failed rollout put the previous value back
    behind Pulumi's back (its state still holds the new one), so the next `pulumi up`, which
    retries the rollout, first writes the pointer again; otherwise the VMs would read the old one."""
    if bad := problems(r):
        raise ReleaseFailed("; ".join(bad))
    if pointer is not None:
        _ensure_pointer(ssm, r.pointer_name, pointer)
    expected = serving_instances(autoscaling, r)
    if not expected:
        return []  # nothing runs yet: instances that boot activate the pointer themselves
    results = _activate(ssm, r, expected, sleep, poll_seconds)
    active = sorted(i for i, (ok, _) in results.items() if ok)
    failed = {i: out for i, (ok, out) in results.items() if not ok}
    skipped = sorted(set(expected) - set(results))
    if not failed and not skipped:
        return active
    why = [f"{i}: {_last_line(out)}" for i, out in sorted(failed.items())]
    why += [f"{i}: never ran the activation" for i in skipped]
    if previous_pointer:
        # Booting instances activate the pointer: it never stays on a release that failed.
        _put_pointer(ssm, r.pointer_name, previous_pointer)
        # The failed ones too: a failure after the switch (e.g. Windows static files after the
        # last service moved) may leave one serving the new release; where the script already
        # switched back, activating the previous release again is its idempotent no-op.
        # None ran (every instance skipped): nothing to put back, and an empty id list would
        # send the command by tag to every instance.
        if ran := sorted({*active, *failed}):
            back = Rollout(**{**r.__dict__, "instance_ids": tuple(ran), "release_id": "previous"})
            # The previous release's command (a migration) ran when it was released: not again.
            _run(ssm, back, ran, sleep, poll_seconds, skip_release_command=True)
            why.append(f"put the previous release back on {', '.join(ran)}")
    raise ReleaseFailed(f"release {r.release_id} failed: " + "; ".join(why))


def _ensure_pointer(ssm: Any, name: str, value: str) -> None:
    try:
        current = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        current = None
    if current != value:
        _put_pointer(ssm, name, value)


def _put_pointer(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def wait_for_instance_refresh(
    autoscaling: Any,
    asg_name: str,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 3600.0,
) -> str:
    """Wait for the group's newest instance refresh; its id on success, ReleaseFailed otherwise."""
    waited = 0.0
    while True:
        found = autoscaling.describe_instance_refreshes(
            AutoScalingGroupName=asg_name, MaxRecords=1
        )["InstanceRefreshes"]
        if not found:
            return ""
        refresh = found[0]
        status = refresh["Status"]
        if status == "Successful":
            return str(refresh["InstanceRefreshId"])
        if status not in REFRESH_RUNNING:
            reason = refresh.get("StatusReason", "")
            raise ReleaseFailed(f"instance refresh of {asg_name} ended {status}: {reason}")
        if waited >= timeout_seconds:
            raise ReleaseFailed(f"instance refresh of {asg_name} still {status} after {waited}s")
        sleep(poll_seconds)
        waited += poll_seconds


def _run(
    ssm: Any,
    r: Rollout,
    instance_ids: list[str] | None,
    sleep: Callable[[float], None],
    poll_seconds: float,
    skip_release_command: bool = False,
) -> dict[str, tuple[bool, str]]:
    """One SendCommand to its end: {instance: (reported the release active, output)}.

    More than MAX_INSTANCE_IDS ids go in batches, one after the other; a release stops after a
    batch with a failure (a rollback, `previous`, goes on: every switched instance goes back)."""
    if instance_ids and len(instance_ids) > MAX_INSTANCE_IDS:
        out: dict[str, tuple[bool, str]] = {}
        for start in range(0, len(instance_ids), MAX_INSTANCE_IDS):
            batch = instance_ids[start : start + MAX_INSTANCE_IDS]
            out |= _run(ssm, r, batch, sleep, poll_seconds, skip_release_command)
            if r.release_id != "previous" and not all(ok for ok, _ in out.values()):
                break
        return out
    where: dict[str, Any] = (
        {"InstanceIds": instance_ids} if instance_ids else {"Targets": targets(r)}
    )
    document, commands = command(r, skip_release_command)
    sent = ssm.send_command(
        DocumentName=document,
        Comment=f"webstack release {r.release_id} of {r.app}"[:100],
        Parameters={"commands": commands},
        MaxConcurrency=r.max_concurrency,
        MaxErrors=r.max_errors,
        TimeoutSeconds=r.timeout_seconds,
        **where,
    )["Command"]
    cid = sent["CommandId"]
    waited = 0.0
    while True:
        status = ssm.list_commands(CommandId=cid)["Commands"][0]["Status"]
        if status not in ("Pending", "InProgress", "Cancelling"):
            break
        if waited >= r.timeout_seconds:
            raise ReleaseFailed(f"release {r.release_id}: command {cid} still {status}")
        sleep(poll_seconds)
        waited += poll_seconds
    out = {}
    # Paginated (at most 50 invocations a page): one page would count the rest as never reached.
    pages = ssm.get_paginator("list_command_invocations").paginate(CommandId=cid, Details=True)
    for inv in (i for page in pages for i in page["CommandInvocations"]):
        text = "".join(p.get("Output", "") for p in inv.get("CommandPlugins", []))
        ok = inv["Status"] == "Success" and (
            r.release_id == "previous" or f"release {r.release_id} active" in text
        )
        out[inv["InstanceId"]] = (ok, text or inv["Status"])
    return out


def _activate(
    ssm: Any,
    r: Rollout,
    expected: list[str],
    sleep: Callable[[float], None],
    poll_seconds: float,
) -> dict[str, tuple[bool, str]]:
    """All serving instances; with a release command, the first alone runs it, before the rest."""
    if not r.release_command:
        return _run(ssm, r, expected if r.instance_ids else None, sleep, poll_seconds)
    first = _run(ssm, replace(r, max_concurrency="1"), expected[:1], sleep, poll_seconds)
    if not all(ok for ok, _ in first.values()) or len(expected) == 1:
        return first  # a failed migration stops the release before any other instance
    return {**first, **_run(ssm, r, expected[1:], sleep, poll_seconds, skip_release_command=True)}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"
