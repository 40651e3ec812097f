"""Schema migrations through Alembic, driven from code (no alembic.ini to keep in step).

Each feature area owns its own migration branch off the base revision; ``upgrade("heads")`` applies
them all, and /readyz compares the database's heads with the scripts' heads.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(database_url: str) -> str:
    """Alembic talks through SQLAlchemy; point it at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "heads")


def expected_heads(database_url: str) -> set[str]:
    """Heads of the migration scripts shipped with this version of the code."""
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current_heads(conn: psycopg.Connection) -> set[str]:
    """Revisions the database is at (empty before the first migration)."""
    exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL AS present").fetchone()
    if not (exists["present"] if isinstance(exists, dict) else exists[0]):
        return set()
    rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return {row["version_num"] if isinstance(row, dict) else row[0] for row in rows}


def is_current(conn: psycopg.Connection, database_url: str) -> bool:
    return current_heads(conn) == expected_heads(database_url)
