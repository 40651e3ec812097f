"""Coverage of asset networks by area and population (analysis spec §4), on metric geometries.

Straight-line coverage is the union of a disc of the service radius around each asset. Travel-time
coverage is the road network reached within the time budget (``geo_app.store.coverage``), widened by an
access distance to the buildings along it. Both are cut per kelurahan: each kelurahan's covered part is
the union of the shapes that touch it, intersected with the kelurahan, so no global union of thousands of
discs is needed. Where the city has a population grid (``geo-app import-population``), a kelurahan's
covered people = its population × the share of its grid people whose cell centre is covered; without
one, people are spread evenly over the area (model ``even_by_area``): population × covered area / area.

Service discs are 32-gons drawn on a slightly larger radius so that each has exactly the area πr² (an
inscribed n-gon has n/2·r²·sin(2π/n)); fewer vertices keep the union of thousands of discs fast. Road
corridors are plain buffers, inside the true distance, which the travel-time guarantee needs.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo_app.analysis import limits
from geo_app.analysis.population import PopulationCells, load_cells
from geo_app.catalog import Catalog
from geo_app.store import coverage as coverage_store
from geo_app.store import population as population_store

QUAD_SEGS = 8
DISC_SIDES = 4 * QUAD_SEGS
AREA_PRESERVING_SCALE = 1 / math.sqrt(DISC_SIDES / (2 * math.pi) * math.sin(2 * math.pi / DISC_SIDES))
GEOMETRY_THREADS = min(4, os.cpu_count() or 1)
SQUARE_METRES_PER_HA = 10_000.0


@dataclass(frozen=True)
class Areas:
    """Kelurahan in metres: parallel arrays (codes, names, their kecamatan, population, geometry), the
    population grid's cells when the city has one, and the name of the population model used."""

    codes: Sequence[str]
    names: Sequence[str]
    kecamatan_codes: Sequence[str]
    kecamatan_names: Sequence[str]
    population: np.ndarray
    geoms: np.ndarray
    cells: PopulationCells | None = None
    population_model: str = population_store.EVEN_BY_AREA

    def people_share(self, covered: np.ndarray) -> np.ndarray:
        """Per area, the share of its people in its covered part: by grid cells, else by area."""
        area = shapely.area(self.geoms)
        share = np.divide(shapely.area(covered), area, out=np.zeros(len(area)), where=area > 0)
        if self.cells is None:
            return share
        by_cells = self.cells.shares_in(covered)
        return np.where(np.isnan(by_cells), share, by_cells)


def discs(geoms: Sequence[BaseGeometry], radii: Sequence[float] | float) -> np.ndarray:
    """Service areas of a radius around each asset: 32-gons of area πr² (a band of that width around a
    line asset)."""
    scaled = np.asarray(radii, dtype=float) * AREA_PRESERVING_SCALE
    return shapely.buffer(np.asarray(geoms, dtype=object), scaled, quad_segs=QUAD_SEGS)


def corridors(lines: Sequence[BaseGeometry], distance: float) -> np.ndarray:
    """The strip within ``distance`` of each reached road piece (its polygon stays inside that distance)."""
    return shapely.buffer(np.asarray(lines, dtype=object), distance, quad_segs=QUAD_SEGS)


def union_inputs(areas: Areas, shapes: np.ndarray) -> list[np.ndarray | None]:
    """Per area, the shapes whose union covers its covered part, or None when one shape holds it whole.

    A shape holds the area when it holds the area's convex hull (few vertices, and enough for any
    shape); shapes whose bounding box holds the area's are tried, a few at a time, so huge service
    areas cost one test per area instead of a union of all of them.
    """
    tree = shapely.STRtree(shapes)
    shape_bounds = shapely.bounds(shapes)
    plan: list[np.ndarray | None] = []
    for area in areas.geoms:
        hits = tree.query(area)
        xmin, ymin, xmax, ymax = area.bounds
        around = shape_bounds[hits]
        holders = hits[
            (around[:, 0] <= xmin) & (around[:, 1] <= ymin) & (around[:, 2] >= xmax) & (around[:, 3] >= ymax)
        ]
        hull = shapely.convex_hull(area)
        held = any(
            shapely.contains(shapes[holders[start : start + 16]], hull).any()
            for start in range(0, len(holders), 16)
        )
        plan.append(None if held else tree.query(area, predicate="intersects"))
    return plan


