"""Real Nginx + Gunicorn on 127.0.0.1, started from the rendered files by LocalLinuxSite; real
requests through Nginx. Counts of sent/failed requests are printed (run with -s to see them)."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from components.plan.tier import static_root
from components.spec.stack import StackSpec
from components.tooling.local.linux import LocalLinuxSite
from tests.helpers.load import run_load
from tests.helpers.net import connection, fetch, request_on, tls_context
from tests.helpers.procs import alive, descendants
from tests.helpers.specs import linux_spec

pytestmark = pytest.mark.e2e

TRUSTED_PROXY = "127.0.0.2"  # plays the ALB: the only peer allowed to set X-Forwarded-For
CLIENT_IP = "203.0.113.7"
HOSTNAME = "app.example.com"
BODY_LIMIT = "64k"
LOOP = {"rate_limit_rps": 100000, "rate_limit_burst": 100000, "client_max_body_size": BODY_LIMIT}


def make_spec(
    framework: str, edge: str, masters: int, nginx: dict[str, Any], **app: Any
) -> StackSpec:
    # Gunicorn's access log (off by default) proves which requests reached it.
    return linux_spec(
        framework,
        edge,
        masters,
        environment="e2e",
        gunicorn={"access_log": True},
        nginx=nginx,
        **app,
    )


def secret_value() -> str:
    # Quotes, backslash, `$` and backticks: the value must survive the env-file round trip.
    return f'tok"{secrets.token_hex(8)}\\ $HOME `id` end'


def running(spec: StackSpec, **kw: Any) -> Iterator[LocalLinuxSite]:
    workdir = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    try:
        with LocalLinuxSite(spec, workdir=workdir, **kw) as site:
            yield site
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def flask_edge() -> Iterator[LocalLinuxSite]:
    """dev shape: Nginx terminates TLS on the VM; two Gunicorn masters."""
    spec = make_spec("flask", "nginx", 2, LOOP, secrets=["APP_SECRET"])
    yield from running(spec, secrets={"APP_SECRET": secret_value()})


def _django(masters: int) -> Iterator[LocalLinuxSite]:
    spec = make_spec(
        "django", "alb", masters, LOOP, hostnames=[HOSTNAME], secrets=["DJANGO_SECRET_KEY"]
    )
    yield from running(
        spec,
        secrets={"DJANGO_SECRET_KEY": secret_value()},
        trusted_proxy_cidrs=(f"{TRUSTED_PROXY}/32",),
    )


@pytest.fixture(scope="module")
def django_alb1() -> Iterator[LocalLinuxSite]:
    yield from _django(1)


@pytest.fixture(scope="module")
def django_alb2() -> Iterator[LocalLinuxSite]:
    yield from _django(2)


@pytest.fixture(scope="module")
def limited() -> Iterator[LocalLinuxSite]:
    spec = make_spec("flask", "alb", 1, {"rate_limit_rps": 2, "rate_limit_burst": 3})
    yield from running(spec)


ALL = ["flask_edge", "django_alb1", "django_alb2"]


@pytest.fixture(params=ALL)
def site(request: pytest.FixtureRequest) -> LocalLinuxSite:
    return request.getfixturevalue(request.param)


def base(site: LocalLinuxSite) -> tuple[bool, ssl.SSLContext | None]:
    """(https, client TLS context): the nginx edge is reached over TLS, the ALB shape over HTTP."""
    https = site.spec.edge.mode == "nginx"
    return https, tls_context(str(site.tls_cert)) if https else None


def get(site: LocalLinuxSite, path: str, **kw: Any) -> Any:
    https, ctx = base(site)
    return fetch(site.url(path, https=https), context=ctx, **kw)


def gunicorn_logs(site: LocalLinuxSite) -> str:
    return "".join(
        p.read_text(errors="replace") for p in site.log_paths() if p.name.startswith(site.app.name)
    )


# -- basics -------------------------------------------------------------------------------------
def test_root_answers_through_nginx(site: LocalLinuxSite) -> None:
    reply = get(site, "/")
    assert reply.status == 200, reply
    body = reply.json()
    assert body["app"] == site.app.name and body["framework"] == site.app.framework
    assert body["instance"] in {str(m) for m in range(1, site.app.linux.gunicorn.masters + 1)}
    assert body["client_ip"] == "127.0.0.1"
    assert body["scheme"] == ("https" if site.spec.edge.mode == "nginx" else "http")
    assert reply.headers.get("server") == "nginx", "the response must come through Nginx"


def test_static_file_is_served_by_nginx(site: LocalLinuxSite) -> None:
    root = static_root(site.app, site.layout)
    assert root is not None and site.app.static is not None
    on_disk = Path(root) / "hello.txt"
    st = on_disk.stat()
    marker = secrets.token_hex(6)
    reply = get(site, f"{site.app.static.url}hello.txt?probe={marker}")
    assert reply.status == 200
    assert reply.body == on_disk.read_bytes()
    # Nginx's own validators, computed from the file it read: ETag "<mtime hex>-<size hex>".
    assert reply.headers["etag"] == f'"{int(st.st_mtime):x}-{st.st_size:x}"'
    assert reply.headers["last-modified"] == formatdate(int(st.st_mtime), usegmt=True)
    assert "expires" in reply.headers
    # No Gunicorn involvement: the app's access log sees a control request, never the static one.
    control = secrets.token_hex(6)
    assert get(site, f"/?probe={control}").status == 200
    deadline = time.monotonic() + 3
    while control not in gunicorn_logs(site) and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = gunicorn_logs(site)
    assert control in logs, "gunicorn access log not captured; cannot prove the negative"
    assert marker not in logs, "a static request reached Gunicorn"
    if site.app.framework == "django":
        status, _, _ = site.direct_request(1, f"{site.app.static.url}hello.txt")
        assert status == 404, "Django itself must not serve static files (Nginx does)"


def test_spoofed_forwarded_for_does_not_reach_app(site: LocalLinuxSite) -> None:
    reply = get(site, "/", headers={"X-Forwarded-For": CLIENT_IP, "X-Real-IP": CLIENT_IP})
    assert reply.status == 200
    assert reply.json()["client_ip"] == "127.0.0.1"


@pytest.mark.parametrize("name", ["django_alb1", "django_alb2"])
def test_trusted_proxy_passes_real_client_ip(name: str, request: pytest.FixtureRequest) -> None:
    site: LocalLinuxSite = request.getfixturevalue(name)
    url = site.url("/")
    via_proxy = fetch(url, headers={"X-Forwarded-For": CLIENT_IP}, source=TRUSTED_PROXY)
    assert via_proxy.json()["client_ip"] == CLIENT_IP
    # A client-supplied entry left of the proxy's own is not believed.
    chained = fetch(
        url, headers={"X-Forwarded-For": f"198.51.100.1, {CLIENT_IP}"}, source=TRUSTED_PROXY
    )
    assert chained.json()["client_ip"] == CLIENT_IP
    direct = fetch(url, headers={"X-Forwarded-For": CLIENT_IP}, source="127.0.0.1")
    assert direct.json()["client_ip"] == "127.0.0.1"


def test_forwarded_proto_only_from_the_trusted_proxy(django_alb1: LocalLinuxSite) -> None:
    url = django_alb1.url("/")
    spoofed = fetch(url, headers={"X-Forwarded-Proto": "https"}, source="127.0.0.1")
    assert spoofed.json()["scheme"] == "http", "an untrusted client must not claim HTTPS"
    via_alb = fetch(url, headers={"X-Forwarded-Proto": "https"}, source=TRUSTED_PROXY)
    assert via_alb.json()["scheme"] == "https", "the ALB's X-Forwarded-Proto must reach the app"
    junk = fetch(url, headers={"X-Forwarded-Proto": "javascript"}, source=TRUSTED_PROXY)
    assert junk.json()["scheme"] == "http"


# -- reloads and restarts under load ------------------------------------------------------------
def _workers(site: LocalLinuxSite, n: int) -> set[int]:
    master = site.master_pid(n)
    return descendants(master) - {master}


def test_hup_during_load_loses_no_request(site: LocalLinuxSite) -> None:
    """HUP (the unit's ExecReload) twice during a loop: old workers finish, new ones take over."""
    https, ctx = base(site)
    masters = site.app.linux.gunicorn.masters
    master = site.master_pid(1)
    before = _workers(site, 1)
    others = set().union(*(_workers(site, m) for m in range(2, masters + 1)))
    result = run_load(
        site.url("/", https=https),
        400,
        threads=4,
        context=ctx,
        actions={100: lambda: site.reload_master(1), 250: lambda: site.reload_master(1)},
    )
    served = {b["pid"] for b in result.bodies}
    new = served - before - others
    print(
        "\n" + result.summary(f"HUP x2 {site.app.name} masters={masters}"), f"new pids={len(new)}"
    )
    assert result.sent == 400
    assert result.marks[-1] < result.sent, "the loop must outlast the reloads"
    assert result.failed == 0, result.summary("HUP")
    assert site.master_pid(1) == master, "HUP must keep the master"
    assert served & before and new, "the loop must be served by old and by reloaded workers"
    deadline = time.monotonic() + 10
    while (_workers(site, 1) & before or not _workers(site, 1)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers(site, 1).isdisjoint(before), "HUP did not replace the workers"
    assert get(site, "/").status == 200


@pytest.mark.parametrize("name", ["flask_edge", "django_alb2"])
def test_restart_one_master_during_load_loses_no_request(
    name: str, request: pytest.FixtureRequest
) -> None:
    site: LocalLinuxSite = request.getfixturevalue(name)
    https, ctx = base(site)
    old = site.master_pid(1)
    # A graceful stop takes Gunicorn a few seconds; the loop is paced to outlast it.
    result = run_load(
        site.url("/slow?seconds=0.06", https=https),
        400,
        threads=3,
        context=ctx,
        actions={20: lambda: site.restart_master(1)},
    )
    print("\n" + result.summary(f"restart master 1 of 2 ({name})"))
    assert result.sent == 400
    assert result.marks[0] < result.sent, "the loop must outlast the restart"
    assert result.failed == 0, result.summary("restart")
    assert site.master_pid(1) != old, "master 1 was not restarted"
    served_by = {get(site, "/").json()["instance"] for _ in range(20)}
    assert served_by == {"1", "2"}, "after the restart both masters serve again"


# -- limits -------------------------------------------------------------------------------------
def test_burst_over_rate_limit_gets_429(limited: LocalLinuxSite) -> None:
    nginx = limited.app.linux.nginx
    url = limited.url("/")
    conn = connection(url)
    statuses: list[int] = []
    start = time.monotonic()
    try:
        for _ in range(30):
            statuses.append(request_on(conn, url).status)
    finally:
        conn.close()
    elapsed = time.monotonic() - start
    ok, limited_count = statuses.count(200), statuses.count(429)
    print(
        f"\nrate limit {nginx.rate_limit_rps}r/s burst {nginx.rate_limit_burst}: "
        f"sent={len(statuses)} ok={ok} 429={limited_count} in {elapsed:.2f}s"
    )
    assert ok + limited_count == len(statuses), statuses
    allowed = 1 + nginx.rate_limit_burst + math.ceil(nginx.rate_limit_rps * elapsed)
    assert 1 <= ok <= allowed
    assert limited_count >= len(statuses) - allowed and limited_count > 0
    time.sleep(1.5 / nginx.rate_limit_rps)
    assert fetch(url).status == 200, "the limit must recover at the configured rate"


def _size(value: str) -> int:
    mult = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * mult[value[-1].lower()] if value[-1].isalpha() else int(value)


def test_oversized_body_gets_413(site: LocalLinuxSite) -> None:
    limit = _size(site.app.linux.nginx.client_max_body_size)
    at_limit = get(site, "/echo", method="POST", body=b"x" * limit)
    assert at_limit.status == 200 and at_limit.json()["bytes"] == limit
    over = get(site, "/echo", method="POST", body=b"x" * (limit + 1))
    assert over.status == 413


# -- hosts, TLS, secrets ------------------------------------------------------------------------
def test_health_answers_any_host(site: LocalLinuxSite) -> None:
    for host in ("evil.example", "127.0.0.1", HOSTNAME):
        reply = get(site, site.app.health_path, headers={"Host": host})
        assert reply.status == 200, f"health with Host {host}: {reply.status}"
    if site.spec.edge.mode == "nginx":  # the plain-HTTP listener answers health checks too
        assert fetch(site.url(site.app.health_path), headers={"Host": "evil.example"}).status == 200


def test_django_rejects_unknown_host(django_alb1: LocalLinuxSite) -> None:
    assert get(django_alb1, "/", headers={"Host": "evil.example"}).status == 400
    assert get(django_alb1, "/", headers={"Host": HOSTNAME}).status == 200


@pytest.mark.parametrize(
    "version, accepted",
    [
        (ssl.TLSVersion.TLSv1_3, True),
        (ssl.TLSVersion.TLSv1_2, True),
        (ssl.TLSVersion.TLSv1_1, False),
        (ssl.TLSVersion.TLSv1, False),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_tls_versions(flask_edge: LocalLinuxSite, version: ssl.TLSVersion, accepted: bool) -> None:
    ctx = tls_context(str(flask_edge.tls_cert), version)
    url = flask_edge.url("/", https=True)
    if accepted:
        reply = fetch(url, context=ctx)
        assert reply.status == 200
        assert reply.tls_version == version.name.replace("_", ".")
        hsts = reply.headers.get("strict-transport-security", "")
        assert (m := re.search(r"max-age=(\d+)", hsts)) and int(m.group(1)) >= 365 * 86400, hsts
    else:
        with pytest.raises(ssl.SSLError) as err:
            fetch(url, context=ctx)
        # The client offered the version; the server answered with a protocol_version alert.
        assert err.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION", err.value


def test_http_redirects_to_https(flask_edge: LocalLinuxSite) -> None:
    reply = fetch(flask_edge.url("/some/path?q=1"))
    assert reply.status == 301
    assert reply.headers["location"] == f"https://127.0.0.1:{flask_edge.https_port}/some/path?q=1"


@pytest.mark.parametrize("name", ["flask_edge", "django_alb1"])
def test_secret_reaches_app(name: str, request: pytest.FixtureRequest) -> None:
    site: LocalLinuxSite = request.getfixturevalue(name)
    (secret,) = site.app.secrets
    reply = get(site, f"/secret-check?name={secret}").json()
    assert reply["present"] is True
    assert reply["sha256"] == hashlib.sha256(site.secrets[secret].encode()).hexdigest()
    path = Path(site.layout.secrets_file(site.app.name))
    assert path.stat().st_mode & 0o777 == 0o600
    assert site.secrets[secret] not in Path(site.layout.env_file(site.app.name)).read_text()


def test_stop_leaves_no_process() -> None:
    spec = make_spec("flask", "alb", 2, {})
    workdir = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    site = LocalLinuxSite(spec, workdir=workdir)
    try:
        site.start()
        roots = [site.master_pid(1), site.master_pid(2), site.nginx_pid]
        pids = set().union(*(descendants(p) for p in roots if p))
        assert len(pids) > 3, "expected masters, workers and nginx"
    finally:
        site.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert not alive(pids), f"left running: {alive(pids)}"


def test_access_log_lines_are_json_with_the_real_client_and_timing(
    django_alb1: LocalLinuxSite,
) -> None:
    """Issue 15: the access log the agent ships answers "which clients got 5xx, and how slow"."""
    import json

    marker = f"/no-such-page-{secrets.token_hex(4)}"
    fetch(django_alb1.url(marker), headers={"X-Forwarded-For": CLIENT_IP}, source=TRUSTED_PROXY)
    log = Path(django_alb1.layout.nginx_log_dir) / "access.log"
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        entries = [e for e in lines if e["uri"] == marker]
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (entry,) = entries
    assert entry["client"] == CLIENT_IP, "the real client IP, not the proxy's"
    assert entry["peer"] == TRUSTED_PROXY
    assert isinstance(entry["status"], int) and entry["status"] == 404
    assert isinstance(entry["request_time"], float | int) and entry["request_time"] >= 0
