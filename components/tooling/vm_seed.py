"""The cloud's part of a rehearsal VM, outside the user data: the NoCloud seed, the endpoint
drop-in, DNS, this network's CAs and package mirror settings, and the stand-in TLS pair.

Split from components/tooling/vm_rehearsal.py (which runs the rehearsal) to keep both short.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from components.tooling.vm_guest import Guest, run

# Units that would reach through the shared /dev, /sys, /proc/sys or network into the host, or grab
# its console: the guest is a guest, not the machine. (Stand-in configuration, not user data.)
MASKED_UNITS = (
    "systemd-sysctl.service",
    "systemd-modules-load.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-pstore.service",
    "systemd-networkd.service",
    "systemd-networkd.socket",
    "systemd-network-generator.service",
    "systemd-networkd-wait-online.service",
    "systemd-tmpfiles-setup-dev.service",
    "getty.target",
    "getty@tty1.service",
    "console-getty.service",
    "serial-getty@.service",
    "fstrim.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
)
CLOUD_CFG = """\
# webstack boot rehearsal: the cloud's part (a NoCloud seed on a shared network), not user data.
datasource_list: [ NoCloud, None ]
network: {config: disabled}
growpart: {mode: "off"}
resize_rootfs: false
"""


def self_signed(workdir: Path, names: list[str]) -> tuple[str, str]:
    """(cert PEM, key PEM): ECDSA P-256, shaped like the stack's pulumi-tls pair."""
    key, cert = workdir / "tls.key", workdir / "tls.crt"
    run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], 30)
    san = "subjectAltName=" + ",".join(f"DNS:{n}" for n in names)
    subject = f"/CN={names[0]}/O=webstack"
    args = ["-key", str(key), "-days", "365", "-subj", subject, "-addext", san, "-out", str(cert)]
    run(["openssl", "req", "-x509", "-new", *args], 30)
    return cert.read_text(), key.read_text()


def prepare_guest(guest: Guest, user_data: bytes, hostname: str, env: dict[str, str]) -> None:
    """What the cloud, not the user data, gives a VM: NoCloud seed, endpoint, DNS, mirror config."""
    guest.write("/var/lib/cloud/seed/nocloud/user-data", user_data, 0o600)
    meta = f"instance-id: i-{secrets.token_hex(8)}\nlocal-hostname: {hostname}\n"
    guest.write("/var/lib/cloud/seed/nocloud/meta-data", meta, 0o600)
    guest.write("/etc/cloud/cloud.cfg.d/90-webstack-rehearsal.cfg", CLOUD_CFG)
    for unit in MASKED_UNITS:
        guest.symlink(f"/etc/systemd/system/{unit}", "/dev/null")
    lines = "".join(f'Environment="{k}={v}"\n' for k, v in sorted(env.items()))
    dropin = "/etc/systemd/system/cloud-final.service.d/50-webstack-rehearsal.conf"
    guest.write(dropin, f"[Service]\n{lines}", 0o600)
    guest.write("/etc/resolv.conf", Path("/etc/resolv.conf").read_text())
    # This network's own CAs (e.g. a TLS-inspecting egress), trusted as a VM on it would need:
    # in the image's bundle, and kept by any later update-ca-certificates.
    extra = host_extra_cas()
    for i, pem in enumerate(extra):
        guest.write(f"/usr/local/share/ca-certificates/webstack-rehearsal-{i}.crt", pem + "\n")
    bundle = guest.base / "etc/ssl/certs/ca-certificates.crt"
    if extra and bundle.is_file():  # ca-certificates is in the image already: extend its bundle
        text = bundle.read_text() + "".join(f"{pem}\n" for pem in extra)
        guest.write("/etc/ssl/certs/ca-certificates.crt", text)
    if Path("/etc/pip.conf").is_file():
        guest.write("/etc/pip.conf", Path("/etc/pip.conf").read_text())
    elif extra:
        guest.write("/etc/pip.conf", "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    for conf in sorted(Path("/etc/apt/apt.conf.d").glob("*")):
        text = conf.read_text(errors="replace") if conf.is_file() else ""
        if "::proxy" in text.lower():
            guest.write(f"/etc/apt/apt.conf.d/{conf.name}", text)


def host_extra_cas() -> list[str]:
    """CA certificates this host trusts beyond the distribution's set (PEM blocks)."""
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
    bundle, shipped = Path("/etc/ssl/certs/ca-certificates.crt"), Path("/usr/share/ca-certificates")
    if not bundle.is_file() or not shipped.is_dir():
        return []
    known = {c for f in shipped.rglob("*.crt") for c in pem.findall(f.read_text(errors="replace"))}
    return [c for c in pem.findall(bundle.read_text(errors="replace")) if c not in known]
