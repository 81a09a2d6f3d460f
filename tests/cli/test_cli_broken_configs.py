"""`webstack check` on 90 broken stack files (tests/cli/broken_stacks.py): each one exits 1 with
exactly one line that names the setting and says what is allowed; never a traceback, never exit 70
"internal error". Types, paths, CIDRs, routes, names, YAML shapes and contradictions."""

from __future__ import annotations

from pathlib import Path

import pytest
from broken_stacks import CASES
from cli_support import ROOT, run_module


def test_the_table_is_wide_and_distinct() -> None:
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES), "case ids repeat"
    assert len({c[1] for c in CASES}) == len(CASES), "two cases are the same stack file"


@pytest.mark.parametrize(("text", "setting", "allowed"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_broken_stack_is_one_clear_line(
    webstack, tmp_path: Path, text: str, setting: str, allowed: str
) -> None:
    stack = tmp_path / "Pulumi.case.yaml"
    stack.write_text(text)
    result = webstack("check", "--stack-file", stack, "--project", ROOT)
    lines = result.err.strip().splitlines()
    assert result.code == 1, (result.code, result.err)
    assert "Traceback" not in result.err + result.out and "internal error" not in result.err
    assert len(lines) == 1, f"one problem, one line:\n{result.err}"
    line = lines[0]
    assert line.startswith("Pulumi.case.yaml: "), line
    assert setting in line, f"the line must name {setting!r}: {line}"
    assert allowed in line, f"the line must say what is allowed ({allowed!r}): {line}"


SHAPES = [c for c in CASES if c[0] in {"file-list", "file-scalar", "config-list", "config-string"}]


@pytest.mark.parametrize(("text", "setting", "allowed"), [c[1:] for c in SHAPES],
                         ids=[c[0] for c in SHAPES])  # fmt: skip
def test_stack_file_shapes_as_a_process(tmp_path: Path, text: str, setting: str, allowed: str):
    """What a shell sees: exit 1 and one line (was exit 70 "internal error: AttributeError")."""
    stack = tmp_path / "Pulumi.case.yaml"
    stack.write_text(text)
    result = run_module("check", "--stack-file", stack, "--project", ROOT, cwd=tmp_path)
    assert result.code == 1, result.err
    assert len(result.err.strip().splitlines()) == 1 and "mapping" in result.err, result.err
