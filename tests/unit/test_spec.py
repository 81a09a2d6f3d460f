"""Bad input gets one clear line naming the setting, before any resource exists."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.plan.checks import load_stack_spec, parse_stack_spec
from components.plan.timeouts import timeout_chain
from components.spec.errors import SpecError

FLASK: dict[str, Any] = {"name": "web", "framework": "flask", "wsgi": "app:create_app()"}


def alb_stack(**app: Any) -> dict[str, Any]:
    return {"environment": "test", "edge": {"mode": "alb"}, "apps": [{**FLASK, **app}]}


def with_path(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    last = keys[-1]
    node[int(last) if last.isdigit() else last] = value
    return data


BASE = alb_stack()
ACM_NO_ZONE = with_path(BASE, "edge.tls", {"mode": "acm", "domain": "x.example.com"})

# (config, the setting the error must name, a word the explanation must contain)
BAD_CONFIGS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "workers 0",
        with_path(BASE, "apps.0.linux", {"gunicorn": {"workers": 0}}),
        "apps.web.linux.gunicorn.workers",
        "1..64",
    ),
    (
        "unknown framework",
        with_path(BASE, "apps.0.framework", "rails"),
        "apps.web.framework",
        "flask",
    ),
    (
        "bad WSGI target",
        with_path(BASE, "apps.0.wsgi", "app.create_app"),
        "apps.web.wsgi",
        "module:callable",
    ),
    ("bad CIDR", with_path(BASE, "admin_cidrs", ["10.0.0.300/8"]), "admin_cidrs", "CIDR"),
    ("world SSH", with_path(BASE, "admin_cidrs", ["0.0.0.0/0"]), "admin_cidrs", "whole internet"),
    (
        "one AZ with an ALB",
        with_path(BASE, "network", {"az_count": 1}),
        "network.az_count",
        "2 AZs",
    ),
    ("ACM without zone", ACM_NO_ZONE, "edge.tls", "zone_id"),
    (
        "broken timeout chain",
        with_path(BASE, "timeouts", {"gunicorn": 60, "nginx_read": 30}),
        "timeouts.gunicorn",
        "nginx_read",
    ),
    (
        "ALB idle below nginx read",
        with_path(BASE, "timeouts", {"nginx_read": 90, "alb_idle": 60}),
        "timeouts.nginx_read",
        "alb_idle",
    ),
    (
        "app gunicorn timeout above chain",
        with_path(BASE, "apps.0.linux", {"gunicorn": {"timeout": 300}}),
        "apps.web.linux.gunicorn.timeout",
        "proxy_read_timeout",
    ),
    (
        "masters 3",
        with_path(BASE, "apps.0.linux", {"gunicorn": {"masters": 3}}),
        "apps.web.linux.gunicorn.masters",
        "1 or 2",
    ),
    (
        "nginx edge with more than one VM",
        with_path(
            with_path(BASE, "edge.mode", "nginx"),
            "apps.0.linux",
            {"capacity": {"min": 1, "max": 3}},
        ),
        "apps.web.linux.capacity",
        "exactly one VM",
    ),
    ("duplicate app names", {**BASE, "apps": [FLASK, FLASK]}, "apps", "duplicate"),
    (
        "unknown key (typo)",
        with_path(BASE, "apps.0.linux", {"instance_typ": "t3.small"}),
        "apps.web.linux.instance_typ",
        "unknown setting",
    ),
    (
        "bad instance type",
        with_path(BASE, "apps.0.linux", {"instance_type": "large"}),
        "apps.web.linux.instance_type",
        "allowed form",
    ),
    (
        "python not on image",
        with_path(BASE, "apps.0.python", "3.9"),
        "apps.web.python",
        "ubuntu-24.04",
    ),
    (
        "unknown image",
        with_path(BASE, "apps.0.linux", {"image": "centos-7"}),
        "apps.web.linux.image",
        "AMI",
    ),
    ("nat none behind ALB", with_path(BASE, "network", {"nat": "none"}), "network.nat", "NAT"),
    (
        "jitter above max_requests",
        with_path(
            BASE, "apps.0.linux", {"gunicorn": {"max_requests": 100, "max_requests_jitter": 100}}
        ),
        "apps.web.linux.gunicorn",
        "jitter",
    ),
    (
        "bad body size",
        with_path(BASE, "apps.0.linux", {"nginx": {"client_max_body_size": "10 MB"}}),
        "apps.web.linux.nginx.client_max_body_size",
        "allowed form",
    ),
    ("no apps", {**BASE, "apps": []}, "apps", "at least 1"),
    (
        "bad secret name",
        with_path(BASE, "apps.0.secrets", ["api-token"]),
        "apps.web.secrets[0]",
        "allowed form",
    ),
    (
        "git without ref",
        with_path(BASE, "apps.0.source", {"git": "https://example.com/x.git"}),
        "apps.web.source",
        "ref",
    ),
    (
        "gunicorn on Windows",
        with_path(with_path(BASE, "apps.0.os", "windows"), "apps.0.server", "gunicorn"),
        "apps.web.server",
        "Waitress",
    ),
]


@pytest.mark.parametrize(
    ("label", "config", "setting", "word"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_gives_one_clear_line(
    label: str, config: dict[str, Any], setting: str, word: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_stack_spec(config)
    problems = caught.value.problems
    assert problems, "a SpecError must list at least one problem"
    for line in problems:
        assert "\n" not in line and "Traceback" not in line, (
            f"{label}: not one clean line: {line!r}"
        )
    matching = [p for p in problems if p.startswith(setting)]
    assert matching, f"{label}: no problem names {setting!r}; got {problems}"
    assert any(word.lower() in p.lower() for p in matching), f"{label}: {matching} lacks {word!r}"


def test_at_least_fifteen_distinct_bad_configs() -> None:
    assert len({label for label, *_ in BAD_CONFIGS}) >= 15


def test_secret_without_value_is_named() -> None:
    config = with_path(BASE, "apps.0.secrets", ["API_TOKEN", "DB_PASSWORD"])
    with pytest.raises(SpecError) as caught:
        load_stack_spec(config, {"web": {"API_TOKEN"}})
    assert caught.value.problems == [
        "apps.web.secrets: DB_PASSWORD has no secret config value; set it with "
        "`pulumi config set --secret --path 'secrets.web.DB_PASSWORD' VALUE`"
    ]


def test_every_problem_is_reported_at_once() -> None:
    config = with_path(BASE, "apps.0", {**FLASK, "framework": "rails", "wsgi": "nope"})
    with pytest.raises(SpecError) as caught:
        parse_stack_spec(config)
    assert len(caught.value.problems) == 2, caught.value.problems


def test_valid_config_fills_documented_defaults() -> None:
    spec = parse_stack_spec(BASE)
    app = spec.apps[0]
    assert app.linux.image == "ubuntu-24.04"
    assert app.linux.gunicorn.workers == "auto"
    assert app.health_path == "/healthz"
    assert timeout_chain(spec).gunicorn_timeout <= timeout_chain(spec).nginx_read_timeout
    assert spec.deletion_protection is False
    assert parse_stack_spec({**BASE, "production": True}).deletion_protection is True
