"""Where to build next: greedy Maximal Covering Location (Church & ReVelle 1974; analysis spec §4).

Demand is the population grid's cells where the city has one (``geo-app import-population``), else the
population spread evenly over each kelurahan, sampled on a square grid (each cell's share of its
kelurahan's people sits at a point inside the cell). Sites are suggested against the coverage analysis the
reader is looking at (geo_app.analysis.coverage): demand inside today's covered area counts as covered, and a
candidate covers what an asset there would cover in the same mode: the points within the radius, or, in
travel-time mode, the points within the access distance of the road pieces it reaches in time over the road
network, joined and charged exactly as coverage.network_shapes does (:func:`network_cover_matrix`). So the
cumulative figure of the k-th site starts from today's figure on the page and is what the coverage map
would show with the first k sites built.

Each step adds the candidate with the largest still-uncovered population; coverage is monotone and
submodular, so the greedy picks reach at least (1 − 1/e) of the optimum with the same number of sites
(checked against spopt's exact MCLP in tests/test_siting.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo_app.analysis import limits
from geo_app.analysis.coverage import Areas, CoverageError, CoverageRequest, CoverageResult
from geo_app.catalog import Catalog
from geo_app.store import coverage as coverage_store


@dataclass(frozen=True)
class Pick:
    candidate: int
    gain: float


def cover_matrix(candidates_xy: np.ndarray, demand_xy: np.ndarray, radius: float) -> sparse.csr_matrix:
    """Boolean (candidates × demand) matrix: candidate i covers demand j when d(i, j) <= radius."""
    shape = (len(candidates_xy), len(demand_xy))
    if 0 in shape:
        return sparse.csr_matrix(shape, dtype=bool)
    hits = cKDTree(candidates_xy).query_ball_point(demand_xy, radius)
    rows = np.fromiter((i for near in hits for i in near), dtype=int)
    cols = np.fromiter((j for j, near in enumerate(hits) for _ in near), dtype=int)
    return sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=shape)


def greedy_max_cover(
    cover: sparse.csr_matrix, weights: np.ndarray, count: int, covered: np.ndarray | None = None
) -> list[Pick]:
    """Pick up to ``count`` candidates, each time the one adding most uncovered weight; stop at no gain.

    ``covered`` marks demand already covered (by existing assets). Ties go to the lowest index.
    """
    weights = np.asarray(weights, dtype=float)
    covered = np.zeros(cover.shape[1], dtype=bool) if covered is None else covered.copy()
    cover = cover.astype(float).tocsr()
    picks: list[Pick] = []
    for _ in range(count):
        gains = cover @ np.where(covered, 0.0, weights)
        if len(gains) == 0:
            break
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        picks.append(Pick(best, float(gains[best])))
        covered[cover[best].indices] = True
    return picks


def demand_grid(areas: Areas, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand points (x, y), their population and kelurahan index: one per grid cell piece per kelurahan."""
    xs, ys, weights, owners = [], [], [], []
    for index, area in enumerate(areas.geoms):
        if area.area <= 0:
            continue
        xmin, ymin, xmax, ymax = area.bounds
        cells = shapely.box(
            *np.meshgrid(np.arange(xmin, xmax, cell_m), np.arange(ymin, ymax, cell_m)),
            *np.meshgrid(np.arange(xmin, xmax, cell_m) + cell_m, np.arange(ymin, ymax, cell_m) + cell_m),
        ).ravel()
        pieces = shapely.intersection(cells, area)
        piece_area = shapely.area(pieces)
        keep = piece_area > 0
        points = shapely.point_on_surface(pieces[keep])
        xs.append(shapely.get_x(points))
        ys.append(shapely.get_y(points))
        weights.append(areas.population[index] * piece_area[keep] / area.area)
        owners.append(np.full(keep.sum(), index))
    if not xs:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=int)
    return (
        np.column_stack([np.concatenate(xs), np.concatenate(ys)]),
        np.concatenate(weights),
        np.concatenate(owners),
    )


