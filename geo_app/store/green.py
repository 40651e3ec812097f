"""SQL for green open space (RTH): versioned features, geometry checks, measures per kelurahan.

Every feature keeps its history: a change closes the current version (valid_to) and opens a new one with
the same feature id. "At time t" means the version with valid_from <= t < valid_to; ``at=None`` means the
current state. Areas are measured in the city's metric SRID (cities.metric_srid, geo_app.city), ``area_ha``
of each version too (a trigger, migration 0011).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

# Overlaps smaller than this are digitising noise along shared edges, not double-counted land.
OVERLAP_TOLERANCE_M2 = 1.0

FEATURE_COLUMNS = """
    g.id, g.version_id, g.green_type, g.is_public, g.managing_opd, g.name, g.survey_date, g.source,
    g.area_ha, g.valid_from, g.valid_to
"""


@dataclass(frozen=True)
class GreenFilter:
    """Which green areas a list returns; every field optional."""

    at: datetime | None = None
    types: tuple[str, ...] = ()
    is_public: bool | None = None
    managing_opd: str | None = None
    kelurahan: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def _valid_at(alias: str, at: datetime | None, param: str = "at") -> str:
    """The validity predicate of one version; the current state uses the partial indexes."""
    if at is None:
        return f"{alias}.valid_to IS NULL"
    return (
        f"{alias}.valid_from <= %({param})s AND ({alias}.valid_to IS NULL OR {alias}.valid_to > %({param})s)"
    )


def _filter_sql(flt: GreenFilter) -> tuple[str, dict]:
    clauses = ["g.city_code = %(city)s", _valid_at("g", flt.at)]
    params: dict = {"at": flt.at}
    if flt.types:
        clauses.append("g.green_type = ANY(%(types)s)")
        params["types"] = list(flt.types)
    if flt.is_public is not None:
        clauses.append("g.is_public = %(is_public)s")
        params["is_public"] = flt.is_public
    if flt.managing_opd:
        clauses.append("g.managing_opd = %(opd)s")
        params["opd"] = flt.managing_opd
    if flt.kelurahan:
        clauses.append(
            "EXISTS (SELECT 1 FROM admin_areas k WHERE k.code = %(kelurahan)s AND k.city_code = g.city_code"
            " AND ST_Intersects(k.geom, g.geom) AND NOT ST_Touches(k.geom, g.geom))"
        )
        params["kelurahan"] = flt.kelurahan
    if flt.bbox:
        clauses.append("g.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
        params.update(zip(("x0", "y0", "x1", "y1"), flt.bbox, strict=True))
    return " AND ".join(clauses), params


def list_green_areas(
    conn: psycopg.Connection, city_code: str, flt: GreenFilter, after_id: int | None, limit: int
) -> tuple[list[dict], int]:
    """One page of features (keyset by feature id, with GeoJSON geometry) and how many match in all."""
    where, params = _filter_sql(flt)
    params.update(city=city_code, after=after_id or 0, limit=limit)
    rows = conn.execute(
        f"""
        SELECT {FEATURE_COLUMNS}, ST_AsGeoJSON(g.geom, 6)::json AS geometry
        FROM green_areas g WHERE {where} AND g.id > %(after)s
        ORDER BY g.id LIMIT %(limit)s
        """,
        params,
    ).fetchall()
    matched = conn.execute(f"SELECT count(*) AS n FROM green_areas g WHERE {where}", params).fetchone()["n"]
    return rows, matched


def get_green_area(
    conn: psycopg.Connection, city_code: str, feature_id: int, at: datetime | None = None
) -> dict | None:
    return conn.execute(
        f"""
        SELECT {FEATURE_COLUMNS}, ST_AsGeoJSON(g.geom, 6)::json AS geometry
        FROM green_areas g WHERE g.city_code = %(city)s AND g.id = %(id)s AND {_valid_at("g", at)}
        """,
        {"city": city_code, "id": feature_id, "at": at},
    ).fetchone()


def green_area_history(conn: psycopg.Connection, city_code: str, feature_id: int) -> list[dict]:
    """Every version of one feature, oldest first."""
    return conn.execute(
        f"""
        SELECT {FEATURE_COLUMNS}, ST_AsGeoJSON(g.geom, 6)::json AS geometry
        FROM green_areas g WHERE g.city_code = %s AND g.id = %s ORDER BY g.valid_from
        """,
        (city_code, feature_id),
    ).fetchall()


def lock_city_edits(conn: psycopg.Connection, city_code: str) -> None:
    """Serialise green-area writes of one city until the transaction ends, so that two edits or imports
    running at once still see each other's polygons in their overlap checks."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('green_areas:' || %s))", (city_code,))


