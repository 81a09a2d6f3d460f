"""Middleware: /healthz short-circuit and single-hop proxy header handling."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sample.views import json_response

GetResponse = Callable[[HttpRequest], HttpResponse]


class HealthzMiddleware:
    """Answer /healthz before anything calls request.get_host() (no ALLOWED_HOSTS check)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return json_response({"status": "ok"})
        return self.get_response(request)


def _last(value: str) -> str:
    return value.rsplit(",", 1)[-1].strip()


class ProxyHeadersMiddleware:
    """Trust one proxy hop: client IP/proto are the LAST values the adjacent proxy appended."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if forwarded_for := _last(meta.get("HTTP_X_FORWARDED_FOR", "")):
            meta["REMOTE_ADDR"] = forwarded_for
        if "HTTP_X_FORWARDED_PROTO" in meta:
            meta["HTTP_X_FORWARDED_PROTO"] = _last(meta["HTTP_X_FORWARDED_PROTO"])
        return self.get_response(request)
