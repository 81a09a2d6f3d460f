"""The Windows proxies against what IIS/ARR, Nginx, Caddy and Waitress on Windows really do:
a limit a proxy cannot honour is refused (never dropped), ARR gets an algorithm ARR supports,
Waitress stays under Windows select()'s socket bound, and the rendered IIS rules trust exactly the
ALB subnets (the Linux tier's trusted peer) with the same forwarded-scheme gate."""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from components.plan.images import image_reference
from components.plan.linux_layout import HostLayout
from components.plan.tier import plan_tier, trusted_proxies
from components.plan.windows_layout import vm_windows_layout
from components.render.windows import render_windows_host, waitress_arguments
from components.render.windows_release import render_windows_app_env
from components.spec import windows as windows_spec
from components.spec.common import NginxSpec
from components.spec.errors import SpecError
from components.spec.stack import StackSpec
from components.spec.windows import WAITRESS_CONNECTION_LIMIT_MAX, WINDOWS_IMAGES
from components.tooling.local.windows import OFFLINE_REFS
from tests.helpers import specs as catalogue
from tests.helpers.windows_truth import (
    ARR_ALGORITHMS,
    WINDOWS_FD_SETSIZE,
    ships_ec2launch_v2,
    waitress_select_sockets,
)

PROXIES = ("iis", "nginx", "caddy")
# A value other than the default for each limit (a field added later gets one derived below).
CHANGED = {
    "client_max_body_size": "20m",
    "rate_limit_rps": 7,
    "rate_limit_burst": 3,
    "allow_cidrs": ["10.9.0.0/16"],
    "deny_cidrs": ["192.0.2.0/24"],
    "gzip": False,
}


def spec_of(proxy: str, **windows: Any) -> StackSpec:
    return catalogue.windows_spec("flask", proxy, **{"instances": 3, **windows})


def rendered(spec: StackSpec) -> str:
    files = render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), OFFLINE_REFS
    )
    return "\n".join(c for p, c in sorted(files.items()) if not p.endswith("bootstrap.ps1"))


def changed_value(name: str) -> Any:
    if name in CHANGED:
        return CHANGED[name]
    default = NginxSpec.model_fields[name].default
    assert isinstance(default, int) and not isinstance(default, bool), name
    return default + 1


def honoured_or_refused(proxy: str, name: str, value: Any) -> str:
    try:
        spec = spec_of(proxy, limits={name: value})
    except SpecError as e:
        [line] = e.problems
        assert line.startswith("apps.web.windows.limits: ") and f"limits.{name}" in line, line
        return "refused"
    return "honoured" if rendered(spec) != rendered(spec_of(proxy)) else "dropped"


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("name", sorted(NginxSpec.model_fields))
def test_every_limit_is_honoured_or_refused(proxy: str, name: str) -> None:
    """A limit that leaves the rendered config unchanged and passes `webstack check` is a hole
    (an IIS site with an allow-list open to everyone)."""
    assert honoured_or_refused(proxy, name, changed_value(name)) != "dropped"


