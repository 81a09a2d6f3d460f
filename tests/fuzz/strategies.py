"""Hypothesis strategies over the raw configuration dict (what `Pulumi.<env>.yaml` holds).

`valid_configs()` draws configs that follow the documented rules (a few still break a cross-field
rule; the tests `assume` validity where they need it); `broken_configs()` takes one of those and
damages it the ways people do: wrong types, out-of-range numbers, unknown keys, missing required
keys, whole sections replaced by junk.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from hypothesis import strategies as st

from components.spec.windows import NSSM_EXPANDED

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
ENV_NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
# One-line values with the characters that break quoting: quotes, $, backslash, backtick, unicode.
ENV_VALUES = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r\x00\x85\u2028\u2029"
    )
    | st.sampled_from(list("\"'$`\\ %{}#;")),
    max_size=40,
)
HOSTS = st.builds(
    lambda a, b, tld, wild: ("*." if wild else "") + f"{a}.{b}.{tld}",
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
    st.sampled_from(["com", "org", "example", "io"]),
    st.booleans(),
)
PRIVATE_CIDRS = st.sampled_from(
    ["10.0.0.0/8", "10.66.0.0/16", "192.168.0.0/16", "172.16.0.0/12", "192.0.2.0/24", "fd00::/8"]
)
VPC_CIDRS = st.builds(
    lambda a, b, prefix: str(
        __import__("ipaddress").ip_network(f"10.{a}.{b}.0/{prefix}", strict=False)
    ),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(16, 24),
)
WSGI = {
    "flask": st.sampled_from(["app:create_app()", "app:app", "mysite.web:application"]),
    "django": st.sampled_from(["proj.wsgi:application", "mysite.wsgi:application"]),
}
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def allow_deny(draw: st.DrawFn) -> dict[str, list[str]]:
    """allow/deny lists that do not contradict: no allow range inside a deny range (it could never
    match, the spec refuses it)."""
    allow = draw(st.lists(PRIVATE_CIDRS, max_size=2, unique=True))
    deny = draw(st.lists(PRIVATE_CIDRS, max_size=2, unique=True))
    nets = [ipaddress.ip_network(a) for a in allow]
    deny = [
        d
        for d in deny
        if not any(a.version == (dn := ipaddress.ip_network(d)).version and a.subnet_of(dn)
                   for a in nets)
    ]  # fmt: skip
    return {"allow_cidrs": allow, "deny_cidrs": deny}


@st.composite
def gunicorn(draw: st.DrawFn, request_timeout: int) -> dict[str, Any]:
    g: dict[str, Any] = {
        "workers": draw(st.one_of(st.just("auto"), st.integers(1, 8))),
        "worker_class": draw(st.sampled_from(["sync", "gthread", "gevent"])),
        "threads": draw(st.integers(1, 16)),
        "masters": draw(st.sampled_from([1, 2])),
        "graceful_timeout": draw(st.integers(1, 120)),
        "preload": draw(st.booleans()),
    }
    if draw(st.booleans()):
        g["timeout"] = draw(st.integers(1, request_timeout))
    if draw(st.booleans()):
        g["keepalive"] = draw(st.integers(61, 300))
    if draw(st.booleans()):
        g["max_requests"] = draw(st.integers(0, 5000))
        g["max_requests_jitter"] = draw(st.integers(0, max(0, g["max_requests"] - 1)))
    return g


@st.composite
def app_config(draw: st.DrawFn, name: str, request_timeout: int, edge: str) -> dict[str, Any]:
    framework = draw(st.sampled_from(["flask", "django"]))
    env = draw(st.dictionaries(ENV_NAMES, ENV_VALUES, max_size=4))
    secrets = draw(st.lists(ENV_NAMES.filter(lambda n: n not in env), max_size=3, unique=True))
    image = draw(st.sampled_from(["ubuntu-24.04", "debian-12", "al2023"]))
    app: dict[str, Any] = {
        "name": name,
        "framework": framework,
        "wsgi": draw(WSGI[framework]),
        "env": env,
        "secrets": secrets,
        "health_path": draw(st.sampled_from(["/healthz", "/health/", "/-/ready", "/"])),
        "hostnames": draw(st.lists(HOSTS, max_size=3, unique=True)),
        "linux": {
            "image": image,
            "instance_type": draw(st.sampled_from(["t3.small", "m7i.large", "t4g.medium"])),
            "root_volume_gb": draw(st.integers(8, 200)),
            "extra_packages": draw(st.lists(st.sampled_from(["jq", "libpq5", "git"]), max_size=2)),
            "gunicorn": draw(gunicorn(request_timeout)),
            "nginx": {
                "client_max_body_size": draw(
                    st.from_regex(r"[1-9][0-9]{0,3}[kmKM]", fullmatch=True)
                ),
                "rate_limit_rps": draw(st.integers(1, 1000)),
                "rate_limit_burst": draw(st.integers(0, 1000)),
                **draw(allow_deny()),
                "gzip": draw(st.booleans()),
            },
        },
    }
    if draw(st.booleans()):
        app["static"] = draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {"url": st.sampled_from(["/static/", "/assets/", "/s/v1/"]),
                     "folder": st.sampled_from(["static", "web/static", "public"])}
                ),
            )
        )  # fmt: skip
    if edge == "alb":
        app["path_prefix"] = draw(st.sampled_from(["/", "/api/", "/shop/v2/"]))
        lo = draw(st.integers(0, 3))
        app["linux"]["capacity"] = {"min": lo, "max": draw(st.integers(max(lo, 1), 6))}
    if edge == "alb" and draw(st.sampled_from([False, False, False, True])):
        app["os"] = "windows"
        app["windows"] = {
            "proxy": draw(st.sampled_from(["iis", "nginx", "caddy"])),
            "instances": draw(st.integers(1, 6)),
            "threads": draw(st.integers(1, 32)),
            "balance": draw(st.sampled_from(["round_robin", "least_conn"])),
            "channel_timeout": draw(st.integers(61, 600)),
        }
        # NSSM would expand `%NAME%` in these (refused for Windows apps, windows_spec).
        app["env"] = {k: v for k, v in app["env"].items() if not NSSM_EXPANDED.search(v)}
    if image == "al2023" and draw(st.booleans()):
        app["python"] = draw(st.sampled_from(["3.9", "3.11", "3.12"]))
    hosts = app["hostnames"]
    if edge == "alb" and hosts and all(h.startswith("*.") for h in hosts):
        hosts[-1] = hosts[-1].removeprefix("*.")  # the ALB health check needs a concrete name
    return app


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    edge = draw(st.sampled_from(["alb", "nginx"]))
    request_timeout = draw(st.integers(1, 600))
    names = draw(st.lists(NAMES, min_size=1, max_size=3 if edge == "alb" else 1, unique=True))
    apps = [draw(app_config(n, request_timeout, edge)) for n in names]
    if edge == "alb":
        # Distinct routes: the first app keeps its prefix, the others get their own.
        # Their host names are the first app's, so each is more specific than the first one (a
        # longer prefix on the same hosts) and the ALB's rule order separates them.
        for i, a in enumerate(apps[1:], start=1):
            a["path_prefix"] = f"/app{i}/"
            a["hostnames"] = list(apps[0]["hostnames"])
    config: dict[str, Any] = {
        "environment": draw(NAMES),
        "production": draw(st.booleans()),
        "request_timeout": request_timeout,
        "admin_cidrs": draw(st.lists(PRIVATE_CIDRS, max_size=2, unique=True)),
        "network": {
            "cidr": draw(VPC_CIDRS),
            "az_count": draw(st.integers(2, 3)),
            "nat": draw(st.sampled_from(["single", "per-az"])),
        },
        "edge": {"mode": edge, "tls": {"mode": "self-signed"}},
        "apps": apps,
    }
    return config


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(config: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = config
    for p in path[:-1]:
        node = node[p]
    return node


@st.composite
def broken_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config with 1-3 damages; the result may (rarely) still be valid."""
    config = copy.deepcopy(draw(valid_configs()))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(config)
        kind = draw(st.sampled_from(["junk", "unknown-key", "delete", "out-of-range", "section"]))
        if kind == "section":
            key = draw(st.sampled_from(["network", "edge", "apps", "timeouts", "admin_cidrs"]))
            config[key] = draw(JUNK)
            continue
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(config, path)
        if not isinstance(parent, dict | list):
            continue
        if kind == "junk":
            parent[path[-1]] = draw(JUNK)
        elif kind == "out-of-range":
            parent[path[-1]] = draw(st.sampled_from([-1, 0, 10**9, "", "x" * 300, [], {}]))
        elif kind == "unknown-key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "tmeout", "Workers", "ssl", "apps_"]))] = 1
        elif kind == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif kind == "delete" and isinstance(parent, list) and parent:
            parent.pop(path[-1])
    return config
