"""Pure render functions: (spec, HostLayout, cloud refs) -> {target path: file content}.

No Pulumi here: cloud values (bucket, keys, region, certificate) arrive as plain strings, resolved
by the caller with `Output.all(...).apply(...)`. The same bytes go to the VM, the local rehearsal,
the `render` command and the tests.
"""

from __future__ import annotations

import base64
import functools
import gzip
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from components import iam_plan
from components.layout import HostLayout
from components.microcache_plan import EMPTY_SCRIPT, MicrocachePlan, empty_script, microcache_plan
from components.network_plan import public_range
from components.sizing import auto_workers, vcpus_of
from components.spec import AppSpec, SpecError, StackSpec

USER_DATA_LIMIT = 16 * 1024  # AWS rejects larger user data (counted before base64)


def _templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if (candidate / "linux").is_dir():
            return candidate
    raise RuntimeError(f"webstack templates not found next to {here}")


def _systemd_quote(value: str) -> str:
    """Escape for a double-quoted env-file value that systemd (EnvironmentFile=) and a shell (the
    bootstrap sources the files) read alike: backslash before quote, backslash, dollar, backtick."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")


@functools.cache
def jinja_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["systemd_quote"] = _systemd_quote
    return env


def render_template(name: str, **context: Any) -> str:
    return jinja_env().get_template(name).render(**context)


@dataclass(frozen=True)
class CloudRefs:
    """Values only the cloud knows, resolved before rendering (placeholders offline)."""

    region: str
    bucket: str
    package_key: str
    ssm_prefix: str
    tls_cert_pem: str | None = None


def ssm_prefix(
    environment: str, app: str, project: str = "webstack", stack: str | None = None
) -> str:
    """The app's SSM path as `build_stack` deploys it, for offline tooling (render, rehearsal).

    A deployed stack computes it once in `fleet.stage_app` from the Pulumi project, the stack and
    the WebStack's name (`webstack-<environment>`); the stack defaults to the environment, as the
    environment defaults to the stack name.
    """
    scope = iam_plan.ssm_scope(project, stack or environment, f"webstack-{environment}")
    return iam_plan.ssm_prefix(scope, app)


def gunicorn_workers(app: AppSpec, layout: HostLayout) -> int:
    g = app.linux.gunicorn
    if g.workers != "auto":
        return int(g.workers)
    vcpus = layout.vcpus if layout.vcpus is not None else vcpus_of(app.linux.instance_type)
    return auto_workers(vcpus)


def trusted_proxies(spec: StackSpec, layout: HostLayout) -> list[str]:
    if layout.trusted_proxy_cidrs is not None:
        return list(layout.trusted_proxy_cidrs)
    if spec.edge.mode != "alb":
        return []
    net = spec.network
    if net.existing is not None:
        return [net.existing.vpc_cidr]
    # The ALB's nodes live in the public subnets only: trust nothing else in the VPC. Which AZs
    # (so which public blocks) is known only in the cloud: trust the public half of the VPC.
    return [public_range(net.cidr)]


def health_peers(spec: StackSpec, layout: HostLayout) -> list[str]:
    """Who may call the health path without limits: the trusted proxies and this host itself."""
    peers = [*trusted_proxies(spec, layout), "127.0.0.1/32", "::1/128"]
    return list(dict.fromkeys(peers))


def static_root(app: AppSpec, layout: HostLayout) -> PurePosixPath | None:
    if app.static is None:
        return None
    if app.framework == "django":
        return layout.collected_static(app.name)
    return layout.code_dir(app.name) / app.static.folder


def app_environment(spec: StackSpec, app: AppSpec, layout: HostLayout) -> list[tuple[str, str]]:
    if app.hostnames:
        allowed = [*app.hostnames, "localhost", "127.0.0.1"]
    elif spec.edge.mode == "alb":
        # Without host names the app is reached by the ALB's DNS name only.
        allowed = [".elb.amazonaws.com", "localhost", "127.0.0.1"]
    else:
        allowed = ["*"]  # Nginx edge reached by its IP: set `hostnames` to tighten this
    env: dict[str, str] = {
        "WEBSTACK_APP": app.name,
        "WEBSTACK_ENVIRONMENT": spec.environment,
        "WEBSTACK_ALLOWED_HOSTS": ",".join(allowed),
        "PYTHONUNBUFFERED": "1",
    }
    if app.framework == "django":
        env["DJANGO_SETTINGS_MODULE"] = app.django_settings
        env["STATIC_ROOT"] = str(layout.collected_static(app.name))
        if app.static:
            env["STATIC_URL"] = app.static.url
    env.update(app.env)
    return sorted(env.items())


def render_nginx_conf(spec: StackSpec, app: AppSpec, layout: HostLayout) -> str:
    masters = app.linux.gunicorn.masters
    root = static_root(app, layout)
    return render_template(
        "linux/nginx.conf.j2",
        app=app,
        layout=layout,
        nginx=app.linux.nginx,
        chain=spec.chain,
        edge_mode=spec.edge.mode,
        trusted_proxies=trusted_proxies(spec, layout),
        upstream=f"{app.name.replace('-', '_')}_gunicorn",
        sockets=[layout.socket(app.name, m) for m in range(1, masters + 1)],
        server_names=" ".join(app.hostnames) or "_",
        health_host=app.health_host,
        health_peers=health_peers(spec, layout),
        hsts='"max-age=63072000"' if spec.edge.mode == "nginx" else "$webstack_hsts",
        static_root=root,
        cache=linux_microcache(spec, app, layout),
    )


def linux_microcache(spec: StackSpec, app: AppSpec, layout: HostLayout) -> MicrocachePlan | None:
    scheme = "$webstack_forwarded_proto" if spec.edge.mode == "alb" else "$scheme"
    return microcache_plan(app.linux.microcache, str(layout.microcache_dir(app.name)), scheme)


def render_gunicorn_conf(spec: StackSpec, app: AppSpec, layout: HostLayout, master: int) -> str:
    timeout, keepalive = spec.gunicorn_timeouts(app)
    return render_template(
        "linux/gunicorn.conf.py.j2",
        app=app,
        layout=layout,
        master=master,
        g=app.linux.gunicorn,
        chain=spec.chain,
        workers=gunicorn_workers(app, layout),
        timeout=timeout,
        keepalive=keepalive,
        socket=layout.socket(app.name, master),
        code_dir=layout.code_dir(app.name),
    )


def render_gunicorn_unit(app: AppSpec, layout: HostLayout) -> str:
    run = layout.run_dir
    runtime = (
        run.relative_to("/run") if run.is_relative_to("/run") else PurePosixPath(run.name)
    ) / f"{app.name}-%i"
    return render_template(
        "linux/gunicorn.service.j2",
        app=app,
        layout=layout,
        g=app.linux.gunicorn,
        runtime_dir_name=runtime,
        code_dir=layout.code_dir(app.name),
        venv=layout.venv(app.name),
        conf_pattern=layout.gunicorn_conf(app.name, "%i"),
    )


def _packages(app: AppSpec) -> tuple[str, list[str]]:
    """(python executable, OS packages) for the app's image family."""
    tier = app.linux
    needs_git = app.source_or_default.kind == "git"
    if tier.family == "rhel":
        python = f"python{app.python_version}"
        pkgs = ["nginx", python, "tar", "ca-certificates"]
    else:
        python = "python3"
        pkgs = ["nginx", "python3", "python3-venv", "curl", "ca-certificates", "tar"]
    if needs_git:
        pkgs.append("git")
    return python, pkgs + list(tier.extra_packages)


