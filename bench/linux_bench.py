"""The Linux section of `make bench`: workload rows, each a set of configs measured back-to-back in
every round (rotated within the row), and the paired verdicts (bench/verdict.py).

Every config is started once and serves every row it takes part in (a row is a path and a wrk
load on the running configs). The rendered stack appears as the defaults a user gets: profile
`cpu` (the Flask default), profile `io` (Pulumi.prod.yaml's Django gunicorn settings, run with
the sample Flask app) and the microcache (opt-in) on a page the app marks cacheable. Each row also
runs a second copy of its default config (A/A): the ratio of the two is the row's noise band.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.load import PeakRss, SlowClients, WrkResult, cpu_seconds, rotated, run_wrk
from bench.targets import (
    STATIC_PATH,
    ProcessTarget,
    RenderedLinux,
    SharedPath,
    Target,
    beanstalk,
    digitalocean_tutorial,
    flask_dev_server,
    gunicorn_alone,
    gunicorn_defaults_behind_nginx,
    nginx_ceiling,
)

REPO = Path(__file__).resolve().parent.parent
PEERS = ("gunicorn-defaults", "digitalocean", "eb-defaults", "eb-procfile")
IO_PATH = "/slow?seconds=0.02"
CACHED_PATH = "/cacheable"
# BENCH_SECONDS (default 3) scales every row's run length (smoke runs: BENCH_SECONDS=1).
SCALE = float(os.environ.get("BENCH_SECONDS", "3")) / 3.0


def prod_gunicorn() -> dict[str, object]:
    """linux.gunicorn of Pulumi.prod.yaml's app, as shipped (the Django default a user gets)."""
    data = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    return dict(data["config"]["webstack:apps"][0]["linux"].get("gunicorn", {}))


def base_targets() -> dict[str, Target]:
    io = prod_gunicorn()
    cache = {"enabled": True, "paths": [CACHED_PATH]}
    return {
        "cpu": RenderedLinux("webstack, profile cpu (the Flask default)", "rendered"),
        "cpu-aa": RenderedLinux("webstack, profile cpu, A/A copy", "rendered"),
        "io": RenderedLinux("webstack, Pulumi.prod.yaml's gunicorn (profile io)", "rendered", gunicorn=io),
        "io-aa": RenderedLinux("webstack, prod's gunicorn, A/A copy", "rendered", gunicorn=io),
        "cache": RenderedLinux("webstack + microcache (Flask default)", "rendered", microcache=cache),
        "cache-aa": RenderedLinux("webstack + microcache, A/A copy", "rendered", microcache=cache),
        "gunicorn-defaults": ProcessTarget(
            "Gunicorn defaults behind plain proxy_pass", "peer", build=gunicorn_defaults_behind_nginx
        ),
        "digitalocean": ProcessTarget(
            "DigitalOcean tutorial (3 sync, unix socket)", "peer", build=digitalocean_tutorial
        ),
        "eb-defaults": ProcessTarget(
            "Elastic Beanstalk defaults (1 proc x 15 threads)", "peer", build=beanstalk(1, 15)
        ),
        "eb-procfile": ProcessTarget(
            "Elastic Beanstalk Procfile example (3 x 2)", "peer", build=beanstalk(3, 2)
        ),
        "gunicorn-alone": ProcessTarget("Gunicorn alone (defaults)", "reference", build=gunicorn_alone),
        "flask-dev": ProcessTarget("Flask development server", "reference", build=flask_dev_server),
        "ceiling": ProcessTarget("ceiling: Nginx itself", "ceiling", build=nginx_ceiling),
    }  # fmt: skip


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    path: str
    seconds: float
    default: str  # the base whose config is the user's default for this workload
    others: tuple[str, ...] = ()  # the other rendered defaults (the trade)
    extra: tuple[str, ...] = ()  # references, ceilings
    paths: dict[str, str] = field(default_factory=dict)  # per-base path, when not `path`
    env: dict[str, str] = field(default_factory=dict)  # for wrk_report.lua
    slow_clients: bool = False
    factor: float = 1.0  # the must-show: at least this times the best peer
    ceiling_factor: float = 0.0  # and at least this times the ceiling (0 = no such target)
    prime: bool = False  # one request before each run (the page is in steady use, not cold)

    @property
    def aa(self) -> str:
        return f"{self.default}-aa"


