"""The real cities beside the sample city: their public kelurahan boundaries in ``shared/data``."""

from __future__ import annotations

from pathlib import Path

from conftest import execute

from geo_app.db import connect
from geo_app.ingest.cities import add_city


def shared_data() -> Path:
    """The read-only public boundaries beside the repository (the tests' only use of them)."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("shared/data with the public kelurahan boundaries is not beside the repository")


def ensure_city(database_url: str, code: str, file: str, name: str) -> str:
    """Add the city with geo-app add-city's logic unless it is in the database already; its code."""
    if not execute(database_url, "SELECT 1 FROM cities WHERE code = %s", (code,)):
        with connect(database_url) as conn:
            add_city(conn, shared_data() / file, name=name)
    return code
