"""Run the policies in-process, the way the CrossGuard analyzer does, without the Pulumi CLI.

Used by the tests (resources captured through Pulumi mocks) and handy for anyone composing the
components in another stack: build `Resource`s, call `evaluate`, assert on the violations.

What the analyzer does and this mirrors:
- resource policies see each resource's *inputs* (camelCase engine names, secrets unwrapped,
  unknowns behind `unknown_checking_proxy`); stack policies see every resource's *outputs* plus
  parent/dependency links;
- per-policy config: a level string or `{"enforcementLevel": ..., <settings>}`; `disabled` skips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from . import POLICIES


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None = None
    # property name -> names of the in-stack resources its value came from
    deps: dict[str, list[str]] = field(default_factory=dict)
    urn: str = ""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    message: str
    resource: str | None  # resource name (None: the stack)


def urn_of(stack: str, project: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        additional_secret_outputs=[],
        parent=None,
    )


def _props(raw: Mapping[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(dict(raw)))


def _level(policy: Any, given: Any) -> tuple[str, dict[str, Any]]:
    default = (policy.enforcement_level or EnforcementLevel.ADVISORY).value
    if given is None:
        return default, {}
    if isinstance(given, str | EnforcementLevel):
        return EnforcementLevel(given).value, {}
    settings = {k: v for k, v in given.items() if k != "enforcementLevel"}
    level = given.get("enforcementLevel")
    return (EnforcementLevel(level).value if level else default), settings


def evaluate(
    resources: Iterable[Resource],
    policies: Iterable[Any] = POLICIES,
    config: Mapping[str, Any] | None = None,
    stack_tags: Mapping[str, str] | None = None,
    stack: str = "dev",
    project: str = "webstack",
) -> list[Violation]:
    """Every violation the policies report (unknown values: skipped, as in a preview)."""
    resources = list(resources)
    for r in resources:
        r.urn = r.urn or urn_of(stack, project, r.type, r.name)
    out: list[Violation] = []
    for policy in policies:
        level, settings = _level(policy, (config or {}).get(policy.name))
        if level == "disabled":
            continue

        def report(
            message: str,
            urn: str | None = None,
            *,
            _p: Any = policy,
            _level: str = level,
            _r: Any = None,
        ) -> None:
            name = _r or (urn.rsplit("::", 1)[-1] if urn else None)
            out.append(Violation(_p.name, _level, message, name))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type,
                    _props(r.inputs),
                    r.urn,
                    r.name,
                    _opts(),
                    None,
                    settings,
                    dict(stack_tags or {}),
                )
                _call(
                    policy.validate,
                    args,
                    lambda m, u=None, _r=r.name, _rep=report: _rep(m, u, _r=_r),
                )
        elif isinstance(policy, StackValidationPolicy):
            objs = {
                r.name: PolicyResource(
                    r.type,
                    _props(r.outputs if r.outputs is not None else r.inputs),
                    r.urn,
                    r.name,
                    _opts(),
                    None,
                    None,
                    [],
                    {},
                )
                for r in resources
            }
            for r in resources:
                for prop, names in r.deps.items():
                    linked = [objs[n] for n in names if n in objs]
                    objs[r.name].property_dependencies[prop] = linked
                    objs[r.name].dependencies.extend(linked)
            args = StackValidationArgs(list(objs.values()), settings, dict(stack_tags or {}))
            _call(policy.validate, args, report)
    return out


def _call(fn: Callable[..., Any], args: Any, report: Callable[..., None]) -> None:
    # The analyzer reports "can't run during preview" as advisory: nothing to assert on.
    with contextlib.suppress(UnknownValueError):
        fn(args, report)


def link_by_value(resources: list[Resource], identities: Mapping[str, set[str]]) -> None:
    """Fill `deps` as the engine would: a property depends on every resource whose ID/ARN
    (`identities[name]`) appears among its string values."""
    owner: dict[str, str] = {}
    for name, ids in identities.items():
        for ident in ids:
            if ident:
                owner.setdefault(ident, name)
    for r in resources:
        for prop, value in r.inputs.items():
            hits = sorted({owner[s] for s in _strings(value) if s in owner and owner[s] != r.name})
            if hits:
                r.deps[prop] = hits


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []
