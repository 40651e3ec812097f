"""``geo-app import-osm FILE``: the city's road network and gazetteer from an OpenStreetMap extract.

In one transaction the city's road network (``road_nodes``, ``roads``) and gazetteer are replaced by those of
the file, clipped to the city outline plus ``CLIP_MARGIN_M`` (a road just outside may still be the quickest
way between two places inside; a ferry must start and end within that margin). Parts of the network that
are not connected to the rest and shorter than ``MIN_PART_KM`` are left out: on real data they are parking
lots or gaps in the mapping, and an asset snapped to one would reach nothing. Longer separate parts (an
island without a mapped ferry, a gated estate) stay. A dry run does everything and rolls back, so its
report says what would be written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import shapely
from pyproj import Transformer

from geo_app.catalog import Catalog
from geo_app.ingest.osm_read import NamedFeature, OsmData, read_osm
from geo_app.ingest.road_network import FERRY_CLASS, Edges, components, renumber, split_ways
from geo_app.store import bulk, roads
from geo_app.store.areas import record_load

CLIP_MARGIN_M = 1_000.0
MIN_PART_KM = 1.0
# A landmark mapped twice (as a point and as a building) within this distance is one landmark.
DUPLICATE_WITHIN_M = 150.0
CLASS_ORDER = ("tol", "arteri", "kolektor", "lokal", "lingkungan", "penyeberangan")

Progress = Callable[[str], None]


class OsmImportError(ValueError):
    """The file cannot replace the city's network (nothing was written); the message says why."""


@dataclass
class OsmImportReport:
    source: str
    objects: int = 0
    drivable_ways: int = 0
    closed_ways: int = 0
    nodes: int = 0
    edges: int = 0
    one_way_edges: int = 0
    km_by_class: dict[str, float] = field(default_factory=dict)
    largest_part_share: float = 0.0
    parts_kept: int = 0
    fragments_left_out: int = 0
    fragment_km: float = 0.0
    outside_edges: int = 0
    outside_km: float = 0.0
    ways_beyond_margin: int = 0
    ferries_leaving: int = 0
    gazetteer: dict[str, int] = field(default_factory=dict)
    landmarks_by_category: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    written: bool = False

    def lines(self) -> list[str]:
        total_km = sum(self.km_by_class.values())
        by_class = ", ".join(f"{name} {km:,.1f}" for name, km in self.km_by_class.items())
        landmarks = ", ".join(f"{name} {n}" for name, n in sorted(self.landmarks_by_category.items()))
        lines = [
            f"{self.source}: {self.objects:,} tagged OpenStreetMap objects; "
            f"{self.drivable_ways:,} drivable ways reach the city",
            f"road network: {self.nodes:,} nodes, {self.edges:,} edges, {total_km:,.1f} km "
            f"({self.one_way_edges:,} one-way edges)",
            f"km by class: {by_class}",
            f"largest connected part: {self.largest_part_share:.1%} of the km; {self.parts_kept - 1} other "
            f"part(s) of at least {MIN_PART_KM:g} km kept; {self.fragments_left_out} fragment(s) under "
            f"{MIN_PART_KM:g} km left out ({self.fragment_km:,.1f} km)",
            f"edges outside the city (within its {CLIP_MARGIN_M:,.0f} m margin): {self.outside_edges:,} "
            f"({self.outside_km:,.1f} km)",
            f"left out: {self.closed_ways:,} private or closed ways (access=private/no), "
            f"{self.ways_beyond_margin:,} ways beyond the margin, {self.ferries_leaving:,} ferry crossings "
            "leaving the city",
            "gazetteer: "
            + ", ".join(
                f"{self.gazetteer.get(kind, 0):,} {kind}s" for kind in ("street", "landmark", "place")
            ),
            f"landmarks by category: {landmarks or 'none'}",
        ]
        if self.dry_run:
            lines.append("dry run: nothing written")
        elif self.written:
            lines.append("written: the city's road network and gazetteer replaced")
        return lines


