"""SQL for cities and administrative areas (kota, kecamatan, kelurahan)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

LEVELS = ("kota", "kecamatan", "kelurahan")


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
    official_area_km2: float | None = None,
    official_area_source: str | None = None,
) -> None:
    conn.execute(
        """
        INSERT INTO cities (code, name, official_area_km2, official_area_source)
        VALUES (%s, %s, %s, %s)
        ON CONFLICT (code) DO UPDATE SET name = excluded.name,
            official_area_km2 = coalesce(excluded.official_area_km2, cities.official_area_km2),
            official_area_source = coalesce(excluded.official_area_source,
                                            cities.official_area_source)
        """,
        (code, name, official_area_km2, official_area_source),
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


def areas_geojson(conn: psycopg.Connection, city_code: str, level: str) -> dict:
    """A GeoJSON FeatureCollection of one level, built by PostGIS (lon/lat, 6 decimals ~ 0.1 m)."""
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
                    'area_km2', round((ST_Area(ST_Transform(a.geom, c.metric_srid)) / 1e6)::numeric, 4),
                    'density_per_km2', round((a.population /
                        nullif(ST_Area(ST_Transform(a.geom, c.metric_srid)) / 1e6, 0))::numeric, 1),
                    'boundary_source', a.boundary_source)
            ) ORDER BY a.code), '[]'::json)
        ) AS fc
        FROM admin_areas a JOIN cities c ON c.code = a.city_code
        LEFT JOIN admin_areas p ON p.code = a.parent_code
        WHERE a.city_code = %s AND a.level = %s
        """,
        (city_code, level),
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
