"""What views need from the application: settings, catalog and a pooled database connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import current_app

from geo_app.catalog import Catalog
from geo_app.settings import Settings


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def catalog() -> Catalog:
    return current_app.config["CATALOG"]


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; its work is committed when the block ends without error."""
    with current_app.extensions["db_pool"].connection() as conn:
        yield conn
