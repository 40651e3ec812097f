"""A hand-made city for the OpenStreetMap import (code 99.16) and a small OSM file of it, drawn in metres.

Two square kelurahan side by side, K1 (x 0-2000) and K2 (x 2000-4000), y 0-2000, metres from E 620000,
N 9300000 (EPSG:32748). The OSM file (``city_osm``) holds, with what the import must make of it:

- Jl. Melati (primary, maxspeed 60) along y=1000 from x=200 to x=3800: one way crossing both kelurahan,
  split at the four nodes other drivable ways share with it; two gazetteer entries, one per kelurahan.
- Jl. Searah (residential, oneway=yes) x=1000 from y=1000 north to y=1600; Jl. Balik (residential,
  oneway=-1) x=3000 drawn from y=1000 north to y=1600, so traffic runs south.
- a roundabout (junction=roundabout, closed way) below Jl. Melati at x=1000, entered from the north and
  left to the south: two one-way edges.
- an unnamed service road x=2200 from y=1000 south to y=400 (in the network at 10 km/h, no street entry).
- Jl. Pabrik (service, access=private) x=3400 from y=1000 south to y=400: not driven on, but an address.
- Gang Mawar twice: one in K1 (y=1800, x 200-800) and one in K2 (y=200, x 3200-3800), both unclassified and
  joined to the network by short unnamed residential links.
- a ferry (route=ferry) from the east end of Jl. Melati to an island road in the north-east corner (kept:
  the island's 400 m are connected through it), and a ferry leaving the city far east (left out).
- Jl. Perbatasan (tertiary) from the east end of Jl. Melati to 500 m past the city edge, and Jl. Luar
  (residential) on from there, wholly outside the city but within its margin: both kept, one edge outside.
- a 100 m fragment nothing connects to (left out) and a road 6 km beyond the city (left out).
- landmarks: SD Negeri 2 Uji (school), RSUD Kota Uji (hospital), an unnamed Indomaret (shop=convenience),
  SMP Negeri 1 Uji mapped twice (as a point and as its grounds), Puskesmas Melati (amenity=clinic), and
  places Kp. Cikuasa (hamlet) and Perumahan Indah (neighbourhood).
"""

from __future__ import annotations

from pathlib import Path

import osmium
import psycopg
from osmium.osm.mutable import Node, Way
from pyproj import Transformer
from shapely.geometry import box

from geo_app.store import areas as area_store
from geo_app.store.areas import AdminArea
from tests.coverage_city import ORIGIN, to_lonlat

CITY = "99.16"
K1, K2 = "99.16.01.1001", "99.16.01.1002"
_to_lonlat = Transformer.from_crs(32748, 4326, always_xy=True)


class OsmBuilder:
    """Nodes and ways placed in metres from the origin; a point used twice is one OSM node."""

    def __init__(self):
        self.nodes: dict[int, tuple[tuple[float, float], dict]] = {}
        self.ways: list[tuple[int, list[int], dict]] = []
        self._by_point: dict[tuple[float, float], int] = {}

    def node(self, x: float, y: float, tags: dict | None = None) -> int:
        if not tags and (x, y) in self._by_point:
            return self._by_point[x, y]
        node_id = len(self.nodes) + 1
        self.nodes[node_id] = (_to_lonlat.transform(ORIGIN[0] + x, ORIGIN[1] + y), tags or {})
        if not tags:
            self._by_point[x, y] = node_id
        return node_id

    def way(self, points, tags: dict, missing_node: int | None = None) -> int:
        refs = [self.node(x, y) for x, y in points]
        if missing_node is not None:
            refs.insert(2, missing_node)
        self.ways.append((len(self.ways) + 1, refs, tags))
        return len(self.ways)

    def write(self, path: Path) -> Path:
        path.unlink(missing_ok=True)
        writer = osmium.SimpleWriter(str(path))
        try:
            for node_id, (location, tags) in sorted(self.nodes.items()):
                writer.add_node(Node(id=node_id, location=location, tags=tags))
            for way_id, refs, tags in self.ways:
                writer.add_way(Way(id=way_id, nodes=refs, tags=tags))
        finally:
            writer.close()
        return path


