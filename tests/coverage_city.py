"""A hand-made city for asset and coverage tests (code 99.04, so it never meets the sample city or
other tests' TEST_CITY rows): three square kelurahan drawn in metres (EPSG:32748) so areas and coverage
are computable by hand, and a three-node road graph with known travel times.

Layout (metres from the origin E 620000, N 9300000)::

    y 4000 +-------------------------------+
           |  B1 (kec. B), 8,000 people     |
    y 2000 +---------------+---------------+
           | A1 (kec. A)   | A2 (kec. A)   |
           | 4,000 people  | 2,000 people  |
    y 0    +---------------+---------------+
           x 0             x 2000          x 4000

Roads: N1 (1000, 1000) -> N2 (1600, 1000): 600 m in 60 s (10 m/s), both ways;
       N2 -> N3 (1600, 1600): 600 m in 120 s (5 m/s), one way (reverse cost -1).
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from shapely.geometry import box

from geo_app.store import areas as area_store
from geo_app.store.areas import AdminArea

CITY = "99.04"
ORIGIN = (620000.0, 9300000.0)
KELURAHAN = {
    # code: (name, kecamatan code, (xmin, ymin, xmax, ymax) in metres from the origin, population)
    "99.04.01.1001": ("A1", "99.04.01", (0, 0, 2000, 2000), 4000),
    "99.04.01.1002": ("A2", "99.04.01", (2000, 0, 4000, 2000), 2000),
    "99.04.02.1001": ("B1", "99.04.02", (0, 2000, 4000, 4000), 8000),
}
NODES = {990400001: (1000, 1000), 990400002: (1600, 1000), 990400003: (1600, 1600)}
ROADS = [  # source, target, cost_s, reverse_cost_s
    (990400001, 990400002, 60.0, 60.0),
    (990400002, 990400003, 120.0, -1.0),
]

_to_lonlat = Transformer.from_crs(32748, 4326, always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Metres from the origin to (lon, lat)."""
    return _to_lonlat.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def to_lonlat(geom):
    """A geometry in metres from the origin to EPSG:4326, densified so straight edges stay straight."""
    return shapely.transform(
        shapely.segmentize(geom, 50),
        lambda xy: np.column_stack(_to_lonlat.transform(xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1])),
    )


def ensure_city(database_url: str) -> str:
    """Create (or refresh) the city, its areas and roads; committed, idempotent."""
    areas = [
        AdminArea(CITY, "kota", "Kota Uji Cakupan", None, to_lonlat(box(0, 0, 4000, 4000)), "test"),
        AdminArea("99.04.01", "kecamatan", "Kecamatan A", CITY, to_lonlat(box(0, 0, 4000, 2000)), "test"),
        AdminArea("99.04.02", "kecamatan", "Kecamatan B", CITY, to_lonlat(box(0, 2000, 4000, 4000)), "test"),
    ]
    for code, (name, parent, bounds, population) in KELURAHAN.items():
        areas.append(
            AdminArea(code, "kelurahan", name, parent, to_lonlat(box(*bounds)), "test", population=population)
        )
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn, conn.transaction():
        area_store.upsert_city(conn, CITY, "Kota Uji Cakupan", timezone="Asia/Jakarta", metric_srid=32748)
        area_store.upsert_areas(conn, CITY, areas)
        conn.execute("DELETE FROM roads WHERE city_code = %s", (CITY,))
        conn.execute("DELETE FROM road_nodes WHERE city_code = %s", (CITY,))
        for node_id, (x, y) in NODES.items():
            conn.execute(
                "INSERT INTO road_nodes (id, city_code, geom) "
                "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (node_id, CITY, *lonlat(x, y)),
            )
        for source, target, cost, reverse_cost in ROADS:
            line = to_lonlat(shapely.LineString([NODES[source], NODES[target]]))
            conn.execute(
                """
                INSERT INTO roads (city_code, road_class, speed_kmh, source, target, length_m, cost_s,
                                   reverse_cost_s, geom)
                VALUES (%s, 'lokal', 36, %s, %s, 600, %s, %s, ST_GeomFromWKB(%s, 4326))
                """,
                (CITY, source, target, cost, reverse_cost, line.wkb),
            )
    return CITY
