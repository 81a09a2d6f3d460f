"""Pure render functions of the Linux tier: (plan, HostLayout, cloud refs) -> {target path: text}.

No Pulumi here: cloud values (bucket, keys, region, certificate) arrive as plain strings, resolved
by the caller with `Output.all(...).apply(...)`. The same bytes go to the VM, the local rehearsal,
the `render` command and the tests.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from components.plan.linux_layout import HostLayout
from components.plan.microcache import EMPTY_SCRIPT, MicrocachePlan, empty_script, microcache_plan
from components.plan.observability import agent_config_path, linux_agent_config
from components.plan.sizing import auto_workers, vcpus_of
from components.plan.tier import TierPlan, static_root, trusted_proxies
from components.plan.timeouts import chain_gunicorn_timeouts
from components.render.common import (
    CloudRefs,
    app_environment,
    file_mode,
    health_peers,
    render_agent_config,
    render_template,
)
from components.spec.stack import AppSpec


def gunicorn_workers(app: AppSpec, layout: HostLayout) -> int:
    g = app.linux.gunicorn
    if g.workers != "auto":
        return int(g.workers)
    vcpus = layout.vcpus if layout.vcpus is not None else vcpus_of(app.linux.instance_type)
    return auto_workers(vcpus)


def render_nginx_conf(plan: TierPlan, app: AppSpec, layout: HostLayout) -> str:
    masters = app.linux.gunicorn.masters
    root = static_root(app, layout)
    return render_template(
        "linux/nginx.conf.j2",
        app=app,
        layout=layout,
        nginx=app.linux.nginx,
        chain=plan.chain,
        edge_mode=plan.edge_mode,
        trusted_proxies=trusted_proxies(plan, layout),
        upstream=f"{app.name.replace('-', '_')}_gunicorn",
        sockets=[layout.socket(app.name, m) for m in range(1, masters + 1)],
        server_names=" ".join(app.hostnames) or "_",
        health_host=app.health_host,
        health_peers=health_peers(plan, layout),
        hsts='"max-age=63072000"' if plan.edge_mode == "nginx" else "$webstack_hsts",
        static_root=root,
        cache=linux_microcache(plan, app, layout),
    )


def linux_microcache(plan: TierPlan, app: AppSpec, layout: HostLayout) -> MicrocachePlan | None:
    scheme = "$webstack_forwarded_proto" if plan.edge_mode == "alb" else "$scheme"
    return microcache_plan(app.linux.microcache, str(layout.microcache_dir(app.name)), scheme)


def render_gunicorn_conf(plan: TierPlan, app: AppSpec, layout: HostLayout, master: int) -> str:
    timeout, keepalive = chain_gunicorn_timeouts(plan.chain, app)
    return render_template(
        "linux/gunicorn.conf.py.j2",
        app=app,
        layout=layout,
        master=master,
        g=app.linux.gunicorn,
        chain=plan.chain,
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


def render_bootstrap(plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs) -> str:
    python, packages = _packages(app)
    server = ["gunicorn>=23.0,<28"]  # the range the tests run
    if app.linux.gunicorn.worker_class == "gevent":
        server.append("gevent>=24.2")
    scheme_port = (
        ("http", layout.http_port) if plan.edge_mode == "alb" else ("https", layout.https_port)
    )
    host = layout.listen_address or "127.0.0.1"
    health_url = f"{scheme_port[0]}://{host}:{scheme_port[1]}{app.health_path}"
    if scheme_port[0] == "https":
        health_url = "--insecure " + health_url  # self-signed on the VM itself
    return render_template(
        "linux/bootstrap.sh.j2",
        app=app,
        environment=plan.environment,
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
        tls=plan.edge_mode == "nginx",
        masters=app.linux.gunicorn.masters,
        unit_base=f"webstack-{app.name}",
        health_host=app.health_host,
        health_url=health_url,
        cloudwatch_config=agent_config_path(layout) if plan.observability.enabled else None,
        # AWS publishes the agent .deb per distribution folder: debian/ and ubuntu/.
        cloudwatch_distro="ubuntu" if app.linux.image.startswith("ubuntu") else "debian",
        microcache_empty=microcache_script(app, layout) if app.linux.microcache.enabled else "",
    )


def microcache_script(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    """The release's step that empties the app's microcache (and the boot's, before Nginx)."""
    return layout.tools_dir / EMPTY_SCRIPT.format(app=app.name)


def bootstrap_path(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    return layout.tools_dir / f"bootstrap-{app.name}.sh"


def render_linux_host(
    plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> dict[str, str]:
    """Every file a Linux VM of this app receives, by target path (sorted, deterministic)."""
    files: dict[str, str] = {
        str(layout.staged_nginx_conf()): render_nginx_conf(plan, app, layout),
        str(layout.env_file(app.name)): render_template(
            "linux/app.env.j2", app=app, layout=layout, env=app_environment(plan, app, layout)
        ),
        str(layout.systemd_dir / layout.unit_name(app.name)): render_gunicorn_unit(app, layout),
        str(layout.etc_dir / "webstack-fetch.py"): render_template("linux/webstack-fetch.py"),
        str(bootstrap_path(app, layout)): render_bootstrap(plan, app, layout, refs),
    }
    if app.linux.microcache.enabled:
        script = microcache_script(app, layout)
        files[str(script)] = empty_script(str(layout.microcache_dir(app.name)), app.name)
        files[str(layout.systemd_dir / "nginx.service.d" / "webstack-microcache.conf")] = (
            f"# Rendered by webstack: every Nginx start (each boot) begins with an empty cache.\n"
            f"[Service]\nExecStartPre={script}\n"
        )
    for m in range(1, app.linux.gunicorn.masters + 1):
        files[str(layout.gunicorn_conf(app.name, m))] = render_gunicorn_conf(plan, app, layout, m)
    if plan.observability.enabled:
        agent = linux_agent_config(app, layout, refs.ssm_prefix, refs.region)
        files[str(agent_config_path(layout))] = render_agent_config(agent, "linux")
    if plan.edge_mode == "nginx":
        if not refs.tls_cert_pem:
            raise ValueError("nginx edge needs the TLS certificate PEM in CloudRefs")
        files[str(layout.tls_cert(app.name))] = refs.tls_cert_pem
    return dict(sorted(files.items()))


def render_linux_user_data(
    plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> str:
    """The cloud-init user data of a Linux VM, as text (what reviewers read and tests validate)."""
    files = render_linux_host(plan, app, layout, refs)
    return render_template(
        "linux/cloud-config.yaml.j2",
        app=app,
        environment=plan.environment,
        files=[{"path": p, "mode": file_mode(p), "content": c} for p, c in files.items()],
        bootstrap_path=bootstrap_path(app, layout),
    )
