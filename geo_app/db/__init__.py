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
    """A lazily-opened pool: the app starts even while the database is down, and /readyz says so.

    Each connection is checked when it is handed out. When one fails the check (the database restarted
    or dropped its connections), every idle connection is checked at once, so the next request gets a
    fresh connection instead of working through the broken ones with back-off pauses in between.
    """
    pools: list[ConnectionPool] = []

    def check(conn: psycopg.Connection) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pools[0].check()
            raise

    pool = ConnectionPool(
        database_url,
        min_size=1,
        max_size=size,
        kwargs={"row_factory": dict_row},
        open=False,
        check=check,
        timeout=5,
    )
    pools.append(pool)
    return pool


@contextmanager
def transaction(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is committed on success and rolled back on any error."""
    with connect(database_url) as conn, conn.transaction():
        yield conn
