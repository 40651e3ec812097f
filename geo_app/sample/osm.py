"""The sample city's roads, landmarks and places as an OpenStreetMap file, loaded by ``geo-app import-osm``
like a real extract (so the sample load tests the importer on a whole city).

Roads are written as OSM ways the way mappers draw them: one way runs along a named street through the
junctions where other streets cross it (the importer splits it there again), tagged with the highway value
of its class (``SAMPLE_HIGHWAYS``). Landmarks are tagged nodes, kelurahan and kecamatan place nodes.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import osmium
import shapely
from osmium.osm.mutable import Node, Way

from geo_app.sample.city import SampleCity
from geo_app.sample.reference import to_geographic
from geo_app.sample.roads import SAMPLE_HIGHWAYS

# The sample gazetteer's kinds of place as OSM tags.
LANDMARK_TAGS: dict[str, dict[str, str]] = {
    "pelabuhan": {"amenity": "ferry_terminal"},
    "terminal": {"amenity": "bus_station"},
    "stasiun": {"railway": "station"},
    "alun_alun": {"place": "square"},
    "masjid": {"amenity": "place_of_worship", "religion": "muslim"},
    "pasar": {"amenity": "marketplace"},
    "industri": {"landuse": "industrial"},
    "gerbang_tol": {"barrier": "toll_booth"},
    "rumah_sakit": {"amenity": "hospital"},
    "kantor": {"amenity": "townhall"},
    "pusat_belanja": {"shop": "mall"},
    "olahraga": {"leisure": "stadium"},
    "pantai": {"natural": "beach"},
    "tpa": {"landuse": "landfill"},
    "sekolah": {"amenity": "school"},
    "pos_damkar": {"amenity": "fire_station"},
    "puskesmas": {"amenity": "clinic", "healthcare": "centre"},
    "kantor_pelayanan": {"office": "government"},
    "kantor_kelurahan": {"office": "government"},
    "posyandu": {"healthcare": "centre"},
}
PLACE_TAGS = {"kelurahan": "village", "kecamatan": "suburb"}
OSM_FILE = "sample_city.osm.pbf"


class _Ids:
    """OSM node ids: the road network's nodes first (by their sample id), then every other point."""

    def __init__(self, road_node_ids: np.ndarray):
        self.road = {int(node): i + 1 for i, node in enumerate(np.sort(road_node_ids))}
        self.next = len(self.road) + 1

    def new(self) -> int:
        self.next += 1
        return self.next - 1


def _chains(pieces: list[tuple[int, int, int]]) -> list[list[tuple[int, bool]]]:
    """Pieces (index, source, target) of one street joined end to end where exactly two of them meet:
    each chain a list of (piece index, reversed)."""
    at_node: dict[int, list[int]] = defaultdict(list)
    for k, (_, source, target) in enumerate(pieces):
        at_node[source].append(k)
        at_node[target].append(k)
    used = [False] * len(pieces)
    chains = []
    starts = [node for node, ks in at_node.items() if len(ks) != 2] + list(at_node)
    for start in starts:
        for first in at_node[start]:
            if used[first]:
                continue
            chain, node, k = [], start, first
            while k is not None and not used[k]:
                used[k] = True
                _, source, target = pieces[k]
                reverse = source != node
                chain.append((pieces[k][0], reverse))
                node = source if reverse else target
                following = [j for j in at_node[node] if not used[j]] if len(at_node[node]) == 2 else []
                k = following[0] if following else None
            chains.append(chain)
    return chains


def write_sample_osm(city: SampleCity, path: Path) -> Path:
    """Write the sample city's roads, landmarks and places to ``path`` (.osm or .osm.pbf)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    network = city.network
    ids = _Ids(network.nodes["id"].to_numpy())
    node_lonlat = shapely.get_coordinates(to_geographic(network.nodes.geometry.to_numpy()))
    nodes: dict[int, tuple[tuple[float, float], dict]] = {
        ids.road[int(node)]: (tuple(xy), {})
        for node, xy in zip(network.nodes["id"], node_lonlat, strict=True)
    }
    roads = network.roads
    lines = to_geographic(roads.geometry.to_numpy())
    ways: list[tuple[list[int], dict]] = []
    groups = roads.groupby(["name", "road_class"], sort=True).indices
    for (name, road_class), rows in groups.items():
        pieces = [(int(i), int(roads["source"].iat[i]), int(roads["target"].iat[i])) for i in rows]
        for chain in _chains(pieces):
            refs: list[int] = []
            for i, reverse in chain:
                source, target = int(roads["source"].iat[i]), int(roads["target"].iat[i])
                inner = shapely.get_coordinates(lines[i])[1:-1]
                inner_ids = []
                for xy in inner:
                    inner_ids.append(ids.new())
                    nodes[inner_ids[-1]] = (tuple(xy), {})
                sequence = [ids.road[source], *inner_ids, ids.road[target]]
                sequence = sequence[::-1] if reverse else sequence
                refs.extend(sequence if not refs else sequence[1:])
            ways.append((refs, {"highway": SAMPLE_HIGHWAYS[road_class], "name": name}))
    landmarks = city.gazetteer[city.gazetteer["kind"] == "landmark"]
    for name, place, point in zip(
        landmarks["name"], landmarks["place"], to_geographic(landmarks.geometry.to_numpy()), strict=True
    ):
        nodes[ids.new()] = ((point.x, point.y), {**LANDMARK_TAGS[place], "name": name})
    areas = city.areas[city.areas["level"].isin(list(PLACE_TAGS))]
    centres = to_geographic(shapely.point_on_surface(areas.geometry.to_numpy()))
    for name, level, point in zip(areas["name"], areas["level"], centres, strict=True):
        nodes[ids.new()] = ((point.x, point.y), {"place": PLACE_TAGS[level], "name": name})
    writer = osmium.SimpleWriter(str(path))
    try:
        for node_id, (location, tags) in sorted(nodes.items()):
            writer.add_node(Node(id=node_id, location=location, tags=tags))
        for way_id, (refs, tags) in enumerate(ways, start=1):
            writer.add_way(Way(id=way_id, nodes=refs, tags=tags))
    finally:
        writer.close()
    return path