def covered_parts(
    areas: Areas, shapes: np.ndarray, clip_shapes: np.ndarray | None = None, parameter: str = "radius_m"
) -> np.ndarray:
    """Per area, the part covered by the union of ``shapes`` (optionally also within ``clip_shapes``).

    The unions are counted first and refused past limits.MAX_UNION_INPUTS (``parameter`` is the request
    parameter that widens the shapes). Areas are independent and GEOS releases the GIL, so they are
    unioned on a few threads.
    """
    plan = union_inputs(areas, shapes)
    clip_plan = union_inputs(areas, clip_shapes) if clip_shapes is not None else [None] * len(plan)
    inputs = sum(len(hits) for hits in (*plan, *clip_plan) if hits is not None)
    limits.check_union_inputs(inputs, len(shapes), parameter)

    def covered_part(index: int) -> BaseGeometry:
        area, hits, clip_hits = areas.geoms[index], plan[index], clip_plan[index]
        if hits is not None and len(hits) == 0:
            return shapely.Polygon()
        part = area if hits is None else shapely.intersection(shapely.union_all(shapes[hits]), area)
        if clip_hits is not None:
            part = shapely.intersection(part, shapely.union_all(clip_shapes[clip_hits]))
        return part

    covered = np.empty(len(areas.geoms), dtype=object)
    with ThreadPoolExecutor(max_workers=GEOMETRY_THREADS) as pool:
        for index, part in enumerate(pool.map(covered_part, range(len(areas.geoms)))):
            covered[index] = part
    return covered


def coverage_table(areas: Areas, covered: np.ndarray) -> pd.DataFrame:
    """Per kelurahan: area and covered area (ha, %), population and covered population (people, %)."""
    area_ha = shapely.area(areas.geoms) / SQUARE_METRES_PER_HA
    covered_ha = shapely.area(covered) / SQUARE_METRES_PER_HA
    population = np.asarray(areas.population, dtype=float)
    share = areas.people_share(covered)
    table = pd.DataFrame(
        {
            "code": list(areas.codes),
            "name": list(areas.names),
            "kecamatan_code": list(areas.kecamatan_codes),
            "kecamatan": list(areas.kecamatan_names),
            "area_ha": area_ha,
            "covered_ha": covered_ha,
            "population": population,
            "population_covered": population * share,
        }
    )
    return with_shares(table)


def with_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Add covered_pct, population_covered_pct (NaN where there is no area or population) and
    population_uncovered (the gap in people)."""
    table = table.copy()
    table["population_uncovered"] = table["population"] - table["population_covered"]
    table["covered_pct"] = 100 * table["covered_ha"] / table["area_ha"].where(table["area_ha"] > 0)
    table["population_covered_pct"] = (
        100 * table["population_covered"] / table["population"].where(table["population"] > 0)
    )
    return table


def summarise(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Kecamatan rows and the city row, summed from the kelurahan rows (shares recomputed, not averaged)."""
    sums = ["area_ha", "covered_ha", "population", "population_covered"]
    kecamatan = (
        table.groupby(["kecamatan_code", "kecamatan"], sort=True)[sums]
        .sum()
        .reset_index()
        .rename(columns={"kecamatan_code": "code", "kecamatan": "name"})
    )
    city = with_shares(pd.DataFrame([table[sums].sum()])).iloc[0].to_dict()
    return with_shares(kecamatan), city


