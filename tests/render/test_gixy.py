"""gixy-ng (the Nginx configuration analyzer the issue used) on the rendered Linux nginx.conf of the
shipped stacks and of an ALB stack with allow/deny lists: no finding of any severity.

One check is skipped, with its reason: `try_files_is_evil_too` flags the edge's port-80 server,
whose `try_files` exists to run the redirect after allow/deny and limit_req (a `return` would run
before them); it stats one missing file per redirect, and nothing else is served on that port.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from components.plan.linux_layout import vm_layout
from components.plan.tier import plan_tier
from components.render.linux import render_nginx_conf
from components.spec.stack import StackSpec
from tests.helpers.specs import linux_spec, shipped_spec
from tests.helpers.tools import require_tool

SKIPS = "try_files_is_evil_too"


def _stacks() -> dict[str, StackSpec]:
    return {
        "dev": shipped_spec("dev")[0],
        "prod": shipped_spec("prod")[0],
        "alb-lists": linux_spec(
            "flask", "alb", 2,
            nginx={"allow_cidrs": ["10.0.0.0/8", "2001:db8::/32"], "deny_cidrs": ["10.9.0.0/16"]},
            hostnames=["shop.example.com"],
        ),
        "nginx-edge-microcache": linux_spec(
            "flask", "nginx", 1,
            linux_extra={"microcache": {"enabled": True, "paths": ["/blog/"]}},
        ),
    }  # fmt: skip


def _gixy(conf: Path) -> list[dict[str, object]]:
    gixy = require_tool("gixy")
    res = subprocess.run(
        [gixy, "--format", "json", "--skips", SKIPS, str(conf)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode in (0, 1), f"gixy failed:\n{res.stdout}{res.stderr}"
    return json.loads(res.stdout or "[]")


@pytest.mark.parametrize("name", ["dev", "prod", "alb-lists", "nginx-edge-microcache"])
def test_rendered_nginx_conf_has_no_gixy_finding(name: str, tmp_path: Path) -> None:
    spec = _stacks()[name]
    for app in (a for a in spec.apps if a.os == "linux"):
        conf = tmp_path / f"{app.name}.conf"
        conf.write_text(render_nginx_conf(plan_tier(spec, app), app, vm_layout(app.linux.family)))
        findings = _gixy(conf)
        assert findings == [], f"{name}/{app.name}: gixy found:\n{json.dumps(findings, indent=1)}"


def test_gixy_can_fail(tmp_path: Path) -> None:
    """The classic alias traversal (`location /static` + `alias .../static/`) is reported."""
    spec = _stacks()["prod"]
    app = spec.apps[0]
    text = render_nginx_conf(plan_tier(spec, app), app, vm_layout(app.linux.family))
    conf = tmp_path / "bad.conf"
    conf.write_text(text.replace("location /static/ {", "location /static {", 1))
    assert "location /static {" in conf.read_text()
    assert any("alias" in json.dumps(f) for f in _gixy(conf))
