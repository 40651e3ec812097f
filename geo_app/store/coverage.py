"""SQL for coverage analyses: kelurahan and assets in metres, and the road network reached in time.

Travel time runs on pgRouting's ``pgr_drivingDistance`` over ``roads`` (cost_s / reverse_cost_s in
seconds; a negative cost means the direction does not exist). Only the output columns ``node`` and
``agg_cost`` are selected, by name: they kept their names when pgRouting 3.6 renamed others (from_v ->
start_vid) and added columns. The call has a single (virtual) start, so no start column is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

# The node all starts hang from in one pgRouting call (road node ids are positive).
VIRTUAL_SOURCE = -1
# Assets that exist on the ground: planned and inactive ones cover nothing.
COVERING_STATUSES = ("active", "maintenance")


def kelurahan_metric(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Kelurahan with population, kecamatan and geometry in the city's metric CRS (WKB)."""
    return conn.execute(
        """
        SELECT k.code, k.name, coalesce(k.population, 0) AS population,
               coalesce(m.code, k.parent_code) AS kecamatan_code,
               coalesce(m.name, k.parent_code) AS kecamatan,
               ST_AsBinary(ST_Transform(k.geom, c.metric_srid)) AS wkb
        FROM admin_areas k
        JOIN cities c ON c.code = k.city_code
        LEFT JOIN admin_areas m ON m.code = k.parent_code
        WHERE k.city_code = %s AND k.level = 'kelurahan'
        ORDER BY k.code
        """,
        (city_code,),
    ).fetchall()


def assets_metric(conn: psycopg.Connection, city_code: str, asset_types: Sequence[str]) -> list[dict]:
    """Covering assets of some types: id, type, own radius (may be NULL), geometry in metres and in
    lon/lat (WKB)."""
    return conn.execute(
        """
        SELECT a.id, a.asset_type, a.name, a.coverage_radius_m,
               ST_AsBinary(ST_Transform(a.geom, c.metric_srid)) AS wkb, ST_AsBinary(a.geom) AS wkb_lonlat
        FROM assets a JOIN cities c ON c.code = a.city_code
        WHERE a.city_code = %s AND a.asset_type = ANY(%s) AND a.status = ANY(%s)
        ORDER BY a.id
        """,
        (city_code, list(asset_types), list(COVERING_STATUSES)),
    ).fetchall()


def metric_srid(conn: psycopg.Connection, city_code: str) -> int:
    return conn.execute("SELECT metric_srid FROM cities WHERE code = %s", (city_code,)).fetchone()[
        "metric_srid"
    ]


def max_road_speed(conn: psycopg.Connection, city_code: str) -> float | None:
    """The fastest travel on any road, in metres per second of metric length over cost (None: no roads).

    Taken from the costs themselves (not speed_kmh), so it bounds whatever the costs say.
    """
    row = conn.execute(
        """
        SELECT max(greatest(
            CASE WHEN r.cost_s > 0 THEN ST_Length(ST_Transform(r.geom, c.metric_srid)) / r.cost_s END,
            CASE WHEN r.reverse_cost_s > 0
                 THEN ST_Length(ST_Transform(r.geom, c.metric_srid)) / r.reverse_cost_s END)) AS speed
        FROM roads r JOIN cities c ON c.code = r.city_code
        WHERE r.city_code = %s
        """,
        (city_code,),
    ).fetchone()
    return row["speed"]


# Each start (a point or shape in EPSG:4326, WKB) joins the road network at its nearest road node; hop_m is
# the straight distance to it in metres. Shared by coverage (reached_road_pieces) and siting
# (nearest_road_nodes), so a suggested site joins the network exactly as an asset there would.
STARTS_SQL = """
            SELECT t.position, n.id AS node, ST_Transform(s.geom, p.srid) AS metric,
                   ST_Distance(ST_Transform(n.geom, p.srid), ST_Transform(s.geom, p.srid)) AS hop_m
            FROM unnest(%(wkbs)s::bytea[]) WITH ORDINALITY AS t(wkb, position)
            CROSS JOIN LATERAL (SELECT ST_PointOnSurface(ST_GeomFromWKB(t.wkb, 4326)) AS geom) s
            CROSS JOIN params p
            CROSS JOIN LATERAL (
                SELECT rn.id, rn.geom FROM road_nodes rn WHERE rn.city_code = %(city)s
                ORDER BY rn.geom <-> s.geom LIMIT 1) n
"""


def nearest_road_nodes(conn: psycopg.Connection, city_code: str, start_wkbs: Sequence[bytes]) -> list[dict]:
    """Per start point (EPSG:4326 WKB), in the order given: ``node`` (nearest road node) and ``hop_m``."""
    if not start_wkbs:
        return []
    return conn.execute(
        "WITH params AS (SELECT metric_srid AS srid FROM cities WHERE code = %(city)s) "
        + "SELECT node, hop_m FROM ("
        + STARTS_SQL
        + ") starts ORDER BY position",
        {"city": city_code, "wkbs": list(start_wkbs)},
    ).fetchall()


