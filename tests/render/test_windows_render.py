"""Rendered Windows files: PowerShell that a real grammar parses, well-formed IIS XML with the farm
and rules, services.json whose command lines are the Waitress the issue asks for, small EC2Launch v2
user data that fetches a content-addressed bootstrap."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
import tree_sitter_powershell
import yaml

from components.plan.sizing import waitress_instances
from components.plan.tier import plan_tier
from components.plan.windows_layout import (
    WindowsHostLayout,
    local_windows_layout,
    vm_windows_layout,
)
from components.render.common import USER_DATA_LIMIT, CloudRefs
from components.render.windows import (
    render_windows_host,
    render_windows_user_data,
    render_windows_user_data_script,
    windows_bootstrap_key,
    windows_proxy_ports,
)
from components.spec.errors import SpecError
from components.spec.sources import AppSource
from components.spec.stack import AppSpec, StackSpec
from components.tooling.local.windows import load_services, split_windows_command_line
from tests.helpers.specs import windows_spec

REFS = CloudRefs(
    region="eu-west-1",
    bucket="webstack-dev-artifacts",
    package_key="apps/web/web-0123456789abcdef.tar.gz",
    ssm_prefix="/webstack/dev/web",
)
PROXIES = ("iis", "nginx", "caddy")
FRAMEWORKS = ("flask", "django")


def make_spec(framework: str = "flask", proxy: str = "nginx", **windows: Any) -> StackSpec:
    app = {"secrets": ["APP_TOKEN"], "env": {"APP_COLOR": "blue"}}
    return windows_spec(framework, proxy, app=app, **windows)


def local_layout(app: AppSpec) -> WindowsHostLayout:
    ports = tuple(range(18001, 18001 + waitress_instances(app.windows)))
    return local_windows_layout(Path("/tmp/ws-win"), 18000, ports, Path(sys.prefix))


def layouts(app: AppSpec) -> dict[str, WindowsHostLayout]:
    return {"vm": vm_windows_layout(), "local": local_layout(app)}


def one(files: dict[str, str], suffix: str) -> str:
    [content] = [c for p, c in files.items() if p.endswith(suffix)]
    return content


_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def powershell_errors(source: str) -> list[str]:
    """ERROR and MISSING nodes of a real PowerShell grammar, with their line numbers."""
    tree = _PARSER.parse(source.encode())
    bad: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            bad.append(f"line {line}: {node.type} {source.splitlines()[line - 1].strip()[:80]}")
        stack.extend(node.children)
    return bad


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("where", ["vm", "local"])
def test_every_powershell_file_parses(framework: str, proxy: str, where: str) -> None:
    spec = make_spec(framework, proxy)
    app = spec.apps[0]
    layout = layouts(app)[where]
    files = render_windows_host(plan_tier(spec, app), app, layout, REFS)
    scripts = {p: c for p, c in files.items() if p.endswith(".ps1")}
    scripts["user data"] = render_windows_user_data_script(plan_tier(spec, app), app, layout, REFS)
    assert len(scripts) == 3, "bootstrap, activation (webstack-release.ps1), user data"
    for path, script in scripts.items():
        assert script.strip(), path
        assert powershell_errors(script) == [], f"{path} does not parse as PowerShell"


def test_git_sources_are_refused_on_windows() -> None:
    spec = make_spec("flask", "nginx")
    source = AppSource(git="https://example.com/site.git", ref="v1")
    app = spec.apps[0].model_copy(update={"source": source})
    with pytest.raises(SpecError) as e:
        render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS)
    [line] = e.value.problems
    assert line.startswith("apps.web.source.git: ")


def test_grammar_check_catches_broken_powershell() -> None:
    assert powershell_errors("if ($x { Write-Host 'a' ")
    assert powershell_errors("$a = @'\nnever closed\n")


@pytest.mark.parametrize("proxy", PROXIES)
def test_bootstrap_embeds_every_other_file_verbatim(proxy: str) -> None:
    spec = make_spec("django", proxy)
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS
    )
    bootstrap = files.pop(r"C:\webstack\web\bootstrap.ps1")
    assert files, "the proxy config and services.json travel inside the bootstrap"
    for path, content in files.items():
        quoted = path.replace("'", "''")
        assert f"$Files['{quoted}'] = @'\n{content}'@\n" in bootstrap, path
    assert bootstrap.isascii(), "Windows PowerShell 5.1 reads a BOM-less script as ANSI"


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_services_are_the_waitress_command_lines_of_the_issue(framework: str, proxy: str) -> None:
    spec = make_spec(framework, proxy, instances=3, threads=6, channel_timeout=90)
    app = spec.apps[0]
    files = render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS)
    services, proxy_service = load_services(one(files, "services.json"))
    assert [s.name for s in services] == ["web-waitress-1", "web-waitress-2", "web-waitress-3"]
    target = ["--call", "app:create_app"] if framework == "flask" else ["proj.wsgi:application"]
    for n, svc in enumerate(services, start=1):
        assert svc.application == r"C:\webstack\web\venv\Scripts\python.exe"
        assert svc.app_directory == r"C:\webstack\web\current"
        assert svc.argv[1:] == [
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{5000 + n}",
            "--threads=6",
            "--channel-timeout=90",
            "--connection-limit=500",
            "--trusted-proxy=127.0.0.1",
            "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto",
            *target,
        ]
        assert '--trusted-proxy-headers="x-forwarded-for x-forwarded-proto"' in svc.arguments
        assert svc.environment["WEBSTACK_INSTANCE"] == str(n)
        assert "APP_COLOR" not in svc.environment, "the app's env is the release's config object"
        assert "APP_TOKEN" not in svc.environment, "secret values come from SSM at boot only"
        assert svc.stdout.startswith(r"C:\webstack\web\logs" + "\\" + svc.name + "\\")
    data = json.loads(one(files, "services.json"))
    assert "secrets" not in data and "APP_TOKEN" not in json.dumps(data), (
        "secret names are the release pointer's: adding one must not change services.json"
    )
    assert all(s["stop_console_ms"] > 5000 for s in data["services"]), (
        "NSSM must wait longer than Waitress's own 5s shutdown before it kills"
    )
    if proxy == "iis":
        assert proxy_service is None
    else:
        assert proxy_service is not None and proxy_service.name == f"web-{proxy}"
        if proxy == "nginx":
            assert proxy_service.app_directory == r"C:\webstack\tools\nginx"


def test_bootstrap_installs_services_with_nssm_and_secrets_from_ssm() -> None:
    spec = make_spec("flask", "nginx")
    bootstrap = one(
        render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS),
        "bootstrap.ps1",
    )
    for setting in ("AppDirectory", "AppStdout", "AppStderr", "AppRotateFiles", "AppRotateOnline"):
        assert f"{setting} = " in bootstrap, setting
    assert "'AppExit', 'Default', 'Restart'" in bootstrap
    assert "Start = 'SERVICE_AUTO_START'" in bootstrap
    assert "AppStopMethodConsole = [string]$Definition.stop_console_ms" in bootstrap
    assert "-Name AppEnvironmentExtra -PropertyType MultiString" in bootstrap
    assert 'Get-SSMParameter -Name "$SsmPrefix/$name" -WithDecryption $true' in bootstrap
    assert "Start-Transcript -LiteralPath (Join-Path $LogDir 'bootstrap.log')" in bootstrap
    assert "$LogDir = 'C:\\webstack\\web\\logs'" in bootstrap
    installer = "@('/quiet', 'InstallAllUsers=1', 'PrependPath=1', 'Include_test=0'"
    assert installer in bootstrap
    assert "$PythonExe = 'C:\\webstack\\python\\python.exe'" in bootstrap
    assert "'waitress>=3.0.1'" in bootstrap
    assert "-LocalPort @(80) -Action Allow" in bootstrap


def test_sha256_is_checked_for_downloads_that_have_one() -> None:
    sha = "ab" * 32
    spec = make_spec(
        "flask",
        "iis",
        installers={"arr": {"url": "https://example.com/arr.msi", "sha256": sha.upper()}},
    )
    bootstrap = one(
        render_windows_host(plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS),
        "bootstrap.ps1",
    )
    key = f"windows/web/installers/{sha[:32]}/arr.msi"
    assert f"Key = '{key}'; FileName = 'arr.msi'; Sha256 = '{sha}'" in bootstrap
    assert "https://example.com/arr.msi" not in bootstrap, "the VM fetches only from the bucket"
    assert 'throw "SHA-256 of s3://$Bucket/$Key is $actual but the stack expects' in bootstrap
    assert "if (@(3010, 1641) -contains $code) { return $true }" in bootstrap
    # 3010/1641 (installed, restart needed) end the boot with 3010 so EC2Launch reboots and
    # reruns it; 1618 (another installation running) is waited out.
    assert "if ($rebootNeeded) { Exit-ForReboot" in bootstrap
    assert "if ($code -ne 1618) { throw" in bootstrap
    assert "exit 3010" in bootstrap
    assert "'/i', \"`\"$Path`\"\", '/qn', '/norestart'" in bootstrap
    assert bootstrap.index("IIS URL Rewrite Module") < bootstrap.index(
        "Application Request Routing"
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_iis_xml_is_well_formed_with_one_farm_server_per_instance(framework: str) -> None:
    spec = make_spec(framework, "iis", instances=5)
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS
    )
    fragment = ET.fromstring(one(files, "applicationHost-webstack.xml"))
    [farm] = fragment.findall("./webFarms/webFarm")
    assert farm.get("name") == "webstack-web"
    servers = [
        (s.get("address"), arr.get("httpPort"))
        for s in farm.findall("./server")
        if (arr := s.find("applicationRequestRouting")) is not None
    ]
    assert servers == [(f"webstack-web-{n}", str(5000 + n)) for n in range(1, 6)]
    health = farm.find("./applicationRequestRouting/healthCheck")
    assert health is not None and health.get("url") == "http://webstack-web/healthz"
    proxy = fragment.find("./system.webServer/proxy")
    assert proxy is not None and proxy.get("enabled") == "true"
    assert proxy.get("includePortInXForwardedFor") == "false"
    rules = fragment.findall("./system.webServer/rewrite/globalRules/rule")
    assert all(r.get("name", "").startswith("webstack-web:") for r in rules)
    catch_all = rules[-1]
    assert catch_all.find("match").get("url") == "(.*)"  # type: ignore[union-attr]
    action = catch_all.find("action")
    assert action is not None and action.get("type") == "Rewrite"
    assert action.get("url") == "http://webstack-web/{R:1}"
    xff = catch_all.find("./serverVariables/set[@name='HTTP_X_FORWARDED_FOR']")
    assert xff is not None and xff.get("value") == "{REMOTE_ADDR}", "a client's XFF is replaced"
    static = catch_all.find("./conditions/add[@input='{URL}']")
    assert static is not None and static.get("negate") == "true", "static files stay in IIS"
    web_config = ET.fromstring(one(files, "web.config"))
    limits = web_config.find("./system.webServer/security/requestFiltering/requestLimits")
    assert limits is not None and limits.get("maxAllowedContentLength") == str(10 * 1024 * 1024)
    bootstrap = one(files, "bootstrap.ps1")
    for n in range(1, 6):
        assert f"'127.0.0.1 webstack-web-{n}'" in bootstrap, "each farm server has a hosts alias"
    # Both frameworks: the one folder the activation fills from each release (never `current`,
    # which no release writes on a VM: the services run from releases\<id>\code).
    assert "'/path:/static', '/physicalPath:C:\\webstack\\web\\collected-static'" in bootstrap


def test_alb_rule_trusts_only_the_vpc_for_x_forwarded_for() -> None:
    spec = make_spec("flask", "iis")
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), REFS
    )
    fragment = ET.fromstring(one(files, "applicationHost-webstack.xml"))
    [rule] = fragment.findall(".//globalRules/rule[@name='webstack-web:from-alb']")
    remote = rule.find("./conditions/add[@input='{REMOTE_ADDR}']")
    assert remote is not None
    pattern = remote.get("pattern", "")
    assert re.match(pattern, "10.40.7.9") and not re.match(pattern, "10.41.0.1")


@pytest.mark.parametrize("proxy", PROXIES)
def test_user_data_is_small_ec2launch_yaml_that_runs_the_s3_bootstrap(proxy: str) -> None:
    spec = make_spec("django", proxy, instances=16)
    app = spec.apps[0]
    user_data = render_windows_user_data(plan_tier(spec, app), app, vm_windows_layout(), REFS)
    assert len(user_data.encode()) <= USER_DATA_LIMIT
    doc = yaml.safe_load(user_data)
    assert doc["version"] == 1.0
    [task] = doc["tasks"]
    assert task["task"] == "executeScript"
    [script] = task["inputs"]
    assert (script["type"], script["runAs"], script["frequency"]) == (
        "powershell",
        "localSystem",
        "always",
    )
    bootstrap = one(
        render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS), "bootstrap.ps1"
    )
    key = windows_bootstrap_key(app, bootstrap)
    assert re.fullmatch(r"windows/web/bootstrap-[0-9a-f]{16}\.ps1", key)
    assert f"-BucketName '{REFS.bucket}' -Key '{key}'" in script["content"]
    assert hashlib.sha256(bootstrap.encode()).hexdigest() in script["content"]
    assert "-File $Bootstrap" in script["content"]


def test_a_changed_bootstrap_changes_key_and_user_data() -> None:
    a, b = make_spec(threads=8), make_spec(threads=9)
    ua = render_windows_user_data(plan_tier(a, a.apps[0]), a.apps[0], vm_windows_layout(), REFS)
    ub = render_windows_user_data(plan_tier(b, b.apps[0]), b.apps[0], vm_windows_layout(), REFS)
    assert ua != ub, "new services need new instances: the user data must change"


@pytest.mark.parametrize("proxy", PROXIES)
def test_rendering_is_deterministic(proxy: str) -> None:
    spec = make_spec("django", proxy)
    app = spec.apps[0]
    assert render_windows_host(
        plan_tier(spec, app), app, vm_windows_layout(), REFS
    ) == render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS)


def test_local_layout_differs_only_in_paths_and_ports() -> None:
    spec = make_spec("flask", "nginx", instances=3)
    app = spec.apps[0]
    local = render_windows_host(plan_tier(spec, app), app, local_layout(app), REFS)
    services, _ = load_services(one(local, "services.json"))
    assert [s.port for s in services] == [18001, 18002, 18003]
    assert services[0].application == str(Path(sys.prefix) / "bin" / "python")
    vm = load_services(
        one(
            render_windows_host(plan_tier(spec, app), app, vm_windows_layout(), REFS),
            "services.json",
        )
    )[0]
    for lo, re_ in zip(services, vm, strict=True):
        assert [a for a in lo.argv[1:] if "--listen" not in a] == [
            a for a in re_.argv[1:] if "--listen" not in a
        ]


def test_every_proxy_listens_on_http_80_only() -> None:
    """The ALB's target group and security group speak HTTP:80 (caddy.https is refused)."""
    for proxy in ("iis", "nginx", "caddy"):
        assert windows_proxy_ports(make_spec("flask", proxy).apps[0]) == [80]


def test_command_line_round_trip() -> None:
    line = r'-m waitress --trusted-proxy-headers="a b" "C:\Program Files\x" c\"d e\\"f g"'
    assert split_windows_command_line(line) == [
        "-m",
        "waitress",
        "--trusted-proxy-headers=a b",
        r"C:\Program Files\x",
        'c"d',
        "e\\f g",
    ]
