"""Database access: psycopg 3 connections and a pool, shared by the web app, the CLI and the tests.

Store functions take a connection and never open their own, so the caller decides what one transaction is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def connect(database_url: str, **kwargs) -> psycopg.Connection:
    """One connection with dict rows; the caller closes it (use it as a context manager)."""
    return psycopg.connect(database_url, row_factory=dict_row, **kwargs)


def make_pool(database_url: str, size: int) -> ConnectionPool:
    """A lazily-opened pool: the app starts even while the database is down, and /readyz says so."""
    return ConnectionPool(
        database_url,
        min_size=1,
        max_size=size,
        kwargs={"row_factory": dict_row},
        open=False,
        check=ConnectionPool.check_connection,
        timeout=5,
    )


@contextmanager
def transaction(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is committed on success and rolled back on any error."""
    with connect(database_url) as conn, conn.transaction():
        yield conn
