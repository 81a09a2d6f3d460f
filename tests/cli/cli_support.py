"""Helpers of the `webstack` command tests: run it as a process, stack files (no fixtures here)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_module(*args: str | Path, cwd: Path = ROOT, timeout: float = 120) -> Result:
    """`python -m components ARGS...` as a separate process: what a user's shell sees."""
    env = {k: v for k, v in os.environ.items() if k != "WEBSTACK_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "components", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


MIXED_STACK = """\
config:
  aws:region: eu-central-1
  webstack:network:
    cidr: 10.60.0.0/16
    az_count: 2
    nat: single
  webstack:edge:
    mode: alb
    tls:
      mode: self-signed
  webstack:apps:
    - name: shop
      framework: flask
      wsgi: app:create_app()
      source:
        path: examples/flask_app
    - name: reports
      framework: flask
      wsgi: app:create_app()
      os: windows
      source:
        path: examples/flask_app
      path_prefix: /reports/
      windows:
        proxy: caddy
        instances: 2
    - name: backoffice
      framework: django
      wsgi: proj.wsgi:application
      os: windows
      source:
        path: examples/django_app
      path_prefix: /backoffice/
      windows:
        proxy: iis
"""
