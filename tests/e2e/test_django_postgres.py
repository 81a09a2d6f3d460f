"""Issue 17 end to end on 127.0.0.1: the rendered Nginx -> Gunicorn -> Django example against a real
PostgreSQL (Debian's server binaries, TLS on), migrated first, then a row written and read back
through HTTP; and the same app through `webstack up --local` (run_local) with a database."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.spec.stack import StackSpec
from components.tooling.local.database import migrate, with_local_database
from components.tooling.local.linux import LocalLinuxSite
from components.tooling.local.postgres import LocalPostgres, postgres_bin_dir
from components.tooling.local.up import run_local
from components.tooling.local.venv import Console
from tests.helpers.net import fetch
from tests.helpers.specs import linux_spec

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _spec() -> StackSpec:
    return linux_spec(
        "django",
        "alb",
        1,
        environment="e2e",
        source={"path": "examples/django_app"},
        secrets=["DJANGO_SECRET_KEY"],
        database={},
    )


@pytest.fixture(scope="module")
def site() -> Iterator[LocalLinuxSite]:
    postgres_bin_dir()  # a clear SiteError naming the package when PostgreSQL is missing
    spec = _spec()
    app = spec.apps[0]
    workdir = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(LocalPostgres(app.database.db_name, app.database.username))
        env = pg.environment
        migrate(app, Path(sys.prefix), ROOT, env, lambda m: None)
        spec, app = with_local_database(spec, app, list(env))
        live = stack.enter_context(
            LocalLinuxSite(
                spec,
                app.name,
                workdir,
                secrets={"DJANGO_SECRET_KEY": "e2e-" + "k" * 40, **env},
                project_dir=ROOT,
                timeout=60.0,
            )
        )
        yield live
    shutil.rmtree(workdir, ignore_errors=True)


def test_the_app_writes_and_reads_rows_through_nginx(site: LocalLinuxSite) -> None:
    empty = fetch(site.url("/notes"))
    assert empty.status == 200, empty
    assert empty.json() == {"notes": []}, "migrate created the table; nothing is in it yet"
    for text in ("first", "second"):
        wrote = fetch(
            site.url("/notes"),
            "POST",
            body=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert wrote.status == 201, wrote
        assert wrote.headers.get("server") == "nginx", "through the rendered Nginx"
    read = fetch(site.url("/notes")).json()
    assert [n["text"] for n in read["notes"]] == ["first", "second"]


def test_the_connection_is_tls(site: LocalLinuxSite) -> None:
    """sslmode=verify-full reached Django: the rows above went over TLS, and the client checked the
    server's certificate against the throwaway CA and the name 127.0.0.1."""
    text = Path(site.layout.secrets_file(site.app.name)).read_text()
    assert "sslmode=verify-full" in text and "sslrootcert=" in text and "PGSSLROOTCERT" in text
    assert oct(Path(site.layout.secrets_file(site.app.name)).stat().st_mode & 0o777) == "0o600"


def test_without_a_database_the_page_says_so() -> None:
    spec = linux_spec("django", "alb", 1, environment="e2e", source={"path": "examples/django_app"})
    workdir = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    try:
        with LocalLinuxSite(spec, spec.apps[0].name, workdir, project_dir=ROOT) as live:
            reply = fetch(live.url("/notes"))
            assert reply.status == 503 and "DATABASE_URL" in reply.json()["error"]
            assert fetch(live.url("/")).status == 200, "the rest of the app runs database-free"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_up_local_starts_postgres_and_migrates(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`webstack up --local` for an app with a database: PostgreSQL, migrate, the smoke checks."""
    code = run_local(_spec(), ROOT, venv="current", workdir=tmp_path, console=Console())
    out = capsys.readouterr().out
    assert "PostgreSQL" in out and "migrate" in out, out
    assert code == 0, out


def test_up_local_stack_prod_runs_against_postgres() -> None:
    """`webstack up --local --stack prod`: the shipped prod stack declares a managed database."""
    res = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "webstack"), "up", "--local", "--stack", "prod",
         "--venv", "current"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "PostgreSQL" in out and "migrate" in out, out


def test_a_postgresql_datastore_gets_a_local_stand_in() -> None:
    """`up --local` for an app that brings its own PostgreSQL (a data store, no managed database):
    a throwaway server answers at the DATABASE_URL the app gets, over verify-full TLS."""
    from components.tooling.local.database import start_local_database

    store = {"name": "legacy", "engine": "postgresql", "cidr": "10.9.0.0/24"}
    spec = linux_spec("flask", "alb", 1, environment="e2e", datastores=[store])
    [app] = spec.apps
    with contextlib.ExitStack() as stack:
        env = start_local_database(spec, app, Path("/nonexistent"), Path("."), stack, print)
        assert "sslmode=verify-full" in env["DATABASE_URL"]
        res = subprocess.run(
            [str(postgres_bin_dir() / "psql"), "-tAc", "select ssl from pg_stat_ssl"
             " where pid = pg_backend_pid()"],
            env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert res.returncode == 0 and res.stdout.strip() == "t", res.stderr
    _, local = with_local_database(
        spec, app.model_copy(update={"secrets": ["DATABASE_URL"]}), list(env)
    )
    assert local.secrets.count("DATABASE_URL") == 1, "the stand-in replaces the user's own secret"
