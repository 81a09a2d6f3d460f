"""Pure render functions of the Linux tier: (plan, HostLayout, cloud refs) -> {target path: text}.

No Pulumi here: cloud values (bucket, keys, region, certificate) arrive as plain strings, resolved
by the caller with `Output.all(...).apply(...)`. The same bytes go to the VM, the local rehearsal,
the `render` command and the tests.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from components.plan import release as release_plan
from components.plan.linux_layout import HostLayout
from components.plan.microcache import EMPTY_SCRIPT, MicrocachePlan, empty_script, microcache_plan
from components.plan.observability import agent_config_path, linux_agent_config
from components.plan.rds_ca import linux_bundle_path, rds_ca_step
from components.plan.sizing import auto_workers, vcpus_of
from components.plan.tier import TierPlan, static_root, trusted_proxies
from components.plan.timeouts import chain_gunicorn_timeouts
from components.render import release
from components.render.common import (
    CloudRefs,
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
        upstream_conf=layout.upstream_conf(app.name),
        release_conf=layout.release_conf(app.name),
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
        code_dir=layout.slot_dir(app.name, master) / "code",
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
        code_dir=layout.slot_dir(app.name, "%i") / "code",
        venv=layout.slot_venv(app.name, "%i"),
        env_file=layout.slot_etc(app.name, "%i") / "app.env",
        secrets_file=layout.slot_etc(app.name, "%i") / "secrets.env",
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


def server_requirements(app: AppSpec) -> list[str]:
    server = ["gunicorn>=23.0,<28"]  # the range the tests run
    if app.linux.gunicorn.worker_class == "gevent":
        server.append("gevent>=24.2")
    return server


def render_bootstrap(plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs) -> str:
    python, packages = _packages(app)
    return render_template(
        "linux/bootstrap.sh.j2",
        app=app,
        environment=plan.environment,
        layout=layout,
        family=app.linux.family,
        python=python,
        packages=packages,
        fetch=release.fetch_command(layout, refs.region),
        region=refs.region,  # the CloudWatch agent's regional download bucket
        ssm_prefix=refs.ssm_prefix,
        tls=plan.edge_mode == "nginx",
        pointer_param=release_plan.pointer_parameter(refs.ssm_prefix),
        release_script=release.release_script_path(app, layout),
        cloudwatch_config=agent_config_path(layout) if plan.observability.enabled else None,
        # AWS publishes the agent .deb per distribution folder: debian/ and ubuntu/.
        cloudwatch_distro="ubuntu" if app.linux.image.startswith("ubuntu") else "debian",
        microcache_empty=microcache_script(app, layout) if app.linux.microcache.enabled else "",
        rds_ca=rds_ca_step(app, refs.region, linux_bundle_path(layout)),
    )


def microcache_script(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    """The release's step that empties the app's microcache (and the boot's, before Nginx)."""
    return layout.tools_dir / EMPTY_SCRIPT.format(app=app.name)


def bootstrap_path(app: AppSpec, layout: HostLayout) -> PurePosixPath:
    return layout.tools_dir / f"bootstrap-{app.name}.sh"


def render_linux_host(
    plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> dict[str, str]:
    """Every file a Linux VM of this app receives, by target path (sorted, deterministic): the
    infrastructure files of its user data plus the active release's app.env."""
    files = render_linux_infra(plan, app, layout, refs)
    files[str(layout.env_file(app.name))] = release.render_app_env(plan, app, layout)
    return dict(sorted(files.items()))


def render_linux_infra(
    plan: TierPlan, app: AppSpec, layout: HostLayout, refs: CloudRefs
) -> dict[str, str]:
    """The files of the user data: nothing a release (code, env, secrets) changes."""
    python, _ = _packages(app)
    files: dict[str, str] = {
        str(layout.staged_nginx_conf()): render_nginx_conf(plan, app, layout),
        str(layout.systemd_dir / layout.unit_name(app.name)): render_gunicorn_unit(app, layout),
        str(layout.etc_dir / "webstack-fetch.py"): render_template("linux/webstack-fetch.py"),
        str(bootstrap_path(app, layout)): render_bootstrap(plan, app, layout, refs),
        str(release.release_script_path(app, layout)): release.render_release_script(
            plan,
            app,
            layout,
            region=refs.region,
            bucket=refs.bucket,
            ssm_prefix=refs.ssm_prefix,
            python=python,
            server_requirements=server_requirements(app),
            microcache_empty=str(microcache_script(app, layout))
            if app.linux.microcache.enabled
            else "",
        ),
        **release.initial_includes(app, layout),
    }
    if app.linux.microcache.enabled:
        script = microcache_script(app, layout)
        files[str(script)] = empty_script(str(layout.microcache_dir(app.name)), app.name)
        files[str(layout.systemd_dir / "nginx.service.d" / "webstack-microcache.conf")] = (
            f"# Rendered by webstack: every Nginx start (each boot) begins with an empty cache.\n"
            f"[Service]\nExecStartPre={script}\n"
        )
    # Two slots: the serving release and the next one, started beside it.
    for m in range(1, max(2, app.linux.gunicorn.masters) + 1):
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
    files = render_linux_infra(plan, app, layout, refs)
    return render_template(
        "linux/cloud-config.yaml.j2",
        app=app,
        environment=plan.environment,
        files=[{"path": p, "mode": file_mode(p), "content": c} for p, c in files.items()],
        bootstrap_path=bootstrap_path(app, layout),
    )
