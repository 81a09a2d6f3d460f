"""Instructions and system calls per request of one Gunicorn sync worker: the rendered
gunicorn.conf.py (bench_spec, workers=1) against the DigitalOcean tutorial's command line (not in
`make bench`).

Each Gunicorn runs behind the same stock Nginx server block. Instructions: the worker runs under
callgrind twice, for a short and a long wrk run; the difference of its totals over the difference
of the requests served is the cost of one request (the app's import and the warm-up cancel out).
System calls: `strace -c` on the worker during one run without valgrind.

    .venv/bin/python bench/gunicorn_cost.py
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import run_wrk  # noqa: E402
from bench.nginx_cost import _wait, require  # noqa: E402
from bench.targets import APP_DIR, VENV_BIN, WSGI, bench_spec, debian_nginx_conf  # noqa: E402
from components.tooling.local.linux import LocalLinuxSite  # noqa: E402
from components.tooling.local.procs import free_port  # noqa: E402

Server = tuple[list[str], str, Path, dict[str, str]]  # argv, cwd, socket, environment


def servers(tmp: Path) -> dict[str, Server]:
    site = LocalLinuxSite(bench_spec({"workers": 1}), workdir=tmp / "site")
    files = site.stage()
    conf = next(k for k in files if k.endswith("gunicorn-1.conf.py"))
    sock = re.search(r'bind = \["unix:([^"]+)"\]', files[conf])
    code = re.search(r'chdir = "([^"]+)"', files[conf])
    assert sock and code, "bind/chdir not in the rendered gunicorn conf"
    Path(sock.group(1)).parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    app_env = next(v for k, v in files.items() if k.endswith("app.env"))
    for line in app_env.splitlines():
        key, eq, value = line.partition("=")
        if eq and not key.startswith("#"):
            env[key] = value.strip('"')
    do_sock = tmp / "myproject.sock"
    do_argv = ["--workers", "1", "--bind", f"unix:{do_sock}", "-m", "007", WSGI]
    gunicorn = str(VENV_BIN / "gunicorn")
    return {
        "rendered gunicorn.conf.py": ([gunicorn, "--config", conf], code.group(1),
                                      Path(sock.group(1)), env),
        "DigitalOcean command line": ([gunicorn, *do_argv], str(APP_DIR), do_sock,
                                      {**os.environ, "PYTHONUNBUFFERED": "1"}),
    }  # fmt: skip


Procs = tuple["subprocess.Popen[bytes]", "subprocess.Popen[bytes]", str]


def serve(server: Server, tmp: Path, tag: str, prefix: list[str]) -> Procs:
    argv, cwd, sock, env = server
    sock.unlink(missing_ok=True)
    log = (tmp / f"{tag}.log").open("a")
    app = subprocess.Popen(
        prefix + argv, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True
    )
    while not sock.exists():
        if app.poll() is not None:
            raise RuntimeError((tmp / f"{tag}.log").read_text())
        time.sleep(0.1)
    port = free_port()
    (tmp / tag).mkdir()
    block = f"""    server {{
        listen 127.0.0.1:{port};
        location / {{ include /etc/nginx/proxy_params; proxy_pass http://unix:{sock}; }}
    }}"""
    nginx = subprocess.Popen(
        ["nginx", "-c", str(debian_nginx_conf(tmp / tag, block)), "-g", "daemon off;"],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    _wait(url, nginx, tmp / f"{tag}.log")
    return app, nginx, url


def stop(app: subprocess.Popen[bytes], nginx: subprocess.Popen[bytes]) -> None:
    nginx.terminate()
    nginx.wait(30)
    os.killpg(app.pid, signal.SIGTERM)
    app.wait(60)


def worker_instructions(server: Server, tmp: Path, tag: str, seconds: float) -> tuple[int, int]:
    out = tmp / f"{tag}.cg"
    prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p"]
    app, nginx, url = serve(server, tmp, tag, prefix)
    served = 1 + run_wrk(url, seconds, 4, threads=1).requests  # + the readiness request
    stop(app, nginx)
    total = 0
    for f in tmp.glob(f"{out.name}.*"):
        if f.name != f"{out.name}.{app.pid}":
            m = re.search(r"^(?:totals|summary): (\d+)", f.read_text(), re.M)
            total += int(m.group(1)) if m else 0
    return served, total


def worker_syscalls(server: Server, tmp: Path, tag: str) -> str:
    app, nginx, url = serve(server, tmp, tag, [])
    run_wrk(url, 1, 4, threads=1)
    worker = subprocess.run(
        ["pgrep", "-P", str(app.pid)], capture_output=True, text=True
    ).stdout.split()[0]
    out = tmp / f"{tag}.strace"
    tracer = subprocess.Popen(["strace", "-c", "-o", str(out), "-p", worker])
    time.sleep(0.5)
    w = run_wrk(url, 4, 4, threads=1)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(30)
    stop(app, nginx)
    calls = 0
    for line in out.read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and f[-1] != "total" and f[3].isdigit():
            calls += int(f[3])
    return f"{calls / max(w.requests, 1):.2f}"


def main() -> int:
    require("valgrind", "strace", "nginx")
    tmp = Path(tempfile.mkdtemp(prefix="wsb-gcost-", dir="/tmp"))
    print("| Gunicorn (1 sync worker) | instructions/req | syscalls/req |\n|---|---|---|")
    for i, (name, server) in enumerate(servers(tmp).items()):
        r1, t1 = worker_instructions(server, tmp, f"s{i}a", 2)
        r2, t2 = worker_instructions(server, tmp, f"s{i}b", 10)
        calls = worker_syscalls(server, tmp, f"s{i}c")
        print(f"| {name} | {(t2 - t1) / max(r2 - r1, 1):,.0f} | {calls} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
