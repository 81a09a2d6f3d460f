"""`up --local` runs Windows apps on the same terms as Linux ones: the venv it was given (not
always this Python's) and stand-in values for the app's secrets (issue 16: it probed
`inspect.signature(LocalWindowsHost)` for parameters the class never had)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.tooling.local.up import _windows_site, local_secrets
from components.tooling.local.windows import REPO as ROOT
from components.tooling.local.windows import LocalWindowsHost, example_spec


@pytest.mark.parametrize("proxy", ["caddy", "iis"])
def test_a_windows_app_runs_in_the_venv_it_was_given_with_its_stand_in_secrets(
    tmp_path: Path, proxy: str
) -> None:
    spec, app, _ = example_spec("flask", proxy, instances=2)
    app = app.model_copy(update={"secrets": ["API_TOKEN"]})
    spec = spec.model_copy(update={"apps": [app]})
    venv = tmp_path / "venv-of-the-app"
    site = _windows_site(spec, app, tmp_path / "site", venv, ROOT, lambda _: None)
    host: LocalWindowsHost = site.host
    for svc in host.services:
        assert Path(svc.application).is_relative_to(venv), f"{svc.name} ignores --venv"
        assert (
            host._secrets_for(svc)
            == local_secrets(app)
            == {"API_TOKEN": "local-flask-app-api_token"}
        )
    if host.proxy is not None:
        assert host._secrets_for(host.proxy) == {}, "the proxy never sees the app's secrets"