def demand_points(areas: Areas, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The population grid's cells (people scaled to the kelurahan totals), else :func:`demand_grid`."""
    if areas.cells is None:
        return demand_grid(areas, cell_m)
    cells = areas.cells
    return np.column_stack([cells.x, cells.y]), cells.scaled_to(areas.population), cells.area_index


def candidate_grid(areas: Areas, spacing_m: float) -> np.ndarray:
    """Candidate sites: a square grid (cell centres) over the city, kept where inside a kelurahan."""
    city = shapely.union_all(areas.geoms)
    shapely.prepare(city)  # thousands of points against one outline
    xmin, ymin, xmax, ymax = city.bounds
    gx, gy = np.meshgrid(
        np.arange(xmin + spacing_m / 2, xmax, spacing_m), np.arange(ymin + spacing_m / 2, ymax, spacing_m)
    )
    points = shapely.points(gx.ravel(), gy.ravel())
    inside = shapely.contains(city, points)
    return np.column_stack([gx.ravel()[inside], gy.ravel()[inside]])


MAX_SITES = 100
"""Sites one request may suggest (each pick is one pass over the cover matrix)."""


@dataclass(frozen=True)
class RoadGraph:
    """The road network for scipy's Dijkstra: a directed sparse graph of seconds between node indices, and
    per edge its end nodes (indices), costs both ways (negative: that way does not exist) and metric line."""

    node_ids: np.ndarray
    graph: sparse.csr_matrix
    source: np.ndarray
    target: np.ndarray
    cost: np.ndarray
    reverse_cost: np.ndarray
    lines: np.ndarray

    def index_of(self, node_ids: Sequence[int]) -> np.ndarray:
        """Indices of road nodes in the graph; -1 for nodes on no road."""
        wanted = np.asarray(node_ids, dtype=np.int64)
        index = np.minimum(np.searchsorted(self.node_ids, wanted), len(self.node_ids) - 1)
        return np.where(self.node_ids[index] == wanted, index, -1)


# scipy drops zero weights from sparse graphs: a free edge keeps a cost far below any travel time.
FREE_EDGE_S = 1e-9


def road_graph(edges: Sequence[dict]) -> RoadGraph:
    """The graph of road rows (source, target, cost_s, reverse_cost_s, wkb); parallel edges keep the
    cheapest cost each way."""
    source_ids = np.array([edge["source"] for edge in edges], dtype=np.int64)
    target_ids = np.array([edge["target"] for edge in edges], dtype=np.int64)
    node_ids = np.unique(np.concatenate([source_ids, target_ids]))
    source, target = np.searchsorted(node_ids, source_ids), np.searchsorted(node_ids, target_ids)
    cost = np.array([edge["cost_s"] for edge in edges], dtype=float)
    reverse_cost = np.array([edge["reverse_cost_s"] for edge in edges], dtype=float)
    tails = np.concatenate([source[cost >= 0], target[reverse_cost >= 0]])
    heads = np.concatenate([target[cost >= 0], source[reverse_cost >= 0]])
    seconds = np.maximum(np.concatenate([cost[cost >= 0], reverse_cost[reverse_cost >= 0]]), FREE_EDGE_S)
    order = np.lexsort((seconds, heads, tails))  # cheapest first within each (tail, head)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(tails[order]) != 0) | (np.diff(heads[order]) != 0)
    keep = order[first]
    graph = sparse.csr_matrix((seconds[keep], (tails[keep], heads[keep])), shape=(len(node_ids),) * 2)
    lines = shapely.from_wkb([edge["wkb"] for edge in edges])
    return RoadGraph(node_ids, graph, source, target, cost, reverse_cost, lines)


def reach_fractions(lines: np.ndarray, demand_xy: np.ndarray, access_m: float):
    """Pairs (demand point, edge) within ``access_m``, and for each how far along the edge one must travel
    before the travelled part comes within ``access_m`` of the point: from its start (fraction of its
    length) and from its end. Returns (demand index, edge index, from_start, from_end).

    Solved per straight segment of each edge: the points P0 + t (P1 − P0) within ``access_m`` of Q are
    the t in [0, 1] with |P0 − Q + t (P1 − P0)|² ≤ access_m², an interval from a quadratic."""
    demand, edge = shapely.STRtree(lines).query(
        shapely.points(demand_xy), predicate="dwithin", distance=access_m
    )
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    joined = owner[1:] == owner[:-1]
    seg_start, seg_end, seg_edge = coords[:-1][joined], coords[1:][joined], owner[:-1][joined]
    seg_length = np.hypot(*(seg_end - seg_start).T)
    edge_length = np.bincount(seg_edge, seg_length, minlength=len(lines))
    running = np.cumsum(seg_length)
    first_segment = np.searchsorted(seg_edge, np.arange(len(lines)))
    segments = np.diff(np.append(first_segment, len(seg_edge)))
    length_before = (
        running - seg_length - np.where(first_segment > 0, running[first_segment - 1], 0.0)[seg_edge]
    )
    # one row per (pair, segment of the pair's edge)
    pair = np.repeat(np.arange(len(edge)), segments[edge])
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(segments[edge]) - segments[edge], segments[edge])
    segment = first_segment[edge][pair] + offset
    d = seg_end[segment] - seg_start[segment]
    f = seg_start[segment] - demand_xy[demand[pair]]
    a, b, c = (d * d).sum(axis=1), 2 * (f * d).sum(axis=1), (f * f).sum(axis=1) - access_m**2
    root = np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(a > 0, (-b - root) / (2 * a), 0.0)
        high = np.where(a > 0, (-b + root) / (2 * a), 0.0)
    hit = np.where(a > 0, (b * b - 4 * a * c >= 0) & (high >= 0) & (low <= 1), c <= 0)
    low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
    total = np.where(edge_length > 0, edge_length, 1.0)[edge[pair]]
    along_low = (length_before[segment] + low * seg_length[segment]) / total
    along_high = (length_before[segment] + high * seg_length[segment]) / total
    first = np.full(len(edge), np.inf)
    last = np.full(len(edge), -np.inf)
    np.minimum.at(first, pair[hit], along_low[hit])
    np.maximum.at(last, pair[hit], along_high[hit])
    found = np.isfinite(first)
    return demand[found], edge[found], first[found], 1.0 - last[found]


