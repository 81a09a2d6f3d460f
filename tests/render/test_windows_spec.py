"""Bad Windows settings: each is one clear line that names the setting (SpecError.problems)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.plan.checks import parse_stack_spec
from components.plan.sizing import waitress_instances, waitress_ports
from components.spec.errors import SpecError

BASE: dict[str, Any] = {
    "environment": "dev",
    "apps": [
        {
            "name": "web",
            "framework": "flask",
            "wsgi": "app:create_app()",
            "os": "windows",
            "windows": {},
        }
    ],
}


def problems(windows: dict[str, Any] | None = None, **changes: Any) -> list[str]:
    data = copy.deepcopy(BASE)
    data["apps"][0]["windows"].update(windows or {})
    top = changes.pop("top", {})
    data["apps"][0].update(changes)
    data.update(top)
    with pytest.raises(SpecError) as e:
        parse_stack_spec(data)
    return e.value.problems


def test_the_base_windows_app_is_valid() -> None:
    spec = parse_stack_spec(copy.deepcopy(BASE))
    app = spec.apps[0]
    assert app.wsgi_server == "waitress"
    # instances: auto on the default t3.medium (2 vCPUs) = vCPU + 1
    assert waitress_instances(app.windows) == 3
    assert waitress_ports(app.windows) == [5001, 5002, 5003]


@pytest.mark.parametrize(
    ("windows", "changes", "setting", "words"),
    [
        ({}, {"server": "gunicorn"}, "apps.web.server", ["Gunicorn does not run on Windows"]),
        ({"instances": 0}, {}, "apps.web.windows.instances", ["1..16", "got 0"]),
        ({"instances": 17}, {}, "apps.web.windows.instances", ["1..16", "got 17"]),
        ({"base_port": 3387}, {}, "apps.web.windows.base_port", ["collide", "3389 (RDP)"]),
        ({"base_port": 5984}, {}, "apps.web.windows.base_port", ["collide", "5985 (WinRM)"]),
        ({"base_port": 65530}, {}, "apps.web.windows.base_port", ["65000"]),
        ({"proxy": "apache"}, {}, "apps.web.windows.proxy", ["'apache'", "'iis'", "'caddy'"]),
        (
            {"proxy": "caddy", "caddy": {"https": True}},
            {},
            "apps.web.windows.caddy.https",
            ["not supported behind the ALB", "HTTP:80"],
        ),
        (
            {"installers": {"nssm": {"url": "https://mirror.example/nssm.zip"}}},
            {},
            "apps.web.windows.installers.nssm.sha256",
            ["has no SHA-256", "every installer you set needs"],
        ),
        (
            {"connection_limit": 1000},
            {},
            "apps.web.windows.connection_limit",
            ["1000 is over 500", "select()", "512 sockets"],
        ),
        (
            {"proxy": "iis", "limits": {"allow_cidrs": ["10.0.0.0/8"]}},
            {},
            "apps.web.windows.limits",
            ["proxy iis cannot honour limits.allow_cidrs"],
        ),
        (
            {"proxy": "iis", "limits": {"rate_limit_rps": 10, "deny_cidrs": ["192.0.2.0/24"]}},
            {},
            "apps.web.windows.limits",
            ["limits.deny_cidrs, limits.rate_limit_rps"],
        ),
        (
            {"proxy": "caddy", "limits": {"rate_limit_burst": 5}},
            {},
            "apps.web.windows.limits",
            ["proxy caddy cannot honour limits.rate_limit_burst"],
        ),
        (
            {},
            {"env": {"GREETING": "100%PATH%"}},
            "apps.web.env",
            ["'%PATH%'", "NSSM expands"],
        ),
        (
            {"installers": {"python": {"url": "https://x.example/p.exe", "sha256": "abc123"}}},
            {},
            "apps.web.windows.installers.python.sha256",
            ["'abc123'", "SHA-256"],
        ),
        (
            {"installers": {"nginx": {"url": "https://x.example/n.zip", "sha256": "g" * 64}}},
            {},
            "apps.web.windows.installers.nginx.sha256",
            ["SHA-256"],
        ),
        ({"channel_timeout": 60}, {}, "apps.web.windows.channel_timeout", ["keepalive 60s"]),
        ({"caddy": {"email": "ops@example.com"}}, {}, "apps.web.windows.caddy", ["proxy: caddy"]),
        ({"caddy": {"domain": "a.example.com"}}, {}, "apps.web.windows.caddy.domain", []),
    ],
)
def test_bad_windows_input_is_one_line_naming_the_setting(
    windows: dict[str, Any], changes: dict[str, Any], setting: str, words: list[str]
) -> None:
    [line] = problems(windows, **changes)
    assert line.startswith(setting + ": "), line
    assert "\n" not in line
    for word in words:
        assert word in line, line


def test_windows_app_needs_an_alb_over_two_azs() -> None:
    [line] = problems(top={"edge": {"mode": "nginx"}})
    assert line.startswith("apps: ") and "Windows apps need edge.mode alb" in line
    [line] = problems(top={"network": {"az_count": 1}})
    assert line.startswith("network.az_count: ") and "at least 2 AZs" in line


def accepted(windows: dict[str, Any], **changes: Any) -> bool:
    data = copy.deepcopy(BASE)
    data["apps"][0]["windows"].update(windows)
    data["apps"][0].update(changes)
    parse_stack_spec(data)
    return True


def test_what_iis_can_do_stays_accepted() -> None:
    """Refusing for IIS must not refuse a plain IIS app, its body size or `gzip: false`."""
    assert accepted({"proxy": "iis"})
    assert accepted({"proxy": "iis", "limits": {"client_max_body_size": "20m", "gzip": False}})
    assert accepted({}, env={"RATE": "50%", "A": "%%"})
