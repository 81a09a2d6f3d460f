"""webstack: config -> StackSpec -> WebStack -> exports. Everything else lives in components/."""

from pathlib import Path

import pulumi

from components.config import raw_from_pulumi
from components.spec import SpecError, load_stack_spec
from components.webstack import WebStack, WebStackArgs

try:
    raw, secret_values = raw_from_pulumi()
    spec = load_stack_spec(raw, {app: set(v) for app, v in secret_values.items()})
except SpecError as error:
    # A configuration mistake: one line per problem, no traceback, before any resource exists.
    raise pulumi.RunError(
        "invalid webstack configuration:\n  " + "\n  ".join(error.problems)
    ) from None

stack = WebStack(
    f"webstack-{spec.environment}",
    WebStackArgs(
        spec=spec,
        secrets={
            app: {name: pulumi.Output.secret(value) for name, value in values.items()}
            for app, values in secret_values.items()
        },
        project_root=Path(__file__).resolve().parent,
        build_dir=Path(__file__).resolve().parent / ".webstack-build",
    ),
)

pulumi.export("urls", stack.urls)
pulumi.export("alb_dns_name", stack.alb_dns_name)
pulumi.export("edge_public_ip", stack.edge_public_ip)
pulumi.export("artifact_bucket", stack.bucket_name)
pulumi.export("vpc_id", stack.vpc_id)