def network_cover_matrix(
    roads: RoadGraph,
    start_nodes: np.ndarray,
    start_costs_s: np.ndarray,
    candidates_xy: np.ndarray,
    demand_xy: np.ndarray,
    budget_s: float,
    access_m: float,
    reach_m: float,
    spacing_m: float = 500.0,
) -> sparse.csr_matrix:
    """Boolean (candidates × demand) matrix of travel-time coverage: candidate i covers demand j when,
    leaving from its road node (index ``start_nodes[i]``, after ``start_costs_s[i]``), some road reached
    within ``budget_s`` passes within ``access_m`` of j, and j lies within ``reach_m`` of i (the
    straight-line bound). An edge is reached from its start up to the fraction the remaining time pays
    for (its cost that way), and likewise from its end: coverage.network_shapes's road pieces.
    ``spacing_m`` (of the candidates) only words the advice when the pairs pass the limit."""
    demand, edge, from_start, from_end = reach_fractions(roads.lines, demand_xy, access_m)
    cost, reverse_cost = roads.cost[edge], roads.reverse_cost[edge]
    need_forward = np.where(cost >= 0, from_start * np.maximum(cost, 0), np.inf)
    need_backward = np.where(reverse_cost >= 0, from_end * np.maximum(reverse_cost, 0), np.inf)
    pair_source, pair_target = roads.source[edge], roads.target[edge]
    # node -> the pairs of its edges, so each candidate looks only at the roads it reaches
    pairs_of_node = sparse.csr_matrix(
        (
            np.ones(2 * len(edge), dtype=bool),
            (np.concatenate([pair_source, pair_target]), np.tile(np.arange(len(edge)), 2)),
        ),
        shape=(len(roads.node_ids), len(edge)),
    )
    unique_nodes, row_of = np.unique(start_nodes, return_inverse=True)
    times = dijkstra(roads.graph, directed=True, indices=unique_nodes, limit=budget_s)
    rows, cols, found = [], [], 0
    for i, (row, start_cost) in enumerate(zip(row_of, start_costs_s, strict=True)):
        arrival = times[row] + start_cost
        near = np.unique(pairs_of_node[np.flatnonzero(arrival <= budget_s)].indices)
        reached = np.minimum(
            arrival[pair_source[near]] + need_forward[near], arrival[pair_target[near]] + need_backward[near]
        )
        covered = np.unique(demand[near][reached <= budget_s])
        offsets = demand_xy[covered] - candidates_xy[i]
        covered = covered[np.hypot(offsets[:, 0], offsets[:, 1]) <= reach_m]
        rows.append(np.full(len(covered), i))
        cols.append(covered)
        found += len(covered)
        limits.check_network_cover(found, i + 1, len(start_nodes), spacing_m)
    shape = (len(candidates_xy), len(demand_xy))
    if not rows:
        return sparse.csr_matrix(shape, dtype=bool)
    rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(len(rows_), dtype=bool), (rows_, cols_)), shape=shape)


