"""Shared test setup: the repo root importable, and short temp dirs (AF_UNIX paths < 108 bytes)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path (pytest's tmp_path can make unix socket paths too long)."""
    path = Path(tempfile.mkdtemp(prefix="ws-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
