"""Incident counts per kecamatan or kelurahan, built from cells that are either counted whole or not at all.

The cell is one kelurahan, one calendar month in the city's time zone, one category and one call type. A
cell with fewer than ``min_count`` incidents contributes nothing, and every count is a sum of whole cells
(a kecamatan's too: the sum of its kelurahan's cells). So the difference of any two answers, whatever
their months, categories or level, is a sum of cells that each hold at least ``min_count`` incidents; a
small cell never shows, not even as "withheld". With ``min_count`` 1 the counts are exact.
"""

from __future__ import annotations

import psycopg

from geo_app.store.incidents import IncidentFilter

LEVELS = ("kelurahan", "kecamatan")
CELL = "kelurahan × calendar month × category × call type"


def counts_by_area(
    conn: psycopg.Connection, filters: IncidentFilter, level: str, min_count: int, timezone: str
) -> list[dict]:
    """Every area of ``level`` (code, name, count): the sum of its cells holding at least ``min_count``."""
    where, params = filters.where("i")
    params.update(level=level, min_count=min_count, zone=timezone)
    return conn.execute(
        f"""
        WITH cells AS (
            SELECT i.kelurahan_code, count(*) AS n FROM incidents i
            WHERE {where} AND i.kelurahan_code IS NOT NULL
            GROUP BY i.kelurahan_code, date_trunc('month', i.received_at AT TIME ZONE %(zone)s),
                     i.category, i.call_type
            HAVING count(*) >= %(min_count)s
        ), per_kelurahan AS (
            SELECT kelurahan_code, sum(n) AS n FROM cells GROUP BY kelurahan_code
        )
        SELECT a.code, a.name, coalesce(sum(p.n), 0)::bigint AS count
        FROM admin_areas a
        LEFT JOIN admin_areas k ON k.city_code = a.city_code AND k.level = 'kelurahan'
             AND (k.code = a.code OR k.parent_code = a.code)
        LEFT JOIN per_kelurahan p ON p.kelurahan_code = k.code
        WHERE a.city_code = %(f_city)s AND a.level = %(level)s
        GROUP BY a.code, a.name
        ORDER BY a.code
        """,
        params,
    ).fetchall()
