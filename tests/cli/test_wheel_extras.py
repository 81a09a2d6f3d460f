"""What the wheel promises: every module components/ imports comes with `pip install webstack`,
except the ones the tooling loads through `extras.require`, which come with the extra it names.

pulumi-aws does not bring boto3, yet the release channel's dynamic provider imports it during
`pulumi up`; moto is only needed by the boot rehearsal, so it sits in `webstack[local]`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from cli_support import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from components.tooling.errors import CommandError
from components.tooling.extras import require

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def closure(requirements: list[str]) -> set[str]:
    """The distributions `pip install` brings for these requirements (markers on extras skipped)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            wanted = requires(req.name) or []
        except PackageNotFoundError:
            continue  # not installed here: nothing more to follow
        for row in map(Requirement, wanted):
            env = {"extra": next(iter(req.extras), "")}
            if row.marker is None or row.marker.evaluate(env):
                todo.append(row)
    return seen


def imports_of(root: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(top-level module -> first file importing it, module -> (extra, file) for require(...))."""
    plain: dict[str, str] = {}
    optional: dict[str, tuple[str, str]] = {}
    for path in sorted((root / "components").rglob("*.py")):
        where = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "require"
                and all(isinstance(a, ast.Constant) for a in node.args[:2])
            ):
                module, extra = node.args[0].value, node.args[1].value  # type: ignore[attr-defined]
                optional.setdefault(module.split(".")[0], (extra, where))
                continue
            else:
                continue
            for top in (n.split(".")[0] for n in names):
                if top != "components" and top not in sys.stdlib_module_names:
                    plain.setdefault(top, where)
    return plain, optional


def unshipped(root: Path) -> list[str]:
    """Imports whose distribution neither the dependencies nor the named extra install."""
    dists = packages_distributions()
    base = closure(PROJECT["dependencies"])
    plain, optional = imports_of(root)
    missing = []
    for module, where in sorted(plain.items()):
        if not {canonicalize_name(d) for d in dists.get(module, [module])} & base:
            missing.append(f"{where}: {module} (not in [project] dependencies)")
    for module, (extra, where) in sorted(optional.items()):
        shipped = closure(PROJECT["dependencies"] + PROJECT["optional-dependencies"].get(extra, []))
        if not {canonicalize_name(d) for d in dists.get(module, [module])} & shipped:
            missing.append(f"{where}: {module} (not in the [{extra}] extra)")
    return missing


def test_every_import_is_shipped_by_the_wheel_or_its_named_extra() -> None:
    assert unshipped(ROOT) == []
    plain, optional = imports_of(ROOT)
    assert "moto" not in plain, "moto must be loaded through extras.require"
    assert optional.get("moto", ("", ""))[0] == "local"


def test_the_check_catches_an_import_the_wheel_does_not_ship(tmp_path: Path) -> None:
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "grown.py").write_text(
        "import moto\nfrom components.tooling.extras import require\n"
        "require('hypothesis', 'local', 'x')\n"
    )
    assert unshipped(tmp_path) == [
        "components/grown.py: moto (not in [project] dependencies)",
        "components/grown.py: hypothesis (not in the [local] extra)",
    ]


def test_a_missing_extra_is_one_line_naming_it() -> None:
    with pytest.raises(
        CommandError, match=r"^the thing needs no_such_mod_xyz, .*'webstack\[local\]'$"
    ):
        require("no_such_mod_xyz.server", "local", "the thing")


def test_the_rehearsal_without_moto_names_the_extra() -> None:
    """The real entry point in a process where moto cannot be imported (as after a plain install)."""
    script = (
        "import sys; sys.modules['moto'] = None; sys.modules['moto.server'] = None\n"
        "from components.tooling.vm_rehearsal import CloudStandIn\n"
        "CloudStandIn('eu-west-1')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("components.tooling.errors.CommandError: the boot rehearsal's"), last
    assert "pip install 'webstack[local]'" in last
