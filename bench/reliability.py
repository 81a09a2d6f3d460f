"""Fault and slow-client scenarios on 127.0.0.1 with the rendered configs, and their report.

Each scenario starts the real rendered stack (LocalLinuxSite: Nginx + Gunicorn masters from the
rendered files; LocalWindowsHost: Waitress services behind the rendered Nginx/Caddy), runs a
bounded request loop, injects one fault, and returns the figures. tests/reliability asserts on
them; this command runs them all and rewrites docs/reliability.md:

    .venv/bin/python bench/reliability.py            # all scenarios -> docs/reliability.md
    .venv/bin/python bench/reliability.py --only slowloris --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reliability_tools import (  # noqa: E402
    Figures,
    Slowloris,
    client_series,
    one_request,
    request_loop,
)
from components.plan.timeouts import timeout_chain  # noqa: E402
from components.spec.stack import StackSpec  # noqa: E402
from components.tooling.local.linux import LocalLinuxSite  # noqa: E402
from components.tooling.local.windows import LocalWindowsHost, free_ports  # noqa: E402
from tests.helpers import specs as catalogue  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
COMMAND = ".venv/bin/python bench/reliability.py"
NO_LIMITS = {"rate_limit_rps": 100000, "rate_limit_burst": 100000}


# -- sites --------------------------------------------------------------------------------------
def linux_spec(
    masters: int,
    *,
    edge: str = "alb",
    worker_class: str = "gthread",
    request_timeout: int = 30,
    workers: int = 2,
    graceful_timeout: int = 30,
) -> StackSpec:
    return catalogue.linux_spec(
        "flask",
        edge,
        masters,
        workers=workers,
        environment="faults",
        top={"request_timeout": request_timeout},
        gunicorn={"worker_class": worker_class, "graceful_timeout": graceful_timeout},
        nginx=NO_LIMITS,
    )


@contextlib.contextmanager
def linux_site(spec: StackSpec) -> Iterator[LocalLinuxSite]:
    workdir = Path(tempfile.mkdtemp(prefix="ws-rel-", dir="/tmp"))
    try:
        with LocalLinuxSite(spec, workdir=workdir) as site:
            yield site
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def workers_of(site: LocalLinuxSite, master: int) -> set[int]:
    pid = site.master_pid(master)
    return _children(pid)


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry))
    return out


def upstream_errors(site: LocalLinuxSite) -> int:
    """Upstream failures Nginx logged (each one a request it had to retry or fail)."""
    log = Path(site.layout.nginx_log_dir) / "error.log"
    if not log.exists():
        return 0
    text = log.read_text(errors="replace")
    return sum(
        text.count(s)
        for s in ("prematurely closed", "Connection reset", "Connection refused", "timed out")
    )


def gunicorn_log(site: LocalLinuxSite) -> str:
    return "".join(
        p.read_text(errors="replace") for p in site.log_paths() if p.name.startswith(site.app.name)
    )


def _wait_for(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# -- Linux faults -------------------------------------------------------------------------------
SLOW_PATH = "/slow?seconds=0.03"  # every request spends time in a worker, so kills hit in-flight


def worker_kill(masters: int) -> Figures:
    """SIGKILL one Gunicorn worker of master 1 (twice, 1 s apart) during the loop."""
    f = Figures("worker SIGKILL", f"Nginx -> Gunicorn, {masters} master(s) x 2 gthread workers",
                "SIGKILL a busy worker of master 1, twice")  # fmt: skip
    with linux_site(linux_spec(masters)) as site:
        killed: list[int] = []

        def kill() -> None:
            victim = sorted(workers_of(site, 1) - set(killed))[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            time.sleep(1.0)

        request_loop(f, site.url(SLOW_PATH), actions=[(100, kill), (100, kill)])
        respawned = _wait_for(lambda: len(workers_of(site, 1)) == 2, 10)
        retried = upstream_errors(site)
        f.notes.append(
            f"killed workers {killed}; master respawned them: {respawned}; Nginx logged "
            f"{retried} upstream error(s) (in-flight requests it retried on another connection)"
        )
        threads = site.app.linux.gunicorn.threads
        f.extra.update(
            respawned=respawned, upstream_errors=retried, in_flight_bound=len(killed) * threads
        )
    return f


def master_kill(supervised: bool = True) -> Figures:
    """SIGKILL master 1 of 2. `supervised`: then do what systemd does with the rendered unit
    (KillMode=mixed: SIGKILL the orphaned workers at once; Restart=always after RestartSec=2).
    Unsupervised, the orphaned workers linger in their graceful shutdown (see the report)."""
    fault = "SIGKILL master 1; " + (
        "as systemd: SIGKILL its workers, restart 2 s later"
        if supervised
        else "no supervisor: its orphaned workers shut down on their own"
    )
    f = Figures("master SIGKILL", "Nginx -> 2 Gunicorn masters x 2 gthread workers", fault)
    with linux_site(linux_spec(2)) as site:
        pid = site.master_pid(1)
        orphans: set[int] = set()

        def crash() -> None:
            orphans.update(workers_of(site, 1))
            os.kill(pid, signal.SIGKILL)
            if supervised:
                for w in orphans:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(w, signal.SIGKILL)
                time.sleep(2.0)  # RestartSec=2
                site.restart_master(1)

        # Unsupervised, run on until the orphans are gone (they linger up to graceful_timeout).
        request_loop(f, site.url(SLOW_PATH), actions=[(100, crash)], timeout=40.0,
                     after=150 if supervised else 3000, max_seconds=55)  # fmt: skip
        gone = _wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in orphans), 40)
        f.extra.update(orphans_gone=gone, restarted=site.master_pid(1) != pid)
        f.notes.append(
            f"master 1 (pid {pid}) killed; orphaned workers gone: {gone}; master 1 restarted: "
            f"{site.master_pid(1) != pid}; Nginx logged {upstream_errors(site)} upstream error(s)"
        )
    return f


def rolling_restart() -> Figures:
    f = Figures("rolling restart", "Nginx -> 2 Gunicorn masters x 2 gthread workers",
                "restart master 1, then master 2 (TERM, graceful, start)")  # fmt: skip
    with linux_site(linux_spec(2)) as site:
        before = {site.master_pid(1), site.master_pid(2)}
        request_loop(
            f,
            site.url(SLOW_PATH),
            actions=[(50, lambda: site.restart_master(1)), (50, lambda: site.restart_master(2))],
            max_seconds=55,
        )
        after = {site.master_pid(1), site.master_pid(2)}
        log = Path(site.layout.nginx_log_dir) / "error.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        f.extra["no_live_upstreams"] = text.count("no live upstreams")
        f.notes.append(
            f"both masters replaced: {before.isdisjoint(after)}; Nginx logged "
            f"{text.count('no live upstreams')} x 'no live upstreams', "
            f"{text.count('Connection refused')} x 'Connection refused'"
        )
        f.extra["replaced"] = before.isdisjoint(after)
    return f


def hup_reload() -> Figures:
    f = Figures("HUP reload", "Nginx -> 1 Gunicorn master x 2 gthread workers",
                "systemctl reload (HUP) twice")  # fmt: skip
    with linux_site(linux_spec(1)) as site:
        old = workers_of(site, 1)
        request_loop(
            f, site.url(SLOW_PATH),
            actions=[(100, lambda: site.reload_master(1)), (100, lambda: time.sleep(1.0)),
                     (100, lambda: site.reload_master(1))],
        )  # fmt: skip
        replaced = _wait_for(lambda: workers_of(site, 1).isdisjoint(old), 10)
        f.notes.append(f"workers replaced, master kept: {replaced}")
        f.extra["replaced"] = replaced
    return f


def hung_request(masters: int, worker_class: str) -> Figures:
    """One request that sleeps far past the chain (request_timeout 3 s) while a loop runs."""
    # graceful_timeout 3: stopping the site must not wait 30 s for the still-sleeping request.
    spec = linux_spec(masters, worker_class=worker_class, request_timeout=3, graceful_timeout=3)
    chain = timeout_chain(spec)
    f = Figures(
        "hung request",
        f"{masters} master(s) x 2 {worker_class} workers; gunicorn timeout "
        f"{chain.gunicorn_timeout}s, nginx read {chain.nginx_read_timeout}s, "
        f"ALB idle {chain.alb_idle_timeout}s",
        "GET /slow?seconds=40 beside a normal loop",
    )
    with linux_site(spec) as site:
        before = set().union(*(workers_of(site, m) for m in range(1, masters + 1)))
        hung: dict[str, Any] = {}

        def hang() -> None:
            status, error, took = one_request(site.url("/slow?seconds=40"), timeout=50)
            hung.update(status=status, error=error, seconds=took)

        t = threading.Thread(target=hang, daemon=True)
        request_loop(f, site.url(SLOW_PATH), threads=2, actions=[(20, t.start),
                     (20, lambda: t.join(75))], after=100, max_seconds=90)  # fmt: skip
        after = set().union(*(workers_of(site, m) for m in range(1, masters + 1)))
        later = [one_request(site.url("/"))[0] for _ in range(20)]
        timeouts = gunicorn_log(site).count("WORKER TIMEOUT")
        f.extra.update(
            hung_status=hung.get("status"),
            hung_error=hung.get("error"),
            hung_seconds=hung.get("seconds"),
            worker_timeouts=timeouts,
            replaced_workers=len(before - after),
            later_ok=later.count(200),
            chain=chain,
        )
        f.notes.append(
            f"hung request: {hung.get('status') or hung.get('error')} after "
            f"{hung.get('seconds', 0):.1f}s (gunicorn timeout {chain.gunicorn_timeout}s, nginx "
            f"read {chain.nginx_read_timeout}s, ALB idle {chain.alb_idle_timeout}s); Gunicorn "
            f"killed {timeouts} worker(s) for it (WORKER TIMEOUT); later requests 200: "
            f"{later.count(200)}/20"
        )
    return f


# -- Windows: Waitress instances behind the rendered proxy --------------------------------------
def waitress_kill(proxy: str) -> Figures:
    spec = catalogue.windows_spec(
        "flask",
        proxy,
        name="flask-app",
        environment="faults",
        instances=3,
        # Caddy has no rate limit to lift (setting one is refused).
        limits=NO_LIMITS if proxy == "nginx" else {},
    )
    app, source = spec.apps[0], ROOT / "examples" / "flask_app"
    f = Figures("Waitress SIGKILL", f"{proxy} -> 3 Waitress instances (8 threads)",
                "SIGKILL instance 2")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="ws-relw-", dir="/tmp"))
    try:
        with LocalWindowsHost(spec, app, root, source) as host:
            victim = host.services[1].name
            request_loop(f, host.url + SLOW_PATH, actions=[(100, lambda: host.kill(victim))])
            f.notes.append(f"killed {victim}; the proxy sent its share to the others")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return f


def _attack(
    name: str,
    setup: str,
    url: str,
    port: int,
    context: ssl.SSLContext | None,
    requests: int,
    timeout: float,
    max_seconds: float,
    hold_seconds: float = 0.0,
) -> Figures:
    baseline = client_series(url, requests, context, timeout, max_seconds)
    with Slowloris("127.0.0.1", port, 500, 0.5, context) as attack:
        time.sleep(1.0)  # every connection has started trickling
        under = client_series(url, requests, context, timeout, max_seconds, hold_seconds)
        held = attack.opened - attack.dropped
    after = client_series(url, requests // 2, context, timeout, max_seconds)
    under.scenario, under.setup = name, setup
    under.fault = "500 connections trickling headers 1 byte / 0.5 s; a normal client loops"
    under.extra.update(
        baseline_median_ms=baseline.median_ms,
        baseline_ok=baseline.ok,
        baseline_sent=baseline.sent,
        after_median_ms=after.median_ms,
        after_ok=after.ok,
        after_sent=after.sent,
        attack_opened=attack.opened,
        attack_dropped=attack.dropped,
        attack_failed_opens=attack.failed_opens,
        attack_held=held,
    )
    under.notes.append(
        f"unloaded median {baseline.median_ms:.1f}ms ({baseline.ok}/{baseline.sent} ok); under "
        f"attack median {under.median_ms:.1f}ms ({under.ok}/{under.sent} ok); attack opened "
        f"{attack.opened} connections, server dropped {attack.dropped}, "
        f"{attack.failed_opens} could not connect; after: {after.ok}/{after.sent} ok"
    )
    return under


def slowloris_nginx_edge() -> Figures:
    """The dev shape: Nginx terminates TLS on the VM; attack and client both speak TLS."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with linux_site(linux_spec(1, edge="nginx")) as site:
        url = site.url("/", https=True)
        return _attack(
            "slowloris", "rendered Nginx edge (TLS) -> 1 Gunicorn master x 2 gthread workers",
            url, site.https_port, ctx, requests=150, timeout=5.0, max_seconds=25,
            hold_seconds=12.0,  # past client_header_timeout (10 s): Nginx drops and they return
        )  # fmt: skip


