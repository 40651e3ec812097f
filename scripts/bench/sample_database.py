"""A benchmark's own database, next to DATABASE_URL's: created, migrated and loaded with the sample city
on first use, reused after (so a benchmark never touches the service's data)."""

from __future__ import annotations

import os

from geo_app.db import bootstrap, connect, migrate
from geo_app.sample import is_city_loaded, load_sample_city
from geo_app.settings import DEFAULT_DATABASE_URL

SAMPLE_CITY = "36.72"


def sample_city_database(name: str) -> str:
    """The URL of database ``name`` holding the sample city."""
    url = bootstrap.with_database(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, name)
    bootstrap.ensure_database(url)
    bootstrap.ensure_extensions(url)
    migrate.upgrade(url)
    with connect(url) as conn:
        loaded = is_city_loaded(conn, SAMPLE_CITY)
    if not loaded:
        load_sample_city(url, progress=True)
    return url
