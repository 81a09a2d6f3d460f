"""The rules a stack must meet that need a plan: physical names within AWS's limits, listener
rules that never claim each other's requests, a consistent timeout chain, Waitress ports that fit.

`parse_stack_spec` is the one way in: the models (components/spec/) and then these rules, each
failure a one-line SpecError naming the setting, before anything touches a cloud.
"""

from __future__ import annotations

from typing import Any

from components.plan.datastores import datastore_problems
from components.plan.naming import AUTONAMED_LIMITS, app_rule_priorities, name_problems
from components.plan.routes import Route, route_conflicts
from components.plan.sizing import vcpus_of, waitress_instances, waitress_ports
from components.plan.timeouts import NGINX_UPSTREAM_KEEPALIVE, gunicorn_timeouts, timeout_chain
from components.spec.errors import SpecError
from components.spec.stack import StackSpec, check_secret_values, parse_models
from components.spec.windows import RESERVED_PORTS, WindowsTier


def parse_stack_spec(data: dict[str, Any]) -> StackSpec:
    """Validate raw config into a StackSpec or raise SpecError with one line per problem."""
    spec = parse_models(data)
    problems = plan_problems(spec)
    if problems:
        raise SpecError(problems)
    return spec


def load_stack_spec(data: dict[str, Any], available_secrets: dict[str, set[str]]) -> StackSpec:
    """Validate config and its secret names together; SpecError lists every problem found."""
    spec = parse_stack_spec(data)
    check_secret_values(spec, available_secrets)
    return spec


def plan_problems(spec: StackSpec) -> list[str]:
    """What breaks a plan: every app's Waitress problem (one per app, as each app's models report
    theirs), else the first of the stack's rules (routes, names, the timeout chain)."""
    waitress = [
        f"apps.{app.name}.windows.{problem}"
        for app in spec.apps
        if (problem := _waitress_problem(app.windows))
    ]
    if waitress:
        return waitress
    if stores := datastore_problems(spec):
        return stores
    try:
        if spec.edge.mode == "alb" and (conflicts := route_conflicts(_routes(spec))):
            return conflicts[:1]
        names = name_problems(spec.environment, [a.name for a in spec.apps], AUTONAMED_LIMITS)
        if names:
            return names[:1]
        timeout_chain(spec)
        for app in spec.apps:
            gunicorn_timeouts(spec, app)
    except ValueError as error:  # a priority clash or a broken chain names its setting
        return [str(error)]
    return []


def _routes(spec: StackSpec) -> list[Route]:
    priorities = app_rule_priorities(spec)  # a priority clash raises ValueError
    return [
        Route(
            a.name,
            tuple(a.hostnames),
            a.path_prefix,
            priorities[a.name],
            # the public health check of components/aws/webstack.py
            a.health_host if a.hostnames else None,
            a.path_prefix.rstrip("/") + a.health_path,
        )
        for a in spec.apps
    ]


def _waitress_problem(tier: WindowsTier) -> str | None:
    if tier.instances == "auto":
        try:
            vcpus_of(tier.instance_type)
        except ValueError:
            return (
                f"instances: cannot tell the vCPUs of {tier.instance_type}; set "
                "windows.instances to a number (1..16)"
            )
    last = tier.base_port + waitress_instances(tier) - 1
    if last > 65535:
        return f"base_port: ports {tier.base_port}..{last} run past 65535"
    ports = waitress_ports(tier)
    clash = [f"{p} ({RESERVED_PORTS[p]})" for p in sorted(RESERVED_PORTS) if p in ports]
    if clash:
        return (
            f"base_port: Waitress ports {tier.base_port}..{last} collide with "
            f"{', '.join(clash)}; move base_port (default 5001)"
        )
    if tier.channel_timeout <= NGINX_UPSTREAM_KEEPALIVE:
        return (
            f"channel_timeout: {tier.channel_timeout}s must exceed the proxy's upstream "
            f"keepalive {NGINX_UPSTREAM_KEEPALIVE}s, or Waitress closes connections the "
            "proxy is about to reuse (502s)"
        )
    return None
