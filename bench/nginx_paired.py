"""Paired rounds of Nginx configs in front of one rendered Gunicorn (not in `make bench`): the
rendered nginx.conf, named ablations of it (bench/nginx_cost.py) and the DigitalOcean server
block, each a normal Nginx (master + workers) on its own port. Every round runs each config once,
back-to-back, rotated; each run records req/s and Nginx's CPU per request (user + system, all its
processes), so the kernel side that callgrind does not count is in the figure, and the CPU the one
Gunicorn behind them all used per request through each Nginx.

    .venv/bin/python bench/nginx_paired.py ["ablation name" ...]   # NGINX_ROUNDS (default 6)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import cpu_seconds, rotated, run_wrk  # noqa: E402
from bench.nginx_cost import ABLATIONS, _upstream_text, _wait, digitalocean_conf  # noqa: E402
from bench.targets import RenderedLinux  # noqa: E402
from bench.verdict import paired_ratios  # noqa: E402
from components.tooling.local.procs import free_port  # noqa: E402

ROUNDS = int(os.environ.get("NGINX_ROUNDS", "6"))
SECONDS = 3.0
CONNECTIONS = 64
PEER = "DigitalOcean tutorial (stock nginx.conf)"


def start(conf_text: str, tmp: Path, slug: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = tmp / f"{slug}.conf"
    text = re.sub(r"listen 127\.0\.0\.1:\d+", f"listen 127.0.0.1:{port}", conf_text)
    conf.write_text(re.sub(r"^pid [^;]+;", f"pid {tmp / slug}.pid;", text, flags=re.M))
    log = tmp / f"{slug}.log"
    proc = subprocess.Popen(
        ["nginx", "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    _wait(url, proc, log)
    return proc, url


def main(names: list[str]) -> int:
    target = RenderedLinux("rendered", "rendered")
    target.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        site = target.site
        assert site is not None
        conf = Path(site.layout.staged_nginx_conf()).read_text()
        tmp = Path(tempfile.mkdtemp(prefix="wsb-pair-", dir="/tmp"))
        socket = re.search(r"server unix:([^ ;]+)", _upstream_text(site))
        assert socket, "no unix socket in the upstream include"
        texts = {n: ABLATIONS[n](conf) for n in ["rendered", *names]}
        texts[PEER] = digitalocean_conf(tmp, socket.group(1))
        urls = {}
        for i, (name, text) in enumerate(texts.items()):
            proc, urls[name] = start(text, tmp, f"c{i}")
            procs.append(proc)
            run_wrk(urls[name], 1, CONNECTIONS)  # warm-up
        runs: dict[str, list[tuple[float, float, float]]] = {n: [] for n in texts}
        pids = dict(zip(texts, (p.pid for p in procs), strict=True))
        gunicorn = [site.master_pid(1)]
        for r in range(ROUNDS):
            for name in rotated(list(texts), r):
                before = cpu_seconds([pids[name]]), cpu_seconds(gunicorn)
                w = run_wrk(urls[name], SECONDS, CONNECTIONS)
                n = max(w.requests, 1)
                used = 1000 * (cpu_seconds([pids[name]]) - before[0]) / n
                app = 1000 * (cpu_seconds(gunicorn) - before[1]) / n
                runs[name].append((w.rps, used, app))
        report(runs)
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        target.stop()
    return 0


def report(runs: dict[str, list[tuple[float, float, float]]]) -> None:
    load = os.getloadavg()[0]
    print(f"{ROUNDS} rounds of wrk -c{CONNECTIONS} {SECONDS:g}s; load average now {load:.1f}")
    print("| Nginx config | req/s | CPU ms/req: Nginx | Gunicorn | req/s vs DigitalOcean, paired |")
    print("|---|---|---|---|---|")
    peer = [v[0] for v in runs[PEER]]
    for name, vals in runs.items():
        p = paired_ratios([v[0] for v in vals], peer)
        vs = "" if name == PEER else f"{p.median:.2f}x ({p.low:.2f}-{p.high:.2f})"
        rps = statistics.median(v[0] for v in vals)
        cpu = statistics.median(v[1] for v in vals)
        app = statistics.median(v[2] for v in vals)
        print(f"| {name} | {rps:,.0f} | {cpu:.3f} | {app:.3f} | {vs} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
