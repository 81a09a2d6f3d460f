"""`__main__.py` itself, as `pulumi up` runs it: config -> StackSpec -> WebStack -> exports."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.config import set_all_config

from components.tooling.mocks import WebstackMocks

ROOT = Path(__file__).resolve().parents[2]


def stack_config(stack: str, secret_value: str) -> dict[str, str]:
    """The config the Pulumi engine hands the program: JSON per key, secrets decrypted."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    out: dict[str, str] = {}
    for key, value in doc.items():
        if key == "webstack:secrets":
            value = {app: dict.fromkeys(names, secret_value) for app, names in value.items()}
        out[key] = value if isinstance(value, str) else json.dumps(value)
    return out


def run_main(
    config: dict[str, str], stack: str, mocks: WebstackMocks | None = None
) -> tuple[WebstackMocks, dict[str, Any]]:
    mocks = mocks or WebstackMocks()
    pulumi.runtime.set_mocks(mocks, project="webstack", stack=stack, preview=False)
    set_all_config(config, ["webstack:secrets"])
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        outputs = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]
        return pulumi.Output.from_input(outputs).apply(exported.update)

    try:
        program()
    finally:
        set_all_config({}, [])
    return mocks, exported


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_main_exports_the_stack_outputs(stack: str) -> None:
    mocks, exported = run_main(stack_config(stack, "s3cret-main-program"), stack)
    assert {"urls", "alb_dns_name", "edge_public_ip", "artifact_bucket", "vpc_id"} <= set(exported)
    assert exported["urls"], "every app gets a URL"
    types = {r.type for r in mocks.resources}
    assert "webstack:index:WebStack" in types
    assert ("aws:lb/loadBalancer:LoadBalancer" in types) == (stack == "prod")


def test_main_refuses_a_bad_config_before_any_resource() -> None:
    config = stack_config("dev", "x")
    config["webstack:edge"] = json.dumps({"mode": "ftp"})
    mocks = WebstackMocks()
    with pytest.raises(pulumi.RunError, match=r"edge\.mode: 'ftp' is not allowed") as caught:
        run_main(config, "dev", mocks)
    assert "Traceback" not in str(caught.value)
    assert mocks.resources == [], "a bad config must not create a half stack"


def test_main_reads_the_observability_setting() -> None:
    """`webstack:observability` reaches the program as `pulumi up` runs it (issue 15)."""
    config = stack_config("dev", "s3cret-main-program")
    mocks, exported = run_main(config, "dev")
    assert exported["dashboard_url"] and any(
        r.type == "aws:cloudwatch/dashboard:Dashboard" for r in mocks.resources
    )
    config["webstack:observability"] = json.dumps({"enabled": False})
    mocks, exported = run_main(config, "dev")
    assert exported["dashboard_url"] is None
    assert not any(r.type.startswith("aws:cloudwatch/") for r in mocks.resources)
