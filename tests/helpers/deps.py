"""Dependencies as the Pulumi engine sees them: captured from the mock monitor's registrations.

`components.tooling.mocks` records inputs only; the engine orders creates by each registration's
`dependencies` (explicit `depends_on`, a component expanded to its children, and the resources
behind input Outputs). This wraps the mock monitor's RegisterResource to keep them, so a test can
ask "is the launch template created after the NAT route?" without a cloud.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pulumi.runtime import mocks as pulumi_mocks


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class Dependencies:
    """Resource logical name -> the logical names it was registered after (direct only)."""

    def __init__(self) -> None:
        self.direct: dict[str, set[str]] = {}
        self.types: dict[str, str] = {}
        # name -> resource options the mocks never see: retainOnDelete, protect, ignoreChanges
        self.options: dict[str, dict[str, object]] = {}

    def after(self, name: str) -> set[str]:
        """Everything `name` waits for, transitively (the engine's create order)."""
        seen: set[str] = set()
        todo = list(self.direct.get(name, ()))
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.direct.get(dep, ()))
        return seen

    def named(self, type_: str) -> list[str]:
        return sorted(n for n, t in self.types.items() if t == type_)


@contextlib.contextmanager
def capture_dependencies() -> Iterator[Dependencies]:
    """Record every registration's dependencies while the block runs (mocks only)."""
    deps = Dependencies()
    original = pulumi_mocks.MockMonitor.RegisterResource

    def register(self: pulumi_mocks.MockMonitor, request: object) -> object:
        names = {_name(u) for u in request.dependencies}  # type: ignore[attr-defined]
        for urns in request.propertyDependencies.values():  # type: ignore[attr-defined]
            names |= {_name(u) for u in urns.urns}
        deps.direct[request.name] = names  # type: ignore[attr-defined]
        deps.types[request.name] = request.type  # type: ignore[attr-defined]
        deps.options[request.name] = {  # type: ignore[attr-defined]
            "retainOnDelete": bool(request.retainOnDelete),  # type: ignore[attr-defined]
            "protect": bool(request.protect),  # type: ignore[attr-defined]
            "ignoreChanges": list(request.ignoreChanges),  # type: ignore[attr-defined]
        }
        return original(self, request)

    pulumi_mocks.MockMonitor.RegisterResource = register  # type: ignore[method-assign]
    try:
        yield deps
    finally:
        pulumi_mocks.MockMonitor.RegisterResource = original  # type: ignore[method-assign]
