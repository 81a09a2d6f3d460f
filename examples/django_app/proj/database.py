"""DATABASES from DATABASE_URL (postgresql://user:pass@host:port/name?sslmode=...).

webstack sets DATABASE_URL (and libpq's PG* variables) for an app with a managed database, or the
user sets it as a secret for a database of their own. Without it the app runs database-free and
/notes answers 503.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def databases_from_url(url: str) -> dict[str, dict[str, Any]]:
    if not url:
        return {}
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL: scheme {parts.scheme!r} is not postgresql")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    # TLS on by default; only an explicit sslmode in the URL turns it down.
    options.setdefault("sslmode", "require")
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or 5432),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    }
