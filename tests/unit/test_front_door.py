"""`components` is the public API: every name it promises resolves to the object its layer defines,
and importing it costs nothing until a name is used (a config check never loads pulumi_aws)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import components


def test_every_public_name_resolves_to_its_layers_object() -> None:
    assert sorted(components.__all__) == sorted(components._EXPORTS)
    for name, module in components._EXPORTS.items():
        assert getattr(components, name) is getattr(importlib.import_module(module), name), name


def test_the_front_door_names_the_whole_api_of_the_issue() -> None:
    for name in ("WebStack", "WebStackArgs", "SpecError", "load_stack_spec", "StackSpec"):
        assert name in components.__all__, name
    for component in ("Network", "SecurityGroups", "Certificate", "Alb", "ArtifactStore"):
        assert {component, f"{component}Args"} <= set(components.__all__), component


def test_importing_the_package_does_not_load_the_cloud_provider() -> None:
    code = "import sys, components, components.plan.checks; print('pulumi_aws' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "a config check would pay for pulumi_aws"
