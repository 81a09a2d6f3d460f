"""Supervision of the local sites under `webstack up --local --serve`, as systemd does on the VM.

A Gunicorn master that exits is started again after the unit's RestartSec when its unit says
`Restart=always` (the rendered unit does), within systemd's default start limit (5 starts in 10 s,
StartLimitBurst / StartLimitIntervalSec in systemd.unit(5)); past it, or when Nginx itself dies (the
distribution's nginx.service has no Restart=), supervision gives up: the command reports it and
exits non-zero instead of serving 502s behind a table that said "passed".
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

from components.tooling.errors import SiteError

START_LIMIT_BURST = 5
START_LIMIT_INTERVAL = 10.0


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exited with status {status}"


class Supervisor:
    """Call `check()` every second or so: it restarts what systemd would and reports each event."""

    def __init__(
        self, site: Any, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic
    ):
        self.site = site
        self.say = say
        self.clock = clock
        self._died: dict[int, float] = {}
        self._starts: dict[int, list[float]] = {}

    def check(self) -> None:
        """Restart exited masters when due; SiteError when supervision must give up."""
        status = self.site.nginx_exit
        if status is not None:
            raise SiteError(f"nginx {describe_exit(status)}; nothing restarts it (as on the VM)")
        now = self.clock()
        for n, code in sorted(self.site.exited_masters().items()):
            unit = self.site.unit(n)
            if n not in self._died:
                self._died[n] = now
                self.say(f"gunicorn master {n} {describe_exit(code)}")
            if unit.restart not in ("always", "on-failure", "on-abnormal") or (
                unit.restart != "always" and code == 0
            ):
                raise SiteError(f"{unit.name} {describe_exit(code)} and Restart={unit.restart}")
            if now - self._died[n] < unit.restart_sec:
                continue
            recent = [t for t in self._starts.get(n, []) if now - t < START_LIMIT_INTERVAL]
            if len(recent) >= START_LIMIT_BURST:
                raise SiteError(
                    f"{unit.name} keeps dying: {START_LIMIT_BURST} restarts within "
                    f"{START_LIMIT_INTERVAL:.0f}s (systemd's start limit); giving up"
                )
            self._starts[n] = [*recent, now]
            self.site.restart_master(n)
            del self._died[n]
            self.say(f"gunicorn master {n} restarted (Restart={unit.restart}, pid "
                     f"{self.site.master_pid(n)})")  # fmt: skip
