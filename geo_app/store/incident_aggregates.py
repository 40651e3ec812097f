"""SQL that aggregates 112 incidents for the analyses: grid cells, space-time bins, DBSCAN, time tables.

Incidents carry their point in their city's metric CRS (``metric_x``/``metric_y`` in ``cities.metric_srid``,
migrations 0009 and 0011), so
binning a million of them into ST_HexagonGrid cells is arithmetic in one parallel scan: the cell is the
one with the nearest centre (see geo_app.analysis.grids for the geometry).
"""

from __future__ import annotations

import math

import psycopg

from geo_app.store.incidents import POINT_PRECISIONS, IncidentFilter

METRIC_SRID = "(SELECT c.metric_srid FROM cities c WHERE c.code = %(f_city)s)"
"""The filtered city's metric CRS, in SQL: the CRS of ``metric_x``/``metric_y`` (geo_app.city)."""

# Cell (i, j) of ST_HexagonGrid(size) for the point (x, y): nearest centre among the two candidate columns.
HEX_CELL = """
    SELECT *, CASE WHEN d0 <= d1 THEN c0 ELSE c0 + 1 END AS i, CASE WHEN d0 <= d1 THEN r0 ELSE r1 END AS j
    FROM (
        SELECT *, power(x - %(column)s * c0, 2) + power(y - %(height)s * r0 - o0, 2) AS d0,
                  power(x - %(column)s * (c0 + 1), 2) + power(y - %(height)s * r1 - o1, 2) AS d1
        FROM (
            SELECT *, round((y - o0) / %(height)s)::bigint AS r0, round((y - o1) / %(height)s)::bigint AS r1
            FROM (
                SELECT *, CASE WHEN c0 %% 2 <> 0 THEN %(height)s / 2 ELSE 0 END AS o0,
                          CASE WHEN c0 %% 2 = 0 THEN %(height)s / 2 ELSE 0 END AS o1
                FROM (SELECT *, floor(x / %(column)s)::bigint AS c0 FROM ({points}) p) located
            ) offsets
        ) candidates
    ) distances
"""


def _for_one_scan(conn: psycopg.Connection) -> None:
    """Settings for one big aggregate in this transaction: no JIT (compiling the hexagon arithmetic
    costs more than running it) and room to hash-aggregate in memory instead of sorting on disk."""
    conn.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")


def _hex_params(size: float) -> dict:
    return {"size": size, "column": 1.5 * size, "height": math.sqrt(3.0) * size}


def _area_clause(filters: IncidentFilter) -> tuple[str, dict]:
    """The kelurahan polygons the analysis covers (all of the city, or the filtered kecamatan/kelurahan)."""
    clauses = ["a.city_code = %(f_city)s", "a.level = 'kelurahan'"]
    params: dict = {"f_city": filters.city_code}
    if filters.kecamatan:
        clauses.append("a.parent_code = ANY(%(a_kecamatan)s)")
        params["a_kecamatan"] = list(filters.kecamatan)
    if filters.kelurahan:
        clauses.append("a.code = ANY(%(a_kelurahan)s)")
        params["a_kelurahan"] = list(filters.kelurahan)
    return " AND ".join(clauses), params


# Incidents that are truly a point: a call geocoded to a kelurahan stands at the kelurahan's centre, which
# would make a false hot spot there, so the point analyses (hexagons, H3, density, DBSCAN) leave it out.
POINT_PRECISION = f"i.geocode_precision IN ({', '.join(repr(p) for p in POINT_PRECISIONS)})"


def _points(filters: IncidentFilter, extra: str = "") -> tuple[str, dict]:
    where, params = filters.where()
    sql = (
        f"SELECT i.metric_x AS x, i.metric_y AS y{extra} FROM incidents i "
        f"WHERE {where} AND i.metric_x IS NOT NULL AND {POINT_PRECISION}"
    )
    return sql, params


