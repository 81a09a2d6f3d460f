"""The per-app folder scheme both host layouts share: `<apps root>/<app>/` holds `current` (the
code), `venv` (unless one venv is shared) and `collected-static` (Django's collectstatic)."""

from __future__ import annotations

from typing import Any


class AppTree:
    """Mixed into HostLayout (Linux) and WindowsHostLayout; each says where its apps live."""

    shared_venv: Any  # PurePosixPath | PureWindowsPath | None on the layout itself

    def apps_root(self) -> Any:
        raise NotImplementedError

    def app_dir(self, app: str) -> Any:
        return self.apps_root() / app

    def code_dir(self, app: str) -> Any:
        return self.app_dir(app) / "current"

    def venv(self, app: str) -> Any:
        return self.shared_venv or self.app_dir(app) / "venv"

    def collected_static(self, app: str) -> Any:
        return self.app_dir(app) / "collected-static"
