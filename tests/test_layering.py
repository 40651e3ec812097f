"""Imports run one way: web → usecases → analysis / ingest / store → published / crs / city / catalog.

Read from the source (every import statement, also those inside functions), so a new module that breaks
the direction fails here before it becomes a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "geo_app"
BASE = {"published", "crs", "city", "catalog", "dates", "settings", "csv_cells"}

FORBIDDEN = {
    # what a layer must never import (first part below geo_app, or a third-party top-level package)
    "store": {"web", "ogc", "ows", "usecases", "analysis", "ingest", "maps", "reports", "flask"},
    "analysis": {"web", "ogc", "ows", "usecases", "maps", "reports", "flask"},
    "ingest": {"web", "ogc", "ows", "usecases", "maps", "reports", "flask"},
    "usecases": {"web", "ogc", "ows", "maps", "reports", "cli", "flask"},
    "ogc": {"web", "ows", "usecases", "flask"},
    "maps": {"web", "flask"},
    "reports": {"web", "flask"},
    **{
        name: {"store", "ogc", "ows", "web", "usecases", "analysis", "ingest", "maps", "reports"}
        for name in BASE
    },
}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved against its package)."""
    found: set[str] = set()
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def layer(module: str) -> str | None:
    """``web`` for geo_app.web.api.assets, ``flask`` for flask.json; None for the geo_app package itself."""
    parts = module.split(".")
    if parts[0] != "geo_app":
        return parts[0]
    return parts[1] if len(parts) > 1 else None


def modules() -> list[tuple[str, Path]]:
    """(dotted name, file) of every module; a package is named by its directory."""
    return [
        (".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"), path)
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


@pytest.mark.parametrize("source", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(source):
    wrong = sorted(
        f"{module} imports {target}"
        for module, path in modules()
        if layer(module) == source
        for target in imports(path)
        if layer(target) in FORBIDDEN[source]
    )
    assert not wrong, wrong


def test_only_the_app_factory_imports_the_web_layer():
    outside = sorted(
        f"{module} imports {target}"
        for module, path in modules()
        if layer(module) not in {"web", None, "wsgi"}
        for target in imports(path)
        if layer(target) == "web"
    )
    assert not outside, outside


def test_pages_call_use_cases_not_api_modules():
    """A page and an API endpoint showing the same figure share the use case, not each other's view."""
    wrong = sorted(
        f"{module} imports {target}"
        for module, path in modules()
        if module.startswith("geo_app.web.") and not module.startswith("geo_app.web.api.")
        for target in imports(path)
        if target.startswith("geo_app.web.api.")
    )  # fmt: skip
    assert not wrong, wrong


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The check itself: a store module importing the OGC core would be reported."""
    module = tmp_path / "geo_app" / "store" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("from geo_app.ogc.core import OgcApi\nfrom . import features\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "geo_app"
    try:
        assert imports(module) == {
            "geo_app.ogc.core",
            "geo_app.ogc.core.OgcApi",
            "geo_app.store",
            "geo_app.store.features",
        }
        assert [layer(target) for target in sorted(imports(module))][:1] == ["ogc"]
    finally:
        PACKAGE = saved
