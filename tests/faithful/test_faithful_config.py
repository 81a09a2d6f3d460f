"""Pulumi.yaml and every Pulumi.<stack>.yaml, checked as the Pulumi CLI checks them before the
program runs (tests/helpers/faithful_config.py cites each rule)."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.helpers.faithful import ROOT, SHIPPED_STACKS
from tests.helpers.faithful_config import project_dir_problems, project_problems, stack_problems

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_three_stacks_are_shipped() -> None:
    assert {"dev", "prod", "staging"} <= set(SHIPPED_STACKS)


@pytest.mark.parametrize("name", ["Pulumi.yaml", *[f"Pulumi.{s}.yaml" for s in SHIPPED_STACKS]])
def test_shipped_files_pass_the_cli_checks(name: str) -> None:
    assert project_dir_problems(ROOT)[name] == []


def test_the_consumer_example_passes_too() -> None:
    problems = project_dir_problems(ROOT / "examples" / "consumer")
    assert all(v == [] for v in problems.values()), problems


def test_a_typed_key_without_default_is_required() -> None:
    """Defect 1: `environment` and `admin_cidrs` were declared with a type and no default."""
    project = copy.deepcopy(PROJECT)
    project["config"]["environment"] = {"type": "string"}
    stack = {"config": {"aws:region": "eu-west-1"}}
    assert stack_problems(project, stack, "dev") == [
        "Stack 'dev' is missing configuration value 'environment'"
    ]
    project["config"]["admin_cidrs"].pop("default")
    assert stack_problems(project, stack, "dev") == [
        "Stack 'dev' is missing configuration values 'admin_cidrs', 'environment'"
    ]
    stack["config"]["webstack:environment"] = "dev"
    stack["config"]["webstack:admin_cidrs"] = []
    assert stack_problems(project, stack, "dev") == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("webstack:request_timeout", "thirty", "must be of type 'integer'"),
        ("webstack:production", "yes", "must be of type 'boolean'"),
        ("webstack:admin_cidrs", "10.0.0.0/8", "must be of type 'array<string>'"),
        ("webstack:admin_cidrs", [10], "must be of type 'array<string>'"),
        ("region", "eu-west-1", "could not parse 'region' as a configuration key"),
        ("webstack:secrets", {"app": {"K": {"secure": 42}}}, "a secure value must be a non-empty"),
        (
            "webstack:secrets",
            {"app": {"K": {"secure": "v1:!!:??"}}},
            "is not passphrase ciphertext",
        ),
    ],
)
def test_stack_values_the_cli_refuses(key: str, value: object, expected: str) -> None:
    stack = {"config": {key: value}}
    problems = stack_problems(PROJECT, stack, "dev")
    assert any(expected in p for p in problems), problems


def test_typed_values_the_cli_accepts() -> None:
    stack = {"config": {"webstack:request_timeout": "45", "webstack:production": "true"}}
    assert stack_problems(PROJECT, stack, "dev") == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"items": {"type": "array"}}, "declares an array but does not specify"),
        (
            {"request_timeout": {"type": "integer", "default": "soon"}},
            "is not of the expected type",
        ),
        ({"aws:region": {"type": "string", "value": "x"}}, "should not define a type"),
        ({"aws:region": {"default": "eu-west-1"}}, "should not define a default value"),
        ({"x": {"type": "object"}}, "must be one of"),
        ({"x": {"type": "string", "default": "a", "value": "b"}}, "cannot have both"),
        ({"x": {"type": "string", "required": True}}, "not allowed"),
    ],
)
def test_project_declarations_the_cli_refuses(config: dict, expected: str) -> None:
    project = {"name": "webstack", "runtime": "python", "config": config}
    problems = project_problems(project)
    assert any(expected in p for p in problems), problems


def test_project_schema_basics() -> None:
    assert project_problems({"runtime": "python"}) == [
        "project is missing a non-empty string 'name' attribute"
    ]
    assert "#: missing properties: 'runtime'" in project_problems({"name": "x"})
    assert project_problems({"name": "x", "runtime": "python", "options": {"refresh": "yes"}})
    assert stack_problems(PROJECT, {"config": {}}, "bad name!")


def test_readme_deploy_steps_name_only_what_the_stacks_have() -> None:
    """Each `--stack` is a shipped stack and each `--path 'secrets.<app>.<NAME>'` a secret an app
    lists, so no step sets a key the program never reads or leaves one it needs unset."""
    import re

    from components.tooling.config import read_stack_file

    readme = (ROOT / "README.md").read_text()
    deploy = readme[readme.index("## Deploying to AWS") : readme.index("### Logs on the VMs")]
    stacks = set(re.findall(r"--stack (\w+)", deploy))
    assert stacks and stacks <= set(SHIPPED_STACKS), stacks
    secrets = set(re.findall(r"--path 'secrets\.([\w-]+)\.(\w+)'", deploy))
    listed = set()
    for stack in SHIPPED_STACKS:
        raw, _ = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
        listed |= {(a["name"], s) for a in raw["apps"] for s in a.get("secrets", [])}
    assert secrets == listed, (secrets, listed)
    for line in re.findall(r"^pulumi \w+.*$", deploy, re.MULTILINE):
        assert line.split()[1] in {"login", "stack", "config", "preview", "up", "destroy"}, line
