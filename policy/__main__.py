"""Entry point the Pulumi CLI runs for `pulumi preview --policy-pack policy`.

The policies live in the importable package `webstack_policy` next to this file, so tests (and
other packs) can import and call them directly. Enforcement levels and settings are per policy:
pass `--policy-pack-config FILE` (see config.example.json and docs in webstack_policy/__init__.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack
from webstack_policy import POLICIES

PolicyPack(
    name="webstack-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
