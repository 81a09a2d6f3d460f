"""Real validators are required: a missing tool fails the test with how to install it."""

from __future__ import annotations

import shutil

import pytest

APT = {"systemd-analyze": "systemd", "cloud-init": "cloud-init"}


def require_tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        pytest.fail(
            f"{name} is required by this test but not installed "
            f"(apt-get install {APT.get(name, name)}; `make system-packages` installs all)",
            pytrace=False,
        )
    return path
