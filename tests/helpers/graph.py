"""A recorded resource graph (from components.tooling.mocks) with small query helpers for assertions."""

from __future__ import annotations

import base64
import gzip
from typing import Any

from components.tooling.mocks import RecordedResource


class Graph:
    def __init__(self, resources: list[RecordedResource], outputs: dict[str, Any]) -> None:
        self.resources = resources
        self.outputs = outputs

    def of(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> RecordedResource:
        found = self.of(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def by_output(self, key: str, value: Any) -> RecordedResource:
        return next(r for r in self.resources if r.outputs.get(key) == value)


def user_data_texts(g: Graph) -> list[str]:
    """Linux user data of every launch template / instance, decoded (base64 of gzip)."""
    holders = g.of("aws:ec2/launchTemplate:LaunchTemplate") + g.of("aws:ec2/instance:Instance")
    # The Nginx edge's template carries only its image and disk; its instance the user data.
    blobs = [r.inputs.get("userData") or r.inputs.get("userDataBase64") for r in holders]
    blobs = [b for b in blobs if b]
    assert blobs, "every tier must carry user data"
    out = []
    for blob in blobs:
        raw = base64.b64decode(blob)
        out.append(gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode())
    return out