def test_the_limit_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without its refusal, IIS renders an allow-list stack open to everyone: seen as dropped."""
    assert honoured_or_refused("iis", "allow_cidrs", ["10.9.0.0/16"]) == "refused"
    monkeypatch.setitem(windows_spec.UNSUPPORTED_LIMITS, "iis", ())
    assert honoured_or_refused("iis", "allow_cidrs", ["10.9.0.0/16"]) == "dropped"


@pytest.mark.parametrize("balance", ["least_conn", "round_robin"])
def test_arr_gets_an_algorithm_arr_supports(balance: str) -> None:
    assert iis_algorithm(spec_of("iis", balance=balance)) in ARR_ALGORITHMS


def iis_algorithm(spec: StackSpec) -> str:
    farm = iis_fragment(spec).find("./webFarms/webFarm/applicationRequestRouting/loadBalancing")
    assert farm is not None
    return farm.attrib["algorithm"]


def test_the_arr_algorithm_check_can_fail() -> None:
    assert "LeastConnections" not in ARR_ALGORITHMS and "least_conn" not in ARR_ALGORITHMS


def test_waitress_stays_under_windows_select_bound() -> None:
    spec = spec_of("nginx")
    args = waitress_arguments(plan_tier(spec, spec.apps[0]), spec.apps[0], 5001)
    [limit] = [int(a.split("=", 1)[1]) for a in args if a.startswith("--connection-limit=")]
    assert waitress_select_sockets(limit) <= WINDOWS_FD_SETSIZE
    assert waitress_select_sockets(WAITRESS_CONNECTION_LIMIT_MAX) <= WINDOWS_FD_SETSIZE
    with pytest.raises(SpecError):
        spec_of("nginx", connection_limit=WAITRESS_CONNECTION_LIMIT_MAX + 1)


def test_the_select_bound_check_can_fail() -> None:
    assert waitress_select_sockets(1000) > WINDOWS_FD_SETSIZE  # the old default


# -- IIS: the rendered applicationHost fragment and web.config, parsed ---------------------------
def iis_files(spec: StackSpec) -> dict[str, str]:
    return render_windows_host(
        plan_tier(spec, spec.apps[0]), spec.apps[0], vm_windows_layout(), OFFLINE_REFS
    )


def iis_fragment(spec: StackSpec) -> ET.Element:
    [text] = [c for p, c in iis_files(spec).items() if p.endswith("applicationHost-webstack.xml")]
    return ET.fromstring(text)


def rules(spec: StackSpec) -> dict[str, ET.Element]:
    found = iis_fragment(spec).findall("./system.webServer/rewrite/globalRules/rule")
    return {r.attrib["name"].split(":", 1)[1]: r for r in found}


def ecma(pattern: str, value: str, ignore_case: bool = True) -> re.Match[str] | None:
    """URL Rewrite's ECMAScript patterns here use only what Python's re reads the same way."""
    return re.search(pattern, value, 0 if not ignore_case else re.IGNORECASE)


def test_iis_trusts_exactly_the_alb_subnets_like_linux() -> None:
    spec = spec_of("iis")
    alb = trusted_proxies(plan_tier(spec, spec.apps[0]), HostLayout())
    assert alb and all(ipaddress.ip_network(c).prefixlen > 16 for c in alb)
    [remote] = [
        c for c in rules(spec)["from-alb"].iter("add") if c.attrib["input"] == "{REMOTE_ADDR}"
    ]
    for cidr in alb:
        net = ipaddress.ip_network(cidr)
        for host in (net.network_address + 1, net.broadcast_address - 1):
            assert ecma(remote.attrib["pattern"], str(host)), (cidr, host)
    vpc = ipaddress.ip_network(spec.network.vpc_cidr)
    outside = [h for h in (vpc.broadcast_address - 5, ipaddress.ip_address("203.0.113.9"))]
    for host in outside:
        assert not any(host in ipaddress.ip_network(c) for c in alb)
        assert not ecma(remote.attrib["pattern"], str(host)), host


def test_iis_forwarded_scheme_gate() -> None:
    spec = spec_of("iis")
    from_alb = rules(spec)["from-alb"]
    [fwd] = [c for c in from_alb.iter("add") if "HTTP_X_FORWARDED_PROTO" in c.attrib["input"]]
    assert fwd.attrib["input"] == "{HTTP_X_FORWARDED_PROTO}|{HTTP_X_FORWARDED_FOR}"
    # URL Rewrite conditions ignore case unless told not to: "HTTPS" must not pass.
    assert fwd.attrib.get("ignoreCase") == "false"
    pattern = fwd.attrib["pattern"]
    m = ecma(pattern, "https|198.51.100.7, 10.0.0.5", ignore_case=False)
    assert m and m.group(1) == "https" and m.group(2) == "10.0.0.5"
    for bad in ("HTTPS|1.2.3.4", "ftp|1.2.3.4", "https, http|1.2.3.4", "|1.2.3.4"):
        assert not ecma(pattern, bad, ignore_case=False), bad
    sets = {s.attrib["name"]: s.attrib["value"] for s in from_alb.iter("set")}
    assert sets == {"HTTP_X_FORWARDED_PROTO": "{C:1}", "HTTP_X_FORWARDED_FOR": "{C:2}"}
    # Every other request: the connection's own scheme and peer, whatever it sent.
    for name in ("proxy", "health"):
        sets = {s.attrib["name"]: s.attrib["value"] for s in rules(spec)[name].iter("set")}
        assert sets["HTTP_X_FORWARDED_PROTO"] == "http"
        assert sets["HTTP_X_FORWARDED_FOR"] == "{REMOTE_ADDR}"


def test_iis_request_filtering_matches_nginx() -> None:
    """IIS Settings Schema (Microsoft Learn): requestFiltering allowDoubleEscaping defaults to
    false (a `+` in a path is 404.11), requestLimits maxUrl 4096 and maxQueryString 2048; Nginx
    takes a request line up to its 8k large_client_header_buffers."""
    [web] = [c for p, c in iis_files(spec_of("iis")).items() if p.endswith("web.config")]
    rf = ET.fromstring(web).find("./system.webServer/security/requestFiltering")
    assert rf is not None and rf.attrib["allowDoubleEscaping"] == "true"  # `+` -> not 404.11
    limits = rf.find("requestLimits")
    assert limits is not None
    assert int(limits.attrib["maxUrl"]) >= 8192  # IIS default 4096 (404.14)
    assert int(limits.attrib["maxQueryString"]) >= 8192  # IIS default 2048 (404.15)
    assert int(limits.attrib["maxAllowedContentLength"]) == 10 * 1024 * 1024


def test_arr_health_probe_host_is_one_the_app_accepts() -> None:
    """ARR's healthCheck sends each farm server's address (a hosts-file alias) as Host."""
    spec = spec_of("iis")
    servers = iis_fragment(spec).findall("./webFarms/webFarm/server")
    # The app's env is the release's config object (what webstack-release.ps1 gives each service).
    app = spec.apps[0]
    config = render_windows_app_env(plan_tier(spec, app), app, vm_windows_layout())
    [line] = [x for x in config.splitlines() if x.startswith("WEBSTACK_ALLOWED_HOSTS=")]
    allowed = line.split("=", 1)[1].split(",")
    assert servers
    for server in servers:
        assert server.attrib["address"] in allowed


# -- images --------------------------------------------------------------------------------------
@pytest.mark.parametrize("image", WINDOWS_IMAGES)
def test_every_named_windows_image_runs_ec2launch_v2_user_data(image: str) -> None:
    reference = image_reference(image, "t3.medium")
    assert reference.startswith("resolve:ssm:/aws/service/ami-windows-latest/")
    assert ships_ec2launch_v2(reference.rsplit("/", 1)[1]), reference


def test_the_image_check_can_fail() -> None:
    assert not ships_ec2launch_v2("Windows_Server-2019-English-Full-Base")