def city_osm() -> OsmBuilder:
    osm = OsmBuilder()
    melati = [(200, 1000), (1000, 1000), (2200, 1000), (3000, 1000), (3400, 1000), (3800, 1000)]
    osm.way(melati, {"highway": "primary", "name": "Jl. Melati", "maxspeed": "60"})
    osm.way([(1000, 1000), (1000, 1600)], {"highway": "residential", "name": "Jl. Searah", "oneway": "yes"})
    osm.way([(3000, 1000), (3000, 1600)], {"highway": "residential", "name": "Jl. Balik", "oneway": "-1"})
    osm.way([(1000, 1000), (1000, 500)], {"highway": "residential", "name": "Jl. Bundaran"})
    roundabout = [(1000, 500), (1100, 400), (1000, 300), (900, 400), (1000, 500)]
    osm.way(roundabout, {"highway": "tertiary", "junction": "roundabout"})
    osm.way([(1000, 300), (1000, 100)], {"highway": "residential", "name": "Jl. Bundaran"})
    osm.way([(2200, 1000), (2200, 400)], {"highway": "service"})
    osm.way([(3400, 1000), (3400, 400)], {"highway": "service", "name": "Jl. Pabrik", "access": "private"})
    osm.way([(200, 1800), (800, 1800)], {"highway": "unclassified", "name": "Gang Mawar"})
    osm.way([(200, 1000), (200, 1800)], {"highway": "residential"})
    osm.way([(3200, 200), (3800, 200)], {"highway": "unclassified", "name": "Gang Mawar"})
    osm.way([(3800, 1000), (3800, 200)], {"highway": "residential"})
    osm.way([(3800, 1000), (3800, 1700)], {"route": "ferry", "name": "Penyeberangan Pulau"})
    osm.way([(3800, 1700), (3800, 1900), (3600, 1900), (3400, 1900)], {"highway": "unclassified"})
    osm.way([(3800, 1000), (12000, 1000)], {"route": "ferry", "name": "Penyeberangan Jauh"})
    osm.way([(3800, 1000), (4500, 1000)], {"highway": "tertiary", "name": "Jl. Perbatasan"})
    osm.way([(4500, 1000), (4500, 1600)], {"highway": "residential", "name": "Jl. Luar"})
    osm.way([(1500, 1500), (1600, 1500)], {"highway": "residential"})
    osm.way([(10000, 500), (10500, 500)], {"highway": "residential", "name": "Jl. Jauh"})
    osm.node(600, 1200, {"amenity": "school", "name": "SD Negeri 2 Uji"})
    osm.node(1400, 700, {"amenity": "hospital", "name": "RSUD Kota Uji"})
    osm.node(2600, 1100, {"shop": "convenience", "brand": "Indomaret"})
    osm.node(2700, 600, {"amenity": "clinic", "name": "Puskesmas Melati"})
    osm.node(1500, 1300, {"amenity": "school", "name": "SMP Negeri 1 Uji"})
    grounds = [(1450, 1250), (1550, 1250), (1550, 1350), (1450, 1350), (1450, 1250)]
    osm.way(grounds, {"amenity": "school", "name": "SMP Negeri 1 Uji"})
    osm.node(500, 500, {"place": "hamlet", "name": "Kp. Cikuasa"})
    osm.node(3300, 1500, {"place": "neighbourhood", "name": "Perumahan Indah"})
    return osm


def ensure_city(database_url: str) -> str:
    """Create (or refresh) the city and its two kelurahan, with a one-edge network of its own; committed."""
    areas = [
        AdminArea(CITY, "kota", "Kota Uji OSM", None, to_lonlat(box(0, 0, 4000, 2000)), "test"),
        AdminArea("99.16.01", "kecamatan", "Kecamatan Uji", CITY, to_lonlat(box(0, 0, 4000, 2000)), "test"),
        AdminArea(K1, "kelurahan", "K1", "99.16.01", to_lonlat(box(0, 0, 2000, 2000)), "test", population=1),
        AdminArea(
            K2, "kelurahan", "K2", "99.16.01", to_lonlat(box(2000, 0, 4000, 2000)), "test", population=1
        ),
    ]
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn, conn.transaction():
        area_store.upsert_city(conn, CITY, "Kota Uji OSM", timezone="Asia/Jakarta", metric_srid=32748)
        area_store.upsert_areas(conn, CITY, areas)
    return CITY
