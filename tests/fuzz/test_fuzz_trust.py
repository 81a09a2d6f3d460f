"""Property: for any valid configuration, the rendered Linux Nginx (running on 127.0.0.1) serves
no file outside the app's own folders, whatever traversal a client tries (`/static/../`, %-encoded,
double-encoded, backslashes, the `alias` off-by-slash), and a denied client reaches no location.

Nginx runs the exact rendered nginx.conf in front of a stub on the Gunicorn socket
(tests/helpers/nginx_only.py), with a secret marker in every rendered file (app.env, the Gunicorn
config, the TLS key...), the app code and files beside it. Bounded to 12 examples (each starts
Nginx and sends ~60 requests: a few seconds in all); `WEBSTACK_FUZZ_EXAMPLES` scales it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from components.plan.checks import parse_stack_spec
from components.spec.sources import StaticFiles
from tests.helpers.net import Reply, fetch
from tests.helpers.nginx_only import NginxOnly, nginx_only
from tests.helpers.tools import require_tool

SCALE = int(os.environ.get("WEBSTACK_FUZZ_EXAMPLES", "1"))
PROBE = settings(
    max_examples=12 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing config is printed whole
)
ALB = "127.0.0.2"  # plays the ALB node (trusted proxy) in alb stacks
DENIED = "127.0.0.3"  # the client every drawn access list refuses
# Access lists that all refuse DENIED: a deny entry, or an allow list without it.
DENYING = st.sampled_from(
    [
        {"deny_cidrs": [f"{DENIED}/32"]},
        {"deny_cidrs": ["127.0.0.2/31"]},
        {"allow_cidrs": ["127.0.0.1/32"]},
        {"allow_cidrs": ["10.0.0.0/8", "127.0.0.1/32"], "deny_cidrs": ["10.9.0.0/16"]},
        {"allow_cidrs": ["127.0.0.0/8"], "deny_cidrs": ["127.0.0.2/31"]},
    ]
)
SEGMENT = st.from_regex(r"[a-z][a-z0-9_-]{0,7}", fullmatch=True)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    edge = draw(st.sampled_from(["alb", "nginx"]))
    url = "/" + "/".join(draw(st.lists(SEGMENT, min_size=1, max_size=2))) + "/"
    folder = "/".join(draw(st.lists(SEGMENT, min_size=1, max_size=3)))
    health = draw(st.sampled_from(["/healthz", "/-/ready", "/health/live"]))
    app: dict[str, Any] = {
        "name": "site",
        "framework": draw(st.sampled_from(["flask", "django"])),
        "wsgi": "app:app",
        "health_path": health,
        "static": {"url": url, "folder": folder},
        "linux": {
            "gunicorn": {"masters": draw(st.sampled_from([1, 2])), "workers": 1},
            "nginx": {"rate_limit_rps": 10000, "rate_limit_burst": 10000, **draw(DENYING)},
        },
    }
    if app["framework"] == "django":
        app["wsgi"] = "proj.wsgi:application"
    return {"environment": "fuzz", "edge": {"mode": edge}, "apps": [app]}


@pytest.fixture(scope="module")
def tls_pair() -> tuple[str, str]:
    openssl = require_tool("openssl")
    d = Path(tempfile.mkdtemp(prefix="ws-trust-tls-"))
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(d / "k"),
         "-out", str(d / "c")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (d / "c").read_text(), (d / "k").read_text()


def traversals(site: NginxOnly) -> list[str]:
    """Requests that try to leave the static folder (and the site) every way we know."""
    assert site.app.static is not None
    u = site.app.static.url
    names = ["app.py", "app.env", "sibling.txt", "outside.txt", "etc/site/app.env",
             "current/app.py", "etc/passwd"]  # fmt: skip
    dots = ["../", "%2e%2e/", "%2E%2E%2F", "..%2f", "%252e%252e/", "..%252f", "..\\", "%5c..%5c",
            ".%2e/", "....//", "./../", "hello.txt/../../", "%c0%ae%c0%ae/"]  # fmt: skip
    out = [u + n for n in names]
    for dot in dots:
        for depth in (1, 2, 3, 5):
            for name in names:
                out.append(u + dot * depth + name)
    out += [u[:-1] + "../" + n for n in names]  # the `location /static` + alias off-by-slash
    out += [u[:-1] + "..%2f" + n for n in names]
    out += ["/../../../../etc/passwd", "//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", u + "/../"]
    return out


def get(site: NginxOnly, path: str, source: str | None = None) -> Reply:
    return fetch(site.url(path), source=source, timeout=10)


def leaks(site: NginxOnly) -> list[str]:
    """Every traversal answered with a planted file, or with any file Nginx itself served other
    than the one static file."""
    found = []
    for path in traversals(site):
        reply = get(site, path)
        body = reply.body.decode(errors="replace")
        hits = [f for f, token in site.markers.items() if token in body]
        if hits:
            found.append(f"{path} -> {reply.status} {hits}")
        elif reply.status == 200 and not (
            body.startswith("app:") or reply.body == b"hello static\n"
        ):
            found.append(f"{path} -> 200 from Nginx itself: {body[:80]!r}")
    return found


def test_the_probe_finds_the_hole_of_issue_12() -> None:
    """The probe can fail: `static.folder: ..` (refused by the spec since, forced in here past
    validation) serves the app's code under the static URL, and the probe reports it."""
    spec = parse_stack_spec(
        {"environment": "fuzz", "edge": {"mode": "alb"},
         "apps": [{"name": "site", "framework": "flask", "wsgi": "app:app"}]}
    )  # fmt: skip
    app = spec.apps[0]
    hole = app.model_copy(update={"static": StaticFiles.model_construct(url="/s/", folder="..")})
    with nginx_only(spec.model_copy(update={"apps": [hole]}), hole) as site:
        assert leaks(site), "static.folder '..' must leak the app's files through the probe"


@PROBE
@given(config=configs())
def test_no_file_outside_the_app_and_no_location_for_a_denied_client(
    config: dict[str, Any], tls_pair: tuple[str, str]
) -> None:
    spec = parse_stack_spec(config)
    app = spec.apps[0]
    trusted = (f"{ALB}/32",) if spec.edge.mode == "alb" else None
    with nginx_only(spec, app, tls_pair, trusted) as site:
        assert app.static is not None
        ok = get(site, app.health_path)
        assert ok.status == 200 and ok.body == f"app:{app.health_path}".encode(), ok
        static = get(site, app.static.url + "hello.txt")
        assert static.status == 200 and static.body == b"hello static\n", static
        leaked = leaks(site)
        assert not leaked, f"files outside the app's folders served for {config}:\n" + "\n".join(
            leaked
        )
        # A denied client: 403 on every location (health, static, app), on each listener.
        paths = [
            app.health_path,
            app.static.url + "hello.txt",
            app.static.url + "nope.txt",
            "/",
            "/x/y",
        ]
        urls = [site.url(p) for p in paths]
        if site.https:
            urls += [f"http://127.0.0.1:{site.layout.http_port}{p}" for p in paths]
        reached = []
        for url in urls:
            reply = fetch(url, source=DENIED, timeout=10)
            if reply.status != 403:
                reached.append(f"{url} -> {reply.status}")
        assert not reached, f"a denied client reached locations of {config}: {reached}"
