"""Pure checks that keep every path of the config inside its app: URL paths Nginx matches and
folders it serves or packages. A `..`, `.` or empty segment, an absolute path or a backslash is
never needed and is how a config escapes (`static.folder: ../../etc` served /etc under /static/)."""

from __future__ import annotations

import re

SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def _bad_segments(segments: list[str]) -> list[str]:
    return [s for s in segments if s in ("", ".", "..") or not SEGMENT.match(s)]


def check_relative_folder(value: str, what: str) -> str:
    """A folder relative to a base folder, normalised: `a/b`, never `..`, `/abs` or `a//b`."""
    if value.startswith("/") or "\\" in value:
        raise ValueError(
            f"{value!r} must be a folder relative to {what} with / between names (not absolute, "
            "no backslash)"
        )
    bad = _bad_segments(value.split("/"))
    if bad:
        raise ValueError(
            f"{value!r} must stay inside {what}: folder names of letters, digits, '.', '_', '-' "
            f"(no '..', '.', empty or hidden segments; got {bad[0]!r})"
        )
    return value


def check_url_path(value: str, *, trailing_slash: bool) -> str:
    """A URL path in normal form: `/a/b` (or `/a/b/`), no `..`, `.`, `//` or encoded bytes."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with /")
    if "%" in value or "\\" in value:
        raise ValueError(f"{value!r} must be a plain path (no %-encoding or backslash)")
    if trailing_slash and not value.endswith("/"):
        raise ValueError(f"{value!r} must end with / (e.g. /static/)")
    inner = value[1:].removesuffix("/")
    if not inner:
        return value
    bad = _bad_segments(inner.split("/"))
    if bad:
        raise ValueError(
            f"{value!r} is not a normalised URL path: segments of letters, digits, '.', '_', '-' "
            f"(no '..', '.', '//' or hidden segments; got {bad[0]!r})"
        )
    return value


def url_within(path: str, prefix: str) -> bool:
    """True when URL `path` is `prefix` or below it (prefix ends with /)."""
    return path == prefix.rstrip("/") or path.startswith(prefix)
