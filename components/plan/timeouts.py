"""One timeout chain, derived from a single request timeout.

Each hop must give up no earlier than the hop behind it, and every idle keep-alive must be longer on
the server side than on the client side, or a reused connection is closed under a request (a 502):

    gunicorn timeout <= nginx proxy_read_timeout <= ALB idle timeout < nginx keepalive_timeout
    nginx upstream keepalive_timeout < gunicorn keepalive
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.spec.common import TimeoutOverrides
from components.spec.stack import AppSpec, StackSpec

NGINX_UPSTREAM_KEEPALIVE = 60
GUNICORN_KEEPALIVE = 75


@dataclass(frozen=True)
class TimeoutChain:
    request_timeout: int
    gunicorn_timeout: int
    nginx_read_timeout: int
    alb_idle_timeout: int | None
    edge_keepalive_timeout: int
    nginx_upstream_keepalive: int
    gunicorn_keepalive: int

    def as_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("gunicorn timeout", f"{self.gunicorn_timeout}s"),
            ("nginx proxy_read_timeout", f"{self.nginx_read_timeout}s"),
        ]
        if self.alb_idle_timeout is not None:
            rows.append(("ALB idle timeout", f"{self.alb_idle_timeout}s"))
        rows += [
            ("nginx keepalive_timeout (clients/ALB)", f"{self.edge_keepalive_timeout}s"),
            ("nginx upstream keepalive_timeout", f"{self.nginx_upstream_keepalive}s"),
            ("gunicorn keepalive", f"{self.gunicorn_keepalive}s"),
        ]
        return rows


def derive_timeout_chain(
    request_timeout: int, overrides: TimeoutOverrides, edge: Literal["alb", "nginx"]
) -> TimeoutChain:
    """Fill every timeout from request_timeout; raise ValueError naming the setting that breaks it."""
    g = overrides.gunicorn if overrides.gunicorn is not None else request_timeout
    n = overrides.nginx_read if overrides.nginx_read is not None else g + 5
    if edge == "alb":
        alb: int | None = overrides.alb_idle if overrides.alb_idle is not None else n + 5
    else:
        if overrides.alb_idle is not None:
            raise ValueError("timeouts.alb_idle: only used with edge.mode alb")
        alb = None
    edge_keepalive = (
        overrides.edge_keepalive
        if overrides.edge_keepalive is not None
        else (alb + 15 if alb is not None else 65)
    )
    if g > n:
        raise ValueError(
            f"timeouts.gunicorn: {g}s is longer than timeouts.nginx_read {n}s; Nginx would cut "
            "requests Gunicorn still serves (need gunicorn <= nginx_read)"
        )
    if alb is not None and n > alb:
        raise ValueError(
            f"timeouts.nginx_read: {n}s is longer than timeouts.alb_idle {alb}s; the ALB would "
            "drop requests Nginx still waits for (need nginx_read <= alb_idle)"
        )
    if alb is not None and edge_keepalive <= alb:
        raise ValueError(
            f"timeouts.edge_keepalive: {edge_keepalive}s must be longer than timeouts.alb_idle "
            f"{alb}s, or Nginx closes connections the ALB reuses (502s)"
        )
    return TimeoutChain(
        request_timeout=request_timeout,
        gunicorn_timeout=g,
        nginx_read_timeout=n,
        alb_idle_timeout=alb,
        edge_keepalive_timeout=edge_keepalive,
        nginx_upstream_keepalive=NGINX_UPSTREAM_KEEPALIVE,
        gunicorn_keepalive=GUNICORN_KEEPALIVE,
    )


def timeout_chain(spec: StackSpec) -> TimeoutChain:
    """The stack's chain: request_timeout, the explicit overrides and the edge mode."""
    return derive_timeout_chain(spec.request_timeout, spec.timeouts, spec.edge.mode)


def gunicorn_timeouts(spec: StackSpec, app: AppSpec) -> tuple[int, int]:
    """(worker timeout, keepalive) for an app: the explicit value or the chain's."""
    return chain_gunicorn_timeouts(timeout_chain(spec), app)


def chain_gunicorn_timeouts(chain: TimeoutChain, app: AppSpec) -> tuple[int, int]:
    """(worker timeout, keepalive) of an app on a given chain; ValueError naming the setting."""
    g = app.linux.gunicorn
    timeout = g.timeout if g.timeout is not None else chain.gunicorn_timeout
    keepalive = g.keepalive if g.keepalive is not None else chain.gunicorn_keepalive
    if timeout > chain.nginx_read_timeout:
        raise ValueError(
            f"apps.{app.name}.linux.gunicorn.timeout: {timeout}s is longer than Nginx's "
            f"proxy_read_timeout {chain.nginx_read_timeout}s (the chain needs gunicorn <= nginx)"
        )
    if keepalive <= chain.nginx_upstream_keepalive:
        raise ValueError(
            f"apps.{app.name}.linux.gunicorn.keepalive: {keepalive}s must exceed Nginx's upstream "
            f"keepalive_timeout {chain.nginx_upstream_keepalive}s so Gunicorn never closes a "
            "connection Nginx is about to reuse"
        )
    return timeout, keepalive
