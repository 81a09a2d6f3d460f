"""sslyze (PyPI, the scanner the issue used) against the rendered Nginx edge of the dev stack on
127.0.0.1: Mozilla "intermediate" compliant (sslyze's own checker and its bundled Mozilla profile)
with one expected deviation, the trust of the self-signed dev certificate. Any other deviation
fails the test: a curve, protocol or cipher too many, a vulnerability, a missing HSTS header.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from components.tooling.config import spec_from_stack_file
from tests.helpers.nginx_only import nginx_only
from tests.helpers.tools import require_tool

try:
    import sslyze
except ImportError:  # a missing tool fails, never skips
    pytest.fail("sslyze is required (a dev dependency): make setup", pytrace=False)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)

ROOT = Path(__file__).resolve().parents[2]
# A self-signed certificate has no path to a trusted root: the only deviation a dev stack may show.
EXPECTED = {"certificate_path_validation"}


def _self_signed() -> tuple[str, str]:
    """Like the dev stack's: EC P-256, self-signed, short-lived (Mozilla: at most 90 days)."""
    openssl = require_tool("openssl")
    d = Path(tempfile.mkdtemp(prefix="ws-sslyze-"))
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(d / "k"), "-out", str(d / "c")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (d / "c").read_text(), (d / "k").read_text()


def _scan(port: int) -> sslyze.ServerScanResult:
    location = sslyze.ServerNetworkLocation(hostname="localhost", port=port, ip_address="127.0.0.1")
    request = sslyze.ServerScanRequest(
        server_location=location,
        scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER | {sslyze.ScanCommand.HTTP_HEADERS},
    )
    scanner = sslyze.Scanner()
    scanner.queue_scans([request])
    (result,) = list(scanner.get_results())
    assert result.scan_status == sslyze.ServerScanStatusEnum.COMPLETED, (
        result.connectivity_error_trace
    )
    return result


def _deviations(result: sslyze.ServerScanResult) -> dict[str, str]:
    profile = MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
    try:
        check_server_against_tls_configuration(result, profile)
    except ServerNotCompliantWithTlsConfiguration as e:
        issues = dict(e.issues)
    else:
        issues = {}
    # sslyze leaves its HSTS check off (few sites send 2 years); the profile asks for it: check it.
    headers = result.scan_result.http_headers.result
    hsts = headers.strict_transport_security_header if headers else None
    if hsts is None or (hsts.max_age or 0) < profile.hsts_min_age:
        issues["hsts_min_age"] = f"HSTS {hsts} is below max-age={profile.hsts_min_age}"
    return issues


def test_dev_edge_is_mozilla_intermediate() -> None:
    spec, _ = spec_from_stack_file(ROOT / "Pulumi.dev.yaml")
    assert spec.edge.mode == "nginx", "the dev stack is the Nginx edge"
    with nginx_only(spec, spec.apps[0], _self_signed()) as site:
        issues = _deviations(_scan(site.layout.https_port))
    assert set(issues) == EXPECTED, f"deviations from Mozilla intermediate: {issues}"


def test_the_check_can_fail_on_the_old_curves(tmp_path: Path) -> None:
    """The curves of issue 12 (X448, secp521r1 on top) are caught: the test is not blind."""
    spec, _ = spec_from_stack_file(ROOT / "Pulumi.dev.yaml")
    with nginx_only(spec, spec.apps[0], _self_signed()) as site:
        conf = Path(site.layout.staged_nginx_conf())
        text = conf.read_text()
        assert "ssl_ecdh_curve X25519:prime256v1:secp384r1;" in text
        conf.write_text(
            text.replace("X25519:prime256v1:secp384r1", "X25519:prime256v1:X448:secp521r1")
        )
        nginx = require_tool("nginx")
        subprocess.run([nginx, "-c", str(conf), "-s", "reload"], check=True, capture_output=True)
        time.sleep(1.0)  # new workers take over
        issues = _deviations(_scan(site.layout.https_port))
    assert "tls_curves" in issues, issues
