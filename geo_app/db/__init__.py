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


def make_pool(database_url: str, size: int, statement_timeout_ms: int = 0) -> ConnectionPool:
    """A lazily-opened pool: the app starts even while the database is down, and /readyz says so.

    Every statement on its connections is cancelled after ``statement_timeout_ms`` (0: never), so a
    request that asks for too much gets an answer before the web server kills its worker; the CLI's
    imports and migrations use their own connections and are not bound by it.

    Each connection is checked when it is handed out. When one fails the check (the database restarted
    or dropped its connections), every idle connection is checked at once, so the next request gets a
    fresh connection instead of working through the broken ones with back-off pauses in between.
    """
    pools: list[ConnectionPool] = []

    def configure(conn: psycopg.Connection) -> None:
        conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{statement_timeout_ms}ms",))
        conn.commit()

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
        configure=configure,
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
