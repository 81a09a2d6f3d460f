"""Pure render functions of the Windows tier: (plan, app, WindowsHostLayout, CloudRefs) -> files.

Like `render.py` for Linux: no Pulumi, deterministic, the same bytes go to the VM (through the
bootstrap in the artifact bucket), the local stand-in and the tests. The Waitress services are data
(`services.json`): the bootstrap installs them with NSSM and the tests run the same command lines.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import PurePath
from typing import Any

from components.plan.observability import (
    windows_agent_config,
    windows_agent_config_path,
    windows_agent_installer,
)
from components.plan.rds_ca import rds_ca_step, windows_bundle_path
from components.plan.sizing import waitress_instances
from components.plan.tier import TierPlan, windows_static_root
from components.plan.windows_layout import (
    WindowsHostLayout,
    farm_name,
    instance_alias,
    service_name,
)
from components.render.common import (
    USER_DATA_LIMIT,
    CloudRefs,
    render_agent_config,
)
from components.render.windows_proxy import (
    forward_slashes,
    hms,
    proxy_service_name,
    render_caddyfile,
    render_iis_fragment,
    render_iis_web_config,
    render_windows_nginx_conf,
    render_windows_template,
)
from components.render.windows_release import release_files, windows_release_script_path
from components.spec.errors import SpecError
from components.spec.stack import AppSpec
from components.spec.windows import NSSM_EXPANDED, Installer, WindowsTier


# -- the Waitress services ---------------------------------------------------------------------
def windows_command_line(args: list[str]) -> str:
    """Join arguments the way Windows programs split them (MS C runtime rules), readably:
    `--key=value with spaces` becomes `--key="value with spaces"`."""
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if (
            sep
            and arg.startswith("--")
            and not re.search(r'[\s"]', key)
            and re.search(r"\s", value)
        ):
            out.append(key + "=" + subprocess.list2cmdline([value]))
        else:
            out.append(subprocess.list2cmdline([arg]))
    return " ".join(out)


def waitress_arguments(plan: TierPlan, app: AppSpec, port: int) -> list[str]:
    """`python -m waitress ...` arguments of one instance (Flask factories get `--call`)."""
    tier = app.windows
    target = app.wsgi
    call = target.endswith("()")
    return [
        "-m",
        "waitress",
        f"--listen=127.0.0.1:{port}",
        f"--threads={tier.threads}",
        f"--channel-timeout={tier.channel_timeout}",
        f"--connection-limit={tier.connection_limit}",
        "--trusted-proxy=127.0.0.1",
        "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto",
        *(["--call"] if call else []),
        target.removesuffix("()"),
    ]


def _service(
    name: str,
    application: PurePath,
    args: list[str],
    directory: PurePath,
    layout: WindowsHostLayout,
    app: str,
    tier: WindowsTier,
    writable: tuple[PurePath, ...] = (),
) -> dict[str, Any]:
    virtual = tier.service_account == "virtual"
    log_dir = layout.service_log_dir(app, name)
    return {
        "name": name,
        "application": str(application),
        "arguments": windows_command_line(args),
        "app_directory": str(directory),
        "stdout": str(log_dir / f"{name}.out.log"),
        "stderr": str(log_dir / f"{name}.err.log"),
        # A virtual account per service (sc.exe config obj=): it reads the code, writes only
        # these folders (NSSM writes the stdout/stderr logs as the service) and its own secrets.
        "account": f"NT SERVICE\\{name}" if virtual else "LocalSystem",
        "log_dir": str(log_dir),
        "writable": [str(d) for d in (log_dir, *writable)] if virtual else [],
    }


# Long: one NSSM service definition, field by field as nssm.exe reads it.
def service_definitions(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> dict[str, Any]:
    """What `services.json` says: every NSSM service of the VM, exactly as installed."""
    tier = app.windows
    # The app's environment is the release's (its config object, windows_release.py), and so are
    # its secrets' names (the pointer's `secrets`): a secret added or dropped is a release, not a
    # new services.json, bootstrap and launch template.
    services = []
    for n, port in enumerate(layout.ports(tier), start=1):
        svc = _service(
            service_name(app.name, n),
            layout.venv_python(app.name),
            waitress_arguments(plan, app, port),
            layout.code_dir(app.name),
            layout,
            app.name,
            tier,
        )
        svc |= {
            "instance": n,
            "port": port,
            "health_url": f"http://127.0.0.1:{port}{app.health_path}",
            "environment": {"WEBSTACK_INSTANCE": str(n)},
            "stop_console_ms": tier.stop_window_ms,
        }
        services.append(svc)
    proxy: dict[str, Any] | None = None
    conf = layout.conf_dir(app.name)
    if tier.proxy == "nginx":
        prefix = forward_slashes(layout.nginx_dir()) + "/"
        args = ["-p", prefix, "-c", forward_slashes(conf / "nginx.conf")]
        # Nginx for Windows opens <prefix>/logs/error.log before it reads its config.
        own = (layout.proxy_dir(app.name), layout.nginx_dir() / "logs", layout.nginx_dir() / "temp")
        proxy = _service(
            f"{app.name}-nginx",
            layout.nginx(),
            args,
            layout.nginx_dir(),
            layout,
            app.name,
            tier,
            own,
        )
        proxy["environment"] = {}
    elif tier.proxy == "caddy":
        args = ["run", "--config", forward_slashes(conf / "Caddyfile"), "--adapter", "caddyfile"]
        state = layout.proxy_dir(app.name)
        proxy = _service(
            f"{app.name}-caddy", layout.caddy(), args, state, layout, app.name, tier, (state,)
        )
        proxy["environment"] = {
            "XDG_DATA_HOME": str(state / "data"),
            "XDG_CONFIG_HOME": str(state / "config"),
        }
    if proxy is not None:
        proxy["stop_console_ms"] = 10000
    return {
        "app": app.name,
        "proxy_kind": tier.proxy,
        "services": services,
        "proxy": proxy,
    }


def render_services_json(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> str:
    return json.dumps(service_definitions(plan, app, layout), indent=2, ensure_ascii=True) + "\n"


# -- the bootstrap, the host's files and the user data -----------------------------------------
IIS_FEATURES = (
    "Web-Server",
    "Web-WebServer",
    "Web-Static-Content",
    "Web-Http-Logging",
    "Web-Stat-Compression",
    "Web-Filtering",
    "Web-Mgmt-Console",
    "Web-Scripting-Tools",
)


def windows_proxy_ports(app: AppSpec, layout: WindowsHostLayout | None = None) -> list[int]:
    """Ports the proxy listens on: the only inbound ports of the VM (firewall, security group).
    HTTP only: the ALB ends TLS (`caddy.https` is refused, windows_spec.CaddySpec)."""
    return [(layout or WindowsHostLayout()).http_port]


# -- installers: mirrored into the artifact bucket at `pulumi up`, fetched only from there -------
_PROXY_INSTALLERS = {"iis": ("url_rewrite", "arr"), "nginx": ("nginx",), "caddy": ("caddy",)}


def installer_key(app: str, installer: Installer) -> str:
    """S3 key of an installer's mirror, named by its pinned SHA-256 (by its URL's hash when
    unpinned): a new pin is a new object, and older launch templates keep theirs."""
    tag = installer.sha256 or "url-" + hashlib.sha256(installer.url.encode()).hexdigest()
    return f"windows/{app}/installers/{tag[:32]}/{installer.file_name}"


def installer_mirrors(app: AppSpec) -> dict[str, tuple[str, Installer]]:
    """{name: (S3 key, installer)} of every download this app's VMs need, and no other."""
    names = ("python", "nssm", *_PROXY_INSTALLERS[app.windows.proxy])
    named = app.windows.installers.named()
    return {name: (installer_key(app.name, named[name]), named[name]) for name in names}


