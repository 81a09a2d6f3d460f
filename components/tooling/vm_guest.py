"""A Debian 12 root booted with systemd as PID 1 in its own PID/mount/UTS/IPC namespaces (root only).

The machinery under the boot rehearsal (`components.tooling.vm_rehearsal`): build and cache the base root with
debootstrap, boot a throwaway overlay of it, run commands inside, and tear it all down: kill the
namespace's PID 1 by its PID, wait until no process, mount or cgroup of it is left. The guest shares
the host's network namespace, so what it serves on a port is served on the host's port.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUITE = "bookworm"
# python3-cffi-backend: cloud-init needs it through a virtual package debootstrap cannot resolve.
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "cloud-init", "python3-cffi-backend")
INSIDE_ENV = [
    "env",
    "-i",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
]
SYSTEMD_CGROUP_SUFFIXES = (".slice", ".scope", ".service", ".mount", ".socket", ".swap")
_FRESH_BASES: set[Path] = set()


class RehearsalError(Exception):
    """The rehearsal could not run or the boot failed; `diagnostics` has the logs from inside."""

    def __init__(self, message: str, diagnostics: str = "") -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


def log(msg: str) -> None:
    print(f"rehearse: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float, check: bool = True, **kw: Any) -> str:
    """Run a command bounded in time; its combined output, or RehearsalError naming it."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise RehearsalError(f"{' '.join(cmd[:5])}... did not finish in {timeout:.0f}s") from None
    out = p.stdout + p.stderr
    if check and p.returncode != 0:
        raise RehearsalError(f"{' '.join(cmd[:5])}... exited {p.returncode}", out[-4000:])
    return out


@dataclass
class Timings:
    """Wall time per phase; sub-phases are indented and left out of the total."""

    phases: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        log(f"{name.strip()} ...")
        try:
            yield
        finally:
            self.phases[name] = time.monotonic() - start
            log(f"{name.strip()}: {self.phases[name]:.1f}s")

    @property
    def total(self) -> float:
        return sum(v for k, v in self.phases.items() if not k.startswith(" "))

    def table(self) -> str:
        rows = [f"  {k:<40} {v:7.1f}s" for k, v in self.phases.items()]
        return "\n".join(["timings:", *rows, f"  {'total':<40} {self.total:7.1f}s"])