def left_out(conn: psycopg.Connection, filters: IncidentFilter, points_only: bool) -> dict:
    """How many filtered incidents an analysis leaves out, and why: those without a location always;
    with ``points_only`` also those located only to a kelurahan."""
    where, params = filters.where()
    row = conn.execute(
        f"""
        SELECT count(*) FILTER (WHERE i.geom IS NULL) AS not_located,
               count(*) FILTER (WHERE i.geocode_precision = 'kelurahan') AS kelurahan_only
        FROM incidents i WHERE {where}
        """,
        params,
    ).fetchone()
    kelurahan_only = row["kelurahan_only"] if points_only else 0
    reasons = [f"{row['not_located']} have no location (geocode precision none)"]
    if points_only:
        reasons.append(
            f"{kelurahan_only} are located only to a kelurahan (their point is the kelurahan's centre, "
            "not where the incident was)"
        )
    return {
        "count": row["not_located"] + kelurahan_only,
        "not_located": row["not_located"],
        "kelurahan_only": kelurahan_only,
        "why": "; ".join(reasons),
    }


def area_extent(conn: psycopg.Connection, filters: IncidentFilter) -> dict:
    """Bounds and area (metres) and GeoJSON of the analysed area."""
    area, params = _area_clause(filters)
    return conn.execute(
        f"""
        SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north,
               ST_Area(e) AS area_m2, ST_AsGeoJSON(u, 6)::json AS geometry
        FROM (SELECT ST_Union(a.geom) AS u FROM admin_areas a WHERE {area}) s,
             LATERAL (SELECT ST_Transform(s.u, {METRIC_SRID}) AS e) t
        """,
        params,
    ).fetchone()


def hexagon_counts(conn: psycopg.Connection, filters: IncidentFilter, size: float) -> list[dict]:
    """Every hexagon of the area (zeros too) and any hexagon holding a filtered incident, with counts."""
    area, area_params = _area_clause(filters)
    points, params = _points(filters)
    params.update(area_params, **_hex_params(size))
    _for_one_scan(conn)
    return conn.execute(
        f"""
        WITH area AS (
            SELECT ST_Transform(ST_Union(a.geom), {METRIC_SRID}) AS geom FROM admin_areas a WHERE {area}
        ), cells AS (
            SELECT h.i, h.j, h.geom FROM area CROSS JOIN LATERAL ST_HexagonGrid(%(size)s, area.geom) h
            WHERE ST_Intersects(h.geom, area.geom)
        ), counts AS (
            SELECT i, j, count(*) AS n FROM ({HEX_CELL.format(points=points)}) assigned GROUP BY i, j
        ), joined AS (
            SELECT coalesce(c.i, n.i) AS i, coalesce(c.j, n.j) AS j, coalesce(n.n, 0) AS count,
                   coalesce(c.geom, (
                       SELECT h.geom FROM ST_HexagonGrid(%(size)s, ST_MakeEnvelope(
                           1.5 * %(size)s * n.i - 1, %(height)s * n.j - 1,
                           1.5 * %(size)s * n.i + 1, %(height)s * n.j + %(height)s, {METRIC_SRID})) h
                       WHERE h.i = n.i AND h.j = n.j)) AS geom
            FROM cells c FULL JOIN counts n ON n.i = c.i AND n.j = c.j
        )
        SELECT i, j, count, ST_X(ST_Centroid(geom)) AS x, ST_Y(ST_Centroid(geom)) AS y,
               ST_AsGeoJSON(ST_Transform(geom, 4326), 6) AS geometry
        FROM joined ORDER BY i, j
        """,
        params,
    ).fetchall()


def kelurahan_counts(conn: psycopg.Connection, filters: IncidentFilter) -> list[dict]:
    """Every kelurahan of the area with its count; distances between kelurahan are between centroids."""
    area, area_params = _area_clause(filters)
    where, params = filters.where("i")
    params.update(area_params)
    return conn.execute(
        f"""
        SELECT a.code AS id, a.name, coalesce(n.count, 0) AS count,
               ST_X(ST_Transform(ST_Centroid(a.geom), {METRIC_SRID})) AS x,
               ST_Y(ST_Transform(ST_Centroid(a.geom), {METRIC_SRID})) AS y,
               ST_AsGeoJSON(a.geom, 6) AS geometry
        FROM admin_areas a
        LEFT JOIN (SELECT i.kelurahan_code, count(*) AS count FROM incidents i WHERE {where}
                   AND i.geom IS NOT NULL GROUP BY i.kelurahan_code) n ON n.kelurahan_code = a.code
        WHERE {area}
        ORDER BY a.code
        """,
        params,
    ).fetchall()