def gaps(areas: Areas, covered: np.ndarray, min_area_ha: float) -> pd.DataFrame:
    """The uncovered polygons of each kelurahan of at least ``min_area_ha``, with area and population.

    Columns: kelurahan_code, kelurahan, area_ha, population, geometry (metric).
    """
    rows = []
    area_m2 = shapely.area(areas.geoms)
    members = areas.cells.per_area(len(areas.codes)) if areas.cells is not None else None
    for index, (area, part) in enumerate(zip(areas.geoms, covered, strict=True)):
        density = areas.population[index] / area_m2[index] if area_m2[index] > 0 else 0.0
        for piece in shapely.get_parts(shapely.difference(area, part)):
            if piece.geom_type != "Polygon" or piece.area < min_area_ha * SQUARE_METRES_PER_HA:
                continue
            by_cells = areas.cells.share_in(members[index], piece) if members is not None else None
            rows.append(
                {
                    "kelurahan_code": areas.codes[index],
                    "kelurahan": areas.names[index],
                    "area_ha": piece.area / SQUARE_METRES_PER_HA,
                    "population": density * piece.area
                    if by_cells is None
                    else areas.population[index] * by_cells,
                    "geometry": piece,
                }
            )
    columns = ["kelurahan_code", "kelurahan", "area_ha", "population", "geometry"]
    return pd.DataFrame(rows, columns=columns).sort_values("population", ascending=False, ignore_index=True)


# --- one analysis, from the database ----------------------------------------------------------------

MODES = ("radius", "travel_time")


@dataclass(frozen=True)
class CoverageRequest:
    """What to cover with: asset types, mode, and the radius (metres) or the time budget (minutes).

    Without ``radius_m`` each asset uses its own radius, else its type's catalog radius.
    ``access_m``: how far from a reached road a place still counts as reached (travel-time mode).
    """

    asset_types: tuple[str, ...]
    mode: str = "radius"
    radius_m: float | None = None
    minutes: float = 15.0
    access_m: float = 250.0
    min_gap_ha: float = 1.0


@dataclass
class CoverageResult:
    request: CoverageRequest
    asset_count: int
    metric_srid: int
    areas: Areas
    covered: np.ndarray
    kelurahan: pd.DataFrame
    kecamatan: pd.DataFrame
    city: dict
    gaps: pd.DataFrame
    max_speed_kmh: float | None = None
    straight_line_radius_m: float | None = None


def load_areas(conn, city_code: str) -> Areas:
    """The kelurahan, with the population grid's cells when the city has one."""
    rows = coverage_store.kelurahan_metric(conn, city_code)
    codes = [row["code"] for row in rows]
    return Areas(
        codes=codes,
        names=[row["name"] for row in rows],
        kecamatan_codes=[row["kecamatan_code"] for row in rows],
        kecamatan_names=[row["kecamatan"] for row in rows],
        population=np.array([row["population"] for row in rows], dtype=float),
        geoms=shapely.from_wkb([row["wkb"] for row in rows]),
        cells=load_cells(conn, city_code, codes),
        population_model=population_store.model_name(conn, city_code),
    )


def straight_line_shapes(assets: Sequence[dict], catalog: Catalog, radius_m: float | None) -> np.ndarray:
    radii = [
        radius_m or asset["coverage_radius_m"] or catalog.asset_types[asset["asset_type"]].coverage_radius_m
        for asset in assets
    ]
    return discs(shapely.from_wkb([asset["wkb"] for asset in assets]), radii)


def network_shapes(conn, city_code: str, assets: Sequence[dict], request: CoverageRequest):
    """Corridors around the roads reached in time, and the straight-line discs at top speed × time that
    contain them (returned to clip the polygon approximation of both; see reached_road_pieces)."""
    speed = coverage_store.max_road_speed(conn, city_code)
    if speed is None:
        raise CoverageError("there is no road network for this city: load roads before travel-time coverage")
    budget_s = request.minutes * 60.0
    pieces = coverage_store.reached_road_pieces(
        conn, city_code, [asset["wkb_lonlat"] for asset in assets], budget_s, speed, request.access_m
    )
    corridor = corridors(shapely.from_wkb([piece["wkb"] for piece in pieces]), request.access_m)
    reach_m = speed * budget_s
    outer = discs(shapely.from_wkb([asset["wkb"] for asset in assets]), reach_m)
    return corridor, outer, speed, reach_m


