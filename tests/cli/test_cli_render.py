"""`webstack render`: every file each VM receives, deterministic, with a SUMMARY.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_support import ROOT

from components.plan.timeouts import timeout_chain
from tests.helpers.specs import shipped_spec


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendering_twice_gives_identical_trees(webstack, tmp_path: Path, stack: str) -> None:
    """Reviewers commit and diff the output: the same config must give the same bytes."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert webstack("render", "--stack", stack, "--project", ROOT, "--out", a).code == 0
    assert webstack("render", "--stack", stack, "--project", ROOT, "--out", b).code == 0
    assert tree(a) == tree(b)
    # And again into the same folder: replaced, not mixed with the old tree.
    assert webstack("render", "--stack", stack, "--project", ROOT, "--out", a).code == 0
    assert tree(a) == tree(b)


def test_prod_tree_has_every_file_of_the_vm(webstack, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert webstack("render", "--stack", "prod", "--project", ROOT, "--out", out).code == 0
    base = out / "django-app" / "linux"
    files = base / "files"
    expected = [
        "etc/webstack/nginx.conf",
        "etc/systemd/system/webstack-django-app@.service",
        "etc/webstack/django-app/gunicorn-1.conf.py",
        "etc/webstack/django-app/gunicorn-2.conf.py",  # two masters in prod
        "etc/webstack/django-app/app.env",
        "opt/webstack/bootstrap-django-app.sh",
        "opt/webstack/webstack-release-django-app.sh",
    ]
    for rel in expected:
        assert (files / rel).is_file(), rel
    user_data = (base / "user-data.yaml").read_text()
    assert user_data.startswith("#cloud-config")
    written = {f["path"]: f["content"] for f in yaml.safe_load(user_data)["write_files"]}
    # app.env is release data: the VM gets it from the config object the pointer names.
    assert "/etc/webstack/django-app/app.env" not in written
    for rel in (r for r in expected if not r.endswith("app.env")):
        assert written["/" + rel] == (files / rel).read_text(), (
            "files/ is what the user data writes"
        )
    summary = (out / "SUMMARY.md").read_text()
    spec = shipped_spec("prod")[0]
    for hop, value in timeout_chain(spec).as_rows():
        assert f"| {hop} | {value} |" in summary
    assert "/run/webstack/django-app-1/gunicorn.sock" in summary
    assert "/run/webstack/django-app-2/gunicorn.sock" in summary
    assert "client_max_body_size: 20m" in summary and "50 r/s" in summary
    assert "ELBSecurityPolicy-TLS13-1-2-2021-06" in summary
    assert "of 16384 bytes" in summary


def test_dev_tree_has_the_tls_certificate_placeholder(webstack, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert webstack("render", "--stack", "dev", "--project", ROOT, "--out", out).code == 0
    cert = out / "flask-app" / "linux" / "files" / "etc" / "webstack" / "tls" / "flask-app.crt"
    assert "PLACEHOLDER" in cert.read_text()
    conf = (out / "flask-app" / "linux" / "files" / "etc" / "webstack" / "nginx.conf").read_text()
    assert "listen 443 ssl" in conf
    for path in out.rglob("*"):
        if path.is_file():
            assert "v1:ZGV2" not in path.read_text(), f"{path}: a secret's ciphertext was rendered"


def test_windows_apps_get_their_files(webstack, tmp_path: Path, mixed_stack: Path) -> None:
    out = tmp_path / "out"
    result = webstack("render", "--stack-file", mixed_stack, "--project", ROOT, "--out", out)
    assert result.code == 0, result.err
    caddy = out / "reports" / "windows"
    iis = out / "backoffice" / "windows"
    assert (caddy / "user-data.yaml").is_file() and (iis / "user-data.yaml").is_file()
    names = {p.name for p in caddy.rglob("*")} | {p.name for p in iis.rglob("*")}
    for name in ("Caddyfile", "web.config", "services.json", "bootstrap.ps1"):
        assert name in names, name
    assert (out / "shop" / "linux" / "files" / "etc" / "webstack" / "nginx.conf").is_file()
    summary = (out / "SUMMARY.md").read_text()
    assert "## reports (flask, windows)" in summary and "## backoffice (django, windows)" in summary


def test_refuses_to_replace_a_folder_it_did_not_write(webstack, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = webstack("render", "--stack", "dev", "--project", ROOT, "--out", precious)
    assert result.code == 1
    assert (precious / "notes.txt").read_text() == "keep me"