def render_bootstrap(spec: StackSpec, app: AppSpec, layout: HostLayout, refs: CloudRefs) -> str:
    python, packages = _packages(app)
    server = ["gunicorn>=23.0,<28"]  # the range the tests run
    if app.linux.gunicorn.worker_class == "gevent":
        server.append("gevent>=24.2")
    scheme_port = (
        ("http", layout.http_port) if spec.edge.mode == "alb" else ("https", layout.https_port)
    )
    host = layout.listen_address or "127.0.0.1"
    health_url = f"{scheme_port[0]}://{host}:{scheme_port[1]}{app.health_path}"
    if scheme_port[0] == "https":
        health_url = "--insecure " + health_url  # self-signed on the VM itself
    return render_template(
        "linux/bootstrap.sh.j2",
        app=app,
        environment=spec.environment,
        layout=layout,
        family=app.linux.family,
        python=python,
        packages=packages,
        server_requirements=server,
        source=app.source_or_default,
        region=refs.region,
        bucket=refs.bucket,
        package_key=refs.package_key,
        ssm_prefix=refs.ssm_prefix,
        tls=spec.edge.mode == "nginx",
        masters=app.linux.gunicorn.masters,
        unit_base=f"webstack-{app.name}",
        health_host=app.health_host,
        health_url=health_url,
        microcache_empty=microcache_script(app, layout) if app.linux.microcache.enabled else "",
    )