def slowloris_bare_waitress() -> Figures:
    """For contrast: the same attack on Waitress with default settings, no proxy in front."""
    port = free_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--call",
         "app:create_app"],
        cwd=ROOT / "examples" / "flask_app",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        if not _wait_for(lambda: one_request(url, timeout=2)[0] == 200, 20):
            raise RuntimeError("waitress did not start")
        return _attack(
            "slowloris", "bare Waitress, default settings (4 threads, connection_limit 100)",
            url, port, None, requests=30, timeout=3.0, max_seconds=20,
        )  # fmt: skip
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# -- the report ---------------------------------------------------------------------------------
SCENARIOS: dict[str, Callable[[], Figures]] = {
    "worker-kill-1-master": lambda: worker_kill(1),
    "worker-kill-2-masters": lambda: worker_kill(2),
    "master-kill": master_kill,
    "master-kill-unsupervised": lambda: master_kill(supervised=False),
    "rolling-restart": rolling_restart,
    "hup-reload": hup_reload,
    "waitress-kill-nginx": lambda: waitress_kill("nginx"),
    "waitress-kill-caddy": lambda: waitress_kill("caddy"),
    "hung-request-sync-1": lambda: hung_request(1, "sync"),
    "hung-request-gthread-1": lambda: hung_request(1, "gthread"),
    "hung-request-gthread-2": lambda: hung_request(2, "gthread"),
    "slowloris-nginx-edge": slowloris_nginx_edge,
    "slowloris-bare-waitress": slowloris_bare_waitress,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=list(SCENARIOS), help="run only these")
    p.add_argument("--no-write", action="store_true", help="print, don't rewrite the doc")
    args = p.parse_args(argv)
    results: dict[str, Figures] = {}
    for key in args.only or list(SCENARIOS):
        print(f"== {key}", flush=True)
        results[key] = SCENARIOS[key]()
        print(results[key].summary(), flush=True)
    if not args.no_write:
        from bench.reliability_report import write_report

        write_report(results, DOC, COMMAND)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