WORKLOADS = (
    Workload("tiny", "tiny JSON `/` (the app computes ~0.3 ms, no waiting)", "/", 3.0, "cpu",
             others=("io",), extra=("gunicorn-alone", "flask-dev", "ceiling"), slow_clients=True),
    Workload("io", f"I/O-bound `{IO_PATH}` (waits 20 ms, as on a database call)", IO_PATH, 2.0,
             "io", others=("cpu",), factor=1.0),
    Workload("mixed", "mixed: `/`, every 20th request `/slow?seconds=0.2` (5% slow)", "/", 2.0,
             "io", others=("cpu",), env={"WRK_MIX_EVERY": "20", "WRK_MIX_PATH": "/slow?seconds=0.2"}),
    Workload("page", "a 200 KB HTML page `/page` built per request, gzip", "/page", 2.0, "cpu",
             others=("io",), env={"WRK_GZIP": "1"}),
    Workload("static", f"static file `{STATIC_PATH}`", STATIC_PATH, 2.0, "cpu", extra=("ceiling",)),
    Workload("cached", f"cacheable page `{CACHED_PATH}` (the app says `Cache-Control: public`;"
             " one request before each run, so the page is cached as in steady use)",
             CACHED_PATH, 2.0, "cache", extra=("ceiling",), paths={"ceiling": STATIC_PATH},
             factor=10.0, ceiling_factor=0.5, prime=True),
)  # fmt: skip


@dataclass
class LinuxRow:
    workload: Workload
    key: str
    role: str  # default | aa | other | peer | reference | ceiling
    target: Target
    runs: list[WrkResult | None] = field(default_factory=list)  # by round
    cpu: list[dict[str, float]] = field(default_factory=list)  # ms/req per process group
    kept: list[float] = field(default_factory=list)  # slow-client req/s / the run just before
    peak_rss_mb: float = 0.0

    def rps(self) -> list[float | None]:
        return [r.rps if r else None for r in self.runs]

    def p99(self) -> list[float | None]:
        return [r.p99_ms if r else None for r in self.runs]

    def median(self, attr: str) -> float:
        vals = [getattr(r, attr) for r in self.runs if r is not None]
        return statistics.median(vals) if vals else math.nan

    def cpu_ms(self, group: str | None = None) -> float:
        vals = [sum(c.values()) if group is None else c.get(group, math.nan) for c in self.cpu]
        vals = [v for v in vals if not math.isnan(v)]
        return statistics.median(vals) if vals else math.nan


def linux_rows(bases: dict[str, Target]) -> list[LinuxRow]:
    rows = []
    for wl in WORKLOADS:
        plan = [(wl.default, "default"), (wl.aa, "aa")] + [(k, "other") for k in wl.others]
        plan += [(k, "peer") for k in PEERS]
        plan += [(k, bases[k].kind) for k in wl.extra]
        for key, role in plan:
            base = bases[key]
            path = wl.paths.get(key, wl.path)
            name = base.name + ("" if path == wl.path else f" `{path}`")
            rows.append(LinuxRow(wl, key, role, SharedPath(name, base.kind, path=path, base=base)))
    return rows


