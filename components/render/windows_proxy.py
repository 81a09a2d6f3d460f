"""Render functions of the Windows tier's front proxies: Nginx, Caddy, IIS + ARR.

Pure: (plan, app, WindowsHostLayout) -> file content. The configs point at the layout's loopback
Waitress ports and folders; the VM and the local stand-in differ only by layout.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import PurePath
from typing import Any

import jinja2

from components.plan.microcache import MicrocachePlan, microcache_plan
from components.plan.tier import TierPlan, trusted_proxies, windows_static_root
from components.plan.windows_layout import WindowsHostLayout, farm_name, instance_alias
from components.render.common import jinja_env
from components.spec.common import nginx_size_bytes
from components.spec.stack import AppSpec

ARR_CLIENT_HEADER = "X-ARR-Client-IP"
# ARR's loadBalancing algorithm for each `balance`. LeastRequests is ARR's "Least current request":
# the fewest HTTP requests in flight between ARR and each server (Microsoft Learn, "Load Balance
# Page" of Application Request Routing), which is what least_conn means for Nginx and Caddy.
ARR_ALGORITHMS = {"least_conn": "LeastRequests", "round_robin": "WeightedRoundRobin"}
# Nginx's default large_client_header_buffers is 4 8k: a request line up to 8 KiB (nginx docs,
# ngx_http_core_module). IIS requestLimits take the same bound for maxUrl and maxQueryString.
NGINX_REQUEST_LINE_BYTES = 8192


def ps_quote(value: object) -> str:
    """A PowerShell single-quoted literal: nothing inside is expanded."""
    return "'" + str(value).replace("'", "''") + "'"


def forward_slashes(path: PurePath | str) -> str:
    """Nginx and Caddy on Windows read forward slashes (a backslash is an escape to them)."""
    return path.as_posix() if isinstance(path, PurePath) else str(path).replace("\\", "/")


@functools.cache
def windows_jinja_env() -> jinja2.Environment:
    """The shared environment (same loader and options) plus the Windows filters."""
    env = jinja_env().overlay()
    env.filters["psq"] = ps_quote
    env.filters["fwd"] = forward_slashes
    return env


def render_windows_template(name: str, **context: Any) -> str:
    return windows_jinja_env().get_template(name).render(**context)


def proxy_service_name(app: AppSpec) -> str:
    """The NSSM service of the proxy (IIS is W3SVC: its logs stay under inetpub)."""
    return f"{app.name}-{app.windows.proxy}"


def hms(seconds: int) -> str:
    """IIS time spans: hh:mm:ss."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# -- the proxies -------------------------------------------------------------------------------
# The forwarded-scheme gate, the same on every proxy of both tiers: a trusted peer's
# X-Forwarded-Proto counts only when it is exactly `http` or `https` (lower case, as the ALB
# sends it); anything else, or any other peer, gives the connection's own scheme.
FORWARDED_PROTO_PATTERN = "^(https?)$"
# Strict-Transport-Security on HTTPS requests behind the ALB, as the Linux tier sends it.
HSTS = "max-age=63072000"
# This host's own health probe (the bootstrap's Wait-Health through the proxy).
LOOPBACK = ("127.0.0.1/32", "::1/128")


