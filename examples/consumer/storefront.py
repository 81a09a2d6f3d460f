"""The storefront team's platform on webstack's front door: their own network range and tags, a
certificate they already have in ACM (an Input: a plain ARN here, or another stack's Output), a
Linux catalog at `/` and a Windows reports service at `/reports/` behind ONE shared ALB."""

from pathlib import Path
from typing import Any

import yaml
from pulumi import Output

from components import WebStack, WebStackArgs, parse_stack_spec

HERE = Path(__file__).resolve().parent
TAGS = {"team": "storefront", "cost-center": "retail-42"}


def build_storefront(env: str, root: Path = HERE, build: Path | None = None) -> dict[str, Any]:
    """Create the platform's resources; return the outputs to export."""
    settings = yaml.safe_load((HERE / "storefront.yaml").read_text())
    spec = parse_stack_spec({**settings, "environment": env})  # SpecError names a bad setting
    certificate = Output.from_input(spec.edge.tls.certificate_arn or "")
    stack = WebStack(
        f"storefront-{env}",
        WebStackArgs(spec=spec, certificate_arn=certificate, tags=TAGS, project_root=root,
                     build_dir=build or root / ".build"),
    )  # fmt: skip
    outputs: dict[str, Any] = {"endpoint": stack.endpoint, "vpc_id": stack.vpc_id}
    for app, tier in stack.tiers.items():
        outputs[f"{app}_url"] = stack.urls[app]
        outputs[f"{app}_user_data_bytes"] = tier.user_data.apply(lambda t: len(t.encode()))
    return outputs
