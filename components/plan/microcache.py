"""Pure decisions of the Nginx microcache (no Pulumi): what the rendered directives say, for the
Linux and the Windows Nginx alike (templates/common/nginx-microcache-*.conf.j2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.spec.common import MicrocacheSpec

# One keys zone per Nginx: 1 MB holds about 8,000 keys (nginx.org, proxy_cache_path), far more
# than a microcache with a seconds-long TTL keeps.
KEYS_ZONE = "webstack_micro:10m"
EMPTY_SCRIPT = "empty-microcache-{app}.sh"


@dataclass(frozen=True)
class MicrocachePlan:
    cache_dir: str
    keys_zone: str
    max_size: str
    inactive_seconds: int
    ttl_seconds: int
    path_regexes: tuple[str, ...]  # Nginx map regexes on $uri: these prefixes may be cached
    any_cookie: bool  # any Cookie header bypasses
    cookie_regex: str  # else: a Cookie header naming one of these bypasses
    scheme_var: str  # what the client used (the ALB says so behind it)


def microcache_plan(spec: MicrocacheSpec, cache_dir: str, scheme_var: str) -> MicrocachePlan | None:
    if not spec.enabled:
        return None
    names = [c for c in spec.bypass_cookies if c != "*"]
    return MicrocachePlan(
        cache_dir=cache_dir,
        keys_zone=KEYS_ZONE,
        max_size=spec.max_size,
        inactive_seconds=spec.stale_seconds,
        ttl_seconds=spec.ttl_seconds,
        path_regexes=tuple(f"^{re.escape(p)}" for p in spec.paths),
        any_cookie="*" in spec.bypass_cookies,
        cookie_regex="(^|;)\\s*(" + "|".join(re.escape(n) for n in names) + ")=" if names else "",
        scheme_var=scheme_var,
    )


def empty_script(cache_dir: str, app: str) -> str:
    """The step a release (and the boot) runs so no page of the previous release is served:
    every cached file goes; Nginx treats a key whose file is gone as a miss."""
    return f"""#!/bin/sh
# Rendered by webstack: empties app {app}'s Nginx microcache. The boot runs it before Nginx
# starts; each release runs it after the new code is live (pages of the old code must go).
set -eu
dir='{cache_dir}'
[ -d "$dir" ] || exit 0
find "$dir" -mindepth 1 -delete
"""
