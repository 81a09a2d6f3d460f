"""Load generation and measurement: wrk runs, peak RSS of a process tree, slow clients.

Every run is bounded (fixed duration and connection count) so the whole bench has a known cost.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_report.lua"
SLOW_CLIENTS = HERE / "slow_clients.py"
PAGE = os.sysconf("SC_PAGE_SIZE")
T = TypeVar("T")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect + read + write + timeout + non-2xx/3xx statuses
    error_detail: dict[str, int]
    bytes_per_request: float = 0.0  # response bytes as received (headers included)


@dataclass
class Sample:
    """Every repeat of one measurement; the report uses the medians."""

    runs: list[WrkResult] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs]
        return statistics.median(values) if values else float("nan")

    @property
    def rps(self) -> float:
        return self.median("rps")

    @property
    def p50_ms(self) -> float:
        return self.median("p50_ms")

    @property
    def p99_ms(self) -> float:
        return self.median("p99_ms")

    @property
    def errors(self) -> float:
        return self.median("errors")


def run_wrk(
    url: str,
    seconds: float,
    connections: int,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> WrkResult:
    """One wrk run with the reporting script; raises if wrk itself fails. `env` reaches the
    script (WRK_MIX_EVERY / WRK_MIX_PATH / WRK_GZIP, see wrk_report.lua)."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "2s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        env={**os.environ, **(env or {})},
    )
    line = next(
        (ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")),
        None,
    )
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    detail = {k: int(data[k]) for k in ("connect", "read", "write", "timeout", "status")}
    secs = data["duration_us"] / 1e6
    return WrkResult(
        requests=int(data["requests"]),
        seconds=secs,
        rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000.0,
        p99_ms=data["p99_us"] / 1000.0,
        errors=sum(detail.values()),
        error_detail=detail,
        bytes_per_request=data.get("bytes", 0) / max(int(data["requests"]), 1),
    )


def rotated(items: list[T], r: int) -> list[T]:
    """Round r's order: every item takes every position in turn, so a slow spell of the
    machine does not always fall on the same config."""
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


# -- process trees and memory -------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(roots: list[int]) -> set[int]:
    """The roots and every process below them."""
    children = _children_map()
    found: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def rss_bytes(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/statm").read_text().split()
        except OSError:
            continue
        total += int(fields[1]) * PAGE
    return total


class PeakRss:
    """Samples the summed RSS of a process tree (re-read each time: workers come and go)."""

    def __init__(self, roots: list[int], interval: float = 0.2) -> None:
        self.roots = roots
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(tree(self.roots)))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(tree(self.roots)))


# -- slow clients ---------------------------------------------------------------------------------
class SlowClients:
    """N connections trickling request headers one byte at a time and never finishing them
    (reconnecting when the server drops one), in a separate process."""

    def __init__(self, host: str, port: int, count: int = 300, byte_interval: float = 0.5) -> None:
        self.args = [host, str(port), str(count), str(byte_interval)]
        self.proc: subprocess.Popen[str] | None = None
        self.connected = 0

    def __enter__(self) -> SlowClients:
        self.proc = subprocess.Popen(
            [sys.executable, str(SLOW_CLIENTS), *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 15
        # The helper prints how many are open once all were attempted.
        line = self.proc.stdout.readline()
        if time.monotonic() > deadline or not line.startswith("OPEN "):
            self.__exit__()
            raise RuntimeError(f"slow clients did not start: {line!r}")
        self.connected = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


# -- CPU time of a process tree -----------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU of a tree so far, including its reaped children (cutime/cstime), so a
    worker that exits during a run (max_requests recycling) still counts."""
    total = 0
    for pid in tree(roots):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK
