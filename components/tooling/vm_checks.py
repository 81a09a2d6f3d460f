"""What the boot rehearsal checks from the host once cloud-init is done (see vm_rehearsal).

The same things an ALB health check and an operator would look at: HTTPS through Nginx to Gunicorn
and the app (verified against the stack's certificate), the port-80 redirect, the units, a reload
under traffic, and the secrets' file mode and their arrival in the app.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

from components.plan.linux_layout import HostLayout
from components.spec.stack import AppSpec
from components.tooling.vm_guest import Guest, RehearsalError, log


class _TLSConnection(http.client.HTTPConnection):
    """HTTPS to 127.0.0.1 verified against the stack's certificate for `server_name` (SNI)."""

    def __init__(self, port: int, server_name: str, cafile: Path) -> None:
        super().__init__("127.0.0.1", port, timeout=10)
        self.server_name = server_name
        self.ctx = ssl.create_default_context(cafile=str(cafile))
        self.ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)

    def connect(self) -> None:
        super().connect()
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname=self.server_name)


def request(port: int, path: str, host: str, cafile: Path | None) -> tuple[int, dict, bytes]:
    """GET from the host over HTTPS (when cafile is given) or HTTP: status, headers, body."""
    if cafile:
        conn: http.client.HTTPConnection = _TLSConnection(port, host, cafile)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host, "Connection": "close"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# long: the VM's serving checks in the order they run, each with its verdict.
def check_serving(
    guest: Guest,
    app: AppSpec,
    layout: HostLayout,
    cafile: Path | None,
    secret_values: dict[str, str],
    expected_release: str | None = None,
) -> dict[str, str]:
    """What a load balancer and an operator would verify, from the host; raises on a failure.
    `expected_release`: the id of the pointer published before the boot (it must be active)."""
    checks: dict[str, str] = {}
    slot, release_id = active_release(guest, app, layout)
    units = ["nginx.service", f"webstack-{app.name}@{slot}.service"]

    def expect(name: str, ok: bool, detail: str) -> None:
        checks[name] = ("ok: " if ok else "FAILED: ") + detail
        log(f"  check {name}: {checks[name]}")
        if not ok:
            raise RehearsalError(
                f"check {name!r} failed: {detail}", guest.diagnostics(tuple(units))
            )

    host, scheme = app.health_host, "https" if cafile else "http"
    port = layout.https_port if cafile else layout.http_port
    status, _h, body = request(port, "/", host, cafile)
    expect(
        "app via nginx", status == 200, f"GET {scheme}://{host}:{port}/ -> {status} {body[:90]!r}"
    )
    status, _h, _b = request(port, app.health_path, host, cafile)
    expect("health path", status == 200, f"GET {app.health_path} -> {status}")
    if cafile:
        status, headers, _b = request(layout.http_port, "/a/page?q=1", host, None)
        location = headers.get("location", "")
        ok = status == 301 and location.startswith(f"https://{host}") and "/a/page?q=1" in location
        expect("port 80 redirects", ok, f"GET http://{host}/a/page?q=1 -> {status} {location}")
    states = guest.inside(["systemctl", "is-active", *units], check=False).split()
    expect(
        "units active",
        states == ["active"] * len(units),
        str(dict(zip(units, states, strict=False))),
    )
    for unit in units[1:]:
        expect(f"reload {unit}", *_reload_keeps_serving(guest, unit, port, host, cafile))
    if expected_release is not None:
        status, headers, body = request(port, "/.webstack/release", host, cafile)
        served = headers.get("x-webstack-release", "")
        expect(
            "release from the pointer",
            status == 200 and served == expected_release == release_id,
            f"pointer {expected_release}, active {release_id}, nginx serves {served or status}",
        )
    # The active release's secrets (the slot's etc symlink points here; read inside the root).
    secrets_file = layout.app_etc(app.name) / "releases" / release_id / "secrets.env"
    st = guest.path(str(secrets_file))
    mode = st.stat().st_mode & 0o777 if st.exists() else None
    owner = st.stat().st_uid if st.exists() else None
    expect(
        "secrets file 0600",
        mode == 0o600 and owner == 0,
        f"{secrets_file} mode {oct(mode or 0)} uid {owner}",
    )
    etc = guest.path(str(secrets_file.parent))
    emode = etc.stat().st_mode & 0o777 if etc.exists() else None
    expect("release etc 0700", emode == 0o700, f"{secrets_file.parent} mode {oct(emode or 0)}")
    main_pid = guest.inside(["systemctl", "show", "-p", "MainPID", "--value", units[-1]]).strip()
    environ = guest.inside(["cat", f"/proc/{main_pid}/environ"]).split("\0")
    for name, value in secret_values.items():
        expect(f"{name} in the app's env", f"{name}={value}" in environ, f"{units[-1]} environ")
        status, _h, body = request(port, f"/secret-check?name={name}", host, cafile)
        if status == 200 and b"sha256" in body:  # the sample apps answer this; others may not
            digest = hashlib.sha256(value.encode()).hexdigest()
            same = json.loads(body).get("sha256") == digest
            expect(f"app answers with {name}", same, "GET /secret-check: sha256 of the value")
    if cafile:
        key = guest.path(str(layout.tls_key(app.name)))
        mode = key.stat().st_mode & 0o777 if key.exists() else None
        expect("TLS key 0600", mode == 0o600, f"{layout.tls_key(app.name)} mode {oct(mode or 0)}")
    return checks


