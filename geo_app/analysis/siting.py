"""Where to build next: greedy Maximal Covering Location (Church & ReVelle 1974; analysis spec §4).

Demand is the population grid's cells where the city has one (``geo-app import-population``), else the
population spread evenly over each kelurahan, sampled on a square grid (each cell's share of its
kelurahan's people sits at a point inside the cell). Existing assets already cover the demand
within their radius. Each step adds the candidate with the largest still-uncovered population within
the radius; coverage is monotone and submodular, so the greedy picks reach at least (1 − 1/e) of the
optimum with the same number of sites (checked against spopt's exact MCLP in tests/test_siting.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.spatial import cKDTree

from geo_app.analysis import limits
from geo_app.analysis.coverage import Areas, load_areas
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


def suggest_sites(
    conn,
    city_code: str,
    catalog: Catalog,
    asset_type: str,
    count: int,
    radius_m: float | None = None,
    candidate_lonlat: np.ndarray | None = None,
    spacing_m: float = 500.0,
    demand_cell_m: float = 250.0,
) -> dict:
    """``count`` new sites for an asset type (lon/lat) with their marginal population gains.

    Existing active/maintained assets of the type cover the demand within their own radius (or the
    catalog radius); new sites use ``radius_m`` or the catalog radius.
    """
    areas = load_areas(conn, city_code)
    radius = radius_m or catalog.asset_types[asset_type].coverage_radius_m
    demand_xy, weights, owners = demand_points(areas, demand_cell_m)
    existing = coverage_store.assets_metric(conn, city_code, [asset_type])
    covered = np.zeros(len(weights), dtype=bool)
    if existing and len(weights):
        tree = cKDTree(demand_xy)
        for asset in existing:
            point = shapely.point_on_surface(shapely.from_wkb(asset["wkb"]))
            own_radius = asset["coverage_radius_m"] or catalog.asset_types[asset_type].coverage_radius_m
            covered[tree.query_ball_point([point.x, point.y], own_radius)] = True
    to_metric, to_lonlat = transformers(conn, city_code)
    if candidate_lonlat is None:
        candidates = candidate_grid(areas, spacing_m)
    else:
        given = np.asarray(candidate_lonlat, dtype=float).reshape(-1, 2)
        candidates = np.column_stack(to_metric.transform(given[:, 0], given[:, 1]))
    limits.check_siting(len(candidates), len(weights), demand_cell_m, radius)
    picks = greedy_max_cover(cover_matrix(candidates, demand_xy, radius), weights, count, covered)
    population = float(weights.sum())
    baseline = float(weights[covered].sum())
    running = baseline
    sites = []
    for rank, pick in enumerate(picks, start=1):
        running += pick.gain
        x, y = candidates[pick.candidate]
        lon, lat = to_lonlat.transform(x, y)
        inside = shapely.contains_xy(areas.geoms, x, y)
        kelurahan = int(np.argmax(inside)) if inside.any() else None
        sites.append(
            {
                "rank": rank,
                "lon": lon,
                "lat": lat,
                "kelurahan_code": areas.codes[kelurahan] if kelurahan is not None else None,
                "kelurahan": areas.names[kelurahan] if kelurahan is not None else None,
                "population_gain": pick.gain,
                "population_covered": running,
                "population_covered_pct": 100 * running / population if population else None,
            }
        )
    return {
        "asset_type": asset_type,
        "population_model": areas.population_model,
        "radius_m": radius,
        "existing_assets": len(existing),
        "candidates": len(candidates),
        "demand_points": len(weights),
        "population": population,
        "population_covered_before": baseline,
        "population_covered_before_pct": 100 * baseline / population if population else None,
        "sites": sites,
    }


def transformers(conn, city_code: str) -> tuple[Transformer, Transformer]:
    """lon/lat -> the city's metric CRS, and back (for candidate points in and sites out)."""
    srid = coverage_store.metric_srid(conn, city_code)
    return (
        Transformer.from_crs(4326, srid, always_xy=True),
        Transformer.from_crs(srid, 4326, always_xy=True),
    )
