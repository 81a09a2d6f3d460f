"""Releases stop touching infrastructure (issue 13): under mocks, a change of the app's code, env or
secrets changes the release pointer only; the AMI or instance type changes the launch template."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from components.plan import release as release_plan
from components.spec.release import ReleaseSettings
from components.tooling.config import spec_from_stack_file
from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.graph import Graph, user_data_texts

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"APP_API_TOKEN": "tok-1", "DJANGO_SECRET_KEY": "dj-1"}
INFRA_TYPES = ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance")


def _deploy(stack: str, edit: str = "") -> Graph:
    """The stack's graph after one edit: `code` (a file of the app), `env`, `secret`, `ami`,
    `type`, or none."""
    project = Path(tempfile.mkdtemp(prefix="webstack-rel-"))
    shutil.copytree(ROOT / "examples", project / "examples")
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    spec, placeholders = spec_from_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    app = spec.apps[0]
    if edit == "code":
        src = project / (app.source_or_default.path or "")
        (src / "release_marker.py").write_text("RELEASE = 2\n")
    changes: dict[str, object] = {}
    if edit == "env":
        changes = {"env": {**app.env, "FEATURE_FLAG": "on"}}
    elif edit == "ami":
        changes = {"linux": app.linux.model_copy(update={"image": "ami-0123456789abcdef0"})}
    elif edit == "type":
        changes = {"linux": app.linux.model_copy(update={"instance_type": "t3.large"})}
    elif edit == "secret-name":  # one more secret: its name is the pointer's, not the VM's
        changes = {"secrets": [*app.secrets, "NEW_TOKEN"]}
        placeholders = {**placeholders, app.name: [*placeholders[app.name], "NEW_TOKEN"]}
    elif edit == "share":
        changes = {"release": ReleaseSettings(max_concurrency="25%")}
    spec = spec.model_copy(update={"apps": [app.model_copy(update=changes), *spec.apps[1:]]})
    values = {k: v + ("-rotated" if edit == "secret" else "") for k, v in SECRETS.items()}
    values["NEW_TOKEN"] = "new-1"
    secrets = {a: {k: values[k] for k in names} for a, names in placeholders.items()}
    mocks, outputs = run_under_mocks(
        build_webstack(spec, secrets, project, project / ".build"), stack=stack
    )
    return Graph(mocks.resources, outputs)


@functools.cache
def baseline(stack: str) -> Graph:
    return _deploy(stack)


def _infra(g: Graph) -> dict[str, object]:
    return {
        r.name: {k: v for k, v in r.inputs.items() if k != "tags"}
        for t in INFRA_TYPES
        for r in g.of(t)
    }


def _pointer(g: Graph) -> dict[str, object]:
    (param,) = [
        r
        for r in g.of("aws:ssm/parameter:Parameter")
        if str(r.inputs["name"]).endswith("/" + release_plan.POINTER_NAME)
    ]
    return release_plan.parse_pointer(str(param.inputs["insecureValue"]))


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("edit", ["code", "env", "secret", "secret-name"])
def test_a_release_changes_the_pointer_and_no_infrastructure(stack: str, edit: str) -> None:
    before = baseline(stack)
    after = _deploy(stack, edit)
    assert user_data_texts(after) == user_data_texts(before), (
        f"a {edit} change altered the user data: every VM would be replaced for a release"
    )
    assert _infra(after) == _infra(before), f"a {edit} change altered a launch template/instance"
    assert _pointer(after)["release"] != _pointer(before)["release"], (
        f"a {edit} change must make a new release (pointer), or it never reaches the VMs"
    )
    if edit == "secret-name":
        assert "NEW_TOKEN" in _pointer(after)["secrets"], "the VM reads the names there"


def test_the_rollout_share_reaches_the_channel_and_a_share_change_rolls_nothing() -> None:
    from components.aws.release_channel import _RolloutProvider

    before, after = baseline("prod"), _deploy("prod", "share")
    (rollout,) = after.of("pulumi-python:dynamic:Resource")
    assert rollout.inputs["max_concurrency"] == "25%"
    assert _infra(after) == _infra(before) and _pointer(after) == _pointer(before)
    (old,) = before.of("pulumi-python:dynamic:Resource")
    assert not _RolloutProvider().diff("id", dict(old.inputs), dict(rollout.inputs)).changes, (
        "a new share is how the next release rolls: re-running the active one on every "
        "instance for it is churn"
    )


@pytest.mark.parametrize("edit", ["ami", "type"])
def test_an_infrastructure_change_changes_the_launch_template(edit: str) -> None:
    before, after = baseline("prod"), _deploy("prod", edit)
    assert _infra(after) != _infra(before), f"an {edit} change must reach the launch template"
    assert _pointer(after)["release"] == _pointer(before)["release"], "same code, same release"


def test_pointer_lives_under_the_apps_own_ssm_path_and_names_a_checked_package() -> None:
    g = baseline("dev")
    pointer = _pointer(g)
    assert pointer["package_sha256"] and pointer["config_sha256"]
    secrets = [r for r in g.of("aws:ssm/parameter:Parameter") if r.inputs["type"] == "SecureString"]
    prefixes = {str(r.inputs["name"]).rsplit("/", 1)[0] for r in secrets}
    (param,) = [r for r in g.of("aws:ssm/parameter:Parameter") if r.inputs["type"] == "String"]
    assert str(param.inputs["name"]).rsplit("/", 1)[0] in prefixes, (
        "the instance role reads only its app's prefix: the pointer must sit inside it"
    )
    (text,) = user_data_texts(g)
    assert str(pointer["package_key"]) not in text, "the package key must not be in the user data"
    objects = {r.inputs["key"] for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert {pointer["package_key"], pointer["config_key"]} <= objects


def test_pointer_rejects_malformed_fields() -> None:
    good = json.loads(_pointer_text())
    release_plan.parse_pointer(json.dumps(good))
    for field, bad in (("release", "latest"), ("package_sha256", "abc"), ("config_key", "")):
        with pytest.raises(ValueError, match=field):
            release_plan.parse_pointer(json.dumps({**good, field: bad}))


def _pointer_text() -> str:
    return release_plan.ReleasePointer(
        package_key="apps/a/a-1.tar.gz",
        package_sha256="0" * 64,
        config_key="apps/a/config/1.env",
        config_sha256="1" * 64,
        secrets=("X",),
        secrets_version="v",
    ).to_json()


def test_the_rollout_waits_on_every_linux_app_and_follows_pointer_and_template() -> None:
    from components.aws.release_channel import _RolloutProvider

    g = baseline("prod")
    (rollout,) = g.of("pulumi-python:dynamic:Resource")
    assert json.loads(rollout.inputs["pointer"])["release"] == _pointer(g)["release"]
    assert rollout.inputs["asg_name"], "an ALB tier's rollout targets its auto scaling group"
    assert rollout.inputs["max_concurrency"] == "1"
    olds = dict(rollout.inputs)
    diff = _RolloutProvider().diff
    assert not diff("id", olds, dict(olds)).changes, "nothing changed: no rollout, no wait"
    for key, value in (("pointer", '{"release":"r-1"}'), ("launch_template_version", 2)):
        assert diff("id", olds, {**olds, key: value}).changes, f"a new {key} must be waited for"
    (edge,) = baseline("dev").of("pulumi-python:dynamic:Resource")
    assert edge.inputs["instance_ids"], "the Nginx edge's rollout targets its one instance"
