"""HostLayout: every host path, port and identity the rendered files refer to.

Production uses the defaults (the real VM paths). The local rehearsal and the tests point the same
layout at a temp dir, free loopback ports and the current user; nothing else differs.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from components.plan.app_tree import AppTree

Family = Literal["debian", "rhel"]


@dataclass(frozen=True)
class HostLayout(AppTree):
    app_root: PurePosixPath = PurePosixPath("/srv/webstack")
    run_dir: PurePosixPath = PurePosixPath("/run/webstack")
    etc_dir: PurePosixPath = PurePosixPath("/etc/webstack")
    tools_dir: PurePosixPath = PurePosixPath("/opt/webstack")
    systemd_dir: PurePosixPath = PurePosixPath("/etc/systemd/system")
    nginx_conf: PurePosixPath = PurePosixPath("/etc/nginx/nginx.conf")
    nginx_mime_types: PurePosixPath = PurePosixPath("/etc/nginx/mime.types")
    nginx_state_dir: PurePosixPath = PurePosixPath("/var/lib/nginx")
    nginx_log_dir: PurePosixPath = PurePosixPath("/var/log/nginx")
    nginx_pid: PurePosixPath = PurePosixPath("/run/nginx.pid")
    log_dir: PurePosixPath = PurePosixPath("/var/log/webstack")
    # pip's cache for the release builds (root's; HOME is unset where the activation runs).
    pip_cache_dir: PurePosixPath = PurePosixPath("/var/cache/webstack/pip")
    http_port: int = 80
    https_port: int = 443
    listen_address: str = ""  # "" = all addresses (VM); "127.0.0.1" locally
    app_user: str = "webstack"
    nginx_user: str = "www-data"
    # Where each app's virtualenv lives; None = `<app_root>/<app>/venv` (the VM).
    shared_venv: PurePosixPath | None = None
    # CPU count used for `workers: auto`; None = from the instance type (the VM).
    vcpus: int | None = None
    # Who may set X-Forwarded-For in front of Nginx; None = the VPC CIDR (ALB) / nobody (nginx edge).
    trusted_proxy_cidrs: tuple[str, ...] | None = None

    # -- per-app paths (app_dir, code_dir, venv, collected_static: AppTree) --------------------
    def apps_root(self) -> PurePosixPath:
        return self.app_root

    def app_etc(self, app: str) -> PurePosixPath:
        return self.etc_dir / app

    def env_file(self, app: str) -> PurePosixPath:
        return self.app_etc(app) / "app.env"

    def secrets_file(self, app: str) -> PurePosixPath:
        return self.app_etc(app) / "secrets.env"

    def gunicorn_conf(self, app: str, master: int | str) -> PurePosixPath:
        return self.app_etc(app) / f"gunicorn-{master}.conf.py"

    def runtime_dir(self, app: str, master: int | str) -> PurePosixPath:
        return self.run_dir / f"{app}-{master}"

    def socket(self, app: str, master: int | str) -> PurePosixPath:
        return self.runtime_dir(app, master) / "gunicorn.sock"

    def unit_name(self, app: str) -> str:
        return f"webstack-{app}@.service"

    def microcache_dir(self, app: str) -> PurePosixPath:
        """The app's Nginx microcache (Nginx creates it; the boot and each release empty it)."""
        return self.nginx_state_dir / f"microcache-{app}"

    def staged_nginx_conf(self) -> PurePosixPath:
        return self.etc_dir / "nginx.conf"

    def tls_cert(self, app: str) -> PurePosixPath:
        return self.etc_dir / "tls" / f"{app}.crt"

    def tls_key(self, app: str) -> PurePosixPath:
        return self.etc_dir / "tls" / f"{app}.key"

    # -- releases (components/plan/release.py): releases/<id> = static/ + code/, venv/ -----------
    # (code/ and venv/ link to builds/<key>, staged once per package + requirements + Python)
    def releases_dir(self, app: str) -> PurePosixPath:
        return self.app_dir(app) / "releases"

    def slot_dir(self, app: str, slot: int | str) -> PurePosixPath:
        """Symlink to the release Gunicorn master (slot) 1 or 2 runs; re-pointed only while stopped."""
        return self.app_dir(app) / f"slot-{slot}"

    def slot_venv(self, app: str, slot: int | str) -> PurePosixPath:
        return self.shared_venv or self.slot_dir(app, slot) / "venv"

    def slot_etc(self, app: str, slot: int | str) -> PurePosixPath:
        """Symlink to the env and secrets files of the slot's release (root-only directory)."""
        return self.app_etc(app) / f"slot-{slot}"

    def upstream_conf(self, app: str) -> PurePosixPath:
        """The sockets Nginx sends to (the active slot): rewritten by the switch, then reloaded."""
        return self.app_etc(app) / "upstream.conf"

    def release_conf(self, app: str) -> PurePosixPath:
        """Nginx's answer on the release endpoint: the id of the release it switched to."""
        return self.app_etc(app) / "release.conf"

    def listen(self, port: int) -> str:
        return f"{self.listen_address}:{port}" if self.listen_address else str(port)


def vm_layout(family: Family) -> HostLayout:
    """The real paths of a VM of the given package family."""
    if family == "rhel":
        return HostLayout(nginx_user="nginx")
    return HostLayout()


def local_layout(
    root: Path,
    http_port: int,
    https_port: int,
    venv: Path | None = None,
    trusted_proxy_cidrs: tuple[str, ...] | None = None,
) -> HostLayout:
    """A layout under `root` on loopback, run as the current user: the rehearsal's and tests' host."""
    r = PurePosixPath(root)
    return replace(
        HostLayout(),
        app_root=r / "srv",
        run_dir=r / "run",
        etc_dir=r / "etc",
        tools_dir=r / "opt",
        systemd_dir=r / "systemd",
        nginx_conf=r / "etc" / "nginx.conf",
        nginx_state_dir=r / "nginx-state",
        nginx_log_dir=r / "log",
        nginx_pid=r / "run" / "nginx.pid",
        log_dir=r / "log",
        pip_cache_dir=r / "pip-cache",
        http_port=http_port,
        https_port=https_port,
        listen_address="127.0.0.1",
        app_user=getpass.getuser(),
        nginx_user=getpass.getuser(),
        shared_venv=PurePosixPath(venv) if venv else None,
        vcpus=os.cpu_count() or 1,
        trusted_proxy_cidrs=trusted_proxy_cidrs,
    )