def lock_current(conn: psycopg.Connection, city_code: str, feature_id: int) -> dict | None:
    """The current version, locked until the transaction ends (so two edits cannot both close it)."""
    return conn.execute(
        f"""
        SELECT {FEATURE_COLUMNS}, ST_AsBinary(g.geom) AS wkb
        FROM green_areas g WHERE g.city_code = %s AND g.id = %s AND g.valid_to IS NULL FOR UPDATE
        """,
        (city_code, feature_id),
    ).fetchone()


def close_current(conn: psycopg.Connection, city_code: str, feature_id: int, at: datetime | None) -> None:
    """End the current version at ``at`` (default: now); the row stays as history."""
    conn.execute(
        "UPDATE green_areas SET valid_to = coalesce(%s, now()) "
        "WHERE city_code = %s AND id = %s AND valid_to IS NULL",
        (at, city_code, feature_id),
    )


def insert_version(
    conn: psycopg.Connection,
    city_code: str,
    attributes: dict,
    wkb: bytes,
    at: datetime | None = None,
    feature_id: int | None = None,
) -> dict:
    """A new version: of a new feature, or (with ``feature_id``) of an existing one after closing it."""
    return conn.execute(
        """
        INSERT INTO green_areas (id, city_code, green_type, is_public, managing_opd, name, survey_date,
            source, geom, valid_from)
        VALUES (coalesce(%(id)s, nextval('green_area_feature_id_seq')), %(city)s, %(green_type)s,
            %(is_public)s, %(managing_opd)s, %(name)s, %(survey_date)s, %(source)s,
            ST_Multi(ST_GeomFromWKB(%(wkb)s, 4326)), coalesce(%(at)s, now()))
        RETURNING id, version_id, area_ha, valid_from
        """,
        {
            "id": feature_id,
            "city": city_code,
            "wkb": wkb,
            "at": at,
            **{
                key: attributes.get(key)
                for key in ("green_type", "is_public", "managing_opd", "name", "survey_date", "source")
            },
        },
    ).fetchone()


# --- geometry checks used by imports and edits ---------------------------------------------------------


def repair_and_clip(conn: psycopg.Connection, city_code: str, wkb: bytes) -> dict:
    """Validity, ST_MakeValid repair and the part inside the city, with the areas (m²) to judge them.

    ``area_before_m2`` of an invalid polygon is what its rings enclose by the shoelace formula (a
    bow-tie's halves cancel), so a large change between before and after flags a repair that changed
    the shape rather than fixed a digitising slip.
    """
    return conn.execute(
        """
        WITH input AS (SELECT ST_Force2D(ST_GeomFromWKB(%(wkb)s, 4326)) AS g),
        boundary AS (
            SELECT coalesce(
                (SELECT geom FROM admin_areas WHERE city_code = %(city)s AND level = 'kota' LIMIT 1),
                (SELECT ST_Union(geom) FROM admin_areas
                 WHERE city_code = %(city)s AND level = 'kelurahan')) AS geom),
        fixed AS (
            SELECT g, ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason,
                   CASE WHEN ST_IsValid(g) THEN g
                        ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END AS repaired
            FROM input),
        clipped AS (
            SELECT fixed.*, boundary.geom IS NOT NULL AS has_boundary,
                   CASE WHEN boundary.geom IS NULL OR ST_Within(repaired, boundary.geom) THEN repaired
                        ELSE ST_CollectionExtract(ST_Intersection(repaired, boundary.geom), 3) END AS inside
            FROM fixed, boundary)
        SELECT valid, reason, has_boundary,
               ST_Area(ST_Transform(g, c.metric_srid)) AS area_before_m2,
               ST_Area(ST_Transform(repaired, c.metric_srid)) AS area_after_m2,
               ST_Area(ST_Transform(inside, c.metric_srid)) AS inside_m2,
               ST_AsBinary(repaired) AS repaired_wkb, ST_AsBinary(inside) AS inside_wkb
        FROM clipped, cities c WHERE c.code = %(city)s
        """,
        {"wkb": wkb, "city": city_code},
    ).fetchone()


def overlapping_green_areas(
    conn: psycopg.Connection, city_code: str, wkb: bytes, exclude_id: int | None = None
) -> list[dict]:
    """Current green areas that overlap the geometry by at least the tolerance, with the overlap in m²."""
    return conn.execute(
        """
        WITH input AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS g)
        SELECT * FROM (
            SELECT e.id, e.name, e.green_type,
                   ST_Area(ST_Transform(ST_Intersection(e.geom, input.g), c.metric_srid)) AS overlap_m2
            FROM green_areas e, input, cities c
            WHERE c.code = %(city)s AND e.city_code = %(city)s AND e.valid_to IS NULL
              AND e.id IS DISTINCT FROM %(exclude)s AND ST_Intersects(e.geom, input.g)
        ) AS found WHERE overlap_m2 >= %(tolerance)s ORDER BY id
        """,
        {"wkb": wkb, "city": city_code, "exclude": exclude_id, "tolerance": OVERLAP_TOLERANCE_M2},
    ).fetchall()


