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
FROM_PYCSW_VENV = {"pycsw"}
"""Imported only by geo_app/csw_node/pycsw_app.py, run in .local/pycsw-venv (requirements/pycsw.lock)."""


def imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (REPO / "geo_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"geo_app", "__future__"} - FROM_DEBIAN - FROM_PYCSW_VENV


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


def test_the_catalogue_process_imports_only_what_its_own_lock_file_pins():
    """pycsw_app.py runs in .local/pycsw-venv, installed from requirements/pycsw.lock alone."""
    locked = {
        normalised(line.split("==")[0])
        for line in (REPO / "requirements" / "pycsw.lock").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    source = (REPO / "geo_app" / "csw_node" / "pycsw_app.py").read_text(encoding="utf-8")
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"pycsw", "lxml", "sqlalchemy"}
    assert {normalised(module) for module in third_party} <= locked
    assert "geo_app" not in modules  # the service's packages are not installed there
