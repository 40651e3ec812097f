"""SQL for cities and administrative areas (kota, kecamatan, kelurahan)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

LEVELS = ("kota", "kecamatan", "kelurahan")
# How far outside the kelurahan boundaries a point may lie and still count as in the city, for every
# import (incidents, assets, areas): official boundaries leave slivers between them, are simplified
# (~150 m on the coast), and piers, jetties, border posts and GPS fixes sit on the edge. Such a point
# gets the nearest kelurahan (metres in the city's metric CRS; the lowest code on a tie); a point
# farther out is outside the city.
CITY_TOLERANCE_M = 200.0
# Points farther than this from a kelurahan's bounding box (in degrees: more than the tolerance in
# metres anywhere a city is) are not within the tolerance, without being projected to metres.
NEAR_DEGREES = 0.05


@dataclass
class AdminArea:
    """One row of admin_areas, as written by imports and the sample generator."""

    code: str
    level: str
    name: str
    parent_code: str | None
    geom: BaseGeometry
    boundary_source: str
    name_variants: tuple[str, ...] = ()
    population: int | None = None
    population_source: str | None = None
    population_year: int | None = None
    population_is_estimate: bool = False
    official_area_km2: float | None = None


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    raise ValueError(f"expected a polygon, got {geom.geom_type}")


def upsert_city(
    conn: psycopg.Connection,
    code: str,
    name: str,
    *,
    timezone: str,
    metric_srid: int,
    official_area_km2: float | None = None,
    official_area_source: str | None = None,
) -> None:
    """Insert or update a city with its own time zone and metric CRS (geo_app.city derives both)."""
    conn.execute(
        """
        INSERT INTO cities (code, name, timezone, metric_srid, official_area_km2, official_area_source)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (code) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
            metric_srid = excluded.metric_srid,
            official_area_km2 = coalesce(excluded.official_area_km2, cities.official_area_km2),
            official_area_source = coalesce(excluded.official_area_source,
                                            cities.official_area_source)
        """,
        (code, name, timezone, metric_srid, official_area_km2, official_area_source),
    )


def upsert_areas(conn: psycopg.Connection, city_code: str, areas: Iterable[AdminArea]) -> int:
    """Insert or replace areas by code (parents first: the FK is checked at commit)."""
    count = 0
    for area in sorted(areas, key=lambda a: LEVELS.index(a.level)):
        conn.execute(
            """
            INSERT INTO admin_areas (code, city_code, level, name, name_variants, parent_code,
                population, population_source, population_year, population_is_estimate,
                official_area_km2, boundary_source, geom)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                    ST_Multi(ST_GeomFromWKB(%s, 4326)))
            ON CONFLICT (code) DO UPDATE SET
                level = excluded.level, name = excluded.name,
                name_variants = excluded.name_variants, parent_code = excluded.parent_code,
                population = excluded.population, population_source = excluded.population_source,
                population_year = excluded.population_year,
                population_is_estimate = excluded.population_is_estimate,
                official_area_km2 = excluded.official_area_km2,
                boundary_source = excluded.boundary_source, geom = excluded.geom
            """,
            (
                area.code,
                city_code,
                area.level,
                area.name,
                list(area.name_variants),
                area.parent_code,
                area.population,
                area.population_source,
                area.population_year,
                area.population_is_estimate,
                area.official_area_km2,
                area.boundary_source,
                as_multipolygon(area.geom).wkb,
            ),
        )
        count += 1
    return count


def count_areas(conn: psycopg.Connection, city_code: str, level: str) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM admin_areas WHERE city_code = %s AND level = %s",
        (city_code, level),
    ).fetchone()
    return row["n"]


def list_areas(conn: psycopg.Connection, city_code: str, level: str) -> list[dict]:
    """Areas of one level with attributes, metric area and population density (no geometry)."""
    return conn.execute(
        """
        SELECT a.code, a.name, a.name_variants, a.parent_code, a.population, a.population_source,
               a.population_year, a.population_is_estimate, a.official_area_km2,
               ST_Area(ST_Transform(a.geom, c.metric_srid)) / 1e6 AS area_km2,
               a.population / nullif(ST_Area(ST_Transform(a.geom, c.metric_srid)) / 1e6, 0)
                   AS density_per_km2
        FROM admin_areas a JOIN cities c ON c.code = a.city_code
        WHERE a.city_code = %s AND a.level = %s
        ORDER BY a.code
        """,
        (city_code, level),
    ).fetchall()


def areas_geojson(
    conn: psycopg.Connection, city_code: str, level: str, after: str | None = None, limit: int | None = None
) -> dict:
    """A GeoJSON FeatureCollection of one level ordered by code, built by PostGIS (lon/lat, 6 decimals
    ~ 0.1 m): every area, or ``limit`` of them with a code after ``after``."""
    row = conn.execute(
        """
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'id', a.code,
                'geometry', ST_AsGeoJSON(a.geom, 6)::json,
                'properties', json_build_object(
                    'code', a.code, 'name', a.name, 'level', a.level,
                    'parent_code', a.parent_code, 'parent_name', p.name,
                    'name_variants', a.name_variants,
                    'population', a.population, 'population_source', a.population_source,
                    'population_year', a.population_year,
                    'population_is_estimate', a.population_is_estimate,
                    'official_area_km2', a.official_area_km2,
                    'area_km2', round((ST_Area(ST_Transform(a.geom, a.metric_srid)) / 1e6)::numeric, 4),
                    'density_per_km2', round((a.population /
                        nullif(ST_Area(ST_Transform(a.geom, a.metric_srid)) / 1e6, 0))::numeric, 1),
                    'boundary_source', a.boundary_source)
            ) ORDER BY a.code), '[]'::json)
        ) AS fc
        FROM (
            SELECT a.*, c.metric_srid FROM admin_areas a JOIN cities c ON c.code = a.city_code
            WHERE a.city_code = %(city)s AND a.level = %(level)s
              AND (%(after)s::text IS NULL OR a.code > %(after)s)
            ORDER BY a.code LIMIT %(limit)s
        ) a
        LEFT JOIN admin_areas p ON p.code = a.parent_code
        """,
        {"city": city_code, "level": level, "after": after, "limit": limit},
    ).fetchone()
    return row["fc"]


def bounds(
    conn: psycopg.Connection, city_code: str
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """((south, west), (north, east)) of the city's areas, for fitting maps; None when it has none."""
    row = conn.execute(
        """
        SELECT ST_YMin(e) AS south, ST_XMin(e) AS west, ST_YMax(e) AS north, ST_XMax(e) AS east
        FROM (SELECT ST_Extent(geom) AS e FROM admin_areas WHERE city_code = %s) AS extent
        """,
        (city_code,),
    ).fetchone()
    if row["south"] is None:
        return None
    return (row["south"], row["west"]), (row["north"], row["east"])


