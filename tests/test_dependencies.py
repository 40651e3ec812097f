"""Every package the service imports is pinned for a deployment: scripts/run installs requirements/base.lock
only, so a module that arrives with the test tools alone would pass the tests and break a fresh server."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FROM_DEBIAN = {"mapscript"}
"""Imported from a Debian package the set-up links into the virtual environment (scripts/lib/setup.sh)."""


def imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (REPO / "geo_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"geo_app", "__future__"} - FROM_DEBIAN


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_in_the_deployment_lock_file():
    locked = {
        normalised(line.split("==")[0])
        for line in (REPO / "requirements" / "base.lock").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    distributions = packages_distributions()
    missing = {
        module: distributions.get(module, ["?"])
        for module in imported_top_level_modules()
        if not any(normalised(dist) in locked for dist in distributions.get(module, []))
    }
    assert not missing, f"add to pyproject.toml's dependencies and run scripts/lock_requirements: {missing}"
