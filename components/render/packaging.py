"""Deterministic app packages: the same source tree always gives the same tar.gz bytes and key."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

# Never ship build or VCS litter, nor local secrets, to a VM.
EXCLUDED_NAMES = {".git", "__pycache__", ".venv", "venv", "node_modules", ".pytest_cache", ".env"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _included(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return not any(p in EXCLUDED_NAMES for p in rel.parts) and not path.name.endswith(
        EXCLUDED_SUFFIXES
    )


def package_tree(source: Path) -> bytes:
    """tar.gz of `source` with sorted entries, zeroed times and owners (reproducible)."""
    if not source.is_dir():
        raise FileNotFoundError(f"app source folder {source} does not exist")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(source.rglob("*")):
            if not _included(path, source) or not (path.is_file() or path.is_dir()):
                continue
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(source)))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if path.is_dir() or info.mode & 0o111 else 0o644
            if path.is_file():
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return gzip.compress(buf.getvalue(), compresslevel=9, mtime=0)


def build_package(source: Path, out_dir: Path, app: str) -> tuple[Path, str]:
    """Write the package under out_dir; return (path, S3 key with the content hash)."""
    data = package_tree(source)
    digest = hashlib.sha256(data).hexdigest()[:16]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{app}-{digest}.tar.gz"
    if not path.exists():
        path.write_bytes(data)
    return path, f"apps/{app}/{app}-{digest}.tar.gz"
