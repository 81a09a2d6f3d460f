"""Installers: pinned, mirrored into the artifact bucket at `pulumi up`, fetched only from there,
and the NSSM build one that starts services on Server 2016+ (tests/helpers/windows_truth.py)."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest

from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import installer_mirrors, render_windows_host
from components.spec.errors import SpecError
from components.spec.windows import Installer, Installers
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers.specs import windows_spec
from tests.helpers.windows_truth import nssm_build, nssm_starts_services_on_server_2016
from tests.unit.test_windows_stack import graph


def unpinned(installers: Installers) -> set[str]:
    return {name for name, inst in installers.named().items() if inst.sha256 is None}


def test_every_default_installer_is_pinned() -> None:
    """No exceptions: URL Rewrite and ARR are pinned too (components/spec/windows.py says where
    the pins were read)."""
    assert unpinned(Installers()) == set()
    for name, inst in Installers().named().items():
        assert inst.url.startswith("https://"), name
        assert inst.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", inst.sha256), name


def test_the_pinned_check_can_fail() -> None:
    defaults = Installers()
    bare = defaults.model_copy(update={"arr": Installer(url=defaults.arr.url)})
    assert unpinned(bare) == {"arr"}


def test_a_default_url_without_its_sha256_is_refused() -> None:
    """Naming the default URL again without the pin must not drop the pin."""
    with pytest.raises(SpecError) as e:
        windows_app("iis", installers={"arr": {"url": Installers().arr.url}})
    assert e.value.problems[0].startswith("apps.web.windows.installers.arr.sha256: ")


def test_an_installer_you_set_must_carry_its_sha256() -> None:
    """The check is able to fail: a URL of your own without a pin is a config error."""
    with pytest.raises(SpecError) as e:
        windows_app(installers={"nginx": {"url": "https://mirror.example/nginx.zip"}})
    assert e.value.problems[0].startswith("apps.web.windows.installers.nginx.sha256: ")


def test_the_default_nssm_build_starts_services_on_server_2016() -> None:
    """NSSM before 2.24-101 cannot start console programs on Windows 10 1703+ / Server 2016+."""
    name = Installers().nssm.file_name
    assert nssm_build(name) == (2, 24, 101)
    assert nssm_starts_services_on_server_2016(name)


@pytest.mark.parametrize("bad", ["nssm-2.24.zip", "nssm-2.24-94-gdeadbee.zip", "nssm.zip"])
def test_the_nssm_build_check_can_fail(bad: str) -> None:
    assert not nssm_starts_services_on_server_2016(bad)


def windows_app(proxy: str = "nginx", **windows: Any) -> Any:
    return windows_spec("flask", proxy, **windows)


@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_the_bootstrap_fetches_installers_only_from_the_bucket(proxy: str) -> None:
    spec = windows_app(proxy)
    app = spec.apps[0]
    files = render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), OFFLINE_REFS)
    [bootstrap] = [c for p, c in files.items() if p.endswith("bootstrap.ps1")]
    mirrors = installer_mirrors(app)
    assert {"python", "nssm"} <= set(mirrors)
    for name, (key, inst) in mirrors.items():
        assert inst.url not in bootstrap, f"{name}: the VM must not fetch from the vendor"
        assert f"Get-Installer -Key '{key}'" in bootstrap or f"Key = '{key}'" in bootstrap, name
        if inst.sha256:
            assert inst.sha256 in bootstrap and inst.sha256[:32] in key, name
    assert "Invoke-WebRequest" not in bootstrap
    assert re.findall(r"https://[^'\s\"]+", bootstrap) == [], "no download URL is left"


def test_a_new_pin_is_a_new_mirror_object() -> None:
    """Keys carry the pin, so an old launch template keeps the bytes it was rendered for."""
    old = Installer(url="https://x.example/a.zip", sha256="a" * 64)
    new = Installer(url="https://x.example/a.zip", sha256="b" * 64)
    spec_old = windows_app(installers={"nginx": old.model_dump()})
    spec_new = windows_app(installers={"nginx": new.model_dump()})
    assert (
        installer_mirrors(spec_old.apps[0])["nginx"][0]
        != (installer_mirrors(spec_new.apps[0])["nginx"][0])
    )
    arr_key = installer_mirrors(windows_app("iis").apps[0])["arr"][0]
    assert str(Installers().arr.sha256)[:28] in arr_key


@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_pulumi_up_mirrors_each_installer_into_the_artifact_bucket(proxy: str) -> None:
    g = graph(proxy)
    objects = {r.inputs.get("key"): r for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2")}
    spec = windows_app(proxy, instances=4)
    for name, (key, inst) in installer_mirrors(spec.apps[0]).items():
        key = key.replace("windows/web/", "windows/winapp/")
        assert key in objects, f"{name} is not mirrored into the bucket"
        source = objects[key].inputs["source"]
        assert getattr(source, "uri", None) == inst.url, name


@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_the_instance_role_may_read_every_mirrored_installer(proxy: str) -> None:
    """S3 answers 403 to a GetObject outside the role's Resource patterns: a mirror the VM cannot
    read is a boot that never finishes."""
    g = graph(proxy)
    patterns = []
    for policy in g.of("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if statement["Effect"] == "Allow" and "s3:GetObject" in actions:
                resources = statement["Resource"]
                for arn in resources if isinstance(resources, list) else [resources]:
                    patterns.append(arn.split(":::", 1)[1].split("/", 1)[1])
    keys = [r.inputs["key"] for r in g.of("aws:s3/bucketObjectv2:BucketObjectv2")]
    installers = [k for k in keys if "/installers/" in k]
    assert installers
    for key in installers:
        assert any(fnmatch.fnmatchcase(key, p) for p in patterns), key
    assert not fnmatch.fnmatchcase("windows/other-app/installers/x/y.zip", "windows/winapp/*")


# Amazon S3 User Guide, "Working with object metadata": user-defined metadata is limited to 2 KB
# (the sum of the UTF-8 bytes of each key and value).
S3_USER_METADATA_BYTES = 2048


def metadata_bytes(metadata: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())


@pytest.mark.parametrize("proxy", ["iis", "nginx", "caddy"])
def test_mirror_metadata_fits_s3s_limit(proxy: str) -> None:
    for obj in graph(proxy).of("aws:s3/bucketObjectv2:BucketObjectv2"):
        if obj.inputs.get("metadata"):
            assert metadata_bytes(obj.inputs["metadata"]) <= S3_USER_METADATA_BYTES, obj.name
    longest = "https://x.example/" + "a" * (1024 - len("https://x.example/"))
    worst = {"sha256": "f" * 64, "source-url": longest}
    assert metadata_bytes(worst) <= S3_USER_METADATA_BYTES
    with pytest.raises(SpecError):
        windows_app(installers={"nginx": {"url": longest + "a", "sha256": "f" * 64}})


def test_the_metadata_check_can_fail() -> None:
    assert metadata_bytes({"source-url": "https://x/" + "a" * 2100}) > S3_USER_METADATA_BYTES
