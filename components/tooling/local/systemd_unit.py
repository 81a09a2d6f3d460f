"""systemd's own reading of the rendered units: [Service] settings, specifiers, EnvironmentFile
parsing (a port of systemd's env-file rules) and the sd_notify socket.

The local rehearsal runs Gunicorn exactly as systemd would from the unit the VM gets, so these
follow systemd's behaviour, not a simplification of it.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from components.tooling.errors import SiteError
from components.tooling.local.procs import SYSTEMD_PATH

_BLANKS = " \t\n\r"


@dataclass(frozen=True)
class ServiceUnit:
    """What systemd takes from one instance of the rendered template unit."""

    name: str
    exec_start: tuple[str, ...]
    exec_reload: tuple[str, ...] | None
    working_directory: Path
    environment_files: tuple[tuple[Path, bool], ...]  # (path, optional "-" prefix)
    environment: dict[str, str]
    user: str | None
    runtime_directory_mode: int
    stop_timeout: float
    notify: bool
    restart: str = "no"  # Restart=: `always` restarts the main process whenever it exits
    restart_sec: float = 0.1  # RestartSec= (systemd's default 100ms)


def parse_unit(text: str, unit_name: str) -> ServiceUnit:
    """Read the [Service] section of a unit like systemd: specifiers (%i...), repeated keys."""
    section = ""
    settings: dict[str, list[str]] = {}
    lines = text.replace("\\\n", " ").splitlines()
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section != "Service":
            continue
        key, _, value = line.partition("=")
        value = _specifiers(value.strip(), unit_name)
        if value:
            settings.setdefault(key.strip(), []).append(value)
        else:
            settings.pop(key.strip(), None)  # an empty assignment resets the list
    values = {k: v[-1] for k, v in settings.items()}

    def command(key: str) -> tuple[str, ...] | None:
        if key not in values:
            return None
        if key == "ExecStart" and len(settings[key]) > 1:
            raise SiteError(f"{unit_name}: more than one ExecStart")
        argv = shlex.split(values[key].lstrip("-+!:"))
        if not argv or not argv[0].startswith("/"):
            raise SiteError(f"{unit_name}: {key} needs an absolute path: {values[key]}")
        return tuple(argv)

    start = command("ExecStart")
    if start is None:
        raise SiteError(f"{unit_name}: no ExecStart")
    environment: dict[str, str] = {}
    for line in settings.get("Environment", []):
        for word in shlex.split(line):
            k, sep, v = word.partition("=")
            if not sep:
                raise SiteError(f"{unit_name}: Environment={word} is not NAME=VALUE")
            environment[k] = v
    return ServiceUnit(
        name=unit_name,
        exec_start=start,
        exec_reload=command("ExecReload"),
        working_directory=Path(values.get("WorkingDirectory", "/").lstrip("-")),
        environment_files=tuple(
            (Path(f.removeprefix("-")), f.startswith("-"))
            for f in settings.get("EnvironmentFile", [])
        ),
        environment=environment,
        user=values.get("User"),
        runtime_directory_mode=int(values.get("RuntimeDirectoryMode", "0755"), 8),
        stop_timeout=_seconds(values.get("TimeoutStopSec", "90")),
        notify=values.get("Type", "simple") == "notify",
        restart=values.get("Restart", "no"),
        restart_sec=_seconds(values.get("RestartSec", "100ms")),
    )


# Long: a port of systemd's EnvironmentFile state machine, kept in its order to compare with the C
# source.
def parse_env_file(text: str) -> dict[str, str]:
    """Parse like systemd's EnvironmentFile= (a port of its env-file.c state machine): `#`/`;`
    comment lines; NAME=VALUE; quotes only open a value; in "double" quotes a backslash escapes
    only " \\ ` $ (and a newline); 'single' quotes are literal; bare values drop trailing blanks.
    No variable expansion. Invalid names are an error (systemd would drop them with a warning)."""
    env: dict[str, str] = {}
    state, key, value = "pre_key", "", ""
    key_ws: int | None = None  # where the key's trailing whitespace starts
    value_ws: int | None = None  # same for a bare value

    def push() -> None:
        name = key[:key_ws] if key_ws is not None else key
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"invalid environment variable name {name!r}")
        env[name] = value[:value_ws] if state == "value" and value_ws is not None else value

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in _BLANKS:
                state, key, key_ws = "key", c, None
        elif state == "key":
            if c in "\n\r":
                state = "pre_key"  # a line without `=` is ignored
            elif c == "=":
                state, value, value_ws = "pre_value", "", None
            else:
                key_ws = _blank_start(key_ws, c, len(key))
                key += c
        elif state in ("pre_value", "value") and c in "\n\r":
            push()
            state = "pre_key"
        elif state == "pre_value":
            if c in "'\"\\":
                state = {"'": "single", '"': "double", "\\": "value_escape"}[c]
            elif c not in _BLANKS:
                state, value = "value", value + c
        elif state == "value":
            if c == "\\":
                state, value_ws = "value_escape", None
            else:
                value_ws = _blank_start(value_ws, c, len(value))
                value += c
        elif state == "value_escape":
            state, value = "value", value + (c if c not in "\n\r" else "")
        elif state == "single":
            state, value = ("pre_value", value) if c == "'" else ("single", value + c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value += c
        elif state == "double_escape":
            state = "double"
            value += c if c in '"\\`$' else "" if c == "\n" else "\\" + c
        elif state == "comment" and c in "\n\r":
            state = "pre_key"
    if state not in ("pre_key", "key", "comment"):
        push()
    return env


def service_env(unit: ServiceUnit) -> dict[str, str]:
    """Like systemd: the manager's basics, then Environment=, then EnvironmentFile= (wins)."""
    pw = pwd.getpwnam(unit.user) if unit.user else pwd.getpwuid(os.getuid())
    env = {
        "PATH": SYSTEMD_PATH,
        "LANG": "C.UTF-8",
        "USER": pw.pw_name,
        "LOGNAME": pw.pw_name,
        "HOME": pw.pw_dir,
        "SHELL": pw.pw_shell,
        **unit.environment,
    }
    for path, optional in unit.environment_files:
        if not path.exists():
            if optional:
                continue
            raise SiteError(f"{unit.name}: EnvironmentFile {path} is missing")
        env.update(parse_env_file(path.read_text()))
    return env


