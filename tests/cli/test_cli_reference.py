"""docs/config.md (from the models) and docs/components.md (from the front door) are generated;
these fail when either is stale."""

from __future__ import annotations

from cli_support import ROOT
from pydantic import BaseModel

import components
from components.spec.stack import StackSpec
from components.tooling.component_docs import render_components
from components.tooling.reference import _model_of, render_reference

DOC = ROOT / "docs" / "config.md"


def test_config_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render_reference(), (
        "docs/config.md is stale: run `.venv/bin/webstack reference --write` and commit it"
    )


def test_components_reference_is_up_to_date() -> None:
    assert (ROOT / "docs" / "components.md").read_text() == render_components(), (
        "docs/components.md is stale: run `.venv/bin/webstack reference --write` and commit it"
    )


def test_every_component_input_and_output_is_documented() -> None:
    import dataclasses

    text = render_components()
    for name in components.__all__:
        args = getattr(components, f"{name}Args", None)
        if args is None:
            continue
        assert f"## `{name}`" in text, name
        for field in dataclasses.fields(args):
            assert f"| `{field.name}` |" in text, f"{name}Args.{field.name}"
        for output in getattr(components, name).__annotations__:
            assert f"| `{output}` |" in text, f"{name}.{output}"


def test_every_key_of_every_model_is_documented() -> None:
    text = render_reference()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            assert f"`{key}`" in text, key
            sub = _model_of(field.annotation)
            if sub is not None:
                listy = "list" in str(field.annotation)
                walk(sub, f"{key}[]." if listy else f"{key}.")

    for name, field in StackSpec.model_fields.items():
        sub = _model_of(field.annotation)
        assert f"`webstack:{name}`" in text
        if sub is not None:
            walk(sub, "[]." if name == "apps" else "")


def test_reference_check_command(webstack) -> None:
    result = webstack("reference", "--check", "--project", ROOT)
    assert result.code == 0, result.err
