"""Boot rehearsal checks for the CloudWatch agent's inputs (issue 15), run from the host.

The guest ran the agent stand-in (components/cwagent_standin.py) on the very config the user data
carries; here every log file that config names must exist and receive lines during requests
(an error-level request for the error log), and every journald unit it names must have entries.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

from components.plan.linux_layout import HostLayout
from components.plan.observability import agent_config_path, agent_log_paths
from components.spec.stack import AppSpec
from components.tooling.cwagent_standin import REPORT
from components.tooling.vm_checks import _TLSConnection, active_release, request
from components.tooling.vm_guest import Guest, RehearsalError, log

STANDIN_GUEST_PATH = "/usr/local/sbin/webstack-cwagent-standin"


def install_standin(guest: Guest) -> dict[str, str]:
    """Copy the stand-in into the guest; the environment that makes the bootstrap use it."""
    guest.write(
        STANDIN_GUEST_PATH, Path(__file__).with_name("cwagent_standin.py").read_text(), 0o755
    )
    return {"WEBSTACK_CWAGENT_STANDIN": STANDIN_GUEST_PATH}


def check_agent_inputs(
    guest: Guest, app: AppSpec, layout: HostLayout, checks: dict[str, str], cafile: Path | None
) -> None:
    """Add the agent-input checks to `checks`; raises RehearsalError on the first failure."""
    port = layout.https_port if cafile else layout.http_port

    def expect(name: str, ok: bool, detail: str) -> None:
        checks[name] = ("ok: " if ok else "FAILED: ") + detail
        log(f"  check {name}: {checks[name]}")
        if not ok:
            raise RehearsalError(f"check {name!r} failed: {detail}", guest.diagnostics())

    report_path = guest.path(str(REPORT))
    expect("agent stand-in ran", report_path.is_file(), f"{REPORT} (STAND-IN, not the agent)")
    report = json.loads(report_path.read_text())
    config = json.loads(guest.path(str(agent_config_path(layout))).read_text())
    expect(
        "agent stand-in read the config", report["files"] == agent_log_paths(config), str(REPORT)
    )
    files = {p: guest.path(p) for p in agent_log_paths(config)}
    sizes = {p: f.stat().st_size if f.exists() else -1 for p, f in files.items()}
    for _ in range(3):
        request(port, f"/webstack-rehearsal-{_}", app.health_host, cafile)
    # An error-level line for the error log: a body over client_max_body_size (413).
    _oversized_post(port, app.health_host, cafile)
    # Nginx buffers the access log (`buffer=64k flush=1s`): its lines land within a second or two.
    deadline = time.monotonic() + 5
    for path, f in files.items():
        while not (grew := f.exists() and f.stat().st_size > max(sizes[path], 0)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        static = path.endswith("bootstrap.log") and f.exists() and f.stat().st_size > 0
        expect(
            f"agent input {Path(path).name}",
            grew or static,
            f"{path}: {sizes[path]} -> {f.stat().st_size if f.exists() else 'missing'} bytes",
        )
    slot, _release = active_release(guest, app, layout)
    serving = f"webstack-{app.name}@{slot}.service"
    expect("agent reads the serving slot", serving in report["journald_units"], serving)
    for unit in report["journald_units"]:
        if unit != serving:  # the idle slot: no release ran on it yet, its journal may be empty
            checks[f"agent input journal {unit}"] = "ok: idle slot (named for the next release)"
            continue
        out = guest.inside(["journalctl", "--no-pager", "-q", "-u", unit, "-n", "5"], check=False)
        expect(f"agent input journal {unit}", bool(out.strip()), f"journalctl -u {unit}")


def _oversized_post(port: int, host: str, cafile: Path | None) -> int:
    """Announce a 1 GiB body: Nginx answers 413 from the header alone and logs an error line
    ("client intended to send too large body")."""
    conn = (
        _TLSConnection(port, host, cafile)
        if cafile
        else http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    )
    try:
        conn.putrequest("POST", "/", skip_host=True)
        for name, value in (
            ("Host", host),
            ("Content-Length", str(1 << 30)),
            ("Connection", "close"),
        ):
            conn.putheader(name, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()
