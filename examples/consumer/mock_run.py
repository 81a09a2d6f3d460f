"""Run the storefront program under webstack's Pulumi mocks and print what it built as JSON.

python mock_run.py    # no cloud, no Pulumi CLI; needs the webstack package installed
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

from storefront import HERE, build_storefront

import components
from components.render import common as render
from components.tooling.mocks import run_under_mocks


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="storefront-build-") as build_dir:
        mocks, outputs = run_under_mocks(
            lambda: build_storefront("ci", HERE, Path(build_dir)),
            project="storefront-platform",
            stack="ci",
        )
    report = {
        "components_file": components.__file__,
        "templates_dir": str(render._templates_dir()),
        "windows_tier": importlib.util.find_spec("components.aws.windows_tier") is not None,
        "outputs": outputs,
        "resources": [
            {"type": r.type, "name": r.name, "parent": r.parent} for r in mocks.resources
        ],
    }
    json.dump(report, sys.stdout, indent=2, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
