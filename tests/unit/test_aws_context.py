"""Account, region and partition are looked up once per WebStack and handed down to every tier,
fleet, rollout, access-log bucket and dashboard (components/aws/context.py), not once per part."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest

from components.tooling.mocks import build_webstack, run_under_mocks
from tests.helpers.specs import shipped_spec

ROOT = Path(__file__).resolve().parents[2]
LOOKUPS = (
    "aws:index/getCallerIdentity:getCallerIdentity",
    "aws:index/getRegion:getRegion",
    "aws:index/getPartition:getPartition",
)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_one_lookup_per_stack(stack: str) -> None:
    spec, placeholders = shipped_spec(stack)
    secrets = {app: {k: f"stand-in-{k}" for k in names} for app, names in placeholders.items()}
    build_dir = Path(tempfile.mkdtemp(prefix="webstack-build-"))
    mocks, outputs = run_under_mocks(build_webstack(spec, secrets, ROOT, build_dir), stack=stack)
    # Many parts read them: staging has a Linux and a Windows tier, prod an access-log bucket.
    assert len(spec.apps) >= 2 or spec.observability.access_logs_on(spec.production)
    assert outputs, "the stack exported nothing"
    counts = Counter(t for t in mocks.calls if t in LOOKUPS)
    assert counts == Counter(LOOKUPS), counts
