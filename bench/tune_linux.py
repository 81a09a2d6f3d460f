"""A/B of the rendered stack's Gunicorn settings against the DigitalOcean setup (not in `make bench`).

Each variant is the bench's rendered stack (LocalLinuxSite, every default) with a few
`linux.gunicorn` settings overridden. All variants run at once and are measured round-robin
(wrk -c64, 5 s each), and every run also records the CPU its Nginx and its Gunicorn processes
used per request: that split says which side a difference comes from, and it moves less with the
machine's background load than req/s does. docs/performance.md quotes its figures.

    .venv/bin/python bench/tune_linux.py            # TUNE_ROUNDS (default 6)

TUNE_VARIANTS (comma-separated names, default all) picks variants; TUNE_PATH (default /) and
TUNE_GZIP=1 (Accept-Encoding: gzip) pick the request, e.g. TUNE_PATH=/page TUNE_GZIP=1.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import cpu_seconds, rotated, run_wrk  # noqa: E402
from bench.targets import ProcessTarget, RenderedLinux, Target, linux_targets  # noqa: E402
from components.spec.linux import GunicornSpec  # noqa: E402

ROUNDS = int(os.environ.get("TUNE_ROUNDS", "6"))
PATH = os.environ.get("TUNE_PATH", "/")
WRK_ENV = {"WRK_GZIP": os.environ.get("TUNE_GZIP", "0")}
SECONDS = 5.0
CONNECTIONS = 64
CORES = os.cpu_count() or 1

# name -> linux.gunicorn overrides of the rendered defaults
VARIANTS: dict[str, dict[str, Any]] = {
    "rendered defaults": {},
    "rendered defaults (A/A copy)": {},  # the noise band of this run
    f"workers {2 * CORES + 1} (2 x vCPU + 1, the old default)": {"workers": 2 * CORES + 1},
    "no recycling (max_requests 0)": {"max_requests": 0, "max_requests_jitter": 0},
    "max_requests 10000 (the old default)": {"max_requests": 10000, "max_requests_jitter": 1000},
}


def process_groups(t: Target) -> dict[str, list[int]]:
    """Nginx's and the app server's top processes (cpu_seconds adds their children)."""
    if isinstance(t, RenderedLinux) and t.site is not None:
        masters = [t.site.master_pid(n) for n in range(1, t.site.app.linux.gunicorn.masters + 1)]
        return {"nginx": [t.site.nginx_pid or 0], "gunicorn": masters}
    assert isinstance(t, ProcessTarget)
    return {"gunicorn": [t.procs[0].pid], "nginx": [t.procs[1].pid]}


def main() -> int:
    defaults = GunicornSpec()
    print(
        f"{CORES} cores; rendered defaults: workers {defaults.workers} (= {CORES + 1} here),"
        f" {defaults.worker_class}, max_requests {defaults.max_requests}; {ROUNDS} rounds of"
        f" wrk -c{CONNECTIONS} {SECONDS:g}s, round-robin",
        flush=True,
    )
    only = [v for v in os.environ.get("TUNE_VARIANTS", "").split(",") if v]
    targets: list[Target] = [
        RenderedLinux(name, "rendered", path=PATH, gunicorn=o)
        for name, o in VARIANTS.items()
        if not only or name in only
    ]
    targets += [t for t in linux_targets() if t.name.startswith("DigitalOcean")]
    targets[-1].path = PATH
    runs: dict[str, list[tuple[float, float, float, float]]] = {t.name: [] for t in targets}
    started: list[Target] = []
    try:
        for t in targets:
            t.start()
            started.append(t)
        for t in targets:
            run_wrk(t.url, 1, CONNECTIONS, env=WRK_ENV)  # warm-up
        for r in range(ROUNDS):
            for t in rotated(targets, r):
                groups = process_groups(t)
                before = {g: cpu_seconds(p) for g, p in groups.items()}
                w = run_wrk(t.url, SECONDS, CONNECTIONS, env=WRK_ENV)
                used = {
                    g: 1000 * (cpu_seconds(p) - before[g]) / w.requests for g, p in groups.items()
                }
                runs[t.name].append((w.rps, w.p99_ms, used["nginx"], used["gunicorn"]))
            print(f"  round {r + 1}/{ROUNDS} done", flush=True)
    finally:
        for t in reversed(started):
            t.stop()
    print(
        "\n| config | req/s | p99 ms | CPU ms/req: Nginx | Gunicorn | all req/s |\n"
        "|---|---|---|---|---|---|"
    )
    for name, vals in runs.items():
        med = [statistics.median(v[i] for v in vals) for i in range(4)]
        every = ", ".join(f"{v[0]:,.0f}" for v in vals)
        print(f"| {name} | {med[0]:,.0f} | {med[1]:.1f} | {med[2]:.3f} | {med[3]:.3f} | {every} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
