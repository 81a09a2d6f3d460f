"""The activation's builds (issue 13): code + venv are staged once per content (package,
requirements, Python) under builds/<key>; a release that changes only env or secrets links to the
same build (no second venv, no pip), a missing secret fails before anything is staged, and cleanup
keeps every build a kept release links to. Same host as tests/e2e/test_release_activation.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.plan import release as release_plan
from tests.e2e.test_release_activation import Host, host  # noqa: F401 (the fixture)


def release_dir(h: Host, rid: str) -> Path:
    return Path(h.layout.app_dir(h.app.name)) / "releases" / rid


def builds(h: Host) -> set[str]:
    where = Path(h.layout.app_dir(h.app.name)) / "builds"
    return {p.name for p in where.iterdir()} if where.exists() else set()


@pytest.mark.parametrize("host", [True], indirect=True)  # the VM's own venv, pip from the wheels
def test_a_rotated_secret_reuses_the_venv_without_pip(host: Host) -> None:  # noqa: F811
    r1 = host.publish(1)
    code, _, first_log = host.activate()
    assert code == 0, first_log
    venv1 = (release_dir(host, r1) / "venv").resolve()
    inode1 = os.stat(venv1 / "pyvenv.cfg").st_ino

    host.put_secret("APP_TOKEN", "token-2")
    r2 = host.publish(1)  # same package: only the secret's version changed
    assert r2 != r1
    code, _, log = host.activate()
    assert code == 0, log
    venv2 = (release_dir(host, r2) / "venv").resolve()
    assert venv2 == venv1 and os.stat(venv2 / "pyvenv.cfg").st_ino == inode1, (venv1, venv2)
    assert "pip install" in first_log, f"the log names each pip run:\n{first_log}"
    assert "pip" not in log and "reuse build" in log, f"a config-only release ran pip:\n{log}"
    assert host.served_release() == r2


def test_a_missing_secret_fails_before_anything_is_staged(host: Host) -> None:  # noqa: F811
    r1 = host.publish(1)
    assert host.activate()[0] == 0
    before = builds(host)
    r2 = host.publish(2, secrets=("APP_TOKEN", "NOT_STORED"))
    code, _, log = host.activate()
    assert code != 0 and f"release {r1} keeps serving" in log, log
    assert "secrets of release" in log, log
    assert "stage" not in log and "pip" not in log, f"staged before the secrets were read:\n{log}"
    assert not release_dir(host, r2).exists() and builds(host) == before
    assert host.served_release() == r1


def test_cleanup_keeps_the_builds_kept_releases_use(host: Host) -> None:  # noqa: F811
    keep = release_plan.KEEP_RELEASES
    host.publish(1)
    assert host.activate()[0] == 0
    (first_build,) = builds(host)
    for n in range(keep + 1):  # config-only releases: all on the first build
        host.put_secret("APP_TOKEN", f"token-{n}")
        host.publish(1)
        assert host.activate()[0] == 0
    assert builds(host) == {first_build}, "a build the active release uses was deleted"
    last_on_first = host.publish(1)
    for n in range(keep):  # new code: release `keep` back still uses the first build
        host.publish(10 + n)
        code, _, log = host.activate()
        assert code == 0, log
        kept = release_dir(host, last_on_first).exists()
        assert (first_build in builds(host)) == kept, (n, builds(host))
    assert first_build not in builds(host), "no kept release uses it: it must go"
    assert len(builds(host)) == keep