def import_osm(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    path: str | Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    source: str | None = None,
    is_sample: bool = False,
) -> OsmImportReport:
    """Replace the city's road network and gazetteer with those of the OSM extract ``path``.

    Raises :class:`geo_app.ingest.osm_read.OsmReadError` for a file that is not OSM or holds nothing, and
    :class:`OsmImportError` when the city has no outline or no drivable road of the file lies in it; both
    write nothing.
    """
    say = progress or (lambda _message: None)
    path = Path(path)
    outline_wkb, metric_srid = roads.city_outline(conn, city_code)
    if outline_wkb is None:
        raise OsmImportError(
            f"city {city_code} has no administrative areas to clip the network to: load the sample city or "
            "import the kelurahan boundaries (geo-app import-areas) first; nothing was written"
        )
    say(f"reading {path.name}")
    data = read_osm(path, catalog.road_types)
    report = OsmImportReport(source=path.name, objects=data.objects, closed_ways=data.closed_ways)
    to_metric = Transformer.from_crs(4326, metric_srid, always_xy=True)
    outline = shapely.transform(shapely.from_wkb(outline_wkb), _transform(to_metric))
    reach = shapely.buffer(outline, CLIP_MARGIN_M)
    shapely.prepare(reach)
    if not data.ways:
        raise OsmImportError(
            f"{path.name} holds no drivable road ({_drivable_hint(catalog)}); nothing was written"
        )
    say(f"splitting {len(data.ways):,} drivable ways at their intersections")
    network = split_ways(data.ways, to_metric)
    edges = _clip(network.edges, network.node_lonlat, reach, to_metric, report)
    if len(edges) == 0:
        raise OsmImportError(
            f"no drivable road of {path.name} lies within city {city_code} (its outline plus "
            f"{CLIP_MARGIN_M:,.0f} m): is the extract of another area? File roads span "
            f"{_bounds_text(network.edges.lonlat)}, the city "
            f"{_bounds_text([shapely.from_wkb(outline_wkb)])}; "
            "nothing was written"
        )
    report.drivable_ways = len(np.unique(edges.way_id))
    edges = _keep_connected_parts(edges, len(network.node_osm_ids), report)
    inside = shapely.intersects(edges.metric, outline)
    report.outside_edges = int((~inside).sum())
    report.outside_km = float(edges.length_m[~inside].sum() / 1000)
    report.edges = len(edges)
    report.one_way_edges = int(edges.one_way.sum())
    report.km_by_class = {
        name: float(edges.length_m[edges.road_class == name].sum() / 1000)
        for name in CLASS_ORDER
        if (edges.road_class == name).any()
    }
    node_ids, node_lonlat, ends = renumber(network, edges, roads.node_id_base(city_code) + 1)
    report.nodes = len(node_ids)
    features = _unique_features(data, to_metric, reach)
    report.landmarks_by_category = dict(Counter(f.category for f in features if f.kind == "landmark"))
    with conn.transaction():
        say(f"replacing the road network: {report.nodes:,} nodes, {report.edges:,} edges")
        roads.replace_network(conn, city_code, _node_rows(node_ids, node_lonlat), _road_rows(edges, ends))
        say(f"replacing the gazetteer: named street ways and {len(features):,} landmarks and places")
        report.gazetteer = roads.replace_gazetteer(
            conn, city_code, _street_rows(data, reach, to_metric), _feature_rows(features)
        )
        loaded_from = source or path.name
        record_load(conn, city_code, "roads", loaded_from, is_sample, report.edges)
        record_load(conn, city_code, "gazetteer", loaded_from, is_sample, sum(report.gazetteer.values()))
        bulk.analyze_loaded(conn, ("road_nodes", "roads", "gazetteer"), report.edges + report.nodes)
        if dry_run:
            report.dry_run = True
            raise psycopg.Rollback()
        report.written = True
    return report


def _transform(transformer: Transformer):
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return apply


def _drivable_hint(catalog: Catalog) -> str:
    return "ways tagged " + ", ".join(sorted(catalog.road_types)) + " without access=private/no"


