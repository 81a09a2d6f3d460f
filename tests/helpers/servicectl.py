"""A `systemctl` stand-in for webstack-release on 127.0.0.1 (no systemd, no root).

webstack-release calls `$WEBSTACK_SERVICE_CTL start|restart|stop|enable|disable UNIT`. This runs
the *rendered* template unit the way systemd would (components.systemd_unit: the same ExecStart,
WorkingDirectory, EnvironmentFile and RuntimeDirectory), as a detached process with a pid file;
`start nginx` runs Nginx on the rendered config. Usage:

    python servicectl.py --systemd-dir D --run-dir R --state S --nginx-conf C --log-dir L CMD UNIT
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components.tooling.local.systemd_unit import parse_env_file, parse_unit

SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _pid(state: Path, unit: str) -> int | None:
    try:
        pid = int((state / f"{unit}.pid").read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        return None if "\nState:\tZ" in status else pid
    except (OSError, ValueError):
        return None


def _start(a: argparse.Namespace, unit_name: str) -> int:
    if _pid(a.state, unit_name):
        return 0
    base, _, rest = unit_name.partition("@")
    instance = rest.removesuffix(".service")
    unit = parse_unit((a.systemd_dir / f"{base}@.service").read_text(), unit_name)
    env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/")}
    env.update(unit.environment)
    for path, optional in unit.environment_files:
        if path.exists():
            env.update(parse_env_file(path.read_text()))
        elif not optional:
            print(f"servicectl: {unit_name}: EnvironmentFile {path} is missing", file=sys.stderr)
            return 1
    runtime = a.run_dir / f"{base.removeprefix('webstack-')}-{instance}"
    runtime.mkdir(parents=True, exist_ok=True)
    env["RUNTIME_DIRECTORY"] = str(runtime)
    log = open(a.log_dir / f"{unit_name}.log", "ab")  # noqa: SIM115 (handed to the child)
    proc = subprocess.Popen(
        list(unit.exec_start),
        cwd=unit.working_directory,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (a.state / f"{unit_name}.pid").write_text(str(proc.pid))
    (a.state / f"{unit_name}.timeout").write_text(str(unit.stop_timeout))
    return 0


def _stop(a: argparse.Namespace, unit_name: str) -> int:
    pid = _pid(a.state, unit_name)
    if pid is None:
        return 0
    timeout = float((a.state / f"{unit_name}.timeout").read_text())
    os.kill(pid, signal.SIGTERM)  # KillMode=mixed: TERM to the main process first
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except OSError:
                break
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)  # what is left: the rest of the "cgroup"
    (a.state / f"{unit_name}.pid").unlink(missing_ok=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(prog="servicectl")
    for flag in ("--systemd-dir", "--run-dir", "--state", "--nginx-conf", "--log-dir"):
        p.add_argument(flag, type=Path, required=True)
    p.add_argument("cmd")
    p.add_argument("unit")
    a = p.parse_args()
    a.state.mkdir(parents=True, exist_ok=True)
    if a.unit in ("nginx", "nginx.service"):
        if a.cmd != "start":
            return 0
        err = a.log_dir / "error.log"
        return subprocess.run(["nginx", "-c", str(a.nginx_conf), "-e", str(err)]).returncode
    if a.cmd in ("enable", "disable"):
        return 0
    if a.cmd == "is-active":
        return 0 if _pid(a.state, a.unit) else 3
    if a.cmd == "stop":
        return _stop(a, a.unit)
    if a.cmd == "restart":
        _stop(a, a.unit)
    if a.cmd in ("start", "restart"):
        return _start(a, a.unit)
    print(f"servicectl: {a.cmd} is not supported", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
