"""Fuzzed configuration: a config either validates or fails with clear one-line errors naming the
setting (never a traceback); a valid config renders files the real tools accept.

The tool-running properties are bounded (25 examples each, no deadline) so CI stays fast; raise
`WEBSTACK_FUZZ_EXAMPLES` to search longer locally.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings

from components.plan.checks import parse_stack_spec
from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import local_layout, vm_layout
from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.common import CloudRefs, user_data_base64
from components.render.linux import render_linux_host, render_linux_user_data, render_nginx_conf
from components.render.windows import render_windows_user_data
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from components.tooling.config import SPEC_KEYS
from tests.fuzz.strategies import broken_configs, valid_configs
from tests.helpers.tools import require_tool

SCALE = int(os.environ.get("WEBSTACK_FUZZ_EXAMPLES", "1"))
FAST = settings(
    max_examples=100 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
TOOLS = settings(
    max_examples=25 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
PROBLEM = re.compile(r"^(?P<setting>[^\s:][^:]*?): \S")


@pytest.fixture(scope="module")
def tls_pair() -> tuple[str, str]:
    """A real self-signed certificate and key: nginx -t loads them for the nginx edge."""
    openssl = require_tool("openssl")
    d = Path(tempfile.mkdtemp(prefix="ws-fuzz-tls-"))
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(d / "k"),
         "-out", str(d / "c")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (d / "c").read_text(), (d / "k").read_text()


def refs(spec: StackSpec, app_name: str, cert: str | None) -> CloudRefs:
    return CloudRefs(
        region="eu-west-1",
        bucket="webstack-fuzz-artifacts",
        package_key=f"apps/{app_name}/0123abcd.tar.gz",
        ssm_prefix=stack_ssm_prefix(spec.environment, app_name),
        tls_cert_pem=cert if spec.edge.mode == "nginx" else None,
    )


def assert_clear_problems(error: SpecError, config: dict[str, Any]) -> None:
    assert error.problems, "a SpecError must list at least one problem"
    roots = set(SPEC_KEYS) | {str(k) for k in config}
    for line in error.problems:
        assert line.strip() and "\n" not in line and "\r" not in line, f"not one line: {line!r}"
        m = PROBLEM.match(line)
        assert m, f"problem does not start with the setting it is about: {line!r}"
        root = re.split(r"[.\[]", m.group("setting"), maxsplit=1)[0]
        assert root in roots, f"{line!r} names {root!r}, which is no setting"
        assert "Traceback" not in line and "function-" not in line, line


def render_all(spec: StackSpec, cert: str) -> None:
    """Everything a deploy renders for each app: both layouts, packed user data."""
    for app in spec.apps:
        if app.os == "windows":
            render_windows_user_data(
                plan_tier(spec, app), app, vm_windows_layout(), refs(spec, app.name, cert)
            )
            continue
        user_data = render_linux_user_data(
            plan_tier(spec, app), app, vm_layout(app.linux.family), refs(spec, app.name, cert)
        )
        user_data_base64(user_data, app.name)  # may raise SpecError (over AWS's size limit)
        local = local_layout(Path("/tmp/ws-fuzz"), 8080, 8443)
        render_linux_host(plan_tier(spec, app), app, local, refs(spec, app.name, cert))


# -- invalid configs: SpecError with clear lines, never another exception -----------------------
@FAST
@given(config=broken_configs())
def test_broken_config_fails_cleanly_or_renders(
    config: dict[str, Any], tls_pair: tuple[str, str]
) -> None:
    try:
        spec = parse_stack_spec(config)
        render_all(spec, tls_pair[0])
    except SpecError as e:
        assert_clear_problems(e, config)


@FAST
@given(config=valid_configs())
def test_valid_config_validates_and_survives_yaml(
    config: dict[str, Any], tls_pair: tuple[str, str]
) -> None:
    """A config built by the documented rules validates; every rendered file reaches the VM
    byte for byte through the cloud-config YAML (env values with quotes, $, \\ and unicode)."""
    try:
        spec = parse_stack_spec(config)
    except SpecError as e:
        assert_clear_problems(e, config)
        raise AssertionError(f"a config following the documented rules was rejected: {e}") from e
    for app in spec.apps:
        layout = vm_layout(app.linux.family)
        r = refs(spec, app.name, tls_pair[0])
        if app.os == "windows":
            try:
                render_windows_user_data(plan_tier(spec, app), app, vm_windows_layout(), r)
            except SpecError as e:
                assert_clear_problems(e, config)
            continue
        try:
            user_data = render_linux_user_data(plan_tier(spec, app), app, layout, r)
            user_data_base64(user_data, app.name)
        except SpecError as e:
            assert_clear_problems(e, config)
            continue
        files = render_linux_host(plan_tier(spec, app), app, layout, r)
        written = {f["path"]: f["content"] for f in yaml.safe_load(user_data)["write_files"]}
        assert written == files, f"{app.name}: a file changes on its way through the user data"


# -- valid configs pass the real tools ----------------------------------------------------------
@TOOLS
@given(config=valid_configs())
def test_valid_config_passes_nginx_t(config: dict[str, Any], tls_pair: tuple[str, str]) -> None:
    nginx = require_tool("nginx")
    try:
        spec = parse_stack_spec(config)
    except SpecError:
        assume(False)
        return
    linux = [a for a in spec.apps if a.os == "linux"]
    assume(linux)
    app = linux[0]
    root = Path(tempfile.mkdtemp(prefix="ws-fz-", dir="/tmp"))
    try:
        layout = local_layout(root, 18080, 18443)
        conf = Path(layout.staged_nginx_conf())
        for d in (
            conf.parent,
            Path(layout.nginx_log_dir),
            Path(layout.nginx_state_dir),
            Path(layout.run_dir),
            Path(layout.tls_cert(app.name)).parent,
        ):
            d.mkdir(parents=True, exist_ok=True)  # fmt: skip
        Path(layout.tls_cert(app.name)).write_text(tls_pair[0])
        Path(layout.tls_key(app.name)).write_text(tls_pair[1])
        conf.write_text(render_nginx_conf(plan_tier(spec, app), app, layout))
        res = subprocess.run(
            [nginx, "-t", "-q", "-c", str(conf), "-e", str(root / "log" / "early.log")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        out = res.stdout + res.stderr
        assert res.returncode == 0, f"nginx -t rejects the config rendered for {config}:\n{out}"
        assert not re.search(r"\[(warn|emerg|alert|crit)\]", out), f"nginx -t warns:\n{out}"
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


@TOOLS
@given(config=valid_configs())
def test_valid_config_passes_cloud_init_schema(
    config: dict[str, Any], tls_pair: tuple[str, str]
) -> None:
    cloud_init = require_tool("cloud-init")
    try:
        spec = parse_stack_spec(config)
    except SpecError:
        assume(False)
        return
    linux = [a for a in spec.apps if a.os == "linux"]
    assume(linux)
    app = linux[-1]
    user_data = render_linux_user_data(
        plan_tier(spec, app), app, vm_layout(app.linux.family), refs(spec, app.name, tls_pair[0])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(user_data)
    try:
        res = subprocess.run(
            [cloud_init, "schema", "-c", f.name], capture_output=True, text=True, timeout=60
        )
    finally:
        os.unlink(f.name)
    assert res.returncode == 0 and "Valid cloud-config" in res.stdout, (
        f"cloud-init schema rejects the user data of {config}:\n{res.stdout}{res.stderr}"
    )


# -- problems the fuzzing found (fixed: nginx.conf.j2 omits `burst=` when it is 0) ---------------
def test_rate_limit_burst_zero(tls_pair: tuple[str, str]) -> None:
    """Found by test_valid_config_passes_nginx_t: a config the spec accepts must pass nginx -t,
    or be rejected by the spec with a clear message."""
    config = {
        "environment": "dev",
        "edge": {"mode": "alb"},
        "apps": [
            {
                "name": "a",
                "framework": "flask",
                "wsgi": "app:app",
                "linux": {"nginx": {"rate_limit_burst": 0}},
            }
        ],
    }
    try:
        spec = parse_stack_spec(config)
    except SpecError as e:
        assert_clear_problems(e, config)
        return
    nginx = require_tool("nginx")
    root = Path(tempfile.mkdtemp(prefix="ws-fz-", dir="/tmp"))
    layout = local_layout(root, 18080, 18443)
    conf = Path(layout.staged_nginx_conf())
    for d in (
        conf.parent,
        Path(layout.nginx_log_dir),
        Path(layout.nginx_state_dir),
        Path(layout.nginx_pid).parent,
    ):
        d.mkdir(parents=True, exist_ok=True)
    conf.write_text(render_nginx_conf(plan_tier(spec, spec.apps[0]), spec.apps[0], layout))
    res = subprocess.run(
        [nginx, "-t", "-q", "-c", str(conf), "-e", str(root / "early.log")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
