"""Read an OpenStreetMap extract (.osm XML or .osm.pbf) with pyosmium into what geo_app keeps of it.

pyosmium (PyPI ``osmium``) wraps libosmium, the library behind osmium-tool and osm2pgsql: it reads both
formats, caches node locations for the ways and assembles areas from closed ways and multipolygon
relations, in one pass over files of any size. osm2pgrouting writes its own schema from XML only, so it
would need a second conversion into ours.

Ways lose the nodes the extract does not hold (clipped at its edge): a way is cut there into the runs of
nodes that have a location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
import osmium.filter
import shapely

from geo_app.catalog import RoadType
from geo_app.ingest import osm_tags

SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2")
# Street names come from every named highway but these (not there yet, or no longer there).
NOT_STREETS = {"proposed", "construction", "abandoned", "razed", "platform", "bus_stop"}


class OsmReadError(ValueError):
    """The file is not an OpenStreetMap extract geo_app can read; the message says what to fix."""


@dataclass
class DrivableWay:
    """A run of a drivable way's nodes that all have a location (lon, lat)."""

    way_id: int
    road_type: RoadType
    name: str | None
    oneway: int  # +1 along the way, -1 against it, 0 both ways
    maxspeed_kmh: float | None
    node_ids: np.ndarray  # int64
    lonlat: np.ndarray  # (n, 2)


@dataclass
class NamedStreet:
    name: str
    variants: list[str]
    lonlat: np.ndarray  # (n, 2)


@dataclass
class NamedFeature:
    """A landmark or place: kind ``landmark`` or ``place``, its category, names and geometry (lon/lat)."""

    kind: str
    name: str
    category: str
    variants: list[str]
    geometry: shapely.Geometry


@dataclass
class OsmData:
    ways: list[DrivableWay] = field(default_factory=list)
    streets: list[NamedStreet] = field(default_factory=list)
    features: list[NamedFeature] = field(default_factory=list)
    objects: int = 0
    closed_ways: int = 0  # access=private/no
    no_location_nodes: int = 0


def check_suffix(path: Path) -> None:
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise OsmReadError(
            f"{path.name}: expected an OpenStreetMap extract named .osm (XML) or .osm.pbf, "
            "e.g. from `osmium extract -b minlon,minlat,maxlon,maxlat indonesia-latest.osm.pbf "
            "-o kota.osm.pbf`"
        )


def read_osm(path: Path, road_types: dict[str, RoadType]) -> OsmData:
    """Every drivable way, named street, landmark and place of the file; raises OsmReadError when the file
    cannot be read or holds no OpenStreetMap object."""
    path = Path(path)
    check_suffix(path)
    data = OsmData()
    wkb = osmium.geom.WKBFactory()
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas()
        .with_filter(osmium.filter.EmptyTagFilter())
    )
    try:
        for obj in processor:
            data.objects += 1
            if obj.is_way():
                _read_way(obj, road_types, data)
            elif obj.is_node():
                _read_feature(obj.tags, lambda o=obj: shapely.Point(o.location.lon, o.location.lat), data)
            elif obj.is_area():
                _read_feature(obj.tags, lambda o=obj: _area_geometry(wkb, o), data)
    except RuntimeError as exc:
        raise OsmReadError(
            f"{path.name} is not a readable OpenStreetMap file (.osm XML or .osm.pbf): {exc}"
        ) from None
    if data.objects == 0:
        raise OsmReadError(f"{path.name} holds no OpenStreetMap objects (nodes, ways or relations with tags)")
    return data


def _area_geometry(factory: osmium.geom.WKBFactory, area) -> shapely.Geometry | None:
    try:
        return shapely.from_wkb(factory.create_multipolygon(area), on_invalid="ignore")
    except RuntimeError:  # an area libosmium could not assemble (broken rings)
        return None


def _located_runs(way, data: OsmData) -> list[tuple[np.ndarray, np.ndarray]]:
    """The way's nodes as runs of (ids, lon/lat) with locations, consecutive repeats dropped."""
    runs, ids, coords = [], [], []
    for node in way.nodes:
        if not node.location.valid():
            data.no_location_nodes += 1
            if len(ids) >= 2:
                runs.append((ids, coords))
            ids, coords = [], []
            continue
        if ids and ids[-1] == node.ref:
            continue
        ids.append(node.ref)
        coords.append((node.location.lon, node.location.lat))
    if len(ids) >= 2:
        runs.append((ids, coords))
    return [(np.asarray(i, dtype=np.int64), np.asarray(c, dtype=float)) for i, c in runs]


def _road_type(tags, road_types: dict[str, RoadType]) -> RoadType | None:
    if "highway" in tags:
        if tags.get("area") == "yes":
            return None
        return road_types.get(f"highway={tags['highway']}")
    if "route" in tags:
        return road_types.get(f"route={tags['route']}")
    return None


def _read_way(way, road_types: dict[str, RoadType], data: OsmData) -> None:
    tags = way.tags
    road_type = _road_type(tags, road_types)
    name = tags.get("name", "").strip() or None
    is_street = (
        name and "highway" in tags and tags["highway"] not in NOT_STREETS and tags.get("area") != "yes"
    )
    if road_type is None and not is_street:
        return
    runs = _located_runs(way, data)
    if is_street:
        variants = osm_tags.name_variants(name, tags)
        data.streets.extend(NamedStreet(name, variants, lonlat) for _, lonlat in runs)
    if road_type is None:
        return
    if osm_tags.is_closed_to_public(tags):
        data.closed_ways += 1
        return
    oneway = osm_tags.oneway_direction(tags, road_type.oneway)
    maxspeed = osm_tags.maxspeed_kmh(tags.get("maxspeed"))
    data.ways.extend(
        DrivableWay(way.id, road_type, name, oneway, maxspeed, ids, lonlat) for ids, lonlat in runs
    )


def _read_feature(tags, geometry, data: OsmData) -> None:
    """A landmark (named, of a known category) or a place (place=neighbourhood, hamlet, village ...)."""
    place = tags.get("place")
    if place in osm_tags.PLACE_VALUES:
        name = tags.get("name", "").strip()
        kind, category = "place", place
    else:
        category = osm_tags.landmark_category(tags)
        if category is None:
            return
        name = osm_tags.landmark_name(tags, category)
        kind = "landmark"
    if not name:
        return
    shape = geometry()
    if shape is None or shape.is_empty:
        return
    variants = osm_tags.name_variants(name, tags, place=kind == "place")
    data.features.append(NamedFeature(kind, name, category, variants, shape))