def road_edges_metric(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Every road: source, target, cost_s, reverse_cost_s (negative: no such direction) and its line in the
    city's metric CRS (WKB), the graph pgr_drivingDistance walks in reached_road_pieces."""
    return conn.execute(
        """
        SELECT r.source, r.target, r.cost_s, r.reverse_cost_s,
               ST_AsBinary(ST_Transform(r.geom, c.metric_srid)) AS wkb
        FROM roads r JOIN cities c ON c.code = r.city_code
        WHERE r.city_code = %s
        ORDER BY r.id
        """,
        (city_code,),
    ).fetchall()


def reached_road_pieces(
    conn: psycopg.Connection,
    city_code: str,
    start_wkbs: Sequence[bytes],
    budget_s: float,
    max_speed: float,
    reserve_m: float,
) -> list[dict]:
    """The parts of roads reachable within ``budget_s`` from any start, as metric lines (WKB).

    Each start (a point in EPSG:4326) joins the network at its nearest road node; the straight hop to
    that node and a reserve of ``reserve_m`` (the access corridor drawn around the result later) are
    charged at ``max_speed``, so every point of the final service area lies within ``max_speed ×
    budget_s`` of its start in a straight line. All starts hang from one virtual source node by edges of
    that cost, so a single ``pgr_drivingDistance`` call serves any number of assets. An edge is taken
    whole when reached in time, else the fraction of it travelled from each reached end (remaining time
    / the edge's cost that way). Only roads within the straight-line reach are handed to pgRouting.
    """
    if not start_wkbs:
        return []
    return conn.execute(
        """
        WITH params AS (
            SELECT metric_srid AS srid FROM cities WHERE code = %(city)s
        ), starts AS (
        """
        + STARTS_SQL
        + """
        ), access AS (
            SELECT array_agg(node ORDER BY node) AS nodes,
                   array_agg((hop_m + %(reserve)s) / %(speed)s ORDER BY node) AS costs,
                   ST_AsEWKT(ST_Transform(ST_SetSRID(
                       ST_Expand(ST_Extent(metric), %(budget)s * %(speed)s)::geometry, min(p.srid)), 4326))
                       AS near
            FROM starts CROSS JOIN params p
        ), reached AS (
            SELECT dd.node, %(budget)s - dd.agg_cost AS remaining_s
            FROM access a
            CROSS JOIN LATERAL pgr_drivingDistance(
                format('SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost '
                       'FROM roads WHERE city_code = %%L AND geom && %%L::geometry '
                       'UNION ALL SELECT -s.i, %%s, s.node, s.cost, -1 '
                       'FROM unnest(%%L::bigint[], %%L::float8[]) WITH ORDINALITY AS s(node, cost, i)',
                       %(city)s, a.near, %(source)s, a.nodes, a.costs),
                %(source)s, %(budget)s, directed => true) AS dd
            WHERE dd.node <> %(source)s
        ), fractions AS (
            SELECT r.id, ST_Transform(r.geom, p.srid) AS metric,
                CASE WHEN r.cost_s < 0 OR fs.remaining_s IS NULL THEN 0
                     WHEN r.cost_s = 0 THEN 1
                     ELSE least(1, fs.remaining_s / r.cost_s) END AS forward,
                CASE WHEN r.reverse_cost_s < 0 OR ft.remaining_s IS NULL THEN 0
                     WHEN r.reverse_cost_s = 0 THEN 1
                     ELSE least(1, ft.remaining_s / r.reverse_cost_s) END AS backward
            FROM roads r
            CROSS JOIN params p
            LEFT JOIN reached fs ON fs.node = r.source
            LEFT JOIN reached ft ON ft.node = r.target
            WHERE r.city_code = %(city)s AND (fs.node IS NOT NULL OR ft.node IS NOT NULL)
        )
        SELECT id, forward, backward, ST_AsBinary(CASE
            WHEN forward + backward >= 1 THEN metric
            WHEN backward = 0 THEN ST_LineSubstring(metric, 0, forward)
            WHEN forward = 0 THEN ST_LineSubstring(metric, 1 - backward, 1)
            ELSE ST_Collect(ST_LineSubstring(metric, 0, forward), ST_LineSubstring(metric, 1 - backward, 1))
            END) AS wkb
        FROM fractions
        WHERE forward > 0 OR backward > 0
        ORDER BY id
        """,
        {
            "city": city_code,
            "wkbs": list(start_wkbs),
            "budget": float(budget_s),
            "speed": float(max_speed),
            "reserve": float(reserve_m),
            "source": VIRTUAL_SOURCE,
        },
    ).fetchall()


def data_version(conn: psycopg.Connection, city_code: str) -> tuple:
    """A cheap fingerprint of what coverage reads (assets, roads, kelurahan populations and geometry
    sizes, the population grid): equal fingerprints give equal results, so results can be reused between
    requests."""
    row = conn.execute(
        """
        SELECT (SELECT row(count(*), max(id), max(updated_at))::text FROM assets WHERE city_code = %(city)s)
                   AS assets,
               (SELECT row(count(*), max(id), sum(cost_s), sum(reverse_cost_s))::text
                FROM roads WHERE city_code = %(city)s) AS roads,
               (SELECT row(count(*), sum(population), sum(ST_NPoints(geom)))::text
                FROM admin_areas WHERE city_code = %(city)s AND level = 'kelurahan') AS areas,
               (SELECT row(g.imported_at, g.model, g.year, (SELECT sum(population) FROM population_cells
                                                             WHERE city_code = %(city)s))::text
                FROM population_grids g WHERE g.city_code = %(city)s) AS population
        """,
        {"city": city_code},
    ).fetchone()
    return row["assets"], row["roads"], row["areas"], row["population"]
