"""The storefront's reports service (Windows tier: Waitress behind a proxy), under /reports/."""

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    @app.get("/reports/")
    def index():  # type: ignore[no-untyped-def]
        return jsonify(service="reports", reports=["daily", "weekly"])

    return app
