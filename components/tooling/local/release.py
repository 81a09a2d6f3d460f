"""The local site's stand-in for an activated release: both slots point at the staged code.

`up --local` copies the code into `current` and writes app.env / secrets.env where the VM keeps the
active release's. The rendered units read slot-<n>/..., which on a VM webstack-release points at
releases/<id>; here both slots point at the one staged release, so the same unit files run.
"""

from __future__ import annotations

import os
from pathlib import Path

from components.plan.linux_layout import HostLayout


def link_local_slots(layout: HostLayout, app: str, slots: int = 2) -> None:
    release = Path(layout.releases_dir(app)) / "local"
    release.mkdir(parents=True, exist_ok=True)
    _link(release / "code", Path(layout.code_dir(app)))
    for slot in range(1, slots + 1):
        _link(Path(layout.slot_dir(app, slot)), release)
        _link(Path(layout.slot_etc(app, slot)), Path(layout.app_etc(app)))


def _link(link: Path, target: Path) -> None:
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)
