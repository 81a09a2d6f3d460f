"""A bounded load for release rehearsals: about `rate` requests a second from a few threads for as
long as its `with` block runs, every answer's status counted and the release that served it.

One loop for the boot rehearsal (components/tooling/vm_release.py, through the guest's Nginx)
and the activation tests on 127.0.0.1 (tests/e2e/test_release_activation.py); each says how to
send one request (`ask`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

# ask(n): send a thread's n-th request (from 1); (HTTP status, the release that served it, or
# None for an answer that names none and is not counted by release).
Ask = Callable[[int], tuple[int, str | None]]


class RateLoad:
    def __init__(self, ask: Ask, rate: float = 50.0, threads: int = 4) -> None:
        self.ask, self.gap, self.threads = ask, threads / rate, threads
        self.statuses: Counter[str] = Counter()
        self.releases: Counter[str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool: list[threading.Thread] = []

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "200")

    def __enter__(self) -> RateLoad:
        self._pool = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for t in self._pool:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._pool:
            t.join(30)

    def _run(self) -> None:
        sent = 0
        while not self._stop.is_set():
            started, sent = time.monotonic(), sent + 1
            try:
                status, served = self.ask(sent)
                outcome = str(status)
            except Exception as e:  # any failure is a lost request, named by its type
                outcome, served = type(e).__name__, None
            with self._lock:
                self.statuses[outcome] += 1
                if served is not None:
                    self.releases[served] += 1
            self._stop.wait(max(0.0, self.gap - (time.monotonic() - started)))
