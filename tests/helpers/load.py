"""A bounded request loop over a few threads, with actions fired at given progress points."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.net import connection, request_on


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)  # parsed JSON of the 200 answers
    marks: list[int] = field(default_factory=list)  # requests sent when each action returned
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    def summary(self, name: str) -> str:
        return (
            f"{name}: sent={self.sent} ok={self.ok} failed={self.failed} "
            f"statuses={dict(self.statuses)} errors={dict(self.errors)} in {self.seconds:.1f}s"
            + (f" actions done at {self.marks}" if self.marks else "")
        )


def run_load(
    url: str,
    total: int,
    threads: int = 4,
    *,
    actions: Mapping[int, Callable[[], None]] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 20.0,
    rps: float | None = None,
    **conn_kw: Any,
) -> LoadResult:
    """Send exactly `total` GETs over `threads` keep-alive connections (reconnecting after an
    error, as a real client would); run each action when that many requests have been sent.
    `rps`: a bounded load, each thread pausing so that all together send about that many a second."""
    result = LoadResult()
    lock = threading.Lock()
    next_index = iter(range(total))
    sent = 0

    def worker() -> None:
        nonlocal sent
        conn = connection(url, **conn_kw)
        try:
            while True:
                with lock:
                    if next(next_index, None) is None:
                        return
                    sent += 1
                if rps:
                    time.sleep(threads / rps)
                try:
                    reply = request_on(conn, url, headers=headers)
                except Exception as e:  # any failure is a lost request
                    conn.close()
                    conn = connection(url, **conn_kw)
                    with lock:
                        result.sent += 1
                        result.errors[type(e).__name__] += 1
                    continue
                with lock:
                    result.sent += 1
                    result.statuses[reply.status] += 1
                    if reply.status == 200:
                        result.ok += 1
                        if reply.headers.get("content-type", "").startswith("application/json"):
                            result.bodies.append(reply.json())
        finally:
            conn.close()

    start = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    pending = sorted((actions or {}).items())
    while pending and any(t.is_alive() for t in pool):
        if sent >= pending[0][0]:
            pending.pop(0)[1]()
            result.marks.append(sent)
        else:
            time.sleep(0.002)
    for t in pool:
        t.join(timeout)
    result.seconds = time.monotonic() - start
    if any(t.is_alive() for t in pool):
        raise AssertionError(f"load loop did not finish in {timeout}s: {result.summary(url)}")
    if pending:
        raise AssertionError(f"the loop ended before actions at {[p[0] for p in pending]}")
    return result
