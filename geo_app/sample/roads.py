"""Sample road network: named arterials between kelurahan centres, collectors, and a local street grid.

All lines are noded together (split where they cross) so the graph is one connected, pgRouting-ready
network: each edge has source/target node ids, length in metres and travel cost in seconds both ways.
Node ids are prefixed with the city code (36.72 -> 3672000001...) so several cities never collide.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay
from shapely import LineString

from geo_app.catalog import RoadType
from geo_app.sample.boundaries import locate
from geo_app.sample.reference import METRIC_SRID, CityFacts
from geo_app.store.roads import node_id_base

# The OSM highway value each class is written as (geo_app.sample.osm); speeds come from layers/roads.yaml.
SAMPLE_HIGHWAYS = {"arteri": "primary", "kolektor": "secondary", "lokal": "unclassified"}
GRID_SPACING_M = 450.0
COLLECTOR_MAX_LENGTH_M = 3_000.0

# Main roads as sequences of kelurahan they pass through (by kelurahan name), in the city's naming style.
ARTERIAL_ROUTES: dict[str, tuple[str, ...]] = {
    "Jl. Raya Merak": (
        "Jombang Wetan",
        "Masigit",
        "Kebon Dalem",
        "Kotabumi",
        "Grogol",
        "Gerem",
        "Mekarsari",
        "Tamansari",
    ),
    "Jl. Raya Suralaya": ("Tamansari", "Lebakgede", "Suralaya"),
    "Jl. Sultan Ageng Tirtayasa": (
        "Kedaleman",
        "Sukmajaya",
        "Jombang Wetan",
        "Ciwaduk",
        "Citangkil",
        "Ramanuju",
    ),
    "Jl. Raya Anyer": (
        "Ramanuju",
        "Kebonsari",
        "Samangraya",
        "Kubangsari",
        "Tegal Ratu",
        "Randakari",
        "Kepuh",
        "Gunung Sugih",
    ),
    "Jl. Ahmad Yani": ("Masigit", "Ketileng", "Cibeber", "Kalitimbang"),
    "Jl. Kyai Haji Wasyid": ("Citangkil", "Taman Baru", "Ciwedus", "Karang Asem", "Bendungan"),
    "Jl. Lingkar Selatan": (
        "Randakari",
        "Banjar Negara",
        "Dringo",
        "Lebak Denok",
        "Bagendung",
        "Bulakan",
        "Cikerai",
        "Kalitimbang",
    ),
    "Jl. Raya Cilegon": ("Gedong Dalem", "Purwakarta", "Tegal Bunder", "Pabean"),
    "Jl. Raya Bojonegara": ("Grogol", "Pabean"),
}

COLLECTOR_NAMES = (
    "Maulana Yusuf", "Ki Mas Jong", "Tubagus Ismail", "Jenderal Sudirman", "Sunan Gunung Jati",
    "Kubang Laban", "Temu Putih", "Yasin Beji", "Cut Nyak Dien", "Kartini", "Diponegoro",
    "Pangeran Jayakarta", "Teuku Umar", "Imam Bonjol", "Gatot Subroto", "Sultan Hasanuddin", "Pattimura",
    "Veteran", "Pahlawan", "Lingkar Utara", "Merdeka", "Perintis Kemerdekaan", "Brigjen Syam'un",
    "Ki Hajar Dewantara", "Mayjen Sutoyo", "Letjen Suprapto", "Kapten Tendean", "Sultan Maulana Hasanuddin",
    "Ki Ageng Tirtayasa", "Syekh Nawawi",
)  # fmt: skip

LOCAL_NAMES = (
    "Mawar", "Melati", "Anggrek", "Kenanga", "Flamboyan", "Cempaka", "Dahlia", "Kamboja", "Teratai",
    "Seroja", "Bougenvil", "Asoka", "Nusa Indah", "Cendana", "Jati", "Mahoni", "Beringin", "Akasia",
    "Cemara", "Palem", "Kelapa", "Durian", "Mangga", "Rambutan", "Jambu", "Nangka", "Sawo", "Belimbing",
    "Manggis", "Salak", "Duku", "Kedondong", "Sirsak", "Srikaya", "Pepaya", "Delima", "Alpukat", "Kemiri",
    "Pala", "Cengkeh", "Masjid", "Pesantren", "Kaum", "Kebon", "Sawah", "Pasir", "Tegal", "Kramat",
    "Kubang", "Cikuasa",
)  # fmt: skip


@dataclass(frozen=True)
class RoadNetwork:
    """Metric layers: road edges, their nodes, and the arterial routes (for fibre and green belts)."""

    nodes: gpd.GeoDataFrame  # id, geometry
    roads: gpd.GeoDataFrame  # name, road_class, speed_kmh, source, target, length_m, cost_s, ...
    arterial_routes: gpd.GeoDataFrame  # name, geometry (one polyline per route)


def _arterial_lines(facts: CityFacts) -> list[tuple[str, str, LineString]]:
    position = {name: (x, y) for name, x, y in facts.kelurahan[["name", "x", "y"]].itertuples(index=False)}
    return [
        (name, "arteri", LineString([position[stop] for stop in stops]))
        for name, stops in ARTERIAL_ROUTES.items()
    ]


def _collector_lines(facts: CityFacts) -> list[tuple[str, str, LineString]]:
    """Delaunay edges between kelurahan centres that no arterial already links, short and inside the city."""
    names = facts.kelurahan["name"].to_numpy()
    xy = facts.kelurahan[["x", "y"]].to_numpy()
    linked = {
        frozenset(pair) for stops in ARTERIAL_ROUTES.values() for pair in zip(stops, stops[1:], strict=False)
    }
    edges = set()
    for simplex in Delaunay(xy).simplices:
        for a, b in ((0, 1), (1, 2), (0, 2)):
            edges.add(tuple(sorted((int(simplex[a]), int(simplex[b])))))
    inside = facts.outline.buffer(50)
    lines = []
    for a, b in sorted(edges):
        line = LineString([xy[a], xy[b]])
        if frozenset((names[a], names[b])) in linked or line.length > COLLECTOR_MAX_LENGTH_M:
            continue
        if inside.contains(line):
            # Named after a person while the list lasts, then after the two places it links.
            if len(lines) < len(COLLECTOR_NAMES):
                name = f"Jl. {COLLECTOR_NAMES[len(lines)]}"
            else:
                name = f"Jl. Raya {names[a]}–{names[b]}"
            lines.append((name, "kolektor", line))
    return lines


def _grid_lines(facts: CityFacts) -> list[LineString]:
    minx, miny, maxx, maxy = facts.outline.bounds
    xs = np.arange(minx + GRID_SPACING_M / 2, maxx, GRID_SPACING_M)
    ys = np.arange(miny + GRID_SPACING_M / 2, maxy, GRID_SPACING_M)
    lines = [LineString([(x, miny), (x, maxy)]) for x in xs] + [
        LineString([(minx, y), (maxx, y)]) for y in ys
    ]
    return lines


def build_roads(
    facts: CityFacts, kelurahan: gpd.GeoDataFrame, road_types: dict[str, RoadType]
) -> RoadNetwork:
    """Node every road line together, keep the largest connected part, name local streets per kelurahan.
    Speeds are the defaults of each class's highway value in ``road_types`` (the layer catalog)."""
    named = _arterial_lines(facts) + _collector_lines(facts)
    grid = _grid_lines(facts)
    originals = [line for _, _, line in named] + grid
    clipped = shapely.intersection(np.array(originals, dtype=object), facts.outline)
    pieces = shapely.get_parts(
        shapely.node(
            shapely.MultiLineString(
                [
                    part
                    for geom in clipped
                    for part in shapely.get_parts(shapely.line_merge(geom))
                    if isinstance(part, LineString)
                ]
            )
        )
    )
    pieces = pieces[shapely.length(pieces) > 0.5]
    # Each piece lies on one original line: take the first (arterials come first, so they win overlaps).
    midpoints = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    hits_piece, hits_line = shapely.STRtree(clipped).query(midpoints, predicate="dwithin", distance=0.05)
    origin = pd.Series(hits_line).groupby(hits_piece).min().reindex(range(len(pieces))).to_numpy()
    keep = ~np.isnan(origin)
    pieces, origin, midpoints = pieces[keep], origin[keep].astype(int), midpoints[keep]

    start = np.round(shapely.get_coordinates(shapely.get_point(pieces, 0)), 1)
    end = np.round(shapely.get_coordinates(shapely.get_point(pieces, -1)), 1)
    node_xy, node_index = np.unique(np.vstack([start, end]), axis=0, return_inverse=True)
    source, target = node_index[: len(pieces)], node_index[len(pieces) :]
    graph = coo_matrix((np.ones(len(pieces)), (source, target)), shape=(len(node_xy),) * 2)
    _, component = connected_components(graph, directed=False)
    largest = np.bincount(component).argmax()
    keep = component[source] == largest
    pieces, origin, midpoints = pieces[keep], origin[keep], midpoints[keep]
    source, target = source[keep], target[keep]
    used = np.unique(np.concatenate([source, target]))
    renumber = np.full(len(node_xy), -1)
    renumber[used] = np.arange(len(used))
    base = node_id_base(facts.code)

    kelurahan_code = locate(midpoints, kelurahan)
    local_names = _local_names(origin - len(named), kelurahan_code)
    names, classes = [], []
    for line_index, code in zip(origin, kelurahan_code, strict=True):
        if line_index < len(named):
            name, road_class, _ = named[line_index]
        else:
            name, road_class = local_names[line_index - len(named), code], "lokal"
        names.append(name)
        classes.append(road_class)
    roads = gpd.GeoDataFrame(
        {
            "name": names,
            "road_class": classes,
            "source": base + 1 + renumber[source],
            "target": base + 1 + renumber[target],
            "kelurahan_code": kelurahan_code,
        },
        geometry=pieces,
        crs=METRIC_SRID,
    )
    speeds = {name: road_types[f"highway={highway}"].speed_kmh for name, highway in SAMPLE_HIGHWAYS.items()}
    roads["speed_kmh"] = roads["road_class"].map(speeds)
    roads["length_m"] = roads.geometry.length
    roads["cost_s"] = roads["length_m"] / (roads["speed_kmh"] / 3.6)
    roads["reverse_cost_s"] = roads["cost_s"]
    nodes = gpd.GeoDataFrame(
        {"id": base + 1 + np.arange(len(used))},
        geometry=shapely.points(node_xy[used]),
        crs=METRIC_SRID,
    )
    routes = gpd.GeoDataFrame(
        {"name": [name for name, road_class, _ in named if road_class == "arteri"]},
        geometry=[line for _, road_class, line in named if road_class == "arteri"],
        crs=METRIC_SRID,
    )
    return RoadNetwork(nodes=nodes, roads=roads, arterial_routes=routes)


