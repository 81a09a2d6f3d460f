"""A throwaway PostgreSQL on 127.0.0.1 for `up --local` and the tests: Debian's `postgresql`
server binaries (/usr/lib/postgresql/<major>/bin), a fresh data folder, a free port, TLS on with a
one-day self-signed certificate (the app connects with `sslmode=verify-full` against it, as it should against RDS), one database
and one password-authenticated user. PostgreSQL refuses to run as root: as root it runs as the
`postgres` system user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from components.plan.datastores import database_env
from components.tooling.errors import SiteError
from components.tooling.local.procs import free_port, open_log, port_open, terminate

PG_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # the Debian package's system user (only used when we are root)


def postgres_bin_dir() -> Path:
    """The newest installed server's bin folder, or a SiteError naming the package."""
    found = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise SiteError(
            "PostgreSQL is not installed (apt-get install postgresql): an app with a database "
            "needs it for `up --local`"
        )
    return found[-1]


class LocalPostgres:
    """`with LocalPostgres() as pg: pg.environment["DATABASE_URL"]`; stopped and removed after."""

    def __init__(self, db_name: str = "app", user: str = "webstack") -> None:
        self.bin = postgres_bin_dir()
        self.db_name, self.user = db_name, user
        self.password = secrets.token_urlsafe(24)
        self.port = 0
        self.dir = Path(tempfile.mkdtemp(prefix="ws-pg-"))
        # The CA file the app trusts, readable by it (the data folder is the server's alone).
        self.root_cert = Path(tempfile.mkdtemp(prefix="ws-pg-ca-")) / "root.crt"
        self._proc: subprocess.Popen[bytes] | None = None
        self._as: pwd.struct_passwd | None = (
            pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None
        )

    @property
    def environment(self) -> dict[str, str]:
        """DATABASE_URL and the PG* variables, as the managed database hands them to the app."""
        # verify-full against the throwaway certificate: the client checks the chain and that
        # the certificate names 127.0.0.1, as the app should check RDS against its CA bundle.
        return database_env(
            "127.0.0.1",
            self.port,
            self.db_name,
            self.user,
            self.password,
            sslmode="verify-full",
            sslrootcert=str(self.root_cert),
        )

    # long: initdb, configure, start, create role and database: the order postgres
    # needs, under one failure path.
    def start(self) -> Self:
        data = self.dir / "data"
        (self.dir / "pwfile").write_text(self.password + "\n")
        self._own(self.dir)
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            self.user,
            "--pwfile",
            str(self.dir / "pwfile"),
            "-A",
            "scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        )
        (self.dir / "pwfile").unlink()
        self._certificate(data)
        self.port = free_port()
        log = open_log(self.dir / "postgres.log")
        self._proc = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._user_kwargs(),
        )
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                text = (self.dir / "postgres.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise SiteError(f"PostgreSQL did not start on 127.0.0.1:{self.port}:\n{text}")
            time.sleep(0.1)
        self._run(
            "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            self.db_name,
            env={"PGPASSWORD": self.password},
        )
        return self

    def stop(self) -> None:
        if self._proc is not None:
            import signal

            terminate(self._proc, signal.SIGINT, 15)  # SIGINT: PostgreSQL's fast shutdown
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.root_cert.parent, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------------
    def _certificate(self, data: Path) -> None:
        """A one-day self-signed certificate for 127.0.0.1: TLS locally as on RDS."""
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(data / "server.key"),
                "-out",
                str(data / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )
        (data / "server.key").chmod(0o600)
        self.root_cert.write_bytes((data / "server.crt").read_bytes())
        self.root_cert.parent.chmod(0o755)
        self.root_cert.chmod(0o644)
        for name in ("server.key", "server.crt"):
            self._own(data / name)

    def _own(self, path: Path) -> None:
        if self._as is not None:
            os.chown(path, self._as.pw_uid, self._as.pw_gid)

    def _user_kwargs(self) -> dict[str, object]:
        if self._as is None:
            return {}
        return {"user": self._as.pw_uid, "group": self._as.pw_gid, "extra_groups": []}

    def _run(self, tool: str, *args: str, env: dict[str, str] | None = None) -> None:
        res = subprocess.run(
            [str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.dir,
            env={**os.environ, **(env or {})},
            **self._user_kwargs(),  # type: ignore[arg-type]
        )
        if res.returncode != 0:
            with contextlib.suppress(Exception):
                self.stop()
            raise SiteError(f"PostgreSQL {tool} failed ({res.returncode}): {res.stderr.strip()}")
