"""Incident counts per kecamatan or kelurahan for roles that may not see exact points.

Areas with fewer than ``min_count`` incidents are withheld (no count at all), so a small number cannot
point at one household; the exact points never leave the database.
"""

from __future__ import annotations

import psycopg

from geo_app.store.incidents import IncidentFilter

LEVEL_COLUMNS = {"kecamatan": "kecamatan_code", "kelurahan": "kelurahan_code"}


def counts_by_area(
    conn: psycopg.Connection, filters: IncidentFilter, level: str, min_count: int
) -> list[dict]:
    """Every area of ``level`` with its count, or count None (withheld) below ``min_count``."""
    where, params = filters.where("i")
    column = LEVEL_COLUMNS[level]
    params.update(level=level, min_count=min_count)
    return conn.execute(
        f"""
        WITH counted AS (
            SELECT i.{column} AS code, count(*) AS n FROM incidents i
            WHERE {where} AND i.{column} IS NOT NULL GROUP BY i.{column}
        )
        SELECT a.code, a.name, CASE WHEN coalesce(c.n, 0) >= %(min_count)s THEN c.n END AS count,
               coalesce(c.n, 0) > 0 AND coalesce(c.n, 0) < %(min_count)s AS withheld
        FROM admin_areas a LEFT JOIN counted c ON c.code = a.code
        WHERE a.city_code = %(f_city)s AND a.level = %(level)s
        ORDER BY a.code
        """,
        params,
    ).fetchall()
