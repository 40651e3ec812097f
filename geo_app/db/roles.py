"""The database role the web app connects as: it reads and writes rows, and nothing more.

The role in DATABASE_URL owns the tables and runs the migrations and the command-line imports. The web
app runs as a login role of its own (``<database>_web``) that may read and change rows, but may not
change the schema, drop or disable triggers, bypass row rules, set ``session_replication_role`` or
change a line of ``audit_log`` (it may only add to it, as the triggers do on its behalf). A request that
turns hostile therefore cannot hide what it did. ``geo-app web-role`` creates or updates the role;
``geo-app migrate`` renews its grants after each migration, so new tables are covered.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from geo_app.db.bootstrap import database_name, with_credentials, with_database

READ_ONLY_TABLES = ("alembic_version", "spatial_ref_sys")
"""Tables the web app reads but never writes."""
APPEND_ONLY_TABLES = ("audit_log",)
"""Tables the web app may add rows to (through the audit triggers) but never change."""


def web_role_name(database_url: str) -> str:
    """One role per database, so two deployments on one server never share a password."""
    return f"{database_name(database_url)}_web"


def ensure_web_role(owner_url: str, password: str) -> str:
    """Create (or update) the web role with this password, grant it row access, return its URL."""
    role = web_role_name(owner_url)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        statement = "ALTER ROLE {} WITH" if exists else "CREATE ROLE {} WITH"
        conn.execute(
            sql.SQL(
                statement + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                " NOINHERIT PASSWORD {}"
            ).format(sql.Identifier(role), sql.Literal(password))
        )
        grant_web_role(conn, role)
    return with_credentials(owner_url, role, password)


def grant_web_role(conn: psycopg.Connection, role: str) -> None:
    """Row access on every table of the schema, less what READ_ONLY_TABLES and APPEND_ONLY_TABLES keep."""
    name = sql.Identifier(role)
    database = sql.Identifier(conn.info.dbname)
    for statement in (
        "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA public TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ):
        conn.execute(sql.SQL(statement).format(database=database, role=name))
    for table in (*READ_ONLY_TABLES, *APPEND_ONLY_TABLES):
        conn.execute(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(table), name)
        )
    for table in READ_ONLY_TABLES:
        conn.execute(sql.SQL("REVOKE INSERT ON {} FROM {}").format(sql.Identifier(table), name))


def renew_web_role_grants(owner_url: str) -> bool:
    """After a migration: grants on new tables for the web role, when the role exists."""
    role = web_role_name(owner_url)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            return False
        grant_web_role(conn, role)
    return True


def drop_web_role(owner_url: str) -> None:
    """For a database that is dropped (the test suite's): the role would otherwise outlive it."""
    with psycopg.connect(with_database(owner_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(web_role_name(owner_url))))
