"""JSON views mirroring the Flask sample app (same routes, same response bytes)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

MAX_SLEEP = 120.0
ENV_PREFIXES = ("WEBSTACK_", "APP_")


def json_response(data: dict[str, Any], status: int = 200) -> HttpResponse:
    # Same serialisation as Flask's jsonify: sorted keys, compact, trailing newline.
    body = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Content-Length"] = str(len(response.content))
    return response


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return json_response(
        {
            "app": os.environ.get("WEBSTACK_APP", "sample"),
            "framework": "django",
            "instance": os.environ.get("WEBSTACK_INSTANCE", ""),
            "pid": os.getpid(),
            "client_ip": request.META.get("REMOTE_ADDR"),
            "scheme": request.scheme,
        }
    )


@require_GET
def secret_check(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("name", "")
    value = os.environ.get(name) if name else None
    digest = hashlib.sha256(value.encode()).hexdigest() if value is not None else None
    return json_response({"name": name, "present": value is not None, "sha256": digest})


@require_GET
def slow(request: HttpRequest) -> HttpResponse:
    try:
        seconds = float(request.GET.get("seconds", "0"))
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        return json_response({"error": "invalid seconds"}, status=400)
    seconds = min(max(seconds, 0.0), MAX_SLEEP)
    time.sleep(seconds)
    return json_response({"slept": seconds})


@csrf_exempt
@require_POST
def echo(request: HttpRequest) -> HttpResponse:
    return json_response({"bytes": len(request.body)})


@require_GET
def env(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("name", "")
    if not name.startswith(ENV_PREFIXES):
        return json_response({"error": "forbidden"}, status=403)
    return json_response({"name": name, "value": os.environ.get(name)})


@csrf_exempt  # a JSON API without cookies or sessions: nothing for a forged request to ride on
def notes(request: HttpRequest) -> HttpResponse:
    """GET: every note; POST {"text": ...}: write one. 503 when the stack declares no database."""
    if not settings.HAS_DATABASE:
        return json_response({"error": "no database configured (DATABASE_URL)"}, status=503)
    from sample.models import Note

    if request.method == "POST":
        try:
            text = str(json.loads(request.body or b"{}")["text"])[:200]
        except (ValueError, KeyError, TypeError):
            return json_response({"error": 'send {"text": "..."}'}, status=400)
        note = Note.objects.create(text=text)
        return json_response({"id": note.id, "text": note.text}, status=201)
    if request.method != "GET":
        return json_response({"error": "GET or POST"}, status=405)
    return json_response({"notes": [{"id": n.id, "text": n.text} for n in Note.objects.all()]})