def subtract_green_areas(conn: psycopg.Connection, wkb: bytes, feature_ids: list[int]) -> bytes:
    """The geometry minus the current versions of the given features (the "clip" overlap option)."""
    return conn.execute(
        """
        SELECT ST_AsBinary(ST_CollectionExtract(ST_Difference(ST_GeomFromWKB(%s, 4326),
            (SELECT ST_Union(geom) FROM green_areas WHERE id = ANY(%s) AND valid_to IS NULL)), 3)) AS wkb
        """,
        (wkb, feature_ids),
    ).fetchone()["wkb"]


def drop_slivers(conn: psycopg.Connection, city_code: str, wkb: bytes, min_m2: float) -> dict:
    """Split off polygon parts smaller than ``min_m2``: what is kept, and how many parts / m² went."""
    return conn.execute(
        """
        WITH parts AS (
            SELECT d.geom, ST_Area(ST_Transform(d.geom, c.metric_srid)) AS m2
            FROM ST_Dump(ST_GeomFromWKB(%(wkb)s, 4326)) d, cities c WHERE c.code = %(city)s)
        SELECT ST_AsBinary(ST_Multi(ST_Collect(geom) FILTER (WHERE m2 >= %(min)s))) AS kept_wkb,
               coalesce(sum(m2) FILTER (WHERE m2 >= %(min)s), 0) AS kept_m2,
               count(*) FILTER (WHERE m2 < %(min)s) AS dropped_parts,
               coalesce(sum(m2) FILTER (WHERE m2 < %(min)s), 0) AS dropped_m2
        FROM parts
        """,
        {"wkb": wkb, "city": city_code, "min": min_m2},
    ).fetchone()


# --- measures per kelurahan ------------------------------------------------------------------------------

# Kelurahan in metric coordinates with their kecamatan; the base of every measure below.
KELURAHAN_CTE = """
    kel AS (
        SELECT k.code, k.name, k.parent_code AS kecamatan_code, p.name AS kecamatan_name, k.population,
               k.geom, ST_Transform(k.geom, c.metric_srid) AS geom_m, c.metric_srid AS srid,
               ST_SetSRID('POLYGON EMPTY'::geometry, c.metric_srid) AS empty
        FROM admin_areas k
        JOIN cities c ON c.code = k.city_code
        LEFT JOIN admin_areas p ON p.code = k.parent_code
        WHERE k.city_code = %(city)s AND k.level = 'kelurahan')
"""


def _pieces_cte(name: str, at: datetime | None, param: str) -> str:
    """Green polygons valid at one time, cut to each kelurahan, in metric coordinates."""
    return f"""
    {name} AS (
        SELECT kel.code, g.id, g.is_public,
               CASE WHEN ST_Within(g.geom, kel.geom) THEN ST_Transform(g.geom, kel.srid)
                    ELSE ST_CollectionExtract(ST_Intersection(ST_Transform(g.geom, kel.srid), kel.geom_m), 3)
               END AS geom
        FROM kel JOIN green_areas g ON g.city_code = %(city)s AND ST_Intersects(g.geom, kel.geom)
        WHERE {_valid_at("g", at, param)})
    """


def kelurahan_areas(conn: psycopg.Connection, city_code: str, geometry: bool = False) -> list[dict]:
    """Every kelurahan with its kecamatan, population and metric area in hectares; with ``geometry`` also
    its polygon as WKB in metric coordinates."""
    return conn.execute(
        f"""
        WITH {KELURAHAN_CTE}
        SELECT code, name, kecamatan_code, kecamatan_name, population, ST_Area(geom_m) / 1e4 AS area_ha
               {", ST_AsBinary(geom_m) AS wkb" if geometry else ""}
        FROM kel ORDER BY code
        """,
        {"city": city_code},
    ).fetchall()


def green_pieces(conn: psycopg.Connection, city_code: str, at: datetime | None = None) -> list[dict]:
    """Green polygons valid at ``at`` cut to each kelurahan: code, feature id, is_public and the piece
    as WKB in metric coordinates (the union and measuring happen in analysis.green). A polygon that only
    touches a kelurahan gives an empty piece there (area 0).

    JIT compilation is off for the query's transaction: PostGIS's high function costs make PostgreSQL
    compile it, which took 0.4 s of a 0.5 s query on the sample city and saves nothing."""
    conn.execute("SELECT set_config('jit', 'off', true)")
    return conn.execute(
        f"""
        WITH {KELURAHAN_CTE}, {_pieces_cte("pieces", at, "at")}
        SELECT code, id, is_public, ST_AsBinary(geom) AS wkb FROM pieces
        """,
        {"city": city_code, "at": at},
    ).fetchall()


