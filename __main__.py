"""webstack: config -> StackSpec -> WebStack -> exports. Everything else lives in components/."""

from pathlib import Path

import pulumi

from components.aws.webstack import build_stack
from components.plan.checks import load_stack_spec
from components.spec.errors import SpecError
from components.tooling.config import raw_from_pulumi

try:
    raw, secret_values = raw_from_pulumi()
    spec = load_stack_spec(raw, {app: set(v) for app, v in secret_values.items()})
except SpecError as error:
    # A configuration mistake: one line per problem, no traceback, before any resource exists.
    raise pulumi.RunError(
        "invalid webstack configuration:\n  " + "\n  ".join(error.problems)
    ) from None

root = Path(__file__).resolve().parent
_, outputs = build_stack(spec, secret_values, root, root / ".webstack-build")
for key, value in outputs.items():
    pulumi.export(key, value)
