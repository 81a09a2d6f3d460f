"""Broken stack files for the table test of `webstack check`: (id, stack file text, the setting the
one line must name, a phrase of what is allowed). Built from one valid ALB stack, each damaged once
the ways people (and attackers) do: types, paths, CIDRs, routes, names, YAML shapes, contradictions."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import yaml

BASE: dict[str, Any] = {
    "edge": {"mode": "alb"},
    "apps": [
        {
            "name": "shop",
            "framework": "flask",
            "wsgi": "app:create_app()",
            "source": {"path": "examples/flask_app"},
        }
    ],
}
APP = ("apps", 0)


def stack_text(config: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": {f"webstack:{k}": v for k, v in config.items()}})


def damaged(path: tuple[Any, ...], value: Any) -> str:
    """BASE with the value at `path` (created as needed) replaced."""
    config = copy.deepcopy(BASE)
    node: Any = config
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    return stack_text(config)


def with_apps(*apps: dict[str, Any]) -> str:
    base = BASE["apps"][0]
    return stack_text({**BASE, "apps": [{**base, **a} for a in apps]})


def admin(*cidrs: str, **top: Any) -> str:
    return stack_text({**BASE, "admin_cidrs": list(cidrs), **top})


def app(*path: Any, value: Any) -> str:
    return damaged((*APP, *path), value)


def nginx(**values: Any) -> str:
    config = copy.deepcopy(BASE)
    config["apps"][0]["linux"] = {"nginx": values}
    return stack_text(config)


WIDE_MANY = [f"11.0.{16 * i}.0/20" for i in range(16)] + ["11.1.0.0/24"]  # 65,792 addresses
TOO_MANY = [f"198.51.100.{i}/32" for i in range(59)]  # a security group's 60 less webstack's 2
ALL_BUT_A_9 = [str(n) for n in ipaddress.ip_network("0.0.0.0/0").address_exclude(
    ipaddress.ip_network("11.0.0.0/9"))]  # fmt: skip

# (id, text, setting named, what is allowed)
CASES: list[tuple[str, str, str, str]] = [
    # -- types: a boolean is not a number, a string is not a number ------------------------------
    ("timeout-bool", damaged(("request_timeout",), True), "request_timeout", "whole number"),
    ("retention-31", damaged(("observability", "retention_days"), 31), "observability.retention_days", "one of 1, 3, 5"),
    ("alarm-mail", damaged(("observability", "alarm_email"), "ops"), "observability.alarm_email", "e-mail address"),
    ("kms-alias", damaged(("observability", "kms_key_arn"), "alias/logs"), "observability.kms_key_arn", "KMS key ARN"),
    ("timeout-word", damaged(("request_timeout",), "thirty"), "request_timeout", "whole number"),
    ("timeout-float", damaged(("request_timeout",), 1.5), "request_timeout", "whole number"),
    ("timeout-zero", damaged(("request_timeout",), 0), "request_timeout", "greater than"),
    ("production-word", damaged(("production",), "yes"), "production", "true or false"),
    ("production-int", damaged(("production",), 1), "production", "true or false"),
    ("workers-bool", app("linux", "gunicorn", "workers", value=True), "gunicorn.workers", "auto"),
    ("threads-string", app("linux", "gunicorn", "threads", value="4"), "gunicorn.threads",
     "whole number"),
    ("volume-float", app("linux", "root_volume_gb", value=20.5), "root_volume_gb", "whole number"),
    ("gzip-string", app("linux", "nginx", "gzip", value="true"), "nginx.gzip", "true or false"),
    ("rps-bool", app("linux", "nginx", "rate_limit_rps", value=True), "rate_limit_rps",
     "whole number"),
    ("conn-string", app("linux", "nginx", "max_connections_per_ip", value="100"),
     "max_connections_per_ip", "whole number"),
    ("python-float", app("python", value=3.12), "apps.shop.python", "a string"),
    ("env-int", app("env", value={"DEBUG": 0}), "apps.shop.env", "a string"),
    ("hostnames-string", app("hostnames", value="a.example.com"), "hostnames", "a list"),
    ("az-count-string", damaged(("network", "az_count"), "2"), "network.az_count",
     "whole number"),
    ("capacity-bool", app("linux", "capacity", "min", value=True), "capacity.min", "whole number"),
    ("timeouts-string", damaged(("timeouts", "gunicorn"), "30"), "timeouts.gunicorn",
     "whole number"),
    ("deletion-word", damaged(("edge", "deletion_protection"), "no"), "edge.deletion_protection",
     "true or false"),
    ("windows-threads-bool", with_apps({"os": "windows", "windows": {"threads": True}}),
     "windows.threads", "whole number"),
    # -- paths: normalised and confined --------------------------------------------------------
    ("folder-dotdot", app("static", value={"folder": "../../../../etc"}), "static.folder",
     "stay inside"),
    ("folder-absolute", app("static", value={"folder": "/etc"}), "static.folder", "relative"),
    ("folder-inner-dotdot", app("static", value={"folder": "static/../../x"}), "static.folder",
     "stay inside"),
    ("folder-dot", app("static", value={"folder": "./static"}), "static.folder", "stay inside"),
    ("folder-double-slash", app("static", value={"folder": "static//x"}), "static.folder",
     "stay inside"),
    ("folder-hidden", app("static", value={"folder": ".git"}), "static.folder", "hidden"),
    ("url-dotdot", app("static", value={"url": "/../"}), "static.url", "normalised"),
    ("url-inner-dotdot", app("static", value={"url": "/static/../"}), "static.url", "normalised"),
    ("url-root", app("static", value={"url": "/"}), "static.url", "/static/"),
    ("url-no-slash", app("static", value={"url": "/static"}), "static.url", "end with /"),
    ("url-encoded", app("static", value={"url": "/st%2e%2e/"}), "static.url", "plain path"),
    ("source-dotdot", app("source", value={"path": "../../etc"}), "source.path", "stay inside"),
    ("source-absolute", app("source", value={"path": "/etc"}), "source.path", "relative"),
    ("source-backslash", app("source", value={"path": "examples\\..\\x"}), "source.path",
     "relative"),
    ("health-dotdot", app("health_path", value="/../etc/passwd"), "health_path", "normalised"),
    ("health-double-slash", app("health_path", value="//healthz"), "health_path", "normalised"),
    ("health-relative", app("health_path", value="healthz"), "health_path", "start with /"),
    ("prefix-no-slash", app("path_prefix", value="/api"), "path_prefix", "end with /"),
    ("prefix-dotdot", app("path_prefix", value="/api/../"), "path_prefix", "normalised"),
    ("prefix-too-long", app("path_prefix", value="/" + "a" * 126 + "/"), "path_prefix",
     "at most 127"),
    ("health-too-long", app("health_path", value="/" + "h" * 1024), "health_path",
     "at most 1024"),
    ("git-shell", app("source", value={"git": "https://x.org/a b;rm", "ref": "v1"}), "source",
     "https://"),
    # -- CIDRs ---------------------------------------------------------------------------------
    ("admin-halves", admin("0.0.0.0/1", "128.0.0.0/1"), "admin_cidrs", "0.0.0.0/0"),
    ("admin-world", admin("0.0.0.0/0"), "admin_cidrs", "office/VPN"),
    ("admin-world-v6", admin("::/0"), "admin_cidrs", "office/VPN"),
    ("admin-wide-v4", admin("8.0.0.0/8"), "admin_cidrs", "insecure_allow_wide_admin_cidrs"),
    ("admin-wide-v6", admin("2001:db8::/32"), "admin_cidrs", "a /48"),
    ("admin-many-small", admin(*WIDE_MANY), "admin_cidrs", "a /16"),
    ("admin-halves-opt-in", admin("0.0.0.0/1", "128.0.0.0/1",
                                  insecure_allow_wide_admin_cidrs=True), "admin_cidrs", "SSM"),
    ("admin-half-v4-opt-in", admin(*ALL_BUT_A_9, insecure_allow_wide_admin_cidrs=True),
     "admin_cidrs", "half of the public IPv4 space"),
    ("admin-2000-3-opt-in", admin("2000::/3", insecure_allow_wide_admin_cidrs=True),
     "admin_cidrs", "half of 2000::/3"),
    ("admin-twice", admin("192.0.2.0/24", "192.0.2.0/24"), "admin_cidrs", "listed twice"),
    ("admin-twice-normalised", admin("2001:db8::/48", "2001:0db8:0000::/48"), "admin_cidrs",
     "listed twice"),
    ("admin-too-many", admin(*TOO_MANY), "admin_cidrs", "at most 58"),
    ("admin-bad", admin("10.0.0.300/8"), "admin_cidrs", "CIDR block such as"),
    ("admin-host-bits", admin("10.0.0.1/8"), "admin_cidrs", "CIDR block such as"),
    ("admin-opt-in-word", damaged(("insecure_allow_wide_admin_cidrs",), "sure"),
     "insecure_allow_wide_admin_cidrs", "true or false"),
    ("allow-inside-deny", nginx(allow_cidrs=["10.1.0.0/16"], deny_cidrs=["10.0.0.0/8"]),
     "linux.nginx", "admits nobody"),
    ("allow-equals-deny", nginx(allow_cidrs=["192.0.2.0/24"], deny_cidrs=["192.0.2.0/24"]),
     "linux.nginx", "remove one"),
    ("deny-world", nginx(deny_cidrs=["0.0.0.0/0"]), "deny_cidrs", "allow_cidrs"),
    ("allow-twice", nginx(allow_cidrs=["10.0.0.0/8", "10.0.0.0/8"]), "allow_cidrs", "twice"),
    ("allow-string", nginx(allow_cidrs="10.0.0.0/8"), "allow_cidrs", "a list"),
    ("vpc-public", damaged(("network", "cidr"), "8.8.0.0/16"), "network.cidr", "private IPv4"),
    # -- routes --------------------------------------------------------------------------------
    ("hosts-overlap", with_apps({"hostnames": ["a.example.com"]},
                                {"name": "blog", "hostnames": ["a.example.com", "b.example.com"]}),
     "apps", "disjoint hostnames"),
    ("two-catch-alls", with_apps({}, {"name": "blog"}), "apps", "disjoint hostnames"),
    ("wildcard-overlap", with_apps({"hostnames": ["*.example.com", "www.example.com"]},
                                   {"name": "blog", "hostnames": ["a.example.com"]}),
     "apps", "disjoint hostnames"),
    ("priority-swallows", with_apps({"priority": 7}, {"name": "blog", "path_prefix": "/blog/"}),
     "apps", "rule comes first"),
    ("health-captured", with_apps({"health_path": "/blog/health"},
                                  {"name": "blog", "path_prefix": "/blog/"}),
     "apps.shop.health_path", "would reach app blog"),
    ("host-uppercase", app("hostnames", value=["Shop.Example.com"]), "hostnames", "lowercase"),
    ("host-twice", app("hostnames", value=["a.example.com", "a.example.com"]), "hostnames",
     "twice"),
    ("hosts-too-many", app("hostnames", value=[f"h{i}.example.com" for i in range(4)]),
     "hostnames", "at most 3"),
    ("hosts-only-wildcards", app("hostnames", value=["*.example.com"]), "apps.shop.hostnames",
     "concrete name"),
    ("host-localhost-alb", app("hostnames", value=["localhost"]), "apps.shop.hostnames",
     "a '.' and only letters"),
    ("host-bad", app("hostnames", value=["exa mple.com"]), "hostnames", "host name such as"),
    # -- names ---------------------------------------------------------------------------------
    ("duplicate-apps", with_apps({"path_prefix": "/a/"}, {"path_prefix": "/b/"}), "apps",
     "duplicate app name"),
    ("name-upper", app("name", value="Shop"), "apps.Shop.name", "allowed form"),
    ("name-long", app("name", value="s" * 30), "name", "allowed form"),
    ("environment-bad", damaged(("environment",), "Dev_1"), "environment", "allowed form"),
    ("secret-name", app("secrets", value=["bad-name"]), "secrets", "allowed form"),
    ("env-key", app("env", value={"1BAD": "x"}), "apps.shop.env", "environment variable name"),
    ("framework", app("framework", value="rails"), "framework", "flask"),
    ("wsgi", app("wsgi", value="app"), "wsgi", "module:callable"),
    # -- YAML shapes ---------------------------------------------------------------------------
    ("file-list", "- a\n- b\n", "config", "mapping"),
    ("file-scalar", "hello\n", "config", "mapping"),
    ("config-list", "config:\n  - webstack:apps\n", "config", "mapping"),
    ("config-string", "config: webstack\n", "config", "mapping"),
    ("apps-mapping", "config:\n  webstack:apps: {name: shop}\n", "apps", "a list"),
    ("apps-empty", "config:\n  webstack:apps: []\n", "apps", "at least 1"),
    ("apps-strings", "config:\n  webstack:apps: [shop]\n", "apps", "mapping"),
    ("network-list", damaged(("network",), [1, 2]), "network", "mapping"),
    ("edge-string", damaged(("edge",), "alb"), "edge", "mapping"),
    ("no-apps", "config:\n  webstack:edge: {mode: alb}\n", "apps", "required"),
    ("secrets-list", stack_text(BASE).replace("config:\n", "config:\n  webstack:secrets: [a]\n"),
     "secrets", "must map"),
    # -- contradictions and sizes --------------------------------------------------------------
    ("health-in-static", app("health_path", value="/static/health"), "health_path",
     "static folder"),
    ("body-zero", nginx(client_max_body_size="0"), "client_max_body_size", "1k..10g"),
    ("body-huge", nginx(client_max_body_size="999999g"), "client_max_body_size", "1k..10g"),
    ("body-words", nginx(client_max_body_size="10 MB"), "client_max_body_size", "allowed form"),
    ("capacity-order", app("linux", "capacity", value={"min": 3, "max": 2}), "capacity",
     "min <= desired <= max"),
    ("gunicorn-over-nginx", app("linux", "gunicorn", "timeout", value=300), "gunicorn.timeout",
     "gunicorn <= nginx"),
    ("jitter", app("linux", "gunicorn", value={"max_requests": 10, "max_requests_jitter": 10}),
     "gunicorn", "smaller than max_requests"),
    ("conn-zero", nginx(max_connections_per_ip=0), "max_connections_per_ip", "greater than"),
    # -- gunicorn profile and the microcache (issue 14) --------------------------------------------
    ("profile-word", app("linux", "gunicorn", "profile", value="gpu"), "gunicorn.profile", "io"),
    ("profile-io-sync", app("linux", "gunicorn", value={"profile": "io", "worker_class": "sync"}),
     "gunicorn", "gthread or gevent"),
    ("cache-ttl-zero", app("linux", "microcache", value={"enabled": True, "ttl_seconds": 0}),
     "microcache.ttl_seconds", "greater than"),
    ("cache-ttl-long", app("linux", "microcache", value={"ttl_seconds": 3600}),
     "microcache.ttl_seconds", "less than"),
    ("cache-size-huge", app("linux", "microcache", value={"max_size": "500g"}),
     "microcache.max_size", "1m..100g"),
    ("cache-size-words", app("linux", "microcache", value={"max_size": "1 GB"}),
     "microcache.max_size", "allowed form"),
    ("cache-path-relative", app("linux", "microcache", value={"paths": ["blog/"]}),
     "microcache.paths", "allowed form"),
    ("cache-path-twice", app("linux", "microcache", value={"paths": ["/a", "/a"]}),
     "microcache.paths", "listed twice"),
    ("cache-no-paths", app("linux", "microcache", value={"paths": []}),
     "microcache.paths", "at least 1"),
    ("cache-cookie-bad", app("linux", "microcache", value={"bypass_cookies": ["a;b"]}),
     "microcache.bypass_cookies", "allowed form"),
    ("cache-typo", app("linux", "microcache", value={"enable": True}),
     "microcache.enable", "unknown setting"),
    ("cache-caddy", with_apps({"os": "windows", "windows": {"proxy": "caddy",
     "microcache": {"enabled": True}}}), "microcache.enabled", "proxy: nginx"),
    ("cache-iis", with_apps({"os": "windows", "windows": {"proxy": "iis",
     "microcache": {"enabled": True}}}), "microcache.enabled", "proxy: nginx"),
    # The Windows activation runs no release command: refused, not silently skipped.
    ("windows-release-command", with_apps({"os": "windows", "release_command": ["python", "-V"]}),
     "release_command", "Linux app"),
]  # fmt: skip
