"""Rendered Linux files pass the real tools (nginx -t, systemd-analyze verify, cloud-init schema,
gunicorn --check-config, bash -n); user data fits AWS's limit; rendering is deterministic."""

from __future__ import annotations

import gzip
import importlib.util
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import HostLayout, vm_layout
from components.plan.tier import plan_tier
from components.plan.timeouts import gunicorn_timeouts, timeout_chain
from components.render.common import USER_DATA_LIMIT, CloudRefs, file_mode, pack_user_data
from components.render.linux import render_linux_host, render_linux_infra, render_linux_user_data
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from components.tooling.local.linux import LocalLinuxSite
from components.tooling.local.systemd_unit import parse_env_file, parse_unit, service_env
from tests.helpers.specs import linux_spec as make_spec
from tests.helpers.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]


def dev_spec() -> StackSpec:
    """dev: one VM, Nginx terminates TLS."""
    return make_spec("flask", "nginx", 1, secrets=["APP_SECRET"], env={"APP_MODE": "dev"})


def prod_spec() -> StackSpec:
    """prod-like: ALB edge, Django, two masters, host names, secrets."""
    return make_spec(
        "django",
        "alb",
        2,
        top={"environment": "prod", "production": True},
        gunicorn={"workers": "auto"},
        nginx={"allow_cidrs": ["10.0.0.0/8"], "deny_cidrs": ["10.9.0.0/16"]},
        hostnames=["www.example.com", "example.com"],
        secrets=["DJANGO_SECRET_KEY", "DATABASE_URL"],
        env={"APP_FEATURE": 'quoted "value" with \\ and $dollar'},
    )


@pytest.fixture(scope="module")
def cert_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    openssl = require_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=example.com", "-keyout", str(d / "k"),
         "-out", str(d / "c")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (d / "c").read_text()


def vm_refs(spec: StackSpec, cert_pem: str) -> CloudRefs:
    app = spec.apps[0]
    return CloudRefs(
        region="eu-west-1",
        bucket="webstack-artifacts-0123456789ab",
        package_key=f"apps/{app.name}/0123abcd.tar.gz",
        ssm_prefix=stack_ssm_prefix(spec.environment, app.name),
        tls_cert_pem=cert_pem if spec.edge.mode == "nginx" else None,
    )


def staged(spec: StackSpec, workdir: Path, **kw: Any) -> LocalLinuxSite:
    secrets = {name: f"value-of-{name}" for name in spec.apps[0].secrets}
    site = LocalLinuxSite(spec, workdir=workdir, secrets=secrets, **kw)
    site.stage()
    return site


# -- nginx -t -----------------------------------------------------------------------------------
NGINX_CASES = {
    "alb-flask-1-master": ("flask", "alb", 1, {}),
    "alb-django-2-masters": ("django", "alb", 2, {}),
    "nginx-edge-flask-1-master": ("flask", "nginx", 1, {}),
    "nginx-edge-flask-2-masters": ("flask", "nginx", 2, {}),
    "alb-no-static-no-gzip": ("flask", "alb", 1, {"static": None}),
}