def _mirror_context(app: AppSpec) -> dict[str, dict[str, str]]:
    return {
        name: {"key": key, "file": inst.file_name, "sha256": inst.sha256 or ""}
        for name, (key, inst) in installer_mirrors(app).items()
    }


def _iis_context(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> dict[str, Any]:
    static_dir = windows_static_root(app, layout)
    mirrors = _mirror_context(app)
    return {
        "features": IIS_FEATURES,
        "msis": [
            {"product": "IIS URL Rewrite Module*", "mirror": mirrors["url_rewrite"]},
            {"product": "Microsoft Application Request Routing*", "mirror": mirrors["arr"]},
        ],
        "aliases": [
            instance_alias(app.name, n) for n in range(1, waitress_instances(app.windows) + 1)
        ],
        "farm": farm_name(app.name),
        "rule_prefix": f"{farm_name(app.name)}:",
        "fragment": str(_iis_fragment_path(app, layout)),
        "web_config": str(layout.site_dir(app.name) / "web.config"),
        "site_dir": str(layout.site_dir(app.name)),
        "static_vdir": app.static.url.rstrip("/") if app.static else None,
        "static_dir": str(static_dir) if static_dir else "",
        "connection_timeout": hms(plan.chain.edge_keepalive_timeout),
    }


def _iis_fragment_path(app: AppSpec, layout: WindowsHostLayout) -> PurePath:
    return layout.conf_dir(app.name) / "applicationHost-webstack.xml"


def render_proxy_files(plan: TierPlan, app: AppSpec, layout: WindowsHostLayout) -> dict[str, str]:
    """The proxy's configuration files, by target path."""
    conf = layout.conf_dir(app.name)
    proxy = app.windows.proxy
    if proxy == "nginx":
        return {str(conf / "nginx.conf"): render_windows_nginx_conf(plan, app, layout)}
    if proxy == "caddy":
        return {str(conf / "Caddyfile"): render_caddyfile(plan, app, layout)}
    return {
        str(_iis_fragment_path(app, layout)): render_iis_fragment(plan, app, layout),
        str(layout.site_dir(app.name) / "web.config"): render_iis_web_config(plan, app, layout),
    }


def _check_windows_app(app: AppSpec) -> None:
    problems = []
    if app.os != "windows":
        problems.append(f"apps.{app.name}.os: the Windows tier renders only os: windows apps")
    if app.source_or_default.kind == "git":
        problems.append(
            f"apps.{app.name}.source.git: the Windows tier installs from path or requirement "
            "(Windows images have no git); package the code as a path source"
        )
    if problems:
        raise SpecError(problems)


def render_windows_bootstrap(
    plan: TierPlan,
    app: AppSpec,
    layout: WindowsHostLayout,
    refs: CloudRefs,
    files: dict[str, str],
) -> str:
    """bootstrap.ps1: installs everything and writes `files` (the other rendered files) verbatim."""
    for path, content in files.items():
        if not content.endswith("\n") or re.search(r"^'@", content, re.MULTILINE):
            raise ValueError(f"{path} cannot be embedded in a PowerShell here-string")
    tier = app.windows
    source = app.source_or_default
    text = render_windows_template(
        "windows/bootstrap.ps1.j2",
        app=app,
        environment=plan.environment,
        layout=layout,
        refs=refs,
        proxy=tier.proxy,
        services=layout.ports(tier),
        log_dir=layout.log_dir(app.name),
        python_version=tier.installers.python_version,
        mirrors=_mirror_context(app),
        source=source,
        install_marker=f"{refs.package_key if source.kind == 'path' else source.requirement}"
        f" waitress>=3.0.1",
        server_requirements=["waitress>=3.0.1"],
        files=sorted(files.items()),
        release_script=windows_release_script_path(app, layout),
        proxy_ports=windows_proxy_ports(app, layout),
        proxy_health_url=f"http://127.0.0.1:{layout.http_port}{app.health_path}",
        iis=_iis_context(plan, app, layout) if tier.proxy == "iis" else {},
        nssm_expanded=NSSM_EXPANDED.pattern,
        tier=tier,
        cloudwatch_config=(
            windows_agent_config_path(layout, app.name) if plan.observability.enabled else None
        ),
        cloudwatch_bucket=windows_agent_installer(refs.region)[0],
        cloudwatch_key=windows_agent_installer(refs.region)[1],
        rds_ca=rds_ca_step(app, refs.region, windows_bundle_path(layout)),
    )
    if not text.isascii():
        raise SpecError([f"apps.{app.name}.env: Windows PowerShell 5.1 needs ASCII values"])
    return text


def render_windows_host(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout, refs: CloudRefs
) -> dict[str, str]:
    """Every file a Windows VM of this app receives, by target path (sorted, deterministic).

    The bootstrap carries the others inside it, so one S3 object (`windows_bootstrap_key`) is all
    the user data fetches."""
    _check_windows_app(app)
    files = {
        str(layout.services_file(app.name)): render_services_json(plan, app, layout),
        **render_proxy_files(plan, app, layout),
        **release_files(plan, app, layout, refs),
    }
    if plan.observability.enabled:
        agent = windows_agent_config(
            app, layout, refs.ssm_prefix, refs.region, proxy_service_name(app)
        )
        files[str(windows_agent_config_path(layout, app.name))] = render_agent_config(
            agent, "windows"
        )
    bootstrap = render_windows_bootstrap(plan, app, layout, refs, files)
    files[str(layout.bootstrap_path(app.name))] = bootstrap
    return dict(sorted(files.items()))


def windows_bootstrap_key(app: AppSpec | str, content: str) -> str:
    """S3 key of the bootstrap, named by its content hash: a new bootstrap means new user data."""
    name = app if isinstance(app, str) else app.name
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return f"windows/{name}/bootstrap-{digest}.ps1"


def windows_bootstrap_object(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout, refs: CloudRefs
) -> tuple[str, str]:
    """(S3 key, content) of the bootstrap to upload to the artifact bucket before the VMs boot."""
    content = render_windows_host(plan, app, layout, refs)[str(layout.bootstrap_path(app.name))]
    return windows_bootstrap_key(app, content), content


def render_windows_user_data_script(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout, refs: CloudRefs
) -> str:
    """The PowerShell inside the user data (also parsed on its own by the tests)."""
    key, content = windows_bootstrap_object(plan, app, layout, refs)
    return render_windows_template(
        "windows/user-data.ps1.j2",
        refs=refs,
        key=key,
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        bootstrap_path=layout.bootstrap_path(app.name),
    )


def render_windows_user_data(
    plan: TierPlan, app: AppSpec, layout: WindowsHostLayout, refs: CloudRefs
) -> str:
    """EC2Launch v2 YAML that fetches, verifies and runs the bootstrap; SpecError over 16 KB."""
    script = render_windows_user_data_script(plan, app, layout, refs)
    text = render_windows_template(
        "windows/user-data.yaml.j2", app=app, environment=plan.environment, script=script
    )
    if len(text.encode()) > USER_DATA_LIMIT:
        raise SpecError(
            [
                f"apps.{app.name}: Windows user data is {len(text.encode())} bytes; AWS allows "
                f"{USER_DATA_LIMIT}"
            ]
        )
    return text