def microcache_script(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    """The release's step that empties the app's microcache (and the boot's, before Nginx)."""
    return layout.tools_dir / EMPTY_SCRIPT.format(app=app.name)


def bootstrap_path(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    return layout.tools_dir / f"bootstrap-{app.name}.sh"


def render_linux_host(
    spec: StackSpec, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> dict[str, str]:
    """Every file a Linux VM of this app receives, by target path (sorted, deterministic)."""
    files: dict[str, str] = {
        str(layout.staged_nginx_conf()): render_nginx_conf(spec, app, layout),
        str(layout.env_file(app.name)): render_template(
            "linux/app.env.j2", app=app, layout=layout, env=app_environment(spec, app, layout)
        ),
        str(layout.systemd_dir / layout.unit_name(app.name)): render_gunicorn_unit(app, layout),
        str(layout.etc_dir / "webstack-fetch.py"): render_template("linux/webstack-fetch.py"),
        str(bootstrap_path(app, layout)): render_bootstrap(spec, app, layout, refs),
    }
    if app.linux.microcache.enabled:
        script = microcache_script(app, layout)
        files[str(script)] = empty_script(str(layout.microcache_dir(app.name)), app.name)
        files[str(layout.systemd_dir / "nginx.service.d" / "webstack-microcache.conf")] = (
            f"# Rendered by webstack: every Nginx start (each boot) begins with an empty cache.\n"
            f"[Service]\nExecStartPre={script}\n"
        )
    for m in range(1, app.linux.gunicorn.masters + 1):
        files[str(layout.gunicorn_conf(app.name, m))] = render_gunicorn_conf(spec, app, layout, m)
    if spec.edge.mode == "nginx":
        if not refs.tls_cert_pem:
            raise ValueError("nginx edge needs the TLS certificate PEM in CloudRefs")
        files[str(layout.tls_cert(app.name))] = refs.tls_cert_pem
    return dict(sorted(files.items()))


def file_mode(path: str) -> str:
    return "0700" if path.endswith(".sh") else "0644"


def render_linux_user_data(
    spec: StackSpec, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> str:
    """The cloud-init user data of a Linux VM, as text (what reviewers read and tests validate)."""
    files = render_linux_host(spec, app, layout, refs)
    return render_template(
        "linux/cloud-config.yaml.j2",
        app=app,
        environment=spec.environment,
        files=[{"path": p, "mode": file_mode(p), "content": c} for p, c in files.items()],
        bootstrap_path=bootstrap_path(app, layout),
    )


def pack_user_data(user_data: str, app_name: str) -> bytes:
    """Gzip the user data (cloud-init inflates it) deterministically; SpecError over AWS's limit."""
    packed = gzip.compress(user_data.encode(), compresslevel=9, mtime=0)
    if len(packed) > USER_DATA_LIMIT:
        raise SpecError(
            [
                f"apps.{app_name}: user data is {len(packed)} bytes gzipped; AWS allows "
                f"{USER_DATA_LIMIT} (shorten env values or hostnames)"
            ]
        )
    return packed


def user_data_base64(user_data: str, app_name: str) -> str:
    """What the launch template carries: base64 of the gzipped cloud-config."""
    return base64.b64encode(pack_user_data(user_data, app_name)).decode()
