"""SQL for infrastructure assets: locate (inside the city? which kelurahan?), write, page, export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from shapely.geometry.base import BaseGeometry

from geo_app.store.areas import CITY_TOLERANCE_M, NEAR_DEGREES

# Mirrors the CHECK constraints of the assets table (0001); the API validates against these first so a
# caller gets a sentence, not a constraint name.
STATUSES = ("planned", "active", "maintenance", "inactive")
ROADMAP_PHASES = ("quick_win", "short", "medium", "long")
DIMENSIONS = ("governance", "economy", "society", "living", "environment", "branding")


@dataclass
class AssetRecord:
    """One checked asset ready to be written (geometry in EPSG:4326)."""

    asset_type: str
    name: str
    owner_opd: str
    dimension: str
    geom: BaseGeometry
    status: str = "active"
    roadmap_phase: str | None = None
    coverage_radius_m: float | None = None
    properties: dict = field(default_factory=dict)
    source: str | None = None


@dataclass(frozen=True)
class Location:
    """Where a geometry falls relative to the city."""

    inside_city: bool
    inside_if_swapped: bool
    kelurahan_code: str | None


@dataclass
class AssetFilter:
    """List filters; every field is optional and they combine with AND."""

    asset_types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    owner_opd: str | None = None
    dimensions: Sequence[str] = ()
    roadmap_phases: Sequence[str] = ()
    kelurahan_codes: Sequence[str] = ()
    bbox: tuple[float, float, float, float] | None = None

    def where(self, city_code: str) -> tuple[str, list]:
        clauses, params = ["a.city_code = %s"], [city_code]
        for column, values in (
            ("a.asset_type", self.asset_types),
            ("a.status", self.statuses),
            ("a.dimension", self.dimensions),
            ("a.roadmap_phase", self.roadmap_phases),
            ("a.kelurahan_code", self.kelurahan_codes),
        ):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(list(values))
        if self.owner_opd:
            clauses.append("a.owner_opd = %s")
            params.append(self.owner_opd)
        if self.bbox:
            clauses.append("a.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            params.extend(self.bbox)
        return " AND ".join(clauses), params


def locate(conn: psycopg.Connection, city_code: str, geoms: Sequence[BaseGeometry]) -> list[Location]:
    """For each geometry: inside the city (within the tolerance)? would it be with x/y swapped? kelurahan.

    Only geometries near the city's bounding box are projected to metres, so placeholder coordinates such
    as (-180, -90) are answered "outside" without reaching the projection's limits.
    """
    if not geoms:
        return []
    rows = conn.execute(
        """
        WITH city AS (
            SELECT ST_Union(a.geom) AS geom, c.metric_srid AS srid
            FROM admin_areas a JOIN cities c ON c.code = a.city_code
            WHERE a.city_code = %(city)s AND a.level = 'kelurahan'
            GROUP BY c.metric_srid
        ), city_metric AS (
            SELECT geom, ST_Transform(geom, srid) AS metric,
                   ST_Expand(ST_Envelope(geom), %(near_degrees)s) AS near, srid
            FROM city
        ), input AS (
            SELECT ord, ST_GeomFromWKB(wkb, 4326) AS geom
            FROM unnest(%(wkbs)s::bytea[]) WITH ORDINALITY AS t(wkb, ord)
        )
        SELECT i.ord,
            coalesce(i.geom && cm.near
                AND ST_DWithin(ST_Transform(i.geom, cm.srid), cm.metric, %(tolerance)s), false) AS inside,
            coalesce(ST_FlipCoordinates(i.geom) && cm.near
                AND ST_DWithin(ST_Transform(ST_FlipCoordinates(i.geom), cm.srid), cm.metric,
                               %(tolerance)s), false) AS swapped,
            CASE WHEN i.geom && cm.near THEN (
                SELECT k.code FROM admin_areas k
                WHERE k.city_code = %(city)s AND k.level = 'kelurahan'
                ORDER BY k.geom <-> ST_PointOnSurface(i.geom), k.code LIMIT 1) END AS kelurahan_code
        FROM input i LEFT JOIN city_metric cm ON true
        ORDER BY i.ord
        """,
        {
            "city": city_code,
            "wkbs": [geom.wkb for geom in geoms],
            "tolerance": CITY_TOLERANCE_M,
            "near_degrees": NEAR_DEGREES,
        },
    ).fetchall()
    return [
        Location(row["inside"], row["swapped"], row["kelurahan_code"] if row["inside"] else None)
        for row in rows
    ]


def _values(record: AssetRecord, kelurahan_code: str | None) -> dict:
    return {
        "asset_type": record.asset_type,
        "name": record.name,
        "status": record.status,
        "owner_opd": record.owner_opd,
        "dimension": record.dimension,
        "roadmap_phase": record.roadmap_phase,
        "kelurahan_code": kelurahan_code,
        "coverage_radius_m": record.coverage_radius_m,
        "properties": psycopg.types.json.Jsonb(record.properties),
        "source": record.source,
        "wkb": record.geom.wkb,
    }


def insert_assets(
    conn: psycopg.Connection,
    city_code: str,
    records: Sequence[AssetRecord],
    kelurahan_codes: Sequence[str | None],
) -> list[int]:
    """Insert checked assets (one statement per row, in the caller's transaction); their new ids."""
    ids = []
    for record, kelurahan_code in zip(records, kelurahan_codes, strict=True):
        row = conn.execute(
            """
            INSERT INTO assets (city_code, asset_type, name, status, owner_opd, dimension, roadmap_phase,
                kelurahan_code, coverage_radius_m, properties, source, geom)
            VALUES (%(city)s, %(asset_type)s, %(name)s, %(status)s, %(owner_opd)s, %(dimension)s,
                %(roadmap_phase)s, %(kelurahan_code)s, %(coverage_radius_m)s, %(properties)s, %(source)s,
                ST_GeomFromWKB(%(wkb)s, 4326))
            RETURNING id
            """,
            {"city": city_code, **_values(record, kelurahan_code)},
        ).fetchone()
        ids.append(row["id"])
    return ids


def update_asset(
    conn: psycopg.Connection, city_code: str, asset_id: int, record: AssetRecord, kelurahan_code: str | None
) -> bool:
    """Replace every attribute of one asset with the checked, merged record; False when it is missing."""
    cursor = conn.execute(
        """
        UPDATE assets SET asset_type = %(asset_type)s, name = %(name)s, status = %(status)s,
            owner_opd = %(owner_opd)s, dimension = %(dimension)s, roadmap_phase = %(roadmap_phase)s,
            kelurahan_code = %(kelurahan_code)s, coverage_radius_m = %(coverage_radius_m)s,
            properties = %(properties)s, source = %(source)s, geom = ST_GeomFromWKB(%(wkb)s, 4326)
        WHERE city_code = %(city)s AND id = %(id)s
        """,
        {"city": city_code, "id": asset_id, **_values(record, kelurahan_code)},
    )
    return cursor.rowcount == 1


def delete_asset(conn: psycopg.Connection, city_code: str, asset_id: int) -> bool:
    cursor = conn.execute("DELETE FROM assets WHERE city_code = %s AND id = %s", (city_code, asset_id))
    return cursor.rowcount == 1


_FEATURE_SQL = """
    SELECT a.id, json_build_object(
        'type', 'Feature',
        'id', a.id,
        'geometry', ST_AsGeoJSON(a.geom, 7)::json,
        'properties', json_build_object(
            'asset_type', a.asset_type, 'name', a.name, 'status', a.status, 'owner_opd', a.owner_opd,
            'dimension', a.dimension, 'roadmap_phase', a.roadmap_phase,
            'kelurahan_code', a.kelurahan_code, 'kelurahan', k.name,
            'coverage_radius_m', a.coverage_radius_m, 'attributes', a.properties, 'source', a.source,
            'created_at', a.created_at, 'updated_at', a.updated_at)
    ) AS feature
    FROM assets a LEFT JOIN admin_areas k ON k.code = a.kelurahan_code
"""


def get_feature(conn: psycopg.Connection, city_code: str, asset_id: int) -> dict | None:
    row = conn.execute(
        _FEATURE_SQL + " WHERE a.city_code = %s AND a.id = %s", (city_code, asset_id)
    ).fetchone()
    return row["feature"] if row else None


def get_record(conn: psycopg.Connection, city_code: str, asset_id: int) -> dict | None:
    """The stored columns of one asset with its geometry as WKB (for PATCH merges)."""
    return conn.execute(
        """
        SELECT asset_type, name, status, owner_opd, dimension, roadmap_phase, coverage_radius_m,
               properties, source, ST_AsBinary(geom) AS wkb
        FROM assets WHERE city_code = %s AND id = %s
        """,
        (city_code, asset_id),
    ).fetchone()


def page_features(
    conn: psycopg.Connection, city_code: str, filters: AssetFilter, limit: int, after: int | None
) -> tuple[list[dict], int | None]:
    """One keyset page of GeoJSON features ordered by id, and the id to continue after (None at the end)."""
    where, params = filters.where(city_code)
    if after is not None:
        where += " AND a.id > %s"
        params.append(after)
    rows = conn.execute(
        f"{_FEATURE_SQL} WHERE {where} ORDER BY a.id LIMIT %s", [*params, limit + 1]
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [row["feature"] for row in rows], (rows[-1]["id"] if more else None)


def count(conn: psycopg.Connection, city_code: str, filters: AssetFilter) -> int:
    where, params = filters.where(city_code)
    return conn.execute(f"SELECT count(*) AS n FROM assets a WHERE {where}", params).fetchone()["n"]


def export_rows(conn: psycopg.Connection, city_code: str, filters: AssetFilter) -> list[dict]:
    """Flat rows for file exports: columns plus WKB geometry, kelurahan name resolved."""
    where, params = filters.where(city_code)
    return conn.execute(
        f"""
        SELECT a.id, a.asset_type, a.name, a.status, a.owner_opd, a.dimension, a.roadmap_phase,
               a.kelurahan_code, k.name AS kelurahan, a.coverage_radius_m, a.properties, a.source,
               ST_AsBinary(a.geom) AS wkb
        FROM assets a LEFT JOIN admin_areas k ON k.code = a.kelurahan_code
        WHERE {where} ORDER BY a.id
        """,
        params,
    ).fetchall()