def record_load(
    conn: psycopg.Connection, city_code: str, layer: str, source: str, is_sample: bool, rows: int
) -> None:
    """Remember where a layer's rows came from (shown on pages: sample data is labelled)."""
    conn.execute(
        "INSERT INTO dataset_loads (city_code, layer, source, is_sample, row_count) "
        "VALUES (%s, %s, %s, %s, %s)",
        (city_code, layer, source, is_sample, rows),
    )


def latest_loads(conn: psycopg.Connection, city_code: str) -> dict[str, dict]:
    """The latest load of each layer, by layer name."""
    rows = conn.execute(
        """
        SELECT DISTINCT ON (layer) layer, source, is_sample, row_count, loaded_at
        FROM dataset_loads WHERE city_code = %s ORDER BY layer, loaded_at DESC, id DESC
        """,
        (city_code,),
    ).fetchall()
    return {row["layer"]: row for row in rows}


def city(conn: psycopg.Connection, city_code: str) -> dict | None:
    return conn.execute("SELECT * FROM cities WHERE code = %s", (city_code,)).fetchone()


# --- Boundary import (geo_app.ingest.areas): replacing kelurahan boundaries and what hangs on them -------


def kelurahan_for_matching(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Each kelurahan with its names and its kecamatan's name, for matching an imported file."""
    return conn.execute(
        """
        SELECT k.code, k.name, k.name_variants, k.parent_code, p.name AS kecamatan_name
        FROM admin_areas k JOIN admin_areas p ON p.code = k.parent_code
        WHERE k.city_code = %s AND k.level = 'kelurahan'
        ORDER BY k.code
        """,
        (city_code,),
    ).fetchall()


def replace_kelurahan_boundaries(
    conn: psycopg.Connection, city_code: str, boundaries: dict[str, bytes], boundary_source: str
) -> list[str]:
    """Set new kelurahan geometries (WKB, EPSG:4326); returns the codes whose new boundary does not even
    touch the old one (a hint of a wrong CRS or a mismatched feature)."""
    codes = list(boundaries)
    rows = conn.execute(
        """
        WITH incoming AS (
            SELECT code, ST_Multi(ST_GeomFromWKB(wkb, 4326)) AS geom
            FROM unnest(%s::text[], %s::bytea[]) AS t (code, wkb)
        ), previous AS (
            SELECT a.code, ST_Intersects(a.geom, i.geom) AS overlaps
            FROM admin_areas a JOIN incoming i USING (code)
        ), updated AS (
            UPDATE admin_areas a SET geom = i.geom, boundary_source = %s
            FROM incoming i
            WHERE a.code = i.code AND a.city_code = %s AND a.level = 'kelurahan'
            RETURNING a.code
        )
        SELECT u.code FROM updated u JOIN previous p USING (code) WHERE NOT p.overlaps ORDER BY u.code
        """,
        (codes, [boundaries[code] for code in codes], boundary_source, city_code),
    ).fetchall()
    return [row["code"] for row in rows]


# Unions snap to a 1e-7 degree (~1 cm) grid: edges that met in metres but were reprojected to degrees
# leave hair-thin slivers between kelurahan that would otherwise survive as holes in the outlines.
UNION_GRID_DEGREES = 1e-7


def rebuild_parent_boundaries(conn: psycopg.Connection, city_code: str, boundary_source: str) -> None:
    """Kecamatan geometries as the union of their kelurahan, then the kota as the union of all."""
    params = {"source": boundary_source, "city": city_code, "grid": UNION_GRID_DEGREES}
    conn.execute(
        """
        UPDATE admin_areas p SET geom = u.geom, boundary_source = %(source)s
        FROM (
            SELECT parent_code AS code, ST_Multi(ST_CollectionExtract(ST_Union(geom, %(grid)s), 3)) AS geom
            FROM admin_areas WHERE city_code = %(city)s AND level = 'kelurahan' GROUP BY parent_code
        ) u
        WHERE p.code = u.code AND p.level = 'kecamatan'
        """,
        params,
    )
    conn.execute(
        """
        UPDATE admin_areas SET boundary_source = %(source)s, geom = (
            SELECT ST_Multi(ST_CollectionExtract(ST_Union(geom, %(grid)s), 3))
            FROM admin_areas WHERE city_code = %(city)s AND level = 'kelurahan')
        WHERE city_code = %(city)s AND level = 'kota'
        """,
        params,
    )


def kelurahan_population_basis(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Kelurahan metric areas and estimate flags with their kecamatan's population, for re-spreading it."""
    return conn.execute(
        """
        SELECT k.code, k.parent_code AS kecamatan_code, k.population_is_estimate OR k.population IS NULL
                   AS population_is_estimate,
               ST_Area(ST_Transform(k.geom, c.metric_srid)) AS area_m2,
               p.population AS kecamatan_population, p.population_source AS kecamatan_population_source,
               p.population_year AS kecamatan_population_year
        FROM admin_areas k
        JOIN admin_areas p ON p.code = k.parent_code
        JOIN cities c ON c.code = k.city_code
        WHERE k.city_code = %s AND k.level = 'kelurahan'
        ORDER BY k.code
        """,
        (city_code,),
    ).fetchall()


def update_kelurahan_populations(
    conn: psycopg.Connection, populations: dict[str, tuple[int, str, int | None]]
) -> None:
    """Write (population, source, year) per kelurahan code, marked as estimates."""
    with conn.cursor() as cursor:
        cursor.executemany(
            """
            UPDATE admin_areas SET population = %s, population_source = %s, population_year = %s,
                population_is_estimate = true
            WHERE code = %s AND level = 'kelurahan'
            """,
            [(population, source, year, code) for code, (population, source, year) in populations.items()],
        )


# Rows that carry the kelurahan of their geometry; the incident's kecamatan follows its kelurahan.
_LOCATED_TABLES = {"assets": False, "incidents": True, "gazetteer": False}


def reassign_to_kelurahan(conn: psycopg.Connection, city_code: str) -> dict[str, int]:
    """Give every located row the kelurahan its geometry now falls in (a point outside every kelurahan
    the nearest one within CITY_TOLERANCE_M, none farther out); returns how many rows changed per table,
    and how many of them are now outside the city (when any are). Incidents geocoded only to a kelurahan
    keep it, and their stand-in point is moved inside the new boundary."""
    changed = {}
    outside = 0
    for table, has_kecamatan in _LOCATED_TABLES.items():
        rows_filter = (
            psycopg.sql.SQL("AND geocode_precision <> 'kelurahan'")
            if table == "incidents"
            else psycopg.sql.SQL("")
        )
        kecamatan = (
            psycopg.sql.SQL(", kecamatan_code = l.kecamatan_code") if has_kecamatan else psycopg.sql.SQL("")
        )
        kecamatan_differs = (
            psycopg.sql.SQL("OR t.kecamatan_code IS DISTINCT FROM l.kecamatan_code")
            if has_kecamatan
            else psycopg.sql.SQL("")
        )
        statement = psycopg.sql.SQL(
            """
            WITH point AS (
                SELECT id, ST_PointOnSurface(geom) AS geom FROM {table}
                WHERE city_code = %(city)s AND geom IS NOT NULL {rows_filter}
            ), inside AS (
                SELECT DISTINCT ON (p.id) p.id, a.code, a.parent_code
                FROM point p JOIN admin_areas a
                    ON a.city_code = %(city)s AND a.level = 'kelurahan' AND ST_Covers(a.geom, p.geom)
                ORDER BY p.id, a.code
            ), located AS (
                SELECT id, code AS kelurahan_code, parent_code AS kecamatan_code FROM inside
                UNION ALL
                SELECT p.id, n.code, n.parent_code
                FROM point p LEFT JOIN LATERAL (
                    SELECT a.code, a.parent_code
                    FROM admin_areas a JOIN cities c ON c.code = a.city_code
                    WHERE a.city_code = %(city)s AND a.level = 'kelurahan'
                      AND a.geom && ST_Expand(p.geom, %(near_degrees)s)
                      AND ST_DWithin(ST_Transform(a.geom, c.metric_srid), ST_Transform(p.geom, c.metric_srid),
                                     %(tolerance)s)
                    ORDER BY ST_Distance(ST_Transform(a.geom, c.metric_srid),
                                         ST_Transform(p.geom, c.metric_srid)), a.code
                    LIMIT 1
                ) n ON true
                WHERE NOT EXISTS (SELECT 1 FROM inside i WHERE i.id = p.id)
            )
            UPDATE {table} t SET kelurahan_code = l.kelurahan_code {kecamatan}
            FROM located l
            WHERE t.id = l.id AND (t.kelurahan_code IS DISTINCT FROM l.kelurahan_code {kecamatan_differs})
            RETURNING l.kelurahan_code IS NULL AS outside
            """
        ).format(
            table=psycopg.sql.Identifier(table),
            rows_filter=rows_filter,
            kecamatan=kecamatan,
            kecamatan_differs=kecamatan_differs,
        )
        rows = conn.execute(
            statement, {"city": city_code, "tolerance": CITY_TOLERANCE_M, "near_degrees": NEAR_DEGREES}
        ).fetchall()
        changed[table] = len(rows)
        outside += sum(row["outside"] for row in rows)
    changed["incident points moved into their kelurahan"] = conn.execute(
        """
        UPDATE incidents i SET geom = ST_PointOnSurface(a.geom)
        FROM admin_areas a
        WHERE i.city_code = %s AND i.geocode_precision = 'kelurahan' AND a.code = i.kelurahan_code
          AND NOT ST_Covers(a.geom, i.geom)
        """,
        (city_code,),
    ).rowcount
    if outside:
        changed[f"of them now more than {CITY_TOLERANCE_M:g} m outside every kelurahan (none given)"] = (
            outside
        )
    return changed


def kota_gaps(conn: psycopg.Connection, city_code: str) -> tuple[int, float]:
    """Holes inside the kota outline (gaps the kelurahan leave between them): how many, and square metres."""
    row = conn.execute(
        """
        SELECT count(*) AS gaps, coalesce(sum(ST_Area(ST_Transform(r.geom, c.metric_srid))), 0) AS m2
        FROM admin_areas a
        JOIN cities c ON c.code = a.city_code
        CROSS JOIN LATERAL ST_Dump(a.geom) AS part
        CROSS JOIN LATERAL ST_DumpRings(part.geom) AS r
        WHERE a.city_code = %s AND a.level = 'kota' AND r.path[1] > 0
        """,
        (city_code,),
    ).fetchone()
    return row["gaps"], row["m2"]
