"""The microcache as rendered: every variant passes `nginx -t` (Linux and Windows Nginx), the parsed
directives say what the spec promises, the empty step is a real script, and the proxies that cannot
cache refuse the option with a one-line error naming it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.plan.checks import parse_stack_spec
from components.plan.linux_layout import vm_layout
from components.plan.tier import plan_tier
from components.plan.windows_layout import local_windows_layout
from components.render.common import CloudRefs
from components.render.linux import microcache_script, render_linux_host
from components.render.windows import render_windows_host
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from components.tooling.local.linux import LocalLinuxSite
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers.specs import linux_spec, windows_spec
from tests.helpers.tools import require_tool


def linux_cache_spec(edge: str = "alb", masters: int = 1, **cache: Any) -> StackSpec:
    return linux_spec(
        "flask", edge, masters, linux_extra={"microcache": {"enabled": True, **cache}}
    )


VARIANTS = {
    "alb-any-cookie": ("alb", 1, {}),
    "alb-named-cookies-prefixes": (
        "alb",
        2,
        {"paths": ["/blog/", "/a.b-c_d~e"], "bypass_cookies": ["sessionid", "csrftoken"]},
    ),
    "nginx-edge": ("nginx", 1, {"ttl_seconds": 5, "stale_seconds": 600, "max_size": "1g"}),
}


def nginx_dump(conf: str, log: Path) -> str:
    nginx = require_tool("nginx")
    res = subprocess.run(
        [nginx, "-t", "-c", conf, "-e", str(log)], capture_output=True, text=True, timeout=60
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "test is successful" in out, f"nginx -t rejected:\n{out}"
    assert not re.search(r"\[(emerg|alert|crit)\]", out), out
    return subprocess.run(
        [nginx, "-T", "-q", "-c", conf, "-e", str(log)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_linux_microcache_passes_nginx_t(variant: str, short_tmp: Path) -> None:
    edge, masters, cache = VARIANTS[variant]
    spec = linux_cache_spec(edge, masters, **cache)
    site = LocalLinuxSite(spec, workdir=short_tmp)
    site.stage()
    dump = nginx_dump(str(site.layout.staged_nginx_conf()), short_tmp / "log" / "early.log")
    m = spec.apps[0].linux.microcache
    assert f"max_size={m.max_size} inactive={m.stale_seconds}s" in dump, "size bound missing"
    assert f"proxy_cache_valid 200 301 308 404 410 {m.ttl_seconds}s;" in dump
    assert "proxy_cache_lock on;" in dump, "a thundering herd must send one request upstream"
    assert re.search(r"proxy_cache_use_stale error timeout updating http_500", dump)
    no_cache = re.search(r"proxy_no_cache ([^;]+);", dump)
    assert no_cache and "$upstream_http_set_cookie" in no_cache.group(1), "Set-Cookie stored"
    bypass = re.search(r"proxy_cache_bypass ([^;]+);", dump)
    assert bypass and "$webstack_cache_off_auth" in bypass.group(1)
    assert "$webstack_cache_off_cookie" in bypass.group(1)
    # Set-Cookie must stay a reason Nginx itself refuses to store (never ignored).
    ignored = re.search(r"proxy_ignore_headers ([^;]+);", dump)
    assert ignored and "Set-Cookie" not in ignored.group(1)
    for prefix in m.paths:
        assert f'"~^{re.escape(prefix)}" 0;' in dump
    # HSTS survives the location's own add_header lines.
    location = dump[dump.rindex("location / {") :]
    assert "Strict-Transport-Security" in location


def test_no_microcache_unless_enabled(short_tmp: Path) -> None:
    spec = parse_stack_spec(
        {
            "environment": "dev",
            "apps": [{"name": "flask-app", "framework": "flask", "wsgi": "app:create_app()"}],
        }
    )
    site = LocalLinuxSite(spec, workdir=short_tmp)
    site.stage()
    text = Path(site.layout.staged_nginx_conf()).read_text()
    assert "proxy_cache" not in text, "the microcache is opt-in"


def test_vm_files_empty_the_cache_at_boot_and_name_the_release_step() -> None:
    spec = linux_cache_spec()
    app = spec.apps[0]
    layout = vm_layout("debian")
    refs = CloudRefs(region="eu-west-1", bucket="b", package_key="k", ssm_prefix="/p")
    files = render_linux_host(plan_tier(spec, app), app, layout, refs)
    script = str(microcache_script(app, layout))
    assert script in files, "the release needs a step it can call"
    dropin = files[str(layout.systemd_dir / "nginx.service.d" / "webstack-microcache.conf")]
    assert f"ExecStartPre={script}" in dropin, "each Nginx start (boot) must empty the cache"
    bootstrap = next(c for p, c in files.items() if "bootstrap-" in p)
    assert bootstrap.index(script) < bootstrap.index("nginx -t"), "empty before Nginx starts"
    res = subprocess.run(
        [require_tool("sh"), "-n", "-c", files[script]], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr


def windows_cache_spec(proxy: str) -> StackSpec:
    return windows_spec("flask", proxy, instances=2, microcache={"enabled": True})


def test_windows_nginx_microcache_passes_nginx_t(short_tmp: Path) -> None:
    layout = local_windows_layout(short_tmp, 18080, (18081, 18082), Path(sys.prefix), 18443)
    spec = windows_cache_spec("nginx")
    files = render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], layout, OFFLINE_REFS)
    for path, content in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    for folder in (
        layout.service_log_dir("web", "web-nginx"),
        layout.proxy_dir("web"),
        layout.nginx_dir() / "logs",
    ):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = Path(layout.conf_dir("web")) / "nginx.conf"
    done = subprocess.run(
        [require_tool("nginx"), "-t", "-p", f"{layout.nginx_dir()}/", "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = conf.read_text()
    assert "proxy_cache webstack_micro;" in text and "proxy_cache_lock on;" in text
    bootstrap = "\n".join(c for p, c in files.items() if p.endswith(".ps1"))
    assert "microcache" in bootstrap and "Remove-Item" in bootstrap, "emptied at bootstrap"


@pytest.mark.parametrize("proxy", ["iis", "caddy"])
def test_proxies_that_cannot_cache_refuse_it(proxy: str) -> None:
    with pytest.raises(SpecError) as err:
        windows_cache_spec(proxy)
    [line] = [p for p in err.value.problems if "microcache" in p]
    assert "microcache.enabled" in line and proxy in line and "proxy: nginx" in line
    assert "\n" not in line
