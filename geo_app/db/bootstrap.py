"""Create the database and the extensions geo_app needs, when they are missing.

DATABASE_URL may name a database that does not exist yet (a fresh machine): we connect to the
``postgres`` maintenance database of the same server and create it.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

REQUIRED_EXTENSIONS = ("postgis", "pg_trgm", "pgrouting")


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/") or "postgres"


def with_database(database_url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + name))


def with_credentials(database_url: str, user: str, password: str) -> str:
    """The same server and database, signed in as another role."""
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def ensure_database(database_url: str) -> bool:
    """Create the database if missing; returns True when it was created."""
    name = database_name(database_url)
    admin_url = with_database(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def ensure_extensions(database_url: str) -> None:
    """CREATE EXTENSION for each required one; names what to install when the server lacks it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        available = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
                (list(REQUIRED_EXTENSIONS),),
            )
        }
        missing = [ext for ext in REQUIRED_EXTENSIONS if ext not in available]
        if missing:
            raise RuntimeError(
                f"the PostgreSQL server lacks the extension(s) {', '.join(missing)}; install them "
                "(Debian: apt-get install -y postgresql-15-postgis-3 postgresql-15-pgrouting, "
                "matching your server version) and try again"
            )
        for ext in REQUIRED_EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))


def drop_database(database_url: str) -> None:
    name = database_name(database_url)
    admin_url = with_database(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
