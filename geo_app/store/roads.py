"""SQL for the road network and the gazetteer of a city: its outline, and replacing both in one go.

Road node ids are the city code followed by a serial number (36.72 -> 3672000001, ...), so several cities
in one database never collide. Street entries are cut per kelurahan: one street crossing three kelurahan is
three entries, each holding the street's parts inside that kelurahan; two streets of the same name in one
kelurahan (more than ``STREET_GAP_M`` apart) stay two entries, so a geocoder can tell they are different.
Parts closer than that are one street: the two carriageways of a divided road, a street interrupted by a
roundabout or a square.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from geo_app.store import bulk

STREET_GAP_M = 250.0
NETWORK_TABLES = ("roads", "road_nodes")


def node_id_base(city_code: str) -> int:
    return int(city_code.replace(".", "")) * 1_000_000


def city_outline(conn: psycopg.Connection, city_code: str) -> tuple[bytes | None, int | None]:
    """The city's outline (the kota area, else the union of its kelurahan) as WKB in lon/lat, and the
    city's metric SRID; both None when the city is not in the database, the outline None without areas."""
    row = conn.execute(
        """
        SELECT ST_AsBinary(coalesce(
                   (SELECT geom FROM admin_areas WHERE city_code = c.code AND level = 'kota' LIMIT 1),
                   (SELECT ST_Union(geom) FROM admin_areas WHERE city_code = c.code AND level = 'kelurahan')))
                   AS wkb,
               c.metric_srid
        FROM cities c WHERE c.code = %s
        """,
        (city_code,),
    ).fetchone()
    if row is None:
        return None, None
    return (bytes(row["wkb"]) if row["wkb"] is not None else None), row["metric_srid"]


def replace_network(
    conn: psycopg.Connection, city_code: str, nodes: Iterable[Sequence], roads: Iterable[Sequence]
) -> tuple[int, int]:
    """Delete the city's network and COPY the new one: nodes (id, hex EWKB point) and roads (name,
    road_class, speed_kmh, source, target, length_m, cost_s, reverse_cost_s, hex EWKB line)."""
    bulk.delete_city_layers(conn, city_code, NETWORK_TABLES)
    node_count = bulk.copy_rows(
        conn, "road_nodes", ("city_code", "id", "geom"), ((city_code, *node) for node in nodes)
    )
    road_columns = (
        "name",
        "road_class",
        "speed_kmh",
        "source",
        "target",
        "length_m",
        "cost_s",
        "reverse_cost_s",
    )
    road_count = bulk.copy_rows(
        conn, "roads", ("city_code", *road_columns, "geom"), ((city_code, *road) for road in roads)
    )
    return node_count, road_count


def replace_gazetteer(
    conn: psycopg.Connection,
    city_code: str,
    streets: Iterable[Sequence],
    features: Iterable[Sequence],
) -> dict[str, int]:
    """Delete the city's gazetteer and write streets (name, variants, hex EWKB line) cut per kelurahan, and
    landmarks and places (kind, name, category, variants, hex EWKB geometry) inside the city with the
    kelurahan their point lies in. Returns the entries written per kind."""
    bulk.delete_city_layers(conn, city_code, ("gazetteer",))
    conn.execute(
        "CREATE TEMPORARY TABLE osm_streets (id serial, name text, variants text[], geom geometry) "
        "ON COMMIT DROP"
    )
    bulk.copy_rows(conn, "osm_streets", ("name", "variants", "geom"), streets)
    conn.execute("CREATE INDEX ON osm_streets USING gist (geom)")
    conn.execute("ANALYZE osm_streets")
    conn.execute(
        """
        WITH kelurahan AS (  -- small pieces of the kelurahan: each cut of a street against one is cheap
            SELECT code, ST_Subdivide(geom, 64) AS geom FROM admin_areas
            WHERE city_code = %(city)s AND level = 'kelurahan'
        ), pieces AS (
            SELECT s.id, s.name, k.code, part.geom
            FROM osm_streets s
            JOIN kelurahan k ON s.geom && k.geom
            CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(CASE WHEN ST_CoveredBy(s.geom, k.geom) THEN s.geom
                                                                 ELSE ST_Intersection(s.geom, k.geom) END, 2)
            ) AS part
            WHERE ST_Intersects(s.geom, k.geom)
        ), clustered AS (
            SELECT p.*, ST_ClusterDBSCAN(ST_Transform(p.geom, c.metric_srid), %(gap)s, 1)
                       OVER (PARTITION BY p.name, p.code) AS cluster
            FROM pieces p JOIN cities c ON c.code = %(city)s
        )
        INSERT INTO gazetteer (city_code, kind, name, category, name_variants, kelurahan_code, geom)
        SELECT %(city)s, 'street', name, 'jalan',
               ARRAY(SELECT DISTINCT v FROM osm_streets s, unnest(s.variants) v
                     WHERE s.id = ANY(array_agg(clustered.id)) ORDER BY v),
               code, ST_LineMerge(ST_Collect(geom))
        FROM clustered
        GROUP BY name, code, cluster
        ORDER BY code, name, min(id)
        """,
        {"city": city_code, "gap": STREET_GAP_M},
    )
    conn.execute("DROP TABLE osm_streets")
    conn.execute(
        "CREATE TEMPORARY TABLE osm_features (id serial, kind text, name text, category text,"
        " variants text[], geom geometry) ON COMMIT DROP"
    )
    bulk.copy_rows(conn, "osm_features", ("kind", "name", "category", "variants", "geom"), features)
    conn.execute(
        """
        INSERT INTO gazetteer (city_code, kind, name, category, name_variants, kelurahan_code, geom)
        SELECT %(city)s, f.kind, f.name, f.category, f.variants, k.code, f.geom
        FROM osm_features f
        CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS point) p
        JOIN LATERAL (
            SELECT a.code FROM admin_areas a
            WHERE a.city_code = %(city)s AND a.level = 'kelurahan' AND ST_Covers(a.geom, p.point)
            ORDER BY a.code LIMIT 1
        ) k ON true
        ORDER BY f.id
        """,
        {"city": city_code},
    )
    conn.execute("DROP TABLE osm_features")
    rows = conn.execute(
        "SELECT kind, count(*) AS n FROM gazetteer WHERE city_code = %s GROUP BY kind", (city_code,)
    ).fetchall()
    return {row["kind"]: row["n"] for row in rows}