def _bounds_text(geometries) -> str:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geometries, dtype=object))
    return f"lon {minx:.3f}..{maxx:.3f}, lat {miny:.3f}..{maxy:.3f}"


def _clip(
    edges: Edges, node_lonlat: np.ndarray, reach, to_metric: Transformer, report: OsmImportReport
) -> Edges:
    """Edges that touch the city plus its margin; ferries only when both ends lie within it."""
    touching = shapely.intersects(reach, edges.metric)
    x, y = to_metric.transform(node_lonlat[:, 0], node_lonlat[:, 1])
    node_inside = shapely.contains_xy(reach, x, y)
    ferry = edges.road_class == FERRY_CLASS
    ferry_inside = node_inside[edges.source] & node_inside[edges.target]
    leaving = ferry & touching & ~ferry_inside
    report.ferries_leaving = int(leaving.sum())
    keep = touching & ~leaving
    report.ways_beyond_margin = len(np.setdiff1d(np.unique(edges.way_id[~touching]), edges.way_id[keep]))
    return edges.select(keep)


def _keep_connected_parts(edges: Edges, node_count: int, report: OsmImportReport) -> Edges:
    part = components(edges, node_count)
    km = np.bincount(part, weights=edges.length_m) / 1000
    report.largest_part_share = float(km[0] / km.sum()) if km.sum() > 0 else 1.0
    kept_parts = (km >= MIN_PART_KM) | (np.arange(len(km)) == 0)
    report.parts_kept = int(kept_parts.sum())
    report.fragments_left_out = int((~kept_parts).sum())
    report.fragment_km = float(km[~kept_parts].sum())
    return edges.select(kept_parts[part])


def _unique_features(data: OsmData, to_metric: Transformer, reach) -> list[NamedFeature]:
    """Landmarks and places within reach of the city, each once: the same name and category mapped again
    nearby (a school as a point and as its grounds) is left out."""
    kept: list[NamedFeature] = []
    seen: dict[tuple[str, str, str], list[shapely.Point]] = {}
    for feature in data.features:
        point = shapely.transform(shapely.point_on_surface(feature.geometry), _transform(to_metric))
        if not reach.contains(point):
            continue
        key = (feature.kind, feature.name.lower(), feature.category)
        if any(point.distance(other) <= DUPLICATE_WITHIN_M for other in seen.get(key, [])):
            continue
        seen.setdefault(key, []).append(point)
        kept.append(feature)
    return kept


def _ewkb(geometries) -> np.ndarray:
    return shapely.to_wkb(
        shapely.set_srid(np.asarray(geometries, dtype=object), 4326), hex=True, include_srid=True
    )


def _node_rows(node_ids: np.ndarray, node_lonlat: np.ndarray):
    points = _ewkb(shapely.points(node_lonlat))
    return ((int(node), point) for node, point in zip(node_ids, points, strict=True))


def _road_rows(edges: Edges, ends: np.ndarray):
    lines = _ewkb(edges.lonlat)
    for i in range(len(edges)):
        yield (
            edges.name[i],
            edges.road_class[i],
            float(edges.speed_kmh[i]),
            int(ends[i, 0]),
            int(ends[i, 1]),
            float(edges.length_m[i]),
            float(edges.cost_s[i]),
            float(edges.reverse_cost_s[i]),
            lines[i],
        )


def _street_rows(data: OsmData, reach, to_metric: Transformer):
    """Named street ways (lon/lat) that come near the city; the kelurahan cut happens in the database."""
    for street in data.streets:
        x, y = to_metric.transform(street.lonlat[:, 0], street.lonlat[:, 1])
        if reach.intersects(shapely.LineString(np.column_stack([x, y]))):
            yield street.name, street.variants, _ewkb([shapely.LineString(street.lonlat)])[0]


def _feature_rows(features: list[NamedFeature]):
    geometries = _ewkb([feature.geometry for feature in features])
    for feature, geometry in zip(features, geometries, strict=True):
        yield feature.kind, feature.name, feature.category, feature.variants, geometry
