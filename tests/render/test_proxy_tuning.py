"""Issue 14's proxy tunings are in the render and the real tools accept them: the Linux access
log is buffered and draws no random request id, and the gzip level follows `gzip_level` on every
proxy that can set one (Nginx on Linux and Windows, Caddy), while IIS refuses it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.plan.tier import plan_tier
from components.plan.windows_layout import local_windows_layout
from components.render.windows import render_windows_host
from components.spec.errors import SpecError
from components.tooling.local.linux import LocalLinuxSite
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers.specs import linux_spec, windows_spec
from tests.helpers.tools import require_tool


def nginx_effective(conf: Path, log: Path) -> str:
    """`nginx -t` must pass; the effective config (`nginx -T`) is what is asserted on."""
    nginx = require_tool("nginx")
    res = subprocess.run(
        [nginx, "-T", "-c", str(conf), "-e", str(log)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and "test is successful" in res.stderr, res.stderr[-2000:]
    return res.stdout


def linux_conf(short_tmp: Path, **nginx: object) -> str:
    site = LocalLinuxSite(linux_spec("flask", "alb", nginx=nginx or None), workdir=short_tmp)
    site.stage()
    return nginx_effective(Path(site.layout.staged_nginx_conf()), short_tmp / "log" / "t.log")


def test_linux_access_log_is_buffered_and_has_no_random_id(short_tmp: Path) -> None:
    conf = linux_conf(short_tmp)
    [line] = re.findall(r"^\s*access_log \S+/access\.log [^;]*;", conf, re.M)
    assert line.strip().endswith("webstack_json buffer=64k flush=1s;"), line
    fmt = conf[conf.index("log_format webstack_json") :]
    fmt = fmt[: fmt.index("';\n") + 2]
    assert "$request_id" not in fmt, "16 random bytes per request for an id nobody sees"
    fields = ('"connection":$connection', '"connection_requests":$connection_requests')
    for field in (*fields, '"trace":"$http_x_amzn_trace_id"'):  # the ALB's id, to follow one
        assert field in fmt


@pytest.mark.parametrize(("given", "expected"), [(None, 1), (4, 4)])
def test_linux_gzip_level_follows_the_spec(
    given: int | None, expected: int, short_tmp: Path
) -> None:
    conf = linux_conf(short_tmp, **({"gzip_level": given} if given else {}))
    assert re.findall(r"^\s*gzip_comp_level (\d+);", conf, re.M) == [str(expected)]


def windows_files(proxy: str, root: Path, level: int) -> dict[str, str]:
    spec = windows_spec("flask", proxy, instances=2, limits={"gzip_level": level})
    layout = local_windows_layout(root, 18080, (18081, 18082), Path(sys.prefix), 18443)
    return render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], layout, OFFLINE_REFS)


def test_windows_nginx_gzip_level_follows_the_spec(short_tmp: Path) -> None:
    files = windows_files("nginx", short_tmp, 3)
    [conf] = [c for p, c in files.items() if p.endswith("nginx.conf")]
    assert re.findall(r"^\s*gzip_comp_level (\d+);", conf, re.M) == ["3"]


def test_caddy_gzip_level_reaches_the_adapted_config(short_tmp: Path) -> None:
    """`caddy adapt` turns the Caddyfile into Caddy's JSON: gzip only, at the level given."""
    files = windows_files("caddy", short_tmp, 4)
    [caddyfile] = [p for p in files if p.endswith("Caddyfile")]
    for path, content in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    env = {**os.environ, "XDG_DATA_HOME": str(short_tmp / "d"), "XDG_CONFIG_HOME": str(short_tmp)}
    res = subprocess.run(
        [require_tool("caddy"), "adapt", "--config", caddyfile, "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    encoders = [
        h["encodings"] for h in _handlers(json.loads(res.stdout)) if h.get("handler") == "encode"
    ]
    assert encoders == [{"gzip": {"level": 4}}]


def _handlers(node: object) -> list[dict[str, object]]:
    if isinstance(node, dict):
        own = [node] if "handler" in node else []
        return own + [h for v in node.values() for h in _handlers(v)]
    if isinstance(node, list):
        return [h for v in node for h in _handlers(v)]
    return []


def test_iis_refuses_a_gzip_level_with_one_line() -> None:
    with pytest.raises(SpecError) as err:
        windows_spec("flask", "iis", limits={"gzip_level": 4})
    text = str(err.value)
    assert "limits.gzip_level" in text and "\n" not in text.strip()


@pytest.mark.parametrize(
    ("level", "bound"), [(0, "greater than or equal to 1"), (10, "less than or equal to 9")]
)
def test_gzip_level_out_of_range_is_refused(level: int, bound: str) -> None:
    with pytest.raises(SpecError) as err:
        linux_spec("flask", "alb", nginx={"gzip_level": level})
    assert str(err.value) == f"apps.flask-app.linux.nginx.gzip_level: Input should be {bound}"
