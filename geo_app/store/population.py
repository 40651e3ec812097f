"""SQL for the population grid (migration 0011_population): write it, rescale it, read it.

The population model of an answer is the grid's raster name and year, or ``even_by_area`` when the city
has no grid (each kelurahan's people spread evenly over its area).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg

EVEN_BY_AREA = "even_by_area"


def kelurahan_for_grid(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Kelurahan code, name, official population and geometry in the city's metric CRS (WKB)."""
    return conn.execute(
        """
        SELECT k.code, k.name, k.population, ST_AsBinary(ST_Transform(k.geom, c.metric_srid)) AS wkb
        FROM admin_areas k JOIN cities c ON c.code = k.city_code
        WHERE k.city_code = %s AND k.level = 'kelurahan' ORDER BY k.code
        """,
        (city_code,),
    ).fetchall()


def replace_grid(
    conn: psycopg.Connection,
    city_code: str,
    grid: dict,
    kelurahan_codes: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    population: np.ndarray,
    raster_population: np.ndarray,
) -> None:
    """The city's grid row and cells, replacing any previous grid (within the caller's transaction)."""
    conn.execute("DELETE FROM population_grids WHERE city_code = %s", (city_code,))
    conn.execute(
        """
        INSERT INTO population_grids (city_code, model, year, source, cell_size_m, raster_crs,
                                      even_spread_kelurahan)
        VALUES (%(city)s, %(model)s, %(year)s, %(source)s, %(cell_size_m)s, %(raster_crs)s, %(even)s)
        """,
        {"city": city_code, **grid},
    )
    conn.execute(
        """
        INSERT INTO population_cells (city_code, kelurahan_code, population, raster_population, x, y, geom)
        SELECT %(city)s, c.kelurahan_code, c.population, c.raster_population, c.x, c.y,
               ST_Transform(ST_MakeEnvelope(c.x - %(half)s, c.y - %(half)s, c.x + %(half)s, c.y + %(half)s,
                                            m.metric_srid), 4326)
        FROM unnest(%(codes)s::text[], %(population)s::float8[], %(raster)s::float8[], %(x)s::float8[],
                    %(y)s::float8[]) AS c(kelurahan_code, population, raster_population, x, y)
        CROSS JOIN (SELECT metric_srid FROM cities WHERE code = %(city)s) m
        """,
        {
            "city": city_code,
            "half": grid["cell_size_m"] / 2,
            "codes": list(kelurahan_codes),
            "population": population.tolist(),
            "raster": raster_population.tolist(),
            "x": x.tolist(),
            "y": y.tolist(),
        },
    )


def grid(conn: psycopg.Connection, city_code: str) -> dict | None:
    return conn.execute("SELECT * FROM population_grids WHERE city_code = %s", (city_code,)).fetchone()


def model_name(conn: psycopg.Connection, city_code: str) -> str:
    """The population model answers name: the raster and its year, or ``even_by_area``."""
    row = grid(conn, city_code)
    if row is None:
        return EVEN_BY_AREA
    return f"{row['model']} ({row['year']})" if row["year"] else row["model"]


def cells(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Every cell: kelurahan code, centre x/y (metric) and people."""
    return conn.execute(
        "SELECT kelurahan_code, x, y, population FROM population_cells WHERE city_code = %s ORDER BY id",
        (city_code,),
    ).fetchall()


def update_kelurahan_totals(conn: psycopg.Connection, city_code: str, rows: Sequence[dict]) -> None:
    """Official (population, year, source) per kelurahan code, no longer marked as estimates."""
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            UPDATE admin_areas SET population = %(population)s, population_year = %(year)s,
                population_source = %(source)s, population_is_estimate = false
            WHERE city_code = %(city)s AND code = %(code)s AND level = 'kelurahan'
            """,
            [{"city": city_code, **row} for row in rows],
        )


def rescale_cells(conn: psycopg.Connection, city_code: str, kelurahan_codes: Sequence[str]) -> list[str]:
    """Spread the kelurahan's official totals over their cells again by the raster's pattern (evenly
    where the raster holds nobody); returns the kelurahan spread evenly."""
    rows = conn.execute(
        """
        WITH sums AS (
            SELECT kelurahan_code, sum(raster_population) AS raster, count(*) AS n
            FROM population_cells WHERE city_code = %(city)s AND kelurahan_code = ANY(%(codes)s)
            GROUP BY kelurahan_code
        ), updated AS (
            UPDATE population_cells c
            SET population = coalesce(k.population, s.raster) * CASE WHEN s.raster > 0
                THEN c.raster_population / s.raster ELSE 1.0 / s.n END
            FROM sums s JOIN admin_areas k ON k.code = s.kelurahan_code
            WHERE c.city_code = %(city)s AND c.kelurahan_code = s.kelurahan_code
            RETURNING c.kelurahan_code, s.raster
        )
        SELECT DISTINCT kelurahan_code FROM updated WHERE raster = 0 ORDER BY 1
        """,
        {"city": city_code, "codes": list(kelurahan_codes)},
    ).fetchall()
    even = [row["kelurahan_code"] for row in rows]
    conn.execute(
        """
        UPDATE population_grids SET even_spread_kelurahan = ARRAY(
            SELECT DISTINCT unnest(array_cat(
                ARRAY(SELECT e FROM unnest(even_spread_kelurahan) e WHERE e <> ALL(%(codes)s)), %(even)s))
            ORDER BY 1)
        WHERE city_code = %(city)s
        """,
        {"city": city_code, "codes": list(kelurahan_codes), "even": even},
    )
    return even
