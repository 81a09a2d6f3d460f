"""Optional parts of the tooling: modules that only an extra of the wheel installs.

The library (spec/plan/render/aws) needs only [project] dependencies. The boot rehearsal stands in
for S3 and SSM with moto, which `pip install 'webstack[local]'` adds; without it the tooling says
which extra to install instead of failing with an ImportError deep inside a run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from components.tooling.errors import CommandError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        raise CommandError(
            f"{purpose} needs {package}, which the webstack wheel leaves out by default: "
            f"pip install 'webstack[{extra}]'"
        ) from e
