"""Issue 17 end to end on 127.0.0.1: the rendered Linux bootstrap's own RDS CA step (its bytes,
cut out of the rendered bootstrap) fetches the bundle from a local HTTPS server that answers for
truststore.pki.rds.amazonaws.com (curl's --connect-to from a throwaway curlrc; the server's
certificate comes from a throwaway CA trusted through CURL_CA_BUNDLE), then a real PostgreSQL
accepts a verify-full connection checked against that bundle and refuses one made under a host
name its certificate does not carry. The step also refuses an untrusted server, a 404 and a
download that is not a PEM certificate bundle, and leaves no bundle behind."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from components.plan.linux_layout import local_layout
from components.plan.rds_ca import linux_bundle_path, rds_ca_bundle_url
from components.plan.tier import plan_tier
from components.render.common import CloudRefs
from components.render.linux import render_linux_host
from components.tooling.local.postgres import LocalPostgres, postgres_bin_dir
from components.tooling.local.procs import free_port
from tests.helpers.specs import linux_spec
from tests.helpers.tools import require_tool

pytestmark = pytest.mark.e2e
REGION = "eu-west-1"
URL = rds_ca_bundle_url(REGION)


@dataclass
class Truststore:
    """A local stand-in for AWS's truststore: path -> (status, body) it answers with."""

    port: int
    ca: Path
    answers: dict[str, tuple[int, bytes]]


@pytest.fixture(scope="module")
def pg() -> Iterator[LocalPostgres]:
    postgres_bin_dir()  # a clear SiteError naming the package when PostgreSQL is missing
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def truststore() -> Iterator[Truststore]:
    work = Path(tempfile.mkdtemp(prefix="ws-ts-"))
    host = urlsplit(URL).hostname
    assert host == "truststore.pki.rds.amazonaws.com"
    ca, cert, key = _throwaway_ca_and_server(work, host)
    answers: dict[str, tuple[int, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers.get(self.path, (404, b"not found\n"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Truststore(server.server_address[1], ca, answers)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)


def test_the_fetched_bundle_lets_verify_full_in_and_a_wrong_host_name_out(
    pg: LocalPostgres, truststore: Truststore, tmp_path: Path
) -> None:
    truststore.answers[urlsplit(URL).path] = (200, pg.root_cert.read_bytes())
    run, bundle = _run_step(tmp_path, truststore)
    assert run.returncode == 0, run.stdout + run.stderr
    assert bundle.read_bytes() == pg.root_cert.read_bytes()
    assert bundle.stat().st_mode & 0o777 == 0o644, "world-readable public data"
    assert not bundle.with_name(bundle.name + ".part").exists()
    ok = _psql(pg, "127.0.0.1", bundle)
    assert ok.returncode == 0 and ok.stdout.strip() == "t", ok.stderr  # pg_stat_ssl.ssl
    wrong = _psql(pg, "localhost", bundle)  # the certificate names IP:127.0.0.1 only
    assert wrong.returncode != 0
    assert 'does not match host name "localhost"' in wrong.stderr, wrong.stderr


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((200, b"<html>captive portal</html>\n"), "is not a PEM certificate bundle"),
        (
            (200, b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"),
            "is not a PEM certificate bundle",
        ),
        ((404, b"gone\n"), "bootstrap FAILED at line"),
    ],
    ids=["html", "pem-block-not-a-certificate", "404"],
)
def test_a_bad_download_stops_the_boot_and_leaves_no_bundle(
    truststore: Truststore, tmp_path: Path, answer: tuple[int, bytes], why: str
) -> None:
    truststore.answers[urlsplit(URL).path] = answer
    run, bundle = _run_step(tmp_path, truststore)
    assert run.returncode != 0 and why in run.stderr, run.stdout + run.stderr
    assert not bundle.exists()


def test_an_untrusted_truststore_certificate_stops_the_boot(
    pg: LocalPostgres, truststore: Truststore, tmp_path: Path
) -> None:
    """Without the throwaway CA the server's certificate is not trusted: curl refuses it."""
    truststore.answers[urlsplit(URL).path] = (200, pg.root_cert.read_bytes())
    run, bundle = _run_step(tmp_path, truststore, trust_ca=False)
    assert run.returncode != 0 and "bootstrap FAILED at line" in run.stderr, run.stderr
    assert "certificate" in run.stderr.lower() and not bundle.exists()


# -- helpers -------------------------------------------------------------------------------------
def _step_script(tmp_path: Path) -> tuple[str, Path]:
    """The rendered bootstrap's shell settings, ERR trap and step(), then its RDS CA step: the
    same bytes, cut out, run against a layout under tmp_path."""
    spec = linux_spec("django", "alb", 1, database={})
    app = spec.apps[0]
    layout = local_layout(tmp_path / "host", 18080, 18443)
    refs = CloudRefs(region=REGION, bucket="b", package_key="k", ssm_prefix="/ws/e2e/a")
    files = render_linux_host(plan_tier(spec, app), app, layout, refs)
    lines = next(c for p, c in files.items() if "/bootstrap-" in p).splitlines()
    head = [ln for ln in lines if ln.startswith(("set -euo", "umask ", "trap ", "step() "))]
    start = lines.index('step "RDS CA bundle"')
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("step "))
    assert len(head) == 4 and any(URL in ln for ln in lines[start:end])
    return "\n".join(["#!/bin/bash", *head, *lines[start:end]]) + "\n", Path(
        linux_bundle_path(layout)
    )


def _run_step(
    tmp_path: Path, ts: Truststore, trust_ca: bool = True
) -> tuple[subprocess.CompletedProcess[str], Path]:
    bash = require_tool("bash")
    require_tool("curl")
    script, bundle = _step_script(tmp_path)
    (tmp_path / "step.sh").write_text(script)
    host = urlsplit(URL).hostname
    (tmp_path / ".curlrc").write_text(f'connect-to = "{host}:443:127.0.0.1:{ts.port}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURL_", "SSL_CERT"))}
    env["CURL_HOME"] = str(tmp_path)
    if trust_ca:
        env["CURL_CA_BUNDLE"] = str(ts.ca)
    run = subprocess.run(
        [bash, str(tmp_path / "step.sh")], capture_output=True, text=True, env=env, timeout=120
    )
    return run, bundle


def _psql(pg: LocalPostgres, host: str, bundle: Path) -> subprocess.CompletedProcess[str]:
    dsn = (
        f"host={host} port={pg.port} dbname={pg.db_name} user={pg.user} "
        f"sslmode=verify-full sslrootcert={bundle}"
    )
    query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    env = {**os.environ, "PGPASSWORD": pg.password, "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [str(postgres_bin_dir() / "psql"), "-XAtq", dsn, "-c", query],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _throwaway_ca_and_server(work: Path, host: str) -> tuple[Path, Path, Path]:
    openssl = require_tool("openssl")
    ca, ca_key = work / "ca.crt", work / "ca.key"
    cert, key, csr = work / "server.crt", work / "server.key", work / "server.csr"
    ext = work / "ext"
    ext.write_text(f"subjectAltName=DNS:{host}\n")
    for args in (
        f"req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ws-test-CA -keyout {ca_key} -out {ca}",
        f"req -newkey rsa:2048 -nodes -subj /CN={host} -keyout {key} -out {csr}",
        f"x509 -req -in {csr} -CA {ca} -CAkey {ca_key} -CAcreateserial -days 1 -extfile {ext} "
        f"-out {cert}",
    ):
        res = subprocess.run([openssl, *args.split()], capture_output=True, text=True)
        assert res.returncode == 0, f"openssl {args}: {res.stderr}"
    return ca, cert, key