def _blank_start(mark: int | None, c: str, length: int) -> int | None:
    """Track where a run of trailing blanks starts (None: the text ends in a non-blank)."""
    if c not in _BLANKS:
        return None
    return length if mark is None else mark


def _specifiers(value: str, unit_name: str) -> str:
    """Expand the systemd specifiers the templates may use; fail on any other."""
    prefix, _, rest = unit_name.partition("@")
    instance = rest.rsplit(".", 1)[0]
    table = {"i": instance, "I": instance, "n": unit_name, "N": unit_name.rsplit(".", 1)[0],
             "p": prefix, "P": prefix, "%": "%"}  # fmt: skip
    out, i = [], 0
    while i < len(value):
        if value[i] == "%" and i + 1 < len(value):
            spec = value[i + 1]
            if spec not in table:
                raise SiteError(f"{unit_name}: specifier %{spec} is not supported locally")
            out.append(table[spec])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _expand_vars(argv: tuple[str, ...], env: Mapping[str, str]) -> list[str]:
    """systemd's command-line expansion: `$NAME` as a whole word splits, `${NAME}` in place."""
    out: list[str] = []
    for word in argv:
        if word.startswith("$") and not word.startswith("${") and word[1:].isidentifier():
            out.extend(env.get(word[1:], "").split())
            continue
        while "${" in word:
            start = word.index("${")
            end = word.index("}", start)
            word = word[:start] + env.get(word[start + 2 : end], "") + word[end + 1 :]
        out.append(word)
    return out


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0}
    if value == "infinity":
        return float("inf")
    digits = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    return float(digits) * units.get(value[len(digits) :] or "s", 1.0)


class _NotifySocket:
    """A NOTIFY_SOCKET for Type=notify: READY=1 must come from the main process (NotifyAccess)."""

    def __init__(self) -> None:
        self.name = f"webstack-notify-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)

    @property
    def address(self) -> str:
        return "@" + self.name

    def wait_ready(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        creds = socket.CMSG_SPACE(12)  # struct ucred: pid, uid, gid
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SiteError(f"gunicorn exited with {proc.returncode} before READY=1")
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, creds)
            except TimeoutError:
                continue
            pid = next(
                (
                    int.from_bytes(d[:4], sys.byteorder)
                    for lvl, typ, d in anc
                    if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS
                ),
                None,
            )
            if pid == proc.pid and "READY=1" in data.decode(errors="replace").splitlines():
                return
        raise SiteError("gunicorn did not send READY=1 (Type=notify) in time")

    def close(self) -> None:
        self.sock.close()