@pytest.mark.parametrize("lists", [True, False], ids=["allow-deny", "open"])
@pytest.mark.parametrize("case", list(NGINX_CASES))
def test_nginx_accepts_rendered_config(case: str, lists: bool, short_tmp: Path) -> None:
    nginx = require_tool("nginx")
    framework, edge, masters, extra = NGINX_CASES[case]
    limits: dict[str, Any] = {"gzip": "static" not in extra}
    if lists:
        limits |= {"allow_cidrs": ["10.0.0.0/8", "192.0.2.0/24"], "deny_cidrs": ["10.66.0.0/16"]}
    spec = make_spec(framework, edge, masters, nginx=limits, **extra)
    site = staged(spec, short_tmp)
    conf = str(site.layout.staged_nginx_conf())
    res = subprocess.run(
        [nginx, "-t", "-c", conf, "-e", str(short_tmp / "log" / "early.log")],
        capture_output=True,
        text=True,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"nginx -t rejected the rendered config:\n{out}"
    assert "test is successful" in out, out
    warnings = [ln for ln in out.splitlines() if re.search(r"\[(warn|emerg|alert|crit)\]", ln)]
    if os.geteuid() != 0:  # only root can switch to the layout's nginx user; expected when not root
        warnings = [ln for ln in warnings if '"user" directive makes sense only if' not in ln]
    assert not warnings, f"nginx -t warns:\n{out}"
    dump = subprocess.run(
        [nginx, "-T", "-q", "-c", conf, "-e", str(short_tmp / "log" / "early.log")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sockets = re.findall(r"server unix:(\S+) ", dump)
    assert sockets == [str(site.layout.socket(spec.apps[0].name, m)) for m in range(1, masters + 1)]
    if lists:
        assert re.search(r"allow 10\.0\.0\.0/8;.*deny all;", dump, re.S), "allow list not closed"


# -- systemd-analyze verify ---------------------------------------------------------------------
@pytest.mark.parametrize("family", ["debian", "rhel"])
@pytest.mark.parametrize("framework", ["flask", "django"])
def test_systemd_verifies_unit(framework: str, family: str, tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    spec = make_spec(framework, "alb", 2)
    app = spec.apps[0]
    layout = vm_layout(family)
    files = render_linux_host(plan_tier(spec, app), app, layout, vm_refs(spec, ""))
    template = layout.systemd_dir / layout.unit_name(app.name)
    (tmp_path / layout.unit_name(app.name)).write_text(files[str(template)])
    instance = layout.unit_name(app.name).replace("@.", "@1.")
    res = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / instance)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    # Only on the VM: the slot's release venv (webstack-release creates it) does not exist here.
    vm_only = re.compile(
        rf"^{re.escape(instance)}: Command {re.escape(str(layout.slot_venv(app.name, 1)))}/bin/gunicorn "
        r"is not executable: No such file or directory$"
    )
    other = [ln for ln in lines if not vm_only.match(ln)]
    assert not other, "systemd-analyze verify complains:\n" + "\n".join(other)
    assert res.returncode == 0 or len(other) < len(lines), res


def test_unit_runtime_directory_holds_the_socket() -> None:
    """systemd creates /run/<RuntimeDirectory> for the service; Gunicorn must bind inside it."""
    spec = make_spec("flask", "alb", 2)
    app = spec.apps[0]
    layout = vm_layout("debian")
    files = render_linux_host(plan_tier(spec, app), app, layout, vm_refs(spec, ""))
    text = files[str(layout.systemd_dir / layout.unit_name(app.name))]
    for m in (1, 2):
        name = layout.unit_name(app.name).replace("@.", f"@{m}.")
        unit = parse_unit(text, name)
        runtime = re.search(r"^RuntimeDirectory=(.+)$", text, re.M)
        assert runtime, "the unit has no RuntimeDirectory"
        run_dir = Path("/run") / runtime.group(1).replace("%i", str(m))
        conf = files[str(layout.gunicorn_conf(app.name, m))]
        assert f'"unix:{run_dir}/gunicorn.sock"' in conf
        assert unit.exec_start[-1] == str(layout.gunicorn_conf(app.name, m))
        assert unit.environment["WEBSTACK_INSTANCE"] == str(m)


# -- cloud-init schema --------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["dev", "prod"])
def test_cloud_init_accepts_user_data(which: str, tmp_path: Path, cert_pem: str) -> None:
    cloud_init = require_tool("cloud-init")
    spec = dev_spec() if which == "dev" else prod_spec()
    app = spec.apps[0]
    layout = vm_layout(app.linux.family)
    refs = vm_refs(spec, cert_pem)
    user_data = render_linux_user_data(plan_tier(spec, app), app, layout, refs)
    path = tmp_path / "user-data"
    path.write_text(user_data)
    res = subprocess.run([cloud_init, "schema", "-c", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, (
        f"cloud-init schema rejects the user data:\n{res.stdout}{res.stderr}"
    )
    assert "Valid cloud-config" in res.stdout
    # cloud-init writes exactly the rendered bytes, with the intended modes, then runs bootstrap.
    doc = yaml.safe_load(user_data)
    files = render_linux_infra(plan_tier(spec, app), app, layout, refs)  # app.env: release data
    written = {f["path"]: f for f in doc["write_files"]}
    assert set(written) == set(files)
    for p, content in files.items():
        assert written[p]["content"] == content, f"{p} changes on its way through YAML"
        assert written[p]["permissions"] == file_mode(p)
    assert any(str(layout.tools_dir) in str(cmd) for cmd in doc["runcmd"])


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_bootstrap_is_valid_bash(which: str, tmp_path: Path, cert_pem: str) -> None:
    bash = require_tool("bash")
    spec = dev_spec() if which == "dev" else prod_spec()
    app = spec.apps[0]
    layout = vm_layout(app.linux.family)
    files = render_linux_host(plan_tier(spec, app), app, layout, vm_refs(spec, cert_pem))
    script = next(c for p, c in files.items() if p.endswith(".sh"))
    (tmp_path / "b.sh").write_text(script)
    res = subprocess.run([bash, "-n", str(tmp_path / "b.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# -- gunicorn --check-config --------------------------------------------------------------------
GUNICORN_CASES = {
    "flask-explicit": (
        make_spec("flask", "alb", 1, gunicorn={"workers": 3, "threads": 2, "graceful_timeout": 7}),
    ),
    "django-auto-workers-short-timeouts": (
        make_spec(
            "django",
            "nginx",
            2,
            gunicorn={"workers": "auto", "max_requests": 500, "max_requests_jitter": 50},
            top={"request_timeout": 12, "timeouts": {"gunicorn": 10, "nginx_read": 14}},
        ),
    ),
}


def _gunicorn_settings(site: LocalLinuxSite, master: int, *flags: str) -> dict[str, str]:
    unit = site.unit(master)
    if not Path(unit.exec_start[0]).exists():
        pytest.fail(f"{unit.exec_start[0]} is missing: pip install -e '.[dev]'", pytrace=False)
    env = {**os.environ, **service_env(unit)}
    res = subprocess.run(
        [*unit.exec_start, *flags],
        cwd=unit.working_directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, f"gunicorn {' '.join(flags)} failed:\n{res.stdout}{res.stderr}"
    return dict(
        (m.group(1), m.group(2).strip()) for m in re.finditer(r"^(\w+)\s+= (.*)$", res.stdout, re.M)
    )


@pytest.mark.parametrize("case", list(GUNICORN_CASES))
def test_gunicorn_checks_config(case: str, short_tmp: Path) -> None:
    (spec,) = GUNICORN_CASES[case]
    app = spec.apps[0]
    g = app.linux.gunicorn
    site = staged(spec, short_tmp)
    layout: HostLayout = site.layout
    timeout, keepalive = gunicorn_timeouts(spec, app)
    expected_workers = g.workers if g.workers != "auto" else (os.cpu_count() or 1) + 1
    for m in range(1, g.masters + 1):
        _gunicorn_settings(site, m, "--check-config")
        cfg = _gunicorn_settings(site, m, "--print-config")
        assert int(cfg["workers"]) == expected_workers
        # Only gthread gets `threads`: Gunicorn turns sync workers with threads > 1 into gthread.
        assert int(cfg["threads"]) == (g.threads if g.worker_class == "gthread" else 1)
        assert cfg["worker_class"] == g.worker_class
        assert int(cfg["timeout"]) == timeout == (g.timeout or timeout_chain(spec).gunicorn_timeout)
        assert int(cfg["keepalive"]) == keepalive
        assert int(cfg["graceful_timeout"]) == g.graceful_timeout
        assert int(cfg["max_requests"]) == g.max_requests
        assert cfg["bind"] == repr([f"unix:{layout.socket(app.name, m)}"])
        # Gunicorn >= 25.1 also listens on a control socket: per master, in its runtime dir.
        if "control_socket" in cfg:
            assert cfg["control_socket"] == f"{layout.runtime_dir(app.name, m)}/gunicorn.ctl"
    # The chain across files: Gunicorn gives up before Nginx, Nginx closes idle upstreams first.
    conf = Path(layout.staged_nginx_conf()).read_text()
    read = {int(v) for v in re.findall(r"proxy_read_timeout (\d+)s;", conf)}
    upstream_keepalive = re.search(r"upstream \w+ \{[^}]*keepalive_timeout (\d+)s;", conf)
    assert read and upstream_keepalive
    assert all(timeout <= r for r in read), "gunicorn timeout must not exceed proxy_read_timeout"
    assert keepalive > int(upstream_keepalive.group(1))


# -- secrets file format ------------------------------------------------------------------------
def test_local_secrets_file_matches_fetch_tool(short_tmp: Path) -> None:
    """The local site writes secrets exactly as webstack-fetch does on the VM, and reads them back
    as systemd would."""
    spec_ = importlib.util.spec_from_file_location(
        "webstack_fetch", ROOT / "templates" / "linux" / "webstack-fetch.py"
    )
    assert spec_ and spec_.loader
    fetch = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(fetch)
    values = {"APP_SECRET": "p\"w\\d $HOME `x` 'q'  ", "APP_TOKEN": "plain"}
    spec = make_spec("flask", "alb", 1, secrets=list(values))
    site = LocalLinuxSite(spec, workdir=short_tmp, secrets=values)
    site.stage()
    path = Path(site.layout.secrets_file(spec.apps[0].name))
    expected = "".join(f"{name}={fetch._quote(value)}\n" for name, value in values.items())
    assert path.read_text() == expected
    assert path.stat().st_mode & 0o777 == 0o600
    assert parse_env_file(path.read_text()) == values


def test_shell_and_systemd_read_env_files_alike(short_tmp: Path) -> None:
    """webstack-release sources app.env and secrets.env with bash (collectstatic, the release
    command); systemd reads
    them for the service. Both must see the same values, and a value must never run a command."""
    bash = require_tool("bash")
    canary = short_tmp / "canary"
    nasty = f"costs $5 `touch {canary}` $(touch {canary}) \\ \"q\" 's' ${{HOME}} $"
    values = {"DJANGO_SECRET_KEY": f"k9$x(-_=+)abc{nasty}"}
    spec = make_spec("django", "alb", 1, env={"APP_PRICE": nasty}, secrets=list(values))
    site = LocalLinuxSite(spec, workdir=short_tmp / "site", secrets=values)
    site.stage()
    release = next(
        c for p, c in site.files.items() if p.endswith(f"release-{spec.apps[0].name}.sh")
    )
    block = re.search(r"^ *set -a\n.*?^ *set \+a\n", release, re.M | re.S)
    assert block, "webstack-release no longer sources the env files; update this test"
    etc = site.layout.app_etc(spec.apps[0].name)  # where the local site keeps the active release's
    script = f"set -euo pipefail\nREL_ETC={etc}\n{block.group(0)}exec env -0\n"
    res = subprocess.run([bash, "-c", script], capture_output=True, timeout=30)
    assert res.returncode == 0, f"the bootstrap's shell cannot read the env files:\n{res.stderr!r}"
    shell_env = dict(item.split("=", 1) for item in res.stdout.decode().split("\0") if "=" in item)
    app = spec.apps[0]
    systemd_env = parse_env_file(Path(site.layout.env_file(app.name)).read_text())
    systemd_env |= parse_env_file(Path(site.layout.secrets_file(app.name)).read_text())
    assert systemd_env["APP_PRICE"] == nasty
    assert systemd_env["DJANGO_SECRET_KEY"] == values["DJANGO_SECRET_KEY"]
    for name, value in systemd_env.items():
        assert shell_env.get(name) == value, f"{name}: bash and systemd disagree"
    assert not canary.exists(), "sourcing an env file ran a command"


# -- size and determinism -----------------------------------------------------------------------
@pytest.mark.parametrize("which", ["dev", "prod"])
def test_user_data_fits_and_inflates(which: str, cert_pem: str) -> None:
    spec = dev_spec() if which == "dev" else prod_spec()
    app = spec.apps[0]
    user_data = render_linux_user_data(
        plan_tier(spec, app), app, vm_layout(app.linux.family), vm_refs(spec, cert_pem)
    )
    packed = pack_user_data(user_data, app.name)
    print(f"{which}: user data {len(user_data)} bytes, gzipped {len(packed)} / {USER_DATA_LIMIT}")
    assert len(packed) <= USER_DATA_LIMIT
    assert gzip.decompress(packed).decode() == user_data


def test_huge_env_value_is_a_clear_spec_error(cert_pem: str) -> None:
    """The user-data limit, with what still lands in user data (OS packages); a huge env is
    release data now (the config object) and leaves the user data alone."""
    big = os.urandom(USER_DATA_LIMIT).hex()  # random: gzip cannot shrink it under the limit
    spec = make_spec("flask", "nginx", env={"APP_BLOB": big})
    app = spec.apps[0]
    refs = vm_refs(spec, cert_pem)
    ud = render_linux_user_data(plan_tier(spec, app), app, vm_layout("debian"), refs)
    pack_user_data(ud, app.name)
    packages = [f"p{os.urandom(30).hex()}" for _ in range(600)]
    linux = app.linux.model_copy(update={"extra_packages": packages})
    app = app.model_copy(update={"linux": linux})
    user_data = render_linux_user_data(plan_tier(spec, app), app, vm_layout("debian"), refs)
    with pytest.raises(SpecError) as err:
        pack_user_data(user_data, app.name)
    msg = str(err.value)
    assert msg.startswith(f"apps.{app.name}:"), msg
    assert str(USER_DATA_LIMIT) in msg and "extra_packages" in msg, msg


def test_rendering_is_deterministic(cert_pem: str) -> None:
    for build in (dev_spec, prod_spec):
        a, b = build(), build()
        app = a.apps[0]
        layout = vm_layout(app.linux.family)
        refs = vm_refs(a, cert_pem)
        assert render_linux_host(plan_tier(a, app), app, layout, refs) == render_linux_host(
            plan_tier(b, b.apps[0]), b.apps[0], layout, refs
        )
        ud1 = render_linux_user_data(plan_tier(a, app), app, layout, refs)
        ud2 = render_linux_user_data(plan_tier(b, b.apps[0]), b.apps[0], layout, refs)
        assert ud1 == ud2
        assert pack_user_data(ud1, app.name) == pack_user_data(ud2, app.name)
    # Config order does not matter either.
    env = {"APP_B": "2", "APP_A": "1", "APP_C": "3"}
    x = make_spec(env=env)
    y = make_spec(env=dict(reversed(env.items())))
    layout = vm_layout("debian")
    assert render_linux_host(
        plan_tier(x, x.apps[0]), x.apps[0], layout, vm_refs(x, "")
    ) == render_linux_host(plan_tier(y, y.apps[0]), y.apps[0], layout, vm_refs(y, ""))