def covered_now(result: CoverageResult, demand_xy: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Which demand points lie in today's covered part of their kelurahan (the coverage on the page)."""
    covered = np.zeros(len(demand_xy), dtype=bool)
    for index, part in enumerate(result.covered):
        members = np.flatnonzero(owners == index)
        if len(members) and not part.is_empty:
            shapely.prepare(part)
            covered[members] = shapely.contains_xy(part, demand_xy[members, 0], demand_xy[members, 1])
    return covered


def suggest_sites(
    conn,
    city_code: str,
    catalog: Catalog,
    result: CoverageResult,
    asset_type: str,
    count: int,
    candidate_lonlat: np.ndarray | None = None,
    spacing_m: float = 500.0,
    demand_cell_m: float = 250.0,
) -> dict:
    """``count`` new sites of ``asset_type`` (lon/lat) on top of the coverage ``result``, in its mode and
    value, each with its population gain and the cumulative coverage from today's figure on.

    In radius mode a new site covers the request's radius, else its type's catalog radius.
    """
    request = result.request
    areas = result.areas
    demand_xy, weights, owners = demand_points(areas, demand_cell_m)
    open_ = ~covered_now(result, demand_xy, owners)
    demand_xy, weights = demand_xy[open_], weights[open_]
    to_metric, to_lonlat = transformers(conn, city_code)
    if candidate_lonlat is None:
        candidates = candidate_grid(areas, spacing_m)
        candidate_lonlat = np.column_stack(to_lonlat.transform(candidates[:, 0], candidates[:, 1]))
    else:
        candidate_lonlat = np.asarray(candidate_lonlat, dtype=float).reshape(-1, 2)
        candidates = np.column_stack(to_metric.transform(candidate_lonlat[:, 0], candidate_lonlat[:, 1]))
    radius = None
    if request.mode == "radius":
        radius = request.radius_m or catalog.asset_types[asset_type].coverage_radius_m
        limits.check_siting(len(candidates), len(weights), demand_cell_m, radius)
        cover = cover_matrix(candidates, demand_xy, radius)
    else:
        limits.check_network_candidates(len(candidates), spacing_m)
        cover = travel_time_cover(
            conn, city_code, request, candidates, candidate_lonlat, demand_xy, spacing_m
        )
    picks = greedy_max_cover(cover, weights, count)
    population = float(result.city["population"])
    before = float(result.city["population_covered"])
    running = before
    sites = []
    for rank, pick in enumerate(picks, start=1):
        running += pick.gain
        x, y = candidates[pick.candidate]
        lon, lat = candidate_lonlat[pick.candidate]
        inside = shapely.contains_xy(areas.geoms, x, y)
        kelurahan = int(np.argmax(inside)) if inside.any() else None
        sites.append(
            {
                "rank": rank,
                "lon": float(lon),
                "lat": float(lat),
                "kelurahan_code": areas.codes[kelurahan] if kelurahan is not None else None,
                "kelurahan": areas.names[kelurahan] if kelurahan is not None else None,
                "population_gain": pick.gain,
                "population_covered": running,
                "population_covered_pct": 100 * running / population if population else None,
            }
        )
    return {
        "asset_type": asset_type,
        "coverage_asset_types": list(request.asset_types),
        "mode": request.mode,
        "radius_m": radius,
        "minutes": request.minutes if request.mode == "travel_time" else None,
        "access_m": request.access_m if request.mode == "travel_time" else None,
        "population_model": areas.population_model,
        "existing_assets": result.asset_count,
        "candidates": len(candidates),
        "demand_points": len(weights),
        "population": population,
        "population_covered_before": before,
        "population_covered_before_pct": 100 * before / population if population else None,
        "sites": sites,
    }


def travel_time_cover(
    conn,
    city_code: str,
    request: CoverageRequest,
    candidates: np.ndarray,
    candidate_lonlat: np.ndarray,
    demand_xy: np.ndarray,
    spacing_m: float,
) -> sparse.csr_matrix:
    """What each candidate would reach in ``request.minutes`` over the road network (as an asset there)."""
    speed = coverage_store.max_road_speed(conn, city_code)
    if speed is None:
        raise CoverageError("there is no road network for this city: load roads before travel-time siting")
    budget_s = request.minutes * 60.0
    roads = road_graph(coverage_store.road_edges_metric(conn, city_code))
    starts = coverage_store.nearest_road_nodes(
        conn, city_code, [shapely.Point(lon, lat).wkb for lon, lat in candidate_lonlat]
    )
    nodes = roads.index_of([start["node"] for start in starts])
    hops = np.array([start["hop_m"] for start in starts], dtype=float)
    return network_cover_matrix(
        roads,
        np.maximum(nodes, 0),
        np.where(nodes >= 0, (hops + request.access_m) / speed, np.inf),
        candidates,
        demand_xy,
        budget_s,
        request.access_m,
        speed * budget_s,
        spacing_m,
    )


def transformers(conn, city_code: str) -> tuple[Transformer, Transformer]:
    """lon/lat -> the city's metric CRS, and back (for candidate points in and sites out)."""
    srid = coverage_store.metric_srid(conn, city_code)
    return (
        Transformer.from_crs(4326, srid, always_xy=True),
        Transformer.from_crs(srid, 4326, always_xy=True),
    )
