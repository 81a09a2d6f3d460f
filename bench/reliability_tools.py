"""Client side of the reliability scenarios: a request loop that records every outcome and
latency (`Figures`), one-off requests, and a slowloris (`Slowloris`)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


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
