"""A routable road network from drivable OpenStreetMap ways: split at intersections, one-way streets kept,
costs in seconds both ways as pgRouting reads them (a negative cost: that direction does not exist).

A way is split at every node it shares with another drivable way (or with itself, as a loop does) and at
its ends, so two streets meet in the graph exactly where they share a node in OSM: a bridge over a road
shares none, and stays unconnected to it. Speeds come from the way's maxspeed, else from its road type in
``layers/roads.yaml``; a ferry adds its waiting time to every crossing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo_app.ingest.osm_read import DrivableWay

NO_DIRECTION = -1.0
FERRY_CLASS = "penyeberangan"


@dataclass
class Edges:
    """One row per edge; ``source``/``target`` index ``Network.node_osm_ids``."""

    source: np.ndarray
    target: np.ndarray
    way_id: np.ndarray
    name: np.ndarray  # object: str or None
    road_class: np.ndarray  # object
    speed_kmh: np.ndarray
    length_m: np.ndarray
    cost_s: np.ndarray
    reverse_cost_s: np.ndarray
    lonlat: np.ndarray  # shapely LineStrings in EPSG:4326
    metric: np.ndarray  # the same in the city's metric CRS

    def __len__(self) -> int:
        return len(self.source)

    def select(self, mask: np.ndarray) -> Edges:
        return Edges(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @property
    def one_way(self) -> np.ndarray:
        return (self.cost_s < 0) | (self.reverse_cost_s < 0)


@dataclass
class Network:
    node_osm_ids: np.ndarray  # sorted int64
    node_lonlat: np.ndarray  # (n, 2)
    edges: Edges


def split_ways(ways: Sequence[DrivableWay], to_metric: Transformer) -> Network:
    """Edges between intersections (nodes shared by two ways, or twice by one) and way ends; ``ways`` must
    not be empty."""
    all_ids = np.concatenate([way.node_ids for way in ways])
    ids, counts = np.unique(all_ids, return_counts=True)
    shared = ids[counts >= 2]
    rows: dict[str, list] = {name: [] for name in ("source", "target", "way", "run", "start", "stop")}
    metric_runs, cumulative = [], []
    for run, way in enumerate(ways):
        x, y = to_metric.transform(way.lonlat[:, 0], way.lonlat[:, 1])
        metric = np.column_stack([x, y])
        metric_runs.append(metric)
        cumulative.append(np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(metric, axis=0).T))]))
        cut = np.isin(way.node_ids, shared)
        cut[0] = cut[-1] = True
        stops = np.flatnonzero(cut)
        for start, stop in zip(stops[:-1], stops[1:], strict=True):
            rows["source"].append(way.node_ids[start])
            rows["target"].append(way.node_ids[stop])
            rows["way"].append(way)
            rows["run"].append(run)
            rows["start"].append(start)
            rows["stop"].append(stop)
    lonlat, metric, length, speed, cost, reverse, sources, targets = [], [], [], [], [], [], [], []
    for source, target, way, run, start, stop in zip(*rows.values(), strict=True):
        coords = way.lonlat[start : stop + 1]
        metric_coords = metric_runs[run][start : stop + 1]
        if way.oneway < 0:  # drawn against the traffic: turn it round, so it is one-way along itself
            coords, metric_coords, source, target = coords[::-1], metric_coords[::-1], target, source
        edge_length = cumulative[run][stop] - cumulative[run][start]
        edge_speed = way.maxspeed_kmh or way.road_type.speed_kmh
        edge_cost = edge_length / (edge_speed / 3.6) + way.road_type.wait_minutes * 60.0
        lonlat.append(shapely.LineString(coords))
        metric.append(shapely.LineString(metric_coords))
        length.append(edge_length)
        speed.append(edge_speed)
        cost.append(edge_cost)
        reverse.append(NO_DIRECTION if way.oneway else edge_cost)
        sources.append(source)
        targets.append(target)
    node_osm_ids = np.unique(np.concatenate([sources, targets]))
    lookup = {int(node): None for node in node_osm_ids}
    for way in ways:
        for node, point in zip(way.node_ids, way.lonlat, strict=True):
            if int(node) in lookup and lookup[int(node)] is None:
                lookup[int(node)] = point
    edges = Edges(
        source=np.searchsorted(node_osm_ids, sources),
        target=np.searchsorted(node_osm_ids, targets),
        way_id=np.array([way.way_id for way in rows["way"]], dtype=np.int64),
        name=np.array([way.name for way in rows["way"]], dtype=object),
        road_class=np.array([way.road_type.road_class for way in rows["way"]], dtype=object),
        speed_kmh=np.array(speed),
        length_m=np.array(length),
        cost_s=np.array(cost),
        reverse_cost_s=np.array(reverse),
        lonlat=np.array(lonlat, dtype=object),
        metric=np.array(metric, dtype=object),
    )
    node_lonlat = np.array([lookup[int(node)] for node in node_osm_ids])
    return Network(node_osm_ids, node_lonlat, edges)


def components(edges: Edges, node_count: int) -> np.ndarray:
    """The connected part (weakly: either direction) each edge belongs to, numbered by size in km,
    0 the largest."""
    graph = coo_matrix((np.ones(len(edges)), (edges.source, edges.target)), shape=(node_count, node_count))
    _, node_part = connected_components(graph, directed=False)
    edge_part = node_part[edges.source]
    km = np.bincount(edge_part, weights=edges.length_m)
    rank = np.empty(len(km), dtype=int)
    rank[np.argsort(-km, kind="stable")] = np.arange(len(km))
    return rank[edge_part]


def renumber(network: Network, edges: Edges, first_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node ids ``first_id, first_id + 1, ...`` for the nodes the edges use (in OSM id order): returns the
    node ids, their lon/lat and the edges' (source, target) ids."""
    used = np.unique(np.concatenate([edges.source, edges.target]))
    new_id = np.full(len(network.node_osm_ids), -1, dtype=np.int64)
    new_id[used] = first_id + np.arange(len(used))
    return (
        new_id[used],
        network.node_lonlat[used],
        np.column_stack([new_id[edges.source], new_id[edges.target]]),
    )