def located_points(conn: psycopg.Connection, filters: IncidentFilter) -> list[tuple]:
    """(id, lon, lat, x, y) of each filtered incident that is a point (exact or street; for H3 and tests)."""
    where, params = filters.where()
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        return cursor.execute(
            f"SELECT i.id, ST_X(i.geom), ST_Y(i.geom), i.metric_x, i.metric_y FROM incidents i "
            f"WHERE {where} AND i.geom IS NOT NULL AND {POINT_PRECISION} ORDER BY i.id",
            params,
        ).fetchall()


def count_located(conn: psycopg.Connection, filters: IncidentFilter) -> int:
    where, params = filters.where()
    return conn.execute(
        f"SELECT count(*) AS n FROM incidents i WHERE {where} AND i.geom IS NOT NULL", params
    ).fetchone()["n"]


def binned_points(conn: psycopg.Connection, filters: IncidentFilter, bin_m: float) -> list[tuple]:
    """Incidents counted per square bin of ``bin_m`` metres: (x, y, count) at bin centres (for density)."""
    points, params = _points(filters)
    params["bin"] = bin_m
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cursor:
        return cursor.execute(
            f"""
            SELECT (floor(x / %(bin)s) + 0.5) * %(bin)s, (floor(y / %(bin)s) + 0.5) * %(bin)s, count(*)
            FROM ({points}) p GROUP BY 1, 2
            """,
            params,
        ).fetchall()


def _dbscan(filters: IncidentFilter, eps: float, min_points: int) -> tuple[str, dict]:
    """ST_ClusterDBSCAN in the city's metric CRS over the filtered incidents: rows (id, x, y, geom,
    cluster)."""
    points, params = _points(filters, extra=", i.id")
    params.update(eps=eps, min_points=min_points)
    sql = f"""
        SELECT id, x, y, geom, ST_ClusterDBSCAN(geom, %(eps)s, %(min_points)s) OVER (ORDER BY id) AS cluster
        FROM (SELECT *, ST_SetSRID(ST_MakePoint(x, y), {METRIC_SRID}) AS geom FROM ({points}) p) located
    """
    return sql, params


def dbscan_labels(
    conn: psycopg.Connection, filters: IncidentFilter, eps: float, min_points: int
) -> list[dict]:
    """Each filtered incident's DBSCAN cluster: id, x, y and cluster (NULL = noise)."""
    labelled, params = _dbscan(filters, eps, min_points)
    return conn.execute(f"SELECT id, x, y, cluster FROM ({labelled}) l ORDER BY id", params).fetchall()


def dbscan_clusters(
    conn: psycopg.Connection, filters: IncidentFilter, eps: float, min_points: int
) -> list[dict]:
    """One row per DBSCAN cluster: incident count, mean point (x, y) and its outline (convex hull widened
    by eps/2)."""
    labelled, params = _dbscan(filters, eps, min_points)
    return conn.execute(
        f"""
        SELECT cluster, count(*) AS count, avg(x) AS x, avg(y) AS y,
               ST_AsGeoJSON(ST_Transform(ST_Buffer(ST_ConvexHull(ST_Collect(geom)), %(eps)s / 2, 4), 4326), 6)
                   AS geometry
        FROM ({labelled}) l WHERE cluster IS NOT NULL GROUP BY cluster ORDER BY count DESC, cluster
        """,
        params,
    ).fetchall()