def measure_linux(
    bases: dict[str, Target],
    rows: list[LinuxRow],
    rounds: int,
    slow_rounds: int,
    connections: int,
    slow: int,
    say: Callable[[str], None],
) -> None:
    """Start every base once; then each round runs every row's configs back-to-back (rotated)."""
    live: list[Target] = []
    try:
        for key, t in bases.items():
            started = time.monotonic()
            try:
                _start(t, say)
            except Exception as e:  # reported as failed runs, not fatal
                say(f"  FAILED to start {key}: {str(e).splitlines()[0]}")
                continue
            live.append(t)
            say(f"  started {t.name} on {t.url} ({time.monotonic() - started:.1f}s)")
        for row in rows:
            row.target.start()
        for wl in WORKLOADS:
            for row in _rows_of(rows, wl):
                if _alive(row, live):
                    with contextlib.suppress(Exception):  # a failure shows in the measured runs
                        run_wrk(row.target.url, 0.5, connections, env=wl.env)
        for r in range(rounds):
            say(f"  round {r + 1}/{rounds}")
            for wl in WORKLOADS:
                for row in rotated(_rows_of(rows, wl), r):
                    res = _one(row, live, connections, say)
                    with_slow = wl.slow_clients and r < slow_rounds and row.role != "reference"
                    if res is not None and with_slow and row.role not in ("aa", "ceiling"):
                        _slow_run(row, res, connections, slow, say)
    finally:
        for t in reversed(live):
            try:
                t.stop()
            except Exception as e:  # keep stopping the others
                say(f"  stop {t.name}: {e}")


def run_seconds(wl: Workload) -> float:
    """wrk takes whole seconds."""
    return float(max(1, round(wl.seconds * SCALE)))


def _rows_of(rows: list[LinuxRow], wl: Workload) -> list[LinuxRow]:
    return [r for r in rows if r.workload is wl]


def _alive(row: LinuxRow, live: list[Target]) -> bool:
    base = row.target.base  # type: ignore[attr-defined]
    return base in live


def _start(t: Target, say: Callable[[str], None]) -> None:
    try:
        t.start()
    except Exception as e:  # the machine is shared: one retry
        say(f"  {t.name}: start failed ({str(e).splitlines()[0]}), retrying once")
        t.stop()
        t.start()


def _one(
    row: LinuxRow, live: list[Target], connections: int, say: Callable[[str], None]
) -> WrkResult | None:
    t, wl = row.target, row.workload
    if not _alive(row, live):
        row.runs.append(None)
        return None
    try:
        if wl.prime:
            with contextlib.suppress(OSError), urllib.request.urlopen(t.url, timeout=10) as r:
                r.read()
        groups = t.process_groups()
        with PeakRss(t.roots()) as rss:
            before = {g: cpu_seconds(p) for g, p in groups.items()}
            res = run_wrk(t.url, run_seconds(wl), connections, env=wl.env)
            used = {g: cpu_seconds(p) - before[g] for g, p in groups.items()}
        row.cpu.append({g: 1000 * s / max(res.requests, 1) for g, s in used.items()})
        row.peak_rss_mb = max(row.peak_rss_mb, rss.peak / 2**20)
        row.runs.append(res)
        say(
            f"    {wl.key:6s} {t.name[:52]:52s} {res.rps:8.0f} req/s  p99 {res.p99_ms:7.1f} ms"
            f"  errors {res.errors}"
        )
        return res
    except Exception as e:
        row.runs.append(None)
        say(f"    {wl.key} {t.name}: run failed: {str(e).splitlines()[0]}")
        return None


def _slow_run(
    row: LinuxRow, plain: WrkResult, connections: int, slow: int, say: Callable[[str], None]
) -> None:
    t = row.target
    try:
        with SlowClients("127.0.0.1", t.port, slow):
            time.sleep(0.5)  # let them start trickling
            res = run_wrk(t.url, run_seconds(row.workload), connections, env=row.workload.env)
        if plain.rps:
            row.kept.append(100.0 * res.rps / plain.rps)
        say(f"    {'':6s} {t.name[:52]:52s} {res.rps:8.0f} req/s with {slow} slow clients")
    except Exception as e:
        say(f"    {t.name}: slow-client run failed: {str(e).splitlines()[0]}")
