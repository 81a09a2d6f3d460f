"""Instructions per request of the rendered nginx.conf and of one-at-a-time ablations (not in
`make bench`).

Wall-clock req/s on a shared 2-core VM moves by +-10% from minute to minute; the instructions
Nginx executes per request do not. Each variant is the rendered config (bench_spec, every default)
with one extra removed or changed, run as a single Nginx process (`master_process off`) under
valgrind's callgrind in front of the rendered stack's own Gunicorn; counters are zeroed after a
warm-up, wrk sends the bench's requests (X-Forwarded-For from a pool of clients), and the count
since the zero divided by the requests served is the figure. The DigitalOcean tutorial's
server block (Debian's stock nginx.conf) runs against the same Gunicorn socket for comparison.

    .venv/bin/python bench/nginx_cost.py [PATH] [--gzip]     # PATH default /, e.g. /page
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import run_wrk  # noqa: E402
from bench.targets import RenderedLinux, debian_nginx_conf  # noqa: E402
from components.tooling.local.procs import free_port  # noqa: E402

SECONDS = 4.0
CONNECTIONS = 8
Edit = Callable[[str], str]


def drop(pattern: str) -> Edit:
    """Remove every line matching `pattern` (a regex, searched per line)."""
    rx = re.compile(pattern)
    return lambda conf: "\n".join(ln for ln in conf.splitlines() if not rx.search(ln))


def sub(pattern: str, repl: str) -> Edit:
    return lambda conf: re.sub(pattern, repl, conf)


def chain(*edits: Edit) -> Edit:
    def run(conf: str) -> str:
        for e in edits:
            conf = e(conf)
        return conf

    return run


# The access log as it was before issue 14: a random $request_id and one write() per request.
REQUEST_ID = sub(
    r"\"connection\":\$connection,'\s*'\"connection_requests\":\$connection_requests",
    '"request_id":"$request_id"',
)
UNBUFFERED = sub(r"(access_log \S+ webstack_json) buffer=64k flush=1s;", r"\1;")

ABLATIONS: dict[str, Edit] = {
    "rendered": lambda c: c,
    "before issue 14: $request_id, unbuffered log": chain(REQUEST_ID, UNBUFFERED),
    "$request_id only": REQUEST_ID,
    "unbuffered log only": UNBUFFERED,
    "access_log off": sub(r"access_log (\S+) webstack_json[^;]*;", "access_log off;"),
    "no limit_req": drop(r"^\s*limit_req zone="),
    "no limit_conn": drop(r"^\s*limit_conn webstack"),
    # Without real_ip every request comes from one client (the limits would refuse most of them).
    "no real_ip, no limits": chain(
        drop(r"set_real_ip_from|real_ip_header|real_ip_recursive"),
        drop(r"^\s*limit_req zone="),
        drop(r"^\s*limit_conn webstack"),
    ),
    "no HSTS add_header": drop(r"add_header Strict-Transport-Security"),
    "no charset": drop(r"^\s*charset "),
    "no gzip": drop(r"^\s*gzip on;"),
    "no upstream keepalive": chain(
        drop(r"^\s*keepalive 64;"),
        drop(r"proxy_set_header Connection \"\""),
    ),
    "no proxy_next_upstream": drop(r"proxy_next_upstream"),
}
# `--gzip`: the same page at each gzip_comp_level (the bytes received are printed too).
GZIP_LEVELS: dict[str, Edit] = {
    f"gzip_comp_level {n}": sub(r"gzip_comp_level \d+;", f"gzip_comp_level {n};")
    for n in range(1, 7)
}


def single_process(conf: str, port: int, pid: Path) -> str:
    """The config on another port, one process, in the foreground (callgrind follows one pid)."""
    conf = re.sub(r"listen 127\.0\.0\.1:\d+", f"listen 127.0.0.1:{port}", conf)
    conf = re.sub(r"^pid [^;]+;", f"pid {pid};", conf, flags=re.M)
    return "master_process off;\ndaemon off;\n" + conf.replace("worker_processes auto;", "")


def instructions_per_request(
    conf_text: str, tmp: Path, name: str, path: str, gz: bool
) -> tuple[float, float]:
    """(instructions per request, bytes received per request)."""
    port = free_port()
    slug = re.sub(r"\W+", "-", name)
    conf = tmp / f"{slug}.conf"
    conf.write_text(single_process(conf_text, port, tmp / f"{slug}.pid"))
    out = tmp / f"{slug}.callgrind"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "nginx", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / f"{slug}.valgrind.log").open("w"),
    )
    try:
        url = f"http://127.0.0.1:{port}{path}"
        env = {"WRK_GZIP": "1" if gz else "0"}
        _wait(url, proc, tmp / f"{slug}.valgrind.log")
        run_wrk(url, 2, CONNECTIONS, threads=1, env=env)  # warm-up
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        w = run_wrk(url, SECONDS, CONNECTIONS, threads=1, env=env)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        dumps = sorted(tmp.glob(f"{slug}.callgrind.*"))
        totals = re.search(r"^(?:totals|summary): (\d+)", dumps[-1].read_text(), re.M)
        assert totals, f"no totals in {dumps[-1]}"
        if w.errors:
            print(f"  {name}: {w.error_detail}", flush=True)
        return int(totals.group(1)) / max(w.requests, 1), w.bytes_per_request
    finally:
        proc.terminate()
        proc.wait(30)


def syscalls_per_request(conf_text: str, tmp: Path, name: str, path: str, gz: bool) -> str:
    """The same config without valgrind, `strace -c` attached during the measured run: the
    kernel side (callgrind counts user space only). Returns `calls (write calls)` per request."""
    port = free_port()
    slug = re.sub(r"\W+", "-", name) + "-strace"
    conf = tmp / f"{slug}.conf"
    conf.write_text(single_process(conf_text, port, tmp / f"{slug}.pid"))
    log = tmp / f"{slug}.log"
    proc = subprocess.Popen(
        ["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log.open("w")
    )
    try:
        url = f"http://127.0.0.1:{port}{path}"
        env = {"WRK_GZIP": "1" if gz else "0"}
        _wait(url, proc, log)
        run_wrk(url, 1, CONNECTIONS, threads=1, env=env)
        out = tmp / f"{slug}.strace"
        tracer = subprocess.Popen(["strace", "-c", "-o", str(out), "-p", str(proc.pid)])
        time.sleep(0.5)
        w = run_wrk(url, SECONDS, CONNECTIONS, threads=1, env=env)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
        counts = {}
        for line in out.read_text().splitlines():
            f = line.split()
            if len(f) >= 5 and f[-1] != "total" and f[3].isdigit():
                counts[f[-1]] = int(f[3])
        # epoll_wait varies with how requests happen to bunch up; the others are per request.
        n = max(w.requests, 1)
        steady = sum(v for k, v in counts.items() if k != "epoll_wait") / n
        return f"{steady:.2f} (write {counts.get('write', 0) / n:.2f})"
    finally:
        proc.terminate()
        proc.wait(30)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import urllib.request

    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def digitalocean_conf(tmp: Path, socket: str) -> str:
    site = f"""    server {{
        listen 127.0.0.1:1 default_server;
        location / {{
            include /etc/nginx/proxy_params;
            proxy_pass http://unix:{socket};
        }}
    }}"""
    return debian_nginx_conf(tmp, site).read_text()


def require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.exit(f"{', '.join(missing)} not installed (apt-get install valgrind strace nginx)")


def main(argv: list[str]) -> int:
    require("valgrind", "callgrind_control", "strace", "nginx")
    path = next((a for a in argv if a.startswith("/")), "/")
    gz = "--gzip" in argv
    only = [a for a in argv if not a.startswith(("/", "--"))]
    target = RenderedLinux("rendered", "rendered")
    target.start()
    try:
        site = target.site
        assert site is not None
        conf = Path(site.layout.staged_nginx_conf()).read_text()
        socket = re.search(r"server unix:([^ ;]+)", _upstream_text(site))
        assert socket, "no unix socket in the upstream include"
        tmp = Path(tempfile.mkdtemp(prefix="wsb-cost-", dir="/tmp"))
        edits = GZIP_LEVELS if gz else ABLATIONS
        configs = {n: e(conf) for n, e in edits.items() if not only or n in only}
        unchanged = [n for n, text in configs.items() if text == conf and n != "rendered"]
        assert not unchanged, f"these edits no longer match the rendered config: {unchanged}"
        configs["DigitalOcean tutorial (stock nginx.conf)"] = digitalocean_conf(
            tmp, socket.group(1)
        )
        print(
            f"{path}: Nginx instructions per request (callgrind, wrk -c{CONNECTIONS} {SECONDS:g}s)"
        )
        print(
            "| config | instructions/req | vs first | KB/resp | syscalls/req but epoll_wait |\n"
            "|---|---|---|---|---|"
        )
        base = None
        for name, text in configs.items():
            ir, size = instructions_per_request(text, tmp, name, path, gz)
            base = base or ir
            calls = syscalls_per_request(text, tmp, name, path, gz)
            print(
                f"| {name} | {ir:,.0f} | {ir / base - 1:+.1%} | {size / 1024:.1f} | {calls} |",
                flush=True,
            )
    finally:
        target.stop()
    return 0


def _upstream_text(site: object) -> str:
    files = site.files  # type: ignore[attr-defined]
    return next(v for k, v in files.items() if "upstream" in k and "server unix:" in v)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
