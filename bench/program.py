"""Program speed: the prod-like stack evaluated under Pulumi mocks for 1, 5, 10 and 50 apps, and the
unit-test suite. The evaluation runs in a child process (a fresh Pulumi runtime), warmed up once
(imports), then each size REPEATS times round-robin; the median is reported."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SIZES = (1, 5, 10, 50)
REPEATS = int(os.environ.get("BENCH_PROGRAM_REPEATS", "3"))
MAX_50_OVER_5 = 12.0

# Runs in the child: N copies of Pulumi.prod.yaml's app (own name and hostname each), evaluated by
# the same WebStack the program builds, under the mocks.
CHILD = r"""
import copy, json, sys, tempfile, time
from pathlib import Path
root = Path(sys.argv[1])
sizes = [int(x) for x in sys.argv[2].split(",")]
repeats = int(sys.argv[3])
sys.path.insert(0, str(root))
from components.tooling.config import read_stack_file
from components.tooling.mocks import build_webstack, run_under_mocks
from components.plan.checks import load_stack_spec
raw, names = read_stack_file(root / "Pulumi.prod.yaml")
base = raw["apps"][0]

def spec_for(n):
    r = copy.deepcopy(raw)
    r["apps"] = []
    for i in range(n):
        a = copy.deepcopy(base)
        a["name"] = f"app{i:02d}"
        a["hostnames"] = [f"app{i:02d}.example.com"]
        # Derived listener-rule priorities are hashes; 50 apps would collide (a config error).
        a["priority"] = 1000 + i
        r["apps"].append(a)
    keys = names.get(base["name"], ())
    secrets = {a["name"]: {k: "bench-secret" for k in keys} for a in r["apps"]}
    return load_stack_spec(r, {k: set(v) for k, v in secrets.items()}), secrets

def once(n):
    spec, secrets = spec_for(n)
    build = Path(tempfile.mkdtemp(prefix="wsb-build-"))
    t = time.perf_counter()
    mocks, _ = run_under_mocks(build_webstack(spec, secrets, root, build), stack="prod")
    return time.perf_counter() - t, len(mocks.resources)

once(1)  # warm-up: imports, template cache
out = {n: [] for n in sizes}
resources = {}
for _ in range(repeats):
    for n in sizes:
        secs, count = once(n)
        out[n].append(secs)
        resources[n] = count
print("PROGRAMJSON " + json.dumps({"times": out, "resources": resources}))
"""


@dataclass
class ProgramSpeed:
    times: dict[int, list[float]]
    resources: dict[int, int]
    unit_tests: list[float]
    unit_summary: str

    def median(self, n: int) -> float:
        return statistics.median(self.times[n])

    @property
    def ratio_50_5(self) -> float:
        return self.median(50) / self.median(5)

    def markdown(self) -> list[str]:
        rows = [
            "The prod stack (Pulumi.prod.yaml: ALB, ACM, 3 AZs, NAT per AZ, 2 Gunicorn masters)"
            " with its app repeated N times (own name and hostname each), evaluated by `run_under_mocks("
            "build_webstack(...))` in a fresh process after one warm-up evaluation; "
            f"{REPEATS} repeats round-robin, median shown.",
            "",
            "| apps | resources | seconds (median) | seconds per app | all repeats |",
            "|---|---|---|---|---|",
        ]
        for n in sorted(self.times):
            m = self.median(n)
            runs = ", ".join(f"{x:.2f}" for x in self.times[n])
            rows.append(f"| {n} | {self.resources[n]} | {m:.2f} | {m / n:.3f} | {runs} |")
        ok = self.ratio_50_5 <= MAX_50_OVER_5
        rows += [
            "",
            f"- {'PASS' if ok else 'FAIL'}: 50 apps take {self.ratio_50_5:.1f}x the time of 5 apps"
            f" (at most {MAX_50_OVER_5:g}x; 10x is exactly linear).",
            f"- Unit tests (`pytest tests/unit -q`): {statistics.median(self.unit_tests):.1f}s"
            f" wall (median of {len(self.unit_tests)}: "
            + ", ".join(f"{x:.1f}" for x in self.unit_tests)
            + f"); {self.unit_summary}.",
            "",
        ]
        return rows


def measure_program(repo: Path, say: Callable[[str], None]) -> ProgramSpeed:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), ",".join(map(str, SIZES)), str(REPEATS)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=repo,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("PROGRAMJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(
            f"mocks evaluation failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    data = json.loads(line.removeprefix("PROGRAMJSON "))
    times = {int(k): v for k, v in data["times"].items()}
    resources = {int(k): v for k, v in data["resources"].items()}
    for n in SIZES:
        say(f"  {n:3d} apps: {statistics.median(times[n]):6.2f}s ({resources[n]} resources)")
    unit, summary = [], ""
    pytest = Path(sys.prefix) / "bin" / "pytest"
    for _ in range(REPEATS):
        t = time.perf_counter()
        res = subprocess.run(
            [str(pytest), "tests/unit", "-q", "-p", "no:cacheprovider"],
            capture_output=True,
            text=True,
            cwd=repo,
            timeout=900,
        )
        unit.append(time.perf_counter() - t)
        tail = [ln for ln in res.stdout.splitlines() if ln.strip()]
        summary = tail[-1].strip("= ") if tail else f"exit {res.returncode}"
    say(f"  unit tests: {statistics.median(unit):.1f}s ({summary})")
    return ProgramSpeed(times, resources, unit, summary)
