"""Settings for the webstack Django sample app; configured from the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.utils import get_random_secret_key

from proj.database import databases_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "django-insecure-DEV-ONLY-do-not-use-in-production"
    else:
        SECRET_KEY = get_random_secret_key()
        print(
            "WARNING: DJANGO_SECRET_KEY is not set; using a random per-process key.",
            file=sys.stderr,
        )

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("WEBSTACK_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
    if h.strip()
]

INSTALLED_APPS = ["django.contrib.staticfiles", "sample"]

MIDDLEWARE = [
    "sample.middleware.HealthzMiddleware",  # before host validation / CommonMiddleware
    "sample.middleware.ProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "proj.urls"
WSGI_APPLICATION = "proj.wsgi.application"
DATABASES = databases_from_url(os.environ.get("DATABASE_URL", ""))
# Django fills an empty DATABASES with a dummy backend; remember whether there is a real one.
HAS_DATABASE = bool(DATABASES)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
APPEND_SLASH = False

# Trust exactly one proxy hop (the adjacent Nginx); see ProxyHeadersMiddleware.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

STATIC_URL = os.environ.get("STATIC_URL", "/static/")
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(BASE_DIR / "collected-static"))
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": "INFO"},
}