class CoverageError(ValueError):
    """The analysis cannot run as asked; the message says what is missing."""


def compute_coverage(conn, city_code: str, catalog: Catalog, request: CoverageRequest) -> CoverageResult:
    areas = load_areas(conn, city_code)
    if not areas.codes:
        raise CoverageError("the city has no kelurahan boundaries: import admin areas first")
    assets = coverage_store.assets_metric(conn, city_code, request.asset_types)
    srid = coverage_store.metric_srid(conn, city_code)
    speed = reach_m = None
    if not assets:
        covered = np.array([shapely.Polygon()] * len(areas.codes), dtype=object)
    elif request.mode == "radius":
        covered = covered_parts(areas, straight_line_shapes(assets, catalog, request.radius_m))
    else:
        corridor, outer, speed, reach_m = network_shapes(conn, city_code, assets, request)
        covered = covered_parts(areas, corridor, clip_shapes=outer, parameter="minutes")
    kelurahan = coverage_table(areas, covered)
    kecamatan, city = summarise(kelurahan)
    return CoverageResult(
        request=request,
        asset_count=len(assets),
        metric_srid=srid,
        areas=areas,
        covered=covered,
        kelurahan=kelurahan,
        kecamatan=kecamatan,
        city=city,
        gaps=gaps(areas, covered, request.min_gap_ha),
        max_speed_kmh=speed * 3.6 if speed else None,
        straight_line_radius_m=reach_m,
    )


class ResultCache:
    """The last few coverage results by (city, request, data version): a map page asks for the same
    analysis four times (page, choropleth, covered area, gaps). Thread-safe; per process."""

    def __init__(self, size: int = 8):
        self.size = size
        self._results: OrderedDict[tuple, CoverageResult] = OrderedDict()
        self._lock = threading.Lock()

    def compute(self, conn, city_code: str, catalog: Catalog, request: CoverageRequest) -> CoverageResult:
        key = (city_code, request, coverage_store.data_version(conn, city_code))
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = compute_coverage(conn, city_code, catalog, request)
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result


FIRE_ASSET_TYPE = "pos_damkar"


def fire_service_view(
    conn, city_code: str, catalog: Catalog, radius_m: float, minutes: float, access_m: float
) -> dict:
    """Share of the population within ``radius_m`` of a fire post, and within ``minutes`` of travel."""
    if FIRE_ASSET_TYPE not in catalog.asset_types:
        raise CoverageError(f"the layer catalog has no asset type {FIRE_ASSET_TYPE!r} (fire posts)")
    by_radius = compute_coverage(
        conn, city_code, catalog, CoverageRequest((FIRE_ASSET_TYPE,), "radius", radius_m=radius_m)
    )
    by_time = compute_coverage(
        conn,
        city_code,
        catalog,
        CoverageRequest((FIRE_ASSET_TYPE,), "travel_time", minutes=minutes, access_m=access_m),
    )
    population = by_radius.city["population"]
    return {
        "asset_type": FIRE_ASSET_TYPE,
        "population_model": by_radius.areas.population_model,
        "fire_posts": by_radius.asset_count,
        "population": population,
        "within_radius": {
            "radius_m": radius_m,
            "population_covered": by_radius.city["population_covered"],
            "share": by_radius.city["population_covered"] / population if population else None,
        },
        "within_travel_time": {
            "minutes": minutes,
            "access_m": access_m,
            "population_covered": by_time.city["population_covered"],
            "share": by_time.city["population_covered"] / population if population else None,
            "max_speed_kmh": by_time.max_speed_kmh,
        },
        "kelurahan": [
            {
                "code": code,
                "name": name,
                "population": people,
                "within_radius_pct": radius_pct,
                "within_travel_time_pct": time_pct,
            }
            for code, name, people, radius_pct, time_pct in zip(
                by_radius.kelurahan["code"],
                by_radius.kelurahan["name"],
                by_radius.kelurahan["population"],
                by_radius.kelurahan["population_covered_pct"],
                by_time.kelurahan["population_covered_pct"],
                strict=True,
            )
        ],
    }
