"""Fixtures of the `webstack` command tests: run it in-process, a mixed Linux/Windows stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import MIXED_STACK, Result


@pytest.fixture
def webstack(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `webstack ARGS...` in this process (fast) and capture its output."""
    from components.tooling.cli import main

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def mixed_stack(tmp_path: Path) -> Path:
    """A stack with a Linux app and two Windows apps (Caddy, IIS) on one ALB."""
    path = tmp_path / "Pulumi.mixed.yaml"
    path.write_text(MIXED_STACK)
    return path