# -- the base root ---------------------------------------------------------------------------------
def host_mirror() -> str:
    """The Debian mirror this machine's apt uses (so the guest reaches what apt reaches here)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        if not f.is_file() or not f.name.endswith((".list", ".sources")):
            continue
        for m in re.finditer(r"(?:^URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", f.read_text(), re.M):
            url = m.group(1).rstrip("/")
            if url.startswith("http") and url.endswith("/debian"):
                return url
    return "http://deb.debian.org/debian"


def ensure_base(cache_dir: Path, fresh: bool, timings: Timings) -> Path:
    """A minbase Debian 12 root with systemd + cloud-init, built once per cache dir (or process).

    Guests boot an overlay of it, so it is never changed after it is built.
    """
    base = cache_dir / f"{SUITE}-base"
    if (base / "usr/bin/cloud-init").exists() and (not fresh or base in _FRESH_BASES):
        log(f"base root: cached {base}")
        return base
    mirror = host_mirror()
    cache_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir))
    build.chmod(0o755)  # the guest's `/`: every user must be able to traverse it
    try:
        with timings.phase("  debootstrap"):
            # Whatever --include leaves unconfigured (debootstrap then exits non-zero), the
            # `apt-get -f install` below completes.
            packages = ",".join(BASE_PACKAGES)
            cmd = ["debootstrap", "--variant=minbase", f"--include={packages}", SUITE]
            out = run([*cmd, str(build), mirror], timeout=1200, check=False)
            if not (build / "usr/bin/apt-get").exists():
                raise RehearsalError(f"debootstrap from {mirror} failed", out[-4000:])
        with timings.phase("  apt-get -f install, locale"):
            policy = build / "usr/sbin/policy-rc.d"  # no service starts while building
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
            # Cloud images can switch to en_US.UTF-8 (cloud-init's default locale).
            (build / "etc/locale.gen").write_text("en_US.UTF-8 UTF-8\n")
            inner = (
                "DEBIAN_FRONTEND=noninteractive apt-get -f install -y -o Acquire::Retries=3 "
                "&& locale-gen && apt-get clean"
            )
            script = f"mount -t proc proc {build}/proc && chroot {build} sh -c '{inner}'"
            run(["unshare", "--mount", "--pid", "--fork", "sh", "-c", script], timeout=900)
            fmt = "-f=${Status}"
            admin = f"--admindir={build}/var/lib/dpkg"
            status = run(["dpkg-query", admin, "-W", fmt, "cloud-init"], timeout=30, check=False)
            if "install ok installed" not in status:
                raise RehearsalError(f"cloud-init is not installed in the base root: {status}")
            policy.unlink()
            # What debootstrap does last, skipped when it stopped at the unconfigured packages:
            # put the real start-stop-daemon back (the fake one makes every init script a no-op).
            real = build / "sbin/start-stop-daemon.REAL"
            if real.exists():
                real.replace(build / "sbin/start-stop-daemon")
            shutil.rmtree(build / "debootstrap", ignore_errors=True)
            shutil.rmtree(build / "var/lib/apt/lists")
            (build / "var/lib/apt/lists/partial").mkdir(parents=True)
        old = cache_dir / f"{SUITE}-base.old"
        shutil.rmtree(old, ignore_errors=True)
        if base.exists():
            base.rename(old)
        build.rename(base)
        shutil.rmtree(old, ignore_errors=True)
        _FRESH_BASES.add(base)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return base


# -- host facts ------------------------------------------------------------------------------------
def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def ns_inode(pid: int, ns: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except OSError:
        return None


def processes_in_namespace(pid_ns: int) -> list[int]:
    pids = (int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit())
    return [pid for pid in pids if ns_inode(pid, "pid") == pid_ns]


def mounts_under(path: Path) -> list[str]:
    """Mount points at or under `path` in this (the host's) mount namespace."""
    points = [ln.split()[4] for ln in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [p for p in points if p == str(path) or p.startswith(f"{path}/")]


def systemd_cgroups() -> set[str]:
    """Cgroups named like a systemd's (init.scope, system.slice, ...) at each hierarchy's top."""
    found: set[str] = set()
    for top in Path("/sys/fs/cgroup").iterdir():
        if not top.is_dir() or top.is_symlink():
            continue
        with contextlib.suppress(OSError):
            for first in top.iterdir():
                if first.is_dir() and first.name.endswith(SYSTEMD_CGROUP_SUFFIXES):
                    found.update(d for d, _sub, _files in os.walk(first))
    return found


def boot_script(base: Path, run_dir: Path) -> str:
    """The namespace's first process: mount the guest's filesystems, then exec systemd as PID 1.

    `/` is an overlay (the cached base below, this run's changes in run_dir/upper), so it is also a
    mount point, which systemd's per-unit namespaces (ProtectSystem=...) need. /sys/fs/cgroup gets
    its own tmpfs with the host's hierarchies rbound into it: rbinding the host's cgroup tmpfs whole
    would let the guest's systemd remount that shared superblock read-only for the host.
    """
    root = run_dir / "root"
    lines = [
        "set -eu",
        f"R='{root}'",
        f"mount -t overlay overlay -o lowerdir='{base}',upperdir='{run_dir}/upper',"
        f"workdir='{run_dir}/work' \"$R\"",
        'mount -t proc proc "$R/proc"',
        'mount -t sysfs sysfs "$R/sys"',
    ]
    info = Path("/proc/self/mountinfo").read_text().splitlines()
    if any(ln.split()[4] == "/sys/fs/cgroup" and " - cgroup2 " in ln for ln in info):
        lines.append('mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"')
    else:
        lines.append('mount -t tmpfs -o mode=0755 cgroup "$R/sys/fs/cgroup"')
        for point in (ln.split()[4] for ln in info):
            if point.startswith("/sys/fs/cgroup/") and point.count("/") == 4:
                lines.append(f'mkdir -p "$R{point}" && mount --rbind \'{point}\' "$R{point}"')
        for link in Path("/sys/fs/cgroup").iterdir():
            if link.is_symlink():
                lines.append(f"ln -s '{os.readlink(link)}' \"$R/sys/fs/cgroup/{link.name}\"")
    lines += [
        'mount -t tmpfs -o mode=0755 tmpfs "$R/run"',
        'mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"',
        'mount --rbind /dev "$R/dev"',
        'exec chroot "$R" env container=other /lib/systemd/systemd',
    ]
    return "\n".join(lines) + "\n"


# -- the guest -------------------------------------------------------------------------------------
@dataclass
class Guest:
    """A booted root: systemd is `pid1` (a host PID) in its own namespaces; `close()` tears down.

    Files are written before boot into `upper` (they override the base), read while it runs
    through `/proc/<pid1>/root`, and after it stopped from `upper`.
    """

    base: Path
    run_dir: Path
    keep: bool = False
    unshare: subprocess.Popen[bytes] | None = None
    pid1: int | None = None
    pid_ns: int | None = None
    mnt_ns: int | None = None
    cgroups_before: set[str] = field(default_factory=set)
    closed: bool = False

    def __post_init__(self) -> None:
        for d in ("root", "upper", "work"):
            (self.run_dir / d).mkdir(mode=0o755, exist_ok=True)
        (self.run_dir / "upper").chmod(0o755)

    def write(self, rel: str, data: bytes | str, mode: int = 0o644) -> Path:
        """Create or replace a file of the guest before it boots (parents mirror the base's)."""
        parts = Path(rel.lstrip("/")).parts
        for i in range(1, len(parts)):
            lower, upper = self.base.joinpath(*parts[:i]), self.upper.joinpath(*parts[:i])
            if not upper.is_dir():
                upper.mkdir()
                st = lower.stat() if lower.is_dir() else None
                upper.chmod(st.st_mode & 0o7777 if st else 0o755)
                if st:
                    os.chown(upper, st.st_uid, st.st_gid)
        target = self.upper.joinpath(*parts)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        target.chmod(mode)
        return target

    def symlink(self, rel: str, to: str) -> None:
        self.write(rel, b"").unlink()
        self.upper.joinpath(rel.lstrip("/")).symlink_to(to)

    @property
    def upper(self) -> Path:
        return self.run_dir / "upper"

    def path(self, rel: str) -> Path:
        """A guest path as the host can read it (the live root, or the run's changes once down)."""
        if self.alive():
            return Path(f"/proc/{self.pid1}/root") / rel.lstrip("/")
        return self.upper / rel.lstrip("/")

    def boot(self, timeout: float = 60) -> None:
        self.cgroups_before = systemd_cgroups()
        script = self.run_dir / "boot.sh"
        script.write_text(boot_script(self.base, self.run_dir))
        unshare = ["unshare", "--pid", "--fork", "--mount", "--uts", "--ipc"]
        unshare += ["--propagation", "private", "--kill-child"]
        # If this process dies, unshare dies (pdeathsig), and with it the guest (--kill-child).
        cmd = ["setpriv", "--pdeathsig", "KILL", *unshare, "sh", str(script)]
        boot_log = self.run_dir / "boot.log"
        with boot_log.open("wb") as out:
            self.unshare = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        children = Path(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children")
        while self.pid1 is None and time.monotonic() < deadline and self.unshare.poll() is None:
            with contextlib.suppress(OSError):
                pids = children.read_text().split()
                if pids and Path(f"/proc/{pids[0]}/comm").read_text().strip() == "systemd":
                    self.pid1 = int(pids[0])
                    self.pid_ns, self.mnt_ns = (
                        ns_inode(self.pid1, "pid"),
                        ns_inode(self.pid1, "mnt"),
                    )
            time.sleep(0.1)
        if self.pid1 is None:
            raise RehearsalError("systemd did not start in the root", boot_log.read_text()[-3000:])
        while time.monotonic() < deadline:  # systemd answers on its private bus once it is up
            state = self.inside(["systemctl", "is-system-running"], timeout=10, check=False)
            if re.search(r"^(initializing|starting|running|degraded)$", state, re.M):
                return
            time.sleep(0.2)
        raise RehearsalError("systemd in the root did not come up", boot_log.read_text()[-3000:])

    def nsenter(self) -> list[str]:
        assert self.pid1 is not None
        return ["nsenter", "-t", str(self.pid1), "-m", "-u", "-i", "-p", "-r", "-w", *INSIDE_ENV]

    def inside(self, cmd: list[str], timeout: float = 60, check: bool = True) -> str:
        """Run a command in the guest's namespaces and root, with the guest's PATH."""
        return run([*self.nsenter(), *cmd], timeout=timeout, check=check)

    def alive(self) -> bool:
        return self.pid1 is not None and ns_inode(self.pid1, "pid") == self.pid_ns

    def diagnostics(self, units: tuple[str, ...] = ()) -> str:
        """The cloud-init output tail and the journals of failed (and named) units, from inside."""
        parts = []
        out_log = self.path("/var/log/cloud-init-output.log")
        if out_log.exists():
            tail = out_log.read_text(errors="replace").splitlines()[-60:]
            parts.append("--- tail of /var/log/cloud-init-output.log ---\n" + "\n".join(tail))
        if self.alive():
            args = ["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"]
            failed = self.inside(args, timeout=20, check=False)
            parts.append("--- failed units ---\n" + (failed.strip() or "(none)"))
            names = [ln.split()[0] for ln in failed.splitlines() if ln.strip()]
            for unit in dict.fromkeys([*names[:6], *units]):
                args = ["journalctl", "--no-pager", "-o", "short-monotonic", "-n", "40", "-u", unit]
                journal = self.inside(args, timeout=20, check=False)
                parts.append(f"--- journal of {unit} ---\n{journal.strip()}")
        return "\n".join(parts)

    def close(self) -> None:
        """Kill the namespace's PID 1 by its PID (the kernel kills the rest), then clean up.

        Raises if a process, a mount or a cgroup of the guest is left behind.
        """
        if self.closed:
            return
        self.closed = True
        if self.alive():
            assert self.pid1 is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid1, signal.SIGKILL)
        if self.unshare is not None:
            try:
                self.unshare.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.unshare.kill()
                self.unshare.wait(timeout=5)
        deadline = time.monotonic() + 20
        while self.pid_ns is not None and (left := processes_in_namespace(self.pid_ns)):
            if time.monotonic() > deadline:
                raise RehearsalError(f"processes left in the guest's namespace: {left}")
            time.sleep(0.2)
        for _ in range(40):  # its cgroups empty as the kernel reaps the processes
            for d in sorted(systemd_cgroups() - self.cgroups_before, key=len, reverse=True):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
            if not (left_cg := systemd_cgroups() - self.cgroups_before):
                break
            time.sleep(0.25)
        else:
            raise RehearsalError(f"cgroups left by the guest: {sorted(left_cg)[:5]}")
        if left := mounts_under(self.run_dir):
            raise RehearsalError(f"mounts left under {self.run_dir}: {left}")
        if not self.keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)
