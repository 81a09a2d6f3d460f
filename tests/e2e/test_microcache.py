"""The microcache on real Nginx + Gunicorn (LocalLinuxSite, 127.0.0.1): what it must never do
(serve one client's Set-Cookie response to another, answer a session-cookie or Authorization
request from the cache), what it must do (serve a stale page while the app restarts), and the
boot/release step that empties it. Not timed: each check is an HTTP result."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.render.linux import microcache_script
from components.spec.stack import StackSpec
from components.tooling.local.linux import LocalLinuxSite
from tests.helpers.net import Reply, fetch
from tests.helpers.specs import linux_spec

pytestmark = pytest.mark.e2e

TTL = 1
PAGE = "/cacheable"


def cache_spec() -> StackSpec:
    microcache = {
        "enabled": True,
        "ttl_seconds": TTL,
        "stale_seconds": 600,
        "bypass_cookies": ["session", "sessionid"],
    }
    return linux_spec(
        "flask",
        "alb",
        None,  # masters: the default
        environment="e2e",
        nginx={"rate_limit_rps": 100000, "rate_limit_burst": 100000},
        linux_extra={"microcache": microcache},
    )


@pytest.fixture(scope="module")
def site() -> Iterator[LocalLinuxSite]:
    workdir = Path(tempfile.mkdtemp(prefix="ws-mc-", dir="/tmp"))
    try:
        with LocalLinuxSite(cache_spec(), workdir=workdir) as s:
            yield s
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def get(site: LocalLinuxSite, path: str, headers: dict[str, str] | None = None) -> Reply:
    return fetch(site.url(path), headers=headers)


def served(reply: Reply) -> int:
    assert reply.status == 200, reply
    return int(reply.json()["served"])


def cached_copy(site: LocalLinuxSite, path: str) -> int:
    """Fill the cache for `path` and return the stored copy's stamp (a HIT proves it is stored)."""
    for _ in range(20):
        r = get(site, path)
        if r.headers.get("x-cache-status") == "HIT":
            return served(r)
        time.sleep(0.05)
    pytest.fail(f"{path} never became a cache HIT (last: {r.headers})")


def test_public_page_is_cached_and_marked(site: LocalLinuxSite) -> None:
    first = cached_copy(site, PAGE)
    again = get(site, PAGE)
    assert again.headers.get("x-cache-status") == "HIT" and served(again) == first


def test_uncacheable_pages_are_never_stored(site: LocalLinuxSite) -> None:
    # `/` sends no Cache-Control: public; the app must be asked every time.
    for _ in range(3):
        r = get(site, "/")
        assert r.status == 200 and r.headers.get("x-cache-status") in ("MISS", "EXPIRED"), r.headers


def test_set_cookie_response_is_never_served_to_another_client(site: LocalLinuxSite) -> None:
    path = f"{PAGE}?set_cookie=1"
    seen = set()
    for _ in range(5):
        r = get(site, path)
        assert r.status == 200
        cookie = r.headers.get("set-cookie", "")
        assert cookie.startswith("session=for-"), r.headers
        assert r.headers.get("x-cache-status") != "HIT", "a Set-Cookie response came from cache"
        seen.add(cookie)
    assert len(seen) == 5, "every client must get its own cookie, never another's"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": "session=abc"},
        {"Cookie": "theme=dark; sessionid=xyz"},
        {"Authorization": "Bearer t0k3n"},
    ],
    ids=["flask-session", "django-session", "authorization"],
)
def test_session_and_authorization_requests_bypass_the_cache(
    site: LocalLinuxSite, headers: dict[str, str]
) -> None:
    stored = cached_copy(site, PAGE)
    r = get(site, PAGE, headers)
    assert r.headers.get("x-cache-status") == "BYPASS", r.headers
    assert served(r) != stored, "a personal request was answered from the shared cache"
    # ... and its answer is not stored for the next anonymous client either.
    after = get(site, PAGE)
    if after.headers.get("x-cache-status") == "HIT":
        assert served(after) == stored, "the personal answer was stored in the shared cache"


def test_other_cookies_do_not_bypass_when_session_cookies_are_named(site: LocalLinuxSite) -> None:
    cached_copy(site, PAGE)
    r = get(site, PAGE, {"Cookie": "theme=dark"})
    assert r.headers.get("x-cache-status") == "HIT", r.headers


def test_stale_page_is_served_while_the_app_restarts(site: LocalLinuxSite) -> None:
    stored = cached_copy(site, PAGE)
    time.sleep(TTL + 0.5)  # expired: a fresh request would go to the app
    master = site.master_pid(1)
    os.kill(master, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while 1 not in site.exited_masters() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert 1 in site.exited_masters(), "the app did not stop"
    try:
        r = get(site, PAGE)
        assert r.status == 200, f"the restarting app's page was not served stale: {r}"
        assert r.headers.get("x-cache-status") == "STALE" and served(r) == stored, r.headers
        down = get(site, "/")
        assert down.status >= 500, "the uncached page must show the app is down (not cached)"
    finally:
        site.restart_master(1)
    assert get(site, "/").status == 200


def test_release_step_empties_the_cache(site: LocalLinuxSite) -> None:
    stored = cached_copy(site, PAGE)
    script = Path(str(microcache_script(site.app, site.layout)))
    assert script.exists(), f"the rendered empty step {script} is missing"
    subprocess.run(["sh", str(script)], check=True, timeout=30)
    cache_dir = Path(str(site.layout.microcache_dir(site.app.name)))
    assert cache_dir.is_dir() and not any(cache_dir.iterdir()), "files left in the cache"
    r = get(site, PAGE)
    assert r.headers.get("x-cache-status") == "MISS" and served(r) != stored, r.headers
