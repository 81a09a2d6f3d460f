"""Windows releases stop touching infrastructure (issue 13): under mocks, a change of a Windows app's
code, env or secrets changes its release pointer only (no launch template, no user data, no
bootstrap object); its AMI or instance type changes the launch template; the rollout runs the
activation script over AWS-RunPowerShellScript."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from components.plan import release as release_plan
from components.plan.checks import parse_stack_spec
from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.graph import Graph, user_data_texts

ROOT = Path(__file__).resolve().parents[2]
INFRA_TYPES = ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance")


def _deploy(proxy: str, edit: str = "") -> Graph:
    """The graph of one Windows app after one edit: `code`, `env`, `secret` (a rotated value),
    `secret-name` (one more secret), `ami`, `type`."""
    project = Path(tempfile.mkdtemp(prefix="webstack-winrel-"))
    shutil.copytree(ROOT / "examples" / "flask_app", project / "app")
    if edit == "code":
        (project / "app" / "release_marker.py").write_text("RELEASE = 2\n")
    windows: dict[str, object] = {"proxy": proxy, "instances": 2}
    if edit == "ami":
        windows["image"] = "ami-0123456789abcdef0"
    elif edit == "type":
        windows["instance_type"] = "m5.xlarge"
    app = {
        "name": "winapp",
        "os": "windows",
        "framework": "flask",
        "wsgi": "app:create_app()",
        "source": {"path": "app"},
        "hostnames": ["win.example.com"],
        "secrets": ["APP_TOKEN", "API_KEY"] if edit == "secret-name" else ["APP_TOKEN"],
        "env": {"APP_COLOR": "green" if edit == "env" else "blue"},
        "windows": windows,
        **({"release": {"max_concurrency": "50%"}} if edit == "share" else {}),
    }
    spec = parse_stack_spec({"environment": "wintest", "edge": {"mode": "alb"}, "apps": [app]})
    values = {"APP_TOKEN": "tok-2" if edit == "secret" else "tok-1", "API_KEY": "key-1"}
    values = {k: values[k] for k in spec.apps[0].secrets}
    mocks, outputs = run_under_mocks(
        build_webstack(spec, {"winapp": values}, project, project / ".build"),
        stack="wintest",
    )
    return Graph(mocks.resources, outputs)


@functools.cache
def baseline(proxy: str) -> Graph:
    return _deploy(proxy)


def _infra(g: Graph) -> dict[str, object]:
    return {
        r.name: {k: v for k, v in r.inputs.items() if k != "tags"}
        for t in INFRA_TYPES
        for r in g.of(t)
    }


def _bootstrap(g: Graph) -> tuple[str, str]:
    (obj,) = [
        r
        for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2")
        if str(r.inputs["key"]).startswith("windows/winapp/bootstrap-")
    ]
    return str(obj.inputs["key"]), str(obj.inputs["content"])


def _pointer(g: Graph) -> dict[str, object]:
    (param,) = [
        r
        for r in g.of("aws:ssm/parameter:Parameter")
        if str(r.inputs["name"]).endswith("/" + release_plan.POINTER_NAME)
    ]
    return release_plan.parse_pointer(str(param.inputs["insecureValue"]))


@pytest.mark.parametrize("proxy", ["iis", "nginx"])
@pytest.mark.parametrize("edit", ["code", "env", "secret", "secret-name"])
def test_a_windows_release_changes_the_pointer_and_no_infrastructure(proxy: str, edit: str) -> None:
    before, after = baseline(proxy), _deploy(proxy, edit)
    assert user_data_texts(after) == user_data_texts(before), f"a {edit} change altered user data"
    assert _bootstrap(after) == _bootstrap(before), f"a {edit} change altered the bootstrap"
    assert _infra(after) == _infra(before), f"a {edit} change altered a launch template"
    assert _pointer(after)["release"] != _pointer(before)["release"], (
        f"a {edit} change must make a new release (pointer), or it never reaches the VMs"
    )
    if edit == "secret-name":
        assert _pointer(after)["secrets"] == ["APP_TOKEN", "API_KEY"], (
            "the VM reads the names there"
        )


@pytest.mark.parametrize("edit", ["ami", "type"])
def test_a_windows_infrastructure_change_changes_the_launch_template(edit: str) -> None:
    before, after = baseline("nginx"), _deploy("nginx", edit)
    assert _infra(after) != _infra(before), f"an {edit} change must reach the launch template"
    assert _pointer(after)["release"] == _pointer(before)["release"], "same code, same release"


def test_the_windows_bootstrap_names_no_release_and_the_pointer_names_what_exists() -> None:
    g = baseline("nginx")
    pointer = _pointer(g)
    _key, bootstrap = _bootstrap(g)
    for field in ("package_key", "package_sha256", "config_key", "config_sha256"):
        assert pointer[field], field
        assert str(pointer[field]) not in bootstrap, f"the bootstrap must not carry {field}"
    assert "APP_COLOR" not in bootstrap, "the app's env is the release's config object"
    assert "tok-1" not in bootstrap
    objects = {r.inputs["key"]: r.inputs for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert pointer["package_key"] in objects
    config = objects[pointer["config_key"]]
    assert "APP_COLOR=blue\n" in str(config["content"])
    assert release_plan.sha256_text(str(config["content"])) == pointer["config_sha256"]
    assert "webstack-release.ps1" in bootstrap, "the boot path activates the pointer itself"


def test_the_windows_rollout_runs_the_activation_with_powershell() -> None:
    g = baseline("iis")
    (rollout,) = g.of("pulumi-python:dynamic:Resource")
    assert rollout.inputs["platform"] == "windows"
    assert rollout.inputs["script"].endswith("\\webstack-release.ps1")
    assert json.loads(rollout.inputs["pointer"])["release"] == _pointer(g)["release"]
    assert rollout.inputs["asg_name"], "a Windows tier's rollout targets its auto scaling group"


def test_the_windows_rollout_share_reaches_the_channel_and_nothing_else() -> None:
    before, after = baseline("nginx"), _deploy("nginx", "share")
    (rollout,) = after.of("pulumi-python:dynamic:Resource")
    assert rollout.inputs["max_concurrency"] == "50%"
    assert _infra(after) == _infra(before) and _bootstrap(after) == _bootstrap(before)
    assert _pointer(after) == _pointer(before), "a rollout setting is not a new release"
