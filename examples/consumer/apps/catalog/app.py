"""The storefront's catalog API (Linux tier: Nginx -> Gunicorn)."""

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return jsonify(service="catalog", items=["tea", "coffee"])

    return app