def _local_names(grid_lines: np.ndarray, kelurahan_codes: np.ndarray) -> dict[tuple[int, str], str]:
    """Local street names: each grid line keeps one name within a kelurahan, unique in that kelurahan."""
    names = {}
    for code in sorted(set(kelurahan_codes)):
        lines = sorted({int(line) for line in grid_lines[kelurahan_codes == code] if line >= 0})
        offset = int(code.replace(".", "")) % len(LOCAL_NAMES)
        for k, line in enumerate(lines):
            suffix = "" if k < len(LOCAL_NAMES) else f" {k // len(LOCAL_NAMES) + 1}"
            names[line, code] = f"Jl. Lingkungan {LOCAL_NAMES[(offset + k) % len(LOCAL_NAMES)]}{suffix}"
    return names


def points_on_roads(
    roads: gpd.GeoDataFrame,
    rng: np.random.Generator,
    count: int,
    weights: np.ndarray | None = None,
    offset_m: float = 0.0,
    within=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random points along road edges (chosen in proportion to length times ``weights``), nudged up to
    ``offset_m`` sideways as a house or a pole would be, unless that leaves the ``within`` polygon;
    returns the points and the positional edge index."""
    lengths = roads["length_m"].to_numpy()
    chance = lengths * (1.0 if weights is None else weights)
    edge = rng.choice(len(roads), size=count, p=chance / chance.sum())
    along = rng.random(count)
    points = shapely.line_interpolate_point(roads.geometry.to_numpy()[edge], along, normalized=True)
    if offset_m:
        xy = shapely.get_coordinates(points) + rng.uniform(-offset_m, offset_m, size=(count, 2))
        nudged = shapely.points(xy)
        keep = shapely.contains(within, nudged) if within is not None else np.ones(count, dtype=bool)
        points = np.where(keep, nudged, points)
    return points, edge
