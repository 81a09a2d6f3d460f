"""Sample Flask app for webstack (WSGI target: ``app:create_app()``)."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import time
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

MAX_SLEEP = 120.0
ENV_PREFIXES = ("WEBSTACK_", "APP_")


def create_app() -> Flask:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = Flask(__name__, static_folder=str(Path(__file__).parent / "static"))
    # Trust exactly one proxy hop (the adjacent Nginx).
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=0)  # type: ignore[method-assign]

    @app.get("/")
    def index() -> Response:
        return jsonify(
            app=os.environ.get("WEBSTACK_APP", "sample"),
            framework="flask",
            instance=os.environ.get("WEBSTACK_INSTANCE", ""),
            pid=os.getpid(),
            client_ip=request.remote_addr,
            scheme=request.scheme,
        )

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/secret-check")
    def secret_check() -> Response:
        name = request.args.get("name", "")
        value = os.environ.get(name) if name else None
        digest = hashlib.sha256(value.encode()).hexdigest() if value is not None else None
        return jsonify(name=name, present=value is not None, sha256=digest)

    @app.get("/slow")
    def slow() -> Response | tuple[Response, int]:
        try:
            seconds = float(request.args.get("seconds", "0"))
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds):
            return jsonify(error="invalid seconds"), 400
        seconds = min(max(seconds, 0.0), MAX_SLEEP)
        time.sleep(seconds)
        return jsonify(slept=seconds)

    @app.get("/page")
    def page() -> Response:
        """A ~200 KB HTML page built per request (as a template would), for the bench's gzip row."""
        rows = "".join(
            f"<tr><td>{i}</td><td>item {i:05d}</td><td>{i * 37 % 1000}.{i % 100:02d}</td></tr>\n"
            for i in range(3400)
        )
        return Response(f"<!doctype html><html><body><table>\n{rows}</table></body></html>\n")

    @app.get("/cacheable")
    def cacheable() -> Response:
        """A page the app marks cacheable (the microcache may keep it); each answer is unique
        (`served`), so a client can tell a cached copy. `?set_cookie=1` adds a Set-Cookie."""
        resp = jsonify(app=os.environ.get("WEBSTACK_APP", "sample"), served=time.time_ns())
        resp.headers["Cache-Control"] = "public, max-age=60"
        if request.args.get("set_cookie"):
            resp.set_cookie("session", f"for-{time.time_ns()}", httponly=True)
        return resp

    @app.post("/echo")
    def echo() -> Response:
        return jsonify(bytes=len(request.get_data(cache=False)))

    @app.get("/env")
    def env() -> Response | tuple[Response, int]:
        name = request.args.get("name", "")
        if not name.startswith(ENV_PREFIXES):
            return jsonify(error="forbidden"), 403
        return jsonify(name=name, value=os.environ.get(name))

    app.logger.info("flask sample app created (pid %s)", os.getpid())
    return app
