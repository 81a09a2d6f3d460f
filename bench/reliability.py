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
import http.client
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.local_linux import LocalLinuxSite  # noqa: E402
from components.local_windows import LocalWindowsHost, free_ports  # noqa: E402
from components.spec import StackSpec, parse_stack_spec  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
COMMAND = ".venv/bin/python bench/reliability.py"
NO_LIMITS = {"rate_limit_rps": 100000, "rate_limit_burst": 100000}


# -- a request loop that records every outcome and latency --------------------------------------
@dataclass
class Figures:
    """What one scenario measured. Latencies in seconds."""

    scenario: str
    setup: str
    fault: str
    sent: int = 0
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failure_latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    @property
    def failure_rate(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def slowest_failure_ms(self) -> float:
        return max(self.failure_latencies, default=0.0) * 1000

    def failure_kinds(self) -> str:
        kinds = {f"HTTP {s}": n for s, n in self.statuses.items() if s != 200}
        kinds.update(self.errors)
        return ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"

    def summary(self) -> str:
        return (
            f"{self.scenario} [{self.setup}] fault: {self.fault}: sent={self.sent} "
            f"failed={self.failed} ({self.failure_rate:.2%}; {self.failure_kinds()}) "
            f"median={self.median_ms:.1f}ms p99={self.p99_ms:.1f}ms "
            f"slowest failure={self.slowest_failure_ms:.0f}ms in {self.seconds:.1f}s"
            + ("".join(f"\n  - {n}" for n in self.notes))
        )


def _connection(url: str, context: ssl.SSLContext | None, timeout: float) -> Any:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def one_request(
    url: str, context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> tuple[int | None, str | None, float]:
    """One GET on a new connection: (status or None, error name or None, seconds)."""
    start = time.monotonic()
    conn = _connection(url, context, timeout)
    try:
        conn.request("GET", _target(url))
        resp = conn.getresponse()
        resp.read()
        return resp.status, None, time.monotonic() - start
    except Exception as e:
        return None, type(e).__name__, time.monotonic() - start
    finally:
        conn.close()


def request_loop(
    figures: Figures,
    url: str,
    *,
    threads: int = 4,
    actions: list[tuple[int, Callable[[], None]]] | None = None,
    after: int = 150,
    minimum: int = 300,
    max_seconds: float = 45.0,
    context: ssl.SSLContext | None = None,
    timeout: float = 15.0,
) -> Figures:
    """GETs over `threads` keep-alive connections (reconnecting after an error, as a browser
    would). Each action runs (in its own thread, in order) once that many requests were sent;
    the loop ends `after` requests past the last action's end (and at least `minimum`), or at
    `max_seconds`, whichever comes first."""
    lock = threading.Lock()
    stop = threading.Event()
    actions = sorted(actions or [], key=lambda a: a[0])
    done_at: list[int] = []
    action_errors: list[BaseException] = []

    def worker() -> None:
        conn = _connection(url, context, timeout)
        path = _target(url)
        try:
            while not stop.is_set():
                start = time.monotonic()
                status: int | None = None
                error: str | None = None
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    if resp.getheader("connection", "").lower() == "close":
                        conn.close()
                except Exception as e:
                    error = type(e).__name__
                    conn.close()
                    conn = _connection(url, context, timeout)
                took = time.monotonic() - start
                with lock:
                    figures.sent += 1
                    figures.latencies.append(took)
                    if status == 200:
                        figures.ok += 1
                    else:
                        figures.failure_latencies.append(took)
                    if status is not None:
                        figures.statuses[status] += 1
                    if error:
                        figures.errors[error] += 1
        finally:
            conn.close()

    def run_actions() -> None:
        try:
            for at, fn in actions:
                while figures.sent < at and not stop.is_set():
                    time.sleep(0.002)
                fn()
                done_at.append(figures.sent)
        except BaseException as e:
            action_errors.append(e)

    start = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    runner = threading.Thread(target=run_actions, daemon=True)
    runner.start()
    while time.monotonic() - start < max_seconds:
        finished = len(done_at) == len(actions) and not runner.is_alive()
        if finished and figures.sent >= max(minimum, (done_at[-1] if done_at else 0) + after):
            break
        if action_errors:
            break
        time.sleep(0.01)
    stop.set()
    for t in pool:
        t.join(timeout + 5)
    runner.join(5)
    figures.seconds = time.monotonic() - start
    if action_errors:
        raise RuntimeError(f"fault injection failed: {action_errors[0]!r}") from action_errors[0]
    if len(done_at) < len(actions):
        figures.notes.append(f"only {len(done_at)}/{len(actions)} faults injected in time")
    figures.extra["faults_done_at"] = done_at
    return figures


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
    return parse_stack_spec(
        {
            "environment": "faults",
            "request_timeout": request_timeout,
            "edge": {"mode": edge},
            "apps": [
                {
                    "name": "flask-app",
                    "framework": "flask",
                    "wsgi": "app:create_app()",
                    "linux": {
                        "gunicorn": {
                            "masters": masters,
                            "workers": workers,
                            "worker_class": worker_class,
                            "graceful_timeout": graceful_timeout,
                        },
                        "nginx": NO_LIMITS,
                    },
                }
            ],
        }
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
        f.extra.update(respawned=respawned, upstream_errors=retried)
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
        f.notes.append(f"both masters replaced: {before.isdisjoint(after)}")
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
    chain = spec.chain
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
    spec = parse_stack_spec(
        {
            "environment": "faults",
            "apps": [
                {
                    "name": "flask-app",
                    "framework": "flask",
                    "wsgi": "app:create_app()",
                    "os": "windows",
                    "linux": {"nginx": NO_LIMITS},
                    "windows": {"proxy": proxy, "instances": 3},
                }
            ],
        }
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


# -- slow clients (slowloris) -------------------------------------------------------------------
class Slowloris:
    """`count` connections that send request headers one byte per `interval` and never finish.

    A connection the server closes is reopened, so the server faces `count` at all times."""

    def __init__(
        self,
        host: str,
        port: int,
        count: int = 500,
        interval: float = 0.5,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.address = (host, port)
        self.count, self.interval, self.context = count, interval, context
        self.stream = (
            f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slowloris\r\n".encode()
            + b"".join(f"X-Slow-{n}: {n}\r\n".encode() for n in range(5000))
        )
        self.opened = 0
        self.dropped = 0
        self.failed_opens = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> tuple[socket.socket, int] | None:
        try:
            sock = socket.create_connection(self.address, timeout=3)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.address[0])
            self.opened += 1
            return sock, 0
        except OSError:
            self.failed_opens += 1
            return None

    def _run(self) -> None:
        conns: list[tuple[socket.socket, int] | None] = []
        for _ in range(self.count):
            if self._stop.is_set():
                break
            conns.append(self._open())
        self._ready.set()
        while not self._stop.is_set():
            for i, c in enumerate(conns):
                if self._stop.is_set():
                    break
                if c is None:
                    conns[i] = self._open()
                    continue
                sock, pos = c
                try:
                    sock.send(self.stream[pos : pos + 1])
                    conns[i] = (sock, pos + 1)
                except OSError:
                    self.dropped += 1
                    with contextlib.suppress(OSError):
                        sock.close()
                    conns[i] = self._open()
            self._stop.wait(self.interval)
        for c in conns:
            if c is not None:
                with contextlib.suppress(OSError):
                    c[0].close()

    def __enter__(self) -> Slowloris:
        self._thread.start()
        self._ready.wait(120)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def client_series(
    url: str,
    count: int,
    context: ssl.SSLContext | None,
    timeout: float,
    max_seconds: float,
    min_seconds: float = 0.0,
) -> Figures:
    """A normal visitor: sequential GETs, each on a new connection: at least `count` (and for at
    least `min_seconds`), at most `max_seconds`."""
    f = Figures("", "", "")
    start = time.monotonic()
    while f.sent < count or time.monotonic() - start < min_seconds:
        if time.monotonic() - start > max_seconds:
            break
        status, error, took = one_request(url, context, timeout)
        f.sent += 1
        f.latencies.append(took)
        if status == 200:
            f.ok += 1
        else:
            f.failure_latencies.append(took)
        if status is not None:
            f.statuses[status] += 1
        if error:
            f.errors[error] += 1
    f.seconds = time.monotonic() - start
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