def active_release(guest: Guest, app: AppSpec, layout: HostLayout) -> tuple[str, str]:
    """(slot, release id) the activation recorded; raises when the boot activated nothing."""
    app_dir = layout.app_dir(app.name)
    slot_file, id_file = (
        guest.path(f"{app_dir}/active-slot"),
        guest.path(f"{app_dir}/active-release"),
    )
    if not (slot_file.is_file() and id_file.is_file()):
        units = ("cloud-final.service", "nginx.service")
        raise RehearsalError(f"no active release under {app_dir}", guest.diagnostics(units))
    return slot_file.read_text().strip(), id_file.read_text().strip()


def _reload_keeps_serving(
    guest: Guest, unit: str, port: int, host: str, cafile: Path | None
) -> tuple[bool, str]:
    """`systemctl reload` (Gunicorn HUP) while requests flow (at most 10/s: under the rate limit).

    Requests must answer 200 before, during and after; the master stays, its workers are replaced.
    Counted by time, not by rate, so a slow machine only makes it take longer.
    """
    show = ["systemctl", "show", "-p", "MainPID", "--value", unit]
    master = guest.inside(show).strip()

    def workers() -> set[str]:
        path = f"/proc/{master}/task/{master}/children"
        return set(guest.inside(["cat", path], check=False).split())

    old_workers, stop = workers(), threading.Event()
    sent: list[tuple[float, int | str]] = []  # (start time, status or error)

    def load() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                sent.append((started, request(port, "/", host, cafile)[0]))
            except OSError as e:
                sent.append((started, repr(e)))
            time.sleep(0.1)

    def wait_until(done: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            time.sleep(0.1)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        wait_until(lambda: len(sent) >= 3, 30)
        reload_start = time.monotonic()
        guest.inside(["systemctl", "reload", unit], timeout=30)
        settled = time.monotonic() + 2  # HUP returns at once; the new workers start after it
        wait_until(lambda: sum(ts > settled for ts, _ in sent) >= 5, 40)
    finally:
        stop.set()
        t.join(15)
    before = sum(ts < reload_start for ts, _ in sent)
    after_settled = sum(ts > settled for ts, _ in sent)
    new_master = guest.inside(show).strip()
    active = guest.inside(["systemctl", "is-active", unit], check=False).strip()
    bad, replaced = [s for _, s in sent if s != 200], bool(workers() - old_workers)
    ok = not bad and before >= 3 and after_settled >= 5 and new_master == master
    detail = (
        f"{len(sent)} requests ({before} before the reload, {after_settled} after it settled), "
    )
    detail += f"non-200: {bad[:3]}, master {master}->{new_master}, workers replaced: {replaced}"
    return ok and replaced and active == "active", f"{detail}, {active}"