def hour_weekday_counts(conn: psycopg.Connection, filters: IncidentFilter, timezone: str) -> list[dict]:
    """Counts per category, ISO weekday (1 = Monday) and hour of day, in the city's time zone."""
    where, params = filters.where()
    params["zone"] = timezone
    _for_one_scan(conn)
    return conn.execute(
        f"""
        SELECT coalesce(i.category, '') AS category,
               extract(isodow FROM i.received_at AT TIME ZONE %(zone)s)::int AS weekday,
               extract(hour FROM i.received_at AT TIME ZONE %(zone)s)::int AS hour, count(*) AS count
        FROM incidents i WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
        params,
    ).fetchall()


def hexagon_step_counts(
    conn: psycopg.Connection, filters: IncidentFilter, size: float, step: str, timezone: str
) -> list[dict]:
    """Counts per hexagon and time step (week or month, starting in the city's time zone)."""
    points, params = _points(
        filters, extra=", date_trunc(%(step)s, i.received_at AT TIME ZONE %(zone)s) AS period"
    )
    params.update(_hex_params(size), step=step, zone=timezone)
    _for_one_scan(conn)
    return conn.execute(
        f"SELECT i, j, period, count(*) AS count FROM ({HEX_CELL.format(points=points)}) a GROUP BY 1, 2, 3",
        params,
    ).fetchall()


def response_rows(conn: psycopg.Connection, filters: IncidentFilter) -> list[dict]:
    """Per arrived incident: category, kelurahan, kecamatan and minutes from call to arrival."""
    where, params = filters.where()
    return conn.execute(
        f"""
        SELECT i.category, i.kelurahan_code, i.kecamatan_code,
               extract(epoch FROM i.arrived_at - i.received_at) / 60.0 AS minutes
        FROM incidents i WHERE {where} AND i.arrived_at IS NOT NULL
        """,
        params,
    ).fetchall()


def monthly_call_types(conn: psycopg.Connection, filters: IncidentFilter, timezone: str) -> list[dict]:
    where, params = filters.where()
    params["zone"] = timezone
    return conn.execute(
        f"""
        SELECT to_char(date_trunc('month', i.received_at AT TIME ZONE %(zone)s), 'YYYY-MM') AS month,
               i.call_type, count(*) AS count
        FROM incidents i WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2
        """,
        params,
    ).fetchall()


def area_names(conn: psycopg.Connection, city_code: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT code, name FROM admin_areas WHERE city_code = %s AND level IN ('kecamatan', 'kelurahan')",
        (city_code,),
    ).fetchall()
    return {row["code"]: row["name"] for row in rows}


def period(conn: psycopg.Connection, filters: IncidentFilter) -> dict:
    """First and last received_at of the filtered incidents, and how many there are."""
    where, params = filters.where()
    return conn.execute(
        "SELECT min(i.received_at) AS first, max(i.received_at) AS last, count(*) AS count "
        f"FROM incidents i WHERE {where}",
        params,
    ).fetchone()


def response_minute_bins(
    conn: psycopg.Connection, filters: IncidentFilter, width: float, top: float
) -> list[dict]:
    """Call-to-arrival minutes counted in bins of ``width``; the last bin also holds everything later."""
    where, params = filters.where()
    params.update(width=width, top=top)
    _for_one_scan(conn)
    return conn.execute(
        f"""
        SELECT floor(least(extract(epoch FROM i.arrived_at - i.received_at) / 60.0, %(top)s - %(width)s / 2)
                     / %(width)s) AS bin, count(*) AS count
        FROM incidents i WHERE {where} AND i.arrived_at IS NOT NULL GROUP BY 1 ORDER BY 1
        """,
        params,
    ).fetchall()


def daily_counts(conn: psycopg.Connection, filters: IncidentFilter, timezone: str) -> list[dict]:
    """Counts per local day (in ``timezone``), kecamatan and category (either may be NULL)."""
    where, params = filters.where()
    params["zone"] = timezone
    return conn.execute(
        f"""
        SELECT (i.received_at AT TIME ZONE %(zone)s)::date AS day, i.kecamatan_code, i.category,
               count(*) AS count
        FROM incidents i WHERE {where} GROUP BY 1, 2, 3
        """,
        params,
    ).fetchall()


def stage_rows(conn: psycopg.Connection, filters: IncidentFilter) -> list[dict]:
    """Per incident: category and the minutes of each stage it reached (call to dispatch, dispatch to
    arrival); a stage not reached yet is NULL."""
    where, params = filters.where()
    return conn.execute(
        f"""
        SELECT i.category,
               extract(epoch FROM i.dispatched_at - i.received_at) / 60.0 AS to_dispatch,
               extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0 AS to_arrival
        FROM incidents i WHERE {where} AND i.dispatched_at IS NOT NULL
        """,
        params,
    ).fetchall()


def kelurahan_category_counts(conn: psycopg.Connection, filters: IncidentFilter) -> list[dict]:
    """Counts per kelurahan (with its kecamatan) and category; kelurahan NULL for calls placed in none."""
    where, params = filters.where()
    return conn.execute(
        f"""
        SELECT i.kelurahan_code, i.kecamatan_code, i.category, count(*) AS count
        FROM incidents i WHERE {where} GROUP BY 1, 2, 3
        """,
        params,
    ).fetchall()
