"""What views need from the application: settings, catalog and a pooled database connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import current_app

from geo_app.auth.context import tag_connection
from geo_app.catalog import Catalog
from geo_app.settings import Settings


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def catalog() -> Catalog:
    return current_app.config["CATALOG"]


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; its work is committed when the block ends without error.

    It is tagged with the request's actor first, so the audit triggers record who wrote.
    """
    with current_app.extensions["db_pool"].connection() as conn:
        tag_connection(conn)
        yield conn


@contextmanager
def raw_connection() -> Iterator[psycopg.Connection]:
    """A pooled connection without the actor tag: for the access check itself, which reads only."""
    with current_app.extensions["db_pool"].connection() as conn:
        yield conn