def _proxy_context(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> dict[str, Any]:
    return {
        "app": app,
        "layout": layout,
        "nginx": app.windows.limits,
        "chain": plan.chain,
        "ports": layout.ports(app.windows),
        "balance": app.windows.balance,
        "trusted_proxies": trusted_proxies(plan, layout),
        "health_peers": [*trusted_proxies(plan, layout), *LOOPBACK],
        "forwarded_proto_pattern": FORWARDED_PROTO_PATTERN,
        "hsts": HSTS,
        "health_host": app.health_host,
        "static_root": windows_static_root(app, layout),
        "log_dir": layout.service_log_dir(app.name, proxy_service_name(app)),
        "proxy_dir": layout.proxy_dir(app.name),
        "server_names": " ".join(app.hostnames) or "_",
        "cache": windows_microcache(app, layout),
    }


def windows_microcache(app: AppSpec, layout: WindowsHostLayout) -> MicrocachePlan | None:
    """Nginx for Windows caches as on Linux (proxy: nginx only; the spec refuses iis / caddy)."""
    cache_dir = str(layout.proxy_dir(app.name) / "microcache").replace("\\", "/")
    return microcache_plan(app.windows.microcache, cache_dir, "$webstack_forwarded_proto")


def render_windows_nginx_conf(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    return render_windows_template(
        "windows/nginx.conf.j2",
        **_proxy_context(plan, app, layout),
        upstream=f"{app.name.replace('-', '_')}_waitress",
        edge_mode="alb",
    )


def render_caddyfile(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    ctx = _proxy_context(plan, app, layout)
    body = nginx_size_bytes(app.windows.limits.client_max_body_size)
    return render_windows_template(
        "windows/Caddyfile.j2",
        **ctx,
        site_address=f"http://:{layout.http_port}",
        upstreams=[f"127.0.0.1:{p}" for p in ctx["ports"]],
        lb_policy=app.windows.balance,
        client_ip="{client_ip}" if ctx["trusted_proxies"] else "{remote_host}",
        ip_matcher="client_ip" if ctx["trusted_proxies"] else "remote_ip",
        max_body=f"{body}B" if body else None,
    )


def ipv4_cidrs_regex(cidrs: list[str]) -> str | None:
    """An anchored regex matching exactly the IPv4 addresses of the CIDRs (for IIS conditions)."""
    alternatives = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        if net.version != 4:
            continue
        whole, rest = divmod(net.prefixlen, 8)
        octets = str(net.network_address).split(".")
        fixed = [re.escape(o) for o in octets[:whole]]
        if rest:
            first = int(octets[whole])
            values = range(first, first + 2 ** (8 - rest))
            fixed.append("(" + "|".join(str(v) for v in values) + ")")
        free = 4 - len(fixed)
        alternatives.append(r"\.".join(fixed + [r"\d{1,3}"] * free))
    return "^(" + "|".join(alternatives) + ")$" if alternatives else None


def render_iis_fragment(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    """The applicationHost.config elements: the web farm, ARR proxy settings, global rules."""
    ctx = _proxy_context(plan, app, layout)
    static_url = app.static.url if app.static else None
    return render_windows_template(
        "windows/applicationHost.xml.j2",
        **ctx,
        farm=farm_name(app.name),
        rule_prefix=f"{farm_name(app.name)}:",
        servers=[(instance_alias(app.name, n), p) for n, p in enumerate(ctx["ports"], start=1)],
        algorithm=ARR_ALGORITHMS[app.windows.balance],
        read_timeout=hms(plan.chain.nginx_read_timeout),
        arr_client_header=ARR_CLIENT_HEADER,
        health_pattern="^" + re.escape(app.health_path.lstrip("/")) + "$",
        static_url=static_url,
        static_pattern="^" + re.escape(static_url) if static_url else None,
        trusted_regex=ipv4_cidrs_regex(ctx["trusted_proxies"]),
        # `<proto>|<X-Forwarded-For>`: the gate's scheme, then the last address of the list.
        forwarded_pattern=FORWARDED_PROTO_PATTERN.removesuffix("$") + r"\|.*?([0-9A-Fa-f.:]+)\s*$",
    )


def render_iis_web_config(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    return render_windows_template(
        "windows/web.config.j2",
        app=app,
        farm=farm_name(app.name),
        max_body_bytes=nginx_size_bytes(app.windows.limits.client_max_body_size) or 4294967295,
        gzip=app.windows.limits.gzip,
        max_url=NGINX_REQUEST_LINE_BYTES,
        max_query_string=NGINX_REQUEST_LINE_BYTES,
    )
