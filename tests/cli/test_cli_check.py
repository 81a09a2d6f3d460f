"""`webstack check`: shipped stacks pass; a broken one fails with exactly one line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import ROOT, run_module

BROKEN = """\
config:
  webstack:network:
    cidr: 10.0.0.0/8
  webstack:edge:
    mode: elb
  webstack:apps:
    - name: shop
      framework: flask
      wsgi: app:create_app()
      linux:
        instance_type: T3 Small
        gunicorn:
          wrokers: 4
"""
# Each problem and the setting its line must name.
BROKEN_SETTINGS = [
    "network.cidr",
    "edge.mode",
    "apps.shop.linux.instance_type",
    "apps.shop.linux.gunicorn.wrokers",
]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_pass(webstack, stack: str) -> None:
    result = webstack("check", "--stack", stack, "--project", ROOT)
    assert result.code == 0, result.err
    assert f"Pulumi.{stack}.yaml: OK" in result.out
    assert result.err == ""


def test_broken_config_one_line_per_problem(tmp_path: Path) -> None:
    """A user fixes config from this output alone: every problem, one line each, no traceback."""
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text(BROKEN)
    result = run_module("check", "--stack-file", stack, "--project", ROOT, cwd=tmp_path)
    assert result.code == 1
    assert "Traceback" not in result.err + result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == len(BROKEN_SETTINGS), result.err
    for setting in BROKEN_SETTINGS:
        assert sum(setting in line for line in lines) == 1, (setting, result.err)
    assert all(line.startswith("Pulumi.broken.yaml: ") for line in lines)


def test_check_by_stack_name_from_the_project_folder(tmp_path: Path) -> None:
    """`--stack NAME` reads Pulumi.NAME.yaml of the nearest project folder up from the cwd."""
    (tmp_path / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (tmp_path / "Pulumi.broken.yaml").write_text(BROKEN)
    sub = tmp_path / "deeper"
    sub.mkdir()
    result = run_module("check", "--stack", "broken", cwd=sub)
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == len(BROKEN_SETTINGS)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("config: [unclosed\n", "not valid YAML"),
        ("config:\n  webstack:colour: blue\n", "colour"),
        (
            "config:\n  webstack:edge: {mode: nginx}\n  webstack:network: {nat: none}\n"
            "  webstack:apps:\n    - {name: a, framework: flask, wsgi: 'app:create_app()',"
            " source: {path: examples/flask_app}, secrets: [API_KEY]}\n",
            "apps.a.secrets: API_KEY has no secret config value",
        ),
    ],
    ids=["yaml", "unknown-key", "missing-secret"],
)
def test_other_config_problems_are_one_line(webstack, tmp_path: Path, text: str, needle: str):
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(text)
    result = webstack("check", "--stack-file", stack, "--project", ROOT)
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert needle in result.err


def test_missing_stack_file(webstack, tmp_path: Path) -> None:
    result = webstack("check", "--stack", "nosuch", "--project", tmp_path)
    assert result.code == 1
    assert "Pulumi.nosuch.yaml" in result.err and "does not exist" in result.err


def test_every_subcommand_reports_config_problems_the_same_way(webstack, tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text(BROKEN)
    common = ("--stack-file", stack, "--project", ROOT)
    for args in (
        ("preview", *common),
        ("preview", "--json", *common),
        ("render", "--out", tmp_path / "out", *common),
        ("diagram", "--out", tmp_path / "d.svg", *common),
        ("up", "--local", *common),
    ):
        result = webstack(*args)
        assert result.code == 1, args
        assert len(result.err.strip().splitlines()) == len(BROKEN_SETTINGS), (args, result.err)
        assert not (tmp_path / "out").exists() and not (tmp_path / "d.svg").exists()


def test_user_data_over_the_aws_limit_is_a_config_problem(webstack, tmp_path: Path) -> None:
    """Found only by rendering, yet `check` reports it before any deploy. A big env is release
    data now (the config object the pointer names), so it no longer counts against user data."""
    import secrets

    head = (
        "config:\n  webstack:edge: {mode: nginx}\n  webstack:network: {nat: none}\n"
        "  webstack:apps:\n    - name: shop\n      framework: flask\n"
        "      wsgi: app:create_app()\n      source: {path: examples/flask_app}\n"
    )
    env = "\n".join(f"        BIG_{i}: {secrets.token_hex(200)}" for i in range(90))
    stack = tmp_path / "Pulumi.big.yaml"
    stack.write_text(head + f"      env:\n{env}\n")
    assert webstack("check", "--stack-file", stack, "--project", ROOT).code == 0
    packages = "\n".join(f"          - p{secrets.token_hex(30)}" for _ in range(600))
    stack.write_text(head + f"      linux:\n        extra_packages:\n{packages}\n")
    result = webstack("check", "--stack-file", stack, "--project", ROOT)
    assert result.code == 1
    assert "apps.shop: user data is" in result.err
    assert len(result.err.strip().splitlines()) == 1
