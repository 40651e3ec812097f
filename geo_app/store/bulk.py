"""SQL for writing whole layers of a city at once (COPY), as the sample city loader does.

Table and column names come from the calling code, never from a request; values travel through COPY.
Geometries are passed as hex EWKB with SRID 4326.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

# Child tables first, so deleting a city's layers never trips a foreign key.
CITY_LAYER_TABLES = ("incidents", "assets", "green_areas", "gazetteer", "roads", "road_nodes")


def has_admin_areas(conn: psycopg.Connection, city_code: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM admin_areas WHERE city_code = %s) AS loaded", (city_code,)
    ).fetchone()
    return bool(row["loaded"] if isinstance(row, dict) else row[0])


def delete_city_layers(
    conn: psycopg.Connection, city_code: str, tables: Sequence[str] = CITY_LAYER_TABLES
) -> None:
    """Remove a city's rows from the given layer tables (callers of incidents go with them)."""
    for table in tables:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE city_code = %s").format(sql.Identifier(table)), (city_code,)
        )


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in ``columns`` order) into ``table``; returns how many were written."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


ANALYZE_AFTER_ROWS = 1_000
"""Loads of at least this many rows refresh the planner statistics of the tables they wrote."""


def analyze_loaded(conn: psycopg.Connection, tables: Sequence[str], rows: int) -> None:
    """Planner statistics for what a load wrote, in the same command. Without them the first queries
    plan for empty tables wherever autovacuum is off or slow (an OGC bbox page of incidents took 3.4 s
    instead of 0.02 s). Only tables this role owns: the web app's role may not analyse (nor needs to
    for its small uploads; autovacuum follows)."""
    if rows < ANALYZE_AFTER_ROWS:
        return
    owned = conn.execute(
        "SELECT c.relname AS name FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r'"
        " AND c.relnamespace = 'public'::regnamespace AND pg_has_role(current_user, c.relowner, 'USAGE')"
        " ORDER BY c.relname",
        (list(tables),),
    ).fetchall()
    names = [row["name"] if isinstance(row, dict) else row[0] for row in owned]
    if names:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))


def copy_incident_callers(conn: psycopg.Connection, city_code: str, rows: Iterable[Sequence]) -> int:
    """Callers given by incident external_id: (external_id, caller_name, caller_phone)."""
    conn.execute(
        "CREATE TEMPORARY TABLE sample_callers (external_id text, caller_name text, caller_phone text) "
        "ON COMMIT DROP"
    )
    copy_rows(conn, "sample_callers", ("external_id", "caller_name", "caller_phone"), rows)
    cursor = conn.execute(
        """
        INSERT INTO incident_callers (incident_id, caller_name, caller_phone)
        SELECT i.id, c.caller_name, c.caller_phone
        FROM sample_callers c JOIN incidents i ON i.city_code = %s AND i.external_id = c.external_id
        """,
        (city_code,),
    )
    conn.execute("DROP TABLE sample_callers")
    return cursor.rowcount


def next_green_feature_ids(conn: psycopg.Connection, count: int) -> list[int]:
    """Reserve ``count`` green-area feature ids from their sequence (shared with every other writer)."""
    rows = conn.execute(
        "SELECT nextval('green_area_feature_id_seq') AS id FROM generate_series(1, %s)", (count,)
    ).fetchall()
    return [row["id"] if isinstance(row, dict) else row[0] for row in rows]
