"""`up --local` for an app with a database (or a `postgresql` data store): a throwaway PostgreSQL, DATABASE_URL wired to it, and
the migrations run once before the app starts.

Migrations: locally this runs `python -m django migrate --noinput` for a Django app. The release
command of the release path (`release_command`, run once per release before the switch) is the
same step on a VM; when it exists, this runs that command instead (the lead joins the two).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from components.plan.datastores import with_database_secrets
from components.spec.stack import AppSpec, StackSpec
from components.tooling.errors import SiteError
from components.tooling.local.postgres import LocalPostgres


def start_local_database(
    spec: StackSpec,
    app: AppSpec,
    venv: Path,
    project_dir: Path,
    stack: contextlib.ExitStack,
    progress: Callable[[str], None],
) -> dict[str, str]:
    """Start PostgreSQL (stopped by `stack`), migrate, and return the app's connection variables;
    {} for an app with neither a database nor a `postgresql` data store."""
    if app.database is not None:
        db_name, user = app.database.db_name, app.database.username
    elif any(d.engine == "postgresql" for d in app.datastores):
        # The PostgreSQL the user brings is out of reach here: a throwaway one stands in for it,
        # its DATABASE_URL replacing the stand-in secret (one server for all such entries).
        db_name, user = "app", "webstack"
    else:
        return {}
    progress("PostgreSQL on 127.0.0.1 (throwaway data folder)")
    pg = stack.enter_context(LocalPostgres(db_name, user))
    progress(f"PostgreSQL {pg.bin.parent.name} on 127.0.0.1:{pg.port}")
    migrate(app, venv, project_dir, pg.environment, progress)
    return pg.environment


def migrate(
    app: AppSpec,
    venv: Path,
    project_dir: Path,
    db_env: dict[str, str],
    progress: Callable[[str], None],
) -> None:
    """Django's migrations against the database, in the app's source folder; a failure stops."""
    if app.framework != "django":
        return
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        raise SiteError(f"apps.{app.name}: the local site runs path sources only")
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    progress("migrate (manage.py migrate --noinput)")
    res = subprocess.run(
        [str(python), "-m", "django", "migrate", "--noinput"],
        cwd=project_dir / source.path,
        env={
            **os.environ,
            **db_env,
            "DJANGO_SETTINGS_MODULE": app.django_settings,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(project_dir / source.path),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise SiteError(f"apps.{app.name}: migrations failed ({res.returncode}):\n{tail}")


def with_local_database(
    spec: StackSpec, app: AppSpec, names: list[str]
) -> tuple[StackSpec, AppSpec]:
    """The spec and app with the database variables among the app's secrets (as on a VM)."""
    if not names:
        return spec, app
    # A brought PostgreSQL's URL may already be one of the app's own secrets: no duplicates.
    local = with_database_secrets(app, [n for n in names if n not in app.secrets])
    apps = [local if a.name == app.name else a for a in spec.apps]
    return spec.model_copy(update={"apps": apps}), local