def public_green_areas(
    conn: psycopg.Connection,
    city_code: str,
    min_ha: float,
    at: datetime | None = None,
    types: tuple[str, ...] = (),
) -> list[bytes]:
    """Public green areas of at least ``min_ha`` hectares valid at ``at`` (of the given types, default
    all), as WKB in metric coordinates."""
    rows = conn.execute(
        f"""
        SELECT ST_AsBinary(ST_Transform(g.geom, c.metric_srid)) AS wkb
        FROM green_areas g JOIN cities c ON c.code = g.city_code
        WHERE g.city_code = %(city)s AND g.is_public AND g.area_ha >= %(min_ha)s AND {_valid_at("g", at)}
          AND (cardinality(%(types)s::text[]) = 0 OR g.green_type = ANY(%(types)s::text[]))
        """,
        {"city": city_code, "min_ha": min_ha, "at": at, "types": list(types)},
    ).fetchall()
    return [row["wkb"] for row in rows]


def changed_polygons(
    conn: psycopg.Connection, city_code: str, before: datetime, after: datetime
) -> list[dict]:
    """Features whose version differs between two times, per kelurahan they touch, with the area each
    one's own change adds or removes there (before other polygons are taken into account)."""
    return conn.execute(
        f"""
        WITH {KELURAHAN_CTE},
        b AS (SELECT * FROM green_areas g
              WHERE g.city_code = %(city)s AND {_valid_at("g", before, "before")}),
        a AS (SELECT * FROM green_areas g
              WHERE g.city_code = %(city)s AND {_valid_at("g", after, "after")}),
        changed AS (
            SELECT coalesce(a.id, b.id) AS id, coalesce(a.name, b.name) AS name,
                   coalesce(a.green_type, b.green_type) AS green_type,
                   b.version_id AS version_before, a.version_id AS version_after,
                   CASE WHEN b.id IS NULL THEN 'added' WHEN a.id IS NULL THEN 'removed' ELSE 'modified' END
                       AS change,
                   b.geom AS geom_before, a.geom AS geom_after
            FROM a FULL JOIN b ON a.id = b.id
            WHERE a.version_id IS DISTINCT FROM b.version_id)
        SELECT kel.code AS kelurahan_code, ch.id, ch.name, ch.green_type, ch.change,
               ch.version_before, ch.version_after,
               ST_Area(ST_Intersection(kel.geom_m, ST_Difference(
                   coalesce(ST_Transform(ch.geom_after, kel.srid), kel.empty),
                   coalesce(ST_Transform(ch.geom_before, kel.srid), kel.empty)))) / 1e4 AS gained_ha,
               ST_Area(ST_Intersection(kel.geom_m, ST_Difference(
                   coalesce(ST_Transform(ch.geom_before, kel.srid), kel.empty),
                   coalesce(ST_Transform(ch.geom_after, kel.srid), kel.empty)))) / 1e4 AS lost_ha
        FROM changed ch JOIN kel
          ON ST_Intersects(kel.geom, ch.geom_after) OR ST_Intersects(kel.geom, ch.geom_before)
        ORDER BY kel.code, ch.id
        """,
        {"city": city_code, "before": before, "after": after},
    ).fetchall()


def first_version(conn: psycopg.Connection, city_code: str) -> datetime | None:
    """When the city's green history starts (None without green areas)."""
    return conn.execute(
        "SELECT min(valid_from) AS first FROM green_areas WHERE city_code = %s", (city_code,)
    ).fetchone()["first"]


def data_version(conn: psycopg.Connection, city_code: str) -> tuple:
    """A cheap fingerprint of what the RTH figures read (green area versions, kelurahan populations and
    geometry sizes, the population grid): equal fingerprints give equal figures. Every edit adds a
    version or closes one, so it changes the count, the newest version or the sum of end times."""
    row = conn.execute(
        """
        SELECT (SELECT row(count(*), max(version_id), sum(extract(epoch FROM valid_to)))::text
                FROM green_areas WHERE city_code = %(city)s) AS green,
               (SELECT row(count(*), sum(population), sum(ST_NPoints(geom)))::text
                FROM admin_areas WHERE city_code = %(city)s AND level = 'kelurahan') AS areas,
               (SELECT row(g.imported_at, (SELECT sum(population) FROM population_cells
                                           WHERE city_code = %(city)s))::text
                FROM population_grids g WHERE g.city_code = %(city)s) AS population
        """,
        {"city": city_code},
    ).fetchone()
    return row["green"], row["areas"], row["population"]
