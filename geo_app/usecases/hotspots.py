"""112 hot-spot use cases: Gi* hot and cold spots, kernel density, DBSCAN clusters and emerging hot spots.

Every answer states what it computed with (cell size, band, counts, what was left out) so anyone can
recompute it. Each raises NotEnoughData or NoArea (geo_app.usecases.errors) when the filters leave too
little to analyse, and TooMuchWork before a request that would run too long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import psycopg

from geo_app.analysis import density, emerging, grids, hotspots, limits
from geo_app.city import CityContext
from geo_app.store import incident_aggregates as aggregates
from geo_app.store.incidents import IncidentFilter
from geo_app.usecases.errors import NoArea, NotEnoughData
from geo_app.usecases.places import cell_places

BIN_LABELS = {
    3: "Hotspot 99%",
    2: "Hotspot 95%",
    1: "Hotspot 90%",
    0: "Tidak signifikan",
    -1: "Coldspot 90%",
    -2: "Coldspot 95%",
    -3: "Coldspot 99%",
}


@dataclass(frozen=True)
class Grid:
    """The cells incidents are counted in: hexagons of ``size`` metres (default 1/100 of the area's longer
    side), H3 cells of ``resolution``, or the kelurahan."""

    kind: Literal["hexagon", "h3", "kelurahan"] = "hexagon"
    size: float | None = None
    resolution: int = 8


@dataclass(frozen=True)
class HotSpotRequest:
    filters: IncidentFilter
    grid: Grid = Grid()
    band: float | None = None
    fdr: bool = True


def analysed_area(conn: psycopg.Connection, filters: IncidentFilter) -> dict:
    """The extent of the kelurahan the filters select (see aggregates.area_extent); NoArea when none."""
    extent = aggregates.area_extent(conn, filters)
    if extent["west"] is None:
        raise NoArea("The filters select no kelurahan of this city.")
    return extent


def hexagon_size(extent: dict, size: float | None) -> float:
    return size or grids.default_hex_size(extent["east"] - extent["west"], extent["north"] - extent["south"])


def aggregate_cells(
    conn: psycopg.Connection, city: CityContext, filters: IncidentFilter, grid: Grid
) -> tuple[dict, list[dict]]:
    """Cells of the grid with counts, centres (metres) and geometry; plus the grid description."""
    if grid.kind == "kelurahan":
        return {"grid": "kelurahan"}, aggregates.kelurahan_counts(conn, filters)
    extent = analysed_area(conn, filters)
    if grid.kind == "h3":
        limits.check_h3_grid(extent["area_m2"], grid.resolution)
        description = {"grid": "h3", "h3_resolution": grid.resolution}
        return description, _h3_cells(conn, city, filters, extent, grid.resolution)
    size = hexagon_size(extent, grid.size)
    limits.check_hexagon_grid(extent["area_m2"], size)
    description = {"grid": "hexagon", "cell_size_m": size, "cell_area_m2": round(grids.hexagon_area(size), 1)}
    return description, aggregates.hexagon_counts(conn, filters, size)


def cell_area(description: dict) -> float | None:
    """Area (m²) of one grid cell; None for kelurahan, whose few pairs need no limit."""
    if description["grid"] == "h3":
        return grids.h3_cell_area(description["h3_resolution"])
    return description.get("cell_area_m2")


def _h3_cells(conn, city: CityContext, filters, extent: dict, resolution: int) -> list[dict]:
    points = aggregates.located_points(conn, filters)
    counts: dict[str, int] = {}
    for cell in grids.h3_cells_of_points([p[2] for p in points], [p[1] for p in points], resolution):
        counts[cell] = counts.get(cell, 0) + 1
    cells = grids.h3_cells_of_polygon(extent["geometry"], resolution) | set(counts)
    rows = []
    for cell in sorted(cells):
        lon, lat = grids.h3_centre(cell)
        x, y = city.to_metric.transform(lon, lat)
        geometry = json.dumps({"type": "Polygon", "coordinates": [grids.h3_boundary(cell)]})
        rows.append({"id": cell, "count": counts.get(cell, 0), "x": x, "y": y, "geometry": geometry})
    return rows


def _cell_id(row: dict) -> str:
    return str(row["id"]) if "id" in row else f"{row['i']},{row['j']}"


def hot_spots(conn: psycopg.Connection, city: CityContext, request: HotSpotRequest) -> dict:
    """Gi* hot and cold spots with FDR bins and the band used, as a FeatureCollection of cells."""
    filters = request.filters
    description, cells = aggregate_cells(conn, city, filters, request.grid)
    if request.band is not None and cell_area(description) is not None:
        limits.check_band(len(cells), cell_area(description), request.band)
    # hexagons and H3 cells hold the incidents that are points; kelurahan every incident placed in one
    by_kelurahan = description["grid"] == "kelurahan"
    incidents = aggregates.count_located(conn, filters) if by_kelurahan else None
    left_out = aggregates.left_out(conn, filters, points_only=not by_kelurahan)
    places = cell_places(conn, city, cells)
    counts = np.array([row["count"] for row in cells], dtype=float)
    incidents = int(counts.sum()) if incidents is None else incidents
    xy = np.array([(row["x"], row["y"]) for row in cells], dtype=float).reshape(-1, 2)
    result = hotspots.hot_spots(counts, xy, incidents, band=request.band, fdr=request.fdr)
    # incidents within the band of each cell, itself included: the neighbourhood its Gi* weighs
    nearby = hotspots.distance_band_weights(xy, result.band_m, include_self=True) @ counts
    features = [
        {
            "type": "Feature",
            "id": _cell_id(row),
            "geometry": json.loads(row["geometry"]),
            "properties": {
                "cell": _cell_id(row),
                **({"name": row["name"]} if "name" in row else {}),
                "kelurahan": row.get("name") or place["kelurahan"],
                "kecamatan": place["kecamatan"],
                "count": int(row["count"]),
                "nearby": int(near),
                "z": round(float(z), 6),
                "p": float(p),
                "bin": int(b),
                "label": BIN_LABELS[int(b)],
            },
        }
        for row, place, near, z, p, b in zip(
            cells, places, nearby, result.z, result.p, result.bins, strict=True
        )
    ]
    return {
        "type": "FeatureCollection",
        **description,
        "band_m": result.band_m,
        "band_choice": result.band.as_dict() if result.band else {"method": "given"},
        "cells": len(cells),
        "incidents": incidents,
        "incidents_in_cells": int(counts.sum()),
        "left_out": left_out,
        "fdr": request.fdr,
        "features": features,
    }


@dataclass(frozen=True)
class DensityRequest:
    filters: IncidentFilter
    radius: float | None = None
    cell: float | None = None


def density_surface(conn: psycopg.Connection, city: CityContext, request: DensityRequest) -> dict:
    """Quartic kernel density on a regular grid: [lat, lon, incidents per km²] for each node above zero."""
    filters = request.filters
    binned = np.array(aggregates.binned_points(conn, filters, 25.0), dtype=float).reshape(-1, 3)
    extent = aggregates.area_extent(conn, filters)
    left_out = aggregates.left_out(conn, filters, points_only=True)
    incidents = int(binned[:, 2].sum()) if len(binned) else 0
    if incidents < hotspots.MIN_INCIDENTS:
        raise NotEnoughData(
            f"only {incidents} incidents located to a street or better match ({left_out['why']}); "
            f"a density surface needs {hotspots.MIN_INCIDENTS}."
        )
    xy, weights = binned[:, :2], binned[:, 2]
    radius = request.radius or density.default_radius(xy, weights)
    width, height = extent["east"] - extent["west"], extent["north"] - extent["south"]
    cell = request.cell
    if cell is None:
        cell = max(radius / 4, 50.0, limits.smallest_density_cell(width, height, radius, len(binned)))
    else:
        limits.check_density_cell(width, height, radius, len(binned), cell)
    bounds = (extent["west"], extent["south"], extent["east"], extent["north"])
    nodes, values = density.surface(xy, weights, radius, cell, bounds)
    keep = values > 0
    lon, lat = city.to_lonlat.transform(nodes[keep, 0], nodes[keep, 1])
    return {
        "radius_m": round(radius, 1),
        "cell_m": round(cell, 1),
        "incidents": incidents,
        "left_out": left_out,
        "max_per_km2": round(float(values.max()), 3) if len(values) else 0,
        "unit": "incidents per km²",
        "points": [
            [round(a, 6), round(b, 6), round(float(v), 3)]
            for a, b, v in zip(lat, lon, values[keep], strict=True)
        ],
    }


@dataclass(frozen=True)
class ClusterRequest:
    filters: IncidentFilter
    eps: float = 150
    min_points: int = 10


def clusters(conn: psycopg.Connection, city: CityContext, request: ClusterRequest) -> dict:
    """DBSCAN (ST_ClusterDBSCAN in the city's metric CRS): one outline per cluster with its count."""
    rows = aggregates.dbscan_clusters(conn, request.filters, request.eps, request.min_points)
    left_out = aggregates.left_out(conn, request.filters, points_only=True)
    places = cell_places(conn, city, rows)
    return {
        "type": "FeatureCollection",
        "eps_m": request.eps,
        "min_points": request.min_points,
        "left_out": left_out,
        "features": [
            {
                "type": "Feature",
                "id": row["cluster"],
                "geometry": json.loads(row["geometry"]),
                "properties": {"cluster": row["cluster"], "count": row["count"], **place},
            }
            for row, place in zip(rows, places, strict=True)
        ],
    }


def _step_count(first: datetime, last: datetime, step: str) -> int:
    """Weeks or months from the first to the last call, counting both ends' steps (an upper bound)."""
    if step == "week":
        return (last - first).days // 7 + 2
    return (last.year - first.year) * 12 + last.month - first.month + 1


@dataclass(frozen=True)
class EmergingRequest:
    filters: IncidentFilter
    step: Literal["week", "month"] = "month"
    size: float | None = None
    band: float | None = None
    previous_steps: int = 1


def emerging_hot_spots(
    conn: psycopg.Connection, city: CityContext, request: EmergingRequest, now: datetime
) -> dict:
    """Emerging hot-spot category per hexagon over weekly or monthly steps (space-time Gi*, Mann-Kendall);
    the step that has not ended by ``now`` is left out."""
    filters, step, band = request.filters, request.step, request.band
    extent = analysed_area(conn, filters)
    size = hexagon_size(extent, request.size)
    span = aggregates.period(conn, filters)
    steps = _step_count(span["first"], span["last"], step) if span["first"] is not None else 1
    limits.check_space_time(extent["area_m2"], size, steps, step)
    if band is not None:
        limits.check_band(limits.hexagon_cells(extent["area_m2"], size), grids.hexagon_area(size), band)
    cells = aggregates.hexagon_counts(conn, filters, size)
    binned = aggregates.hexagon_step_counts(conn, filters, size, step, city.timezone_name)
    left_out = aggregates.left_out(conn, filters, points_only=True)
    places = cell_places(conn, city, cells)
    if not binned:
        raise NotEnoughData(
            f"no incidents located to a street or better match the filters ({left_out['why']})."
        )
    zone = city.timezone
    local_now = now.astimezone(zone).replace(tzinfo=None)  # periods are local times
    step_totals: dict[datetime, int] = {}
    for row in binned:
        step_totals[row["period"]] = step_totals.get(row["period"], 0) + row["count"]
    asked = (
        filters.start.astimezone(zone).replace(tzinfo=None) if filters.start else None,
        (filters.end - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
        if filters.end
        else None,
    )
    steps_used = emerging.complete_steps(step_totals, step, local_now, asked)
    periods = steps_used.analysed
    if len(periods) < emerging.MIN_STEPS:
        raise NotEnoughData(
            f"only {len(periods)} {step}s of data; emerging hot spots need at least {emerging.MIN_STEPS} "
            "time steps. Widen the dates or use weekly steps."
        )
    index = {(row["i"], row["j"]): k for k, row in enumerate(cells)}
    period_index = {period: k for k, period in enumerate(periods)}
    cube = np.zeros((len(cells), len(periods)))
    for row in binned:
        if row["period"] in period_index:
            cube[index[(row["i"], row["j"])], period_index[row["period"]]] += row["count"]
    xy = np.array([(row["x"], row["y"]) for row in cells], dtype=float)
    totals = cube.sum(axis=1)
    hotspots.check_enough(totals, int(totals.sum()))
    band = band or hotspots.choose_band(totals, xy).band
    result = emerging.emerging_hot_spots(cube, xy, band, request.previous_steps)
    summary = {category: 0 for category in emerging.CATEGORIES}
    features = []
    for row, place, category, trend, hot, cold in zip(
        cells, places, result.categories, result.trends, result.hot, result.cold, strict=True
    ):
        summary[category] += 1
        features.append(
            {
                "type": "Feature",
                "id": _cell_id(row),
                "geometry": json.loads(row["geometry"]),
                "properties": {
                    "cell": _cell_id(row),
                    "category": category,
                    "label": emerging.category_label(category),
                    **place,
                    "incidents": int(row["count"]),
                    "hot_steps": int(hot.sum()),
                    "cold_steps": int(cold.sum()),
                    "trend_z": round(trend.z, 4),
                    "trend_p": round(trend.p, 6),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "step": step,
        "steps": [period.date().isoformat() for period in periods],
        "unfinished_step_left_out": steps_used.unfinished.date().isoformat()
        if steps_used.unfinished
        else None,
        "empty_steps_left_out": [start.date().isoformat() for start in steps_used.empty],
        "previous_steps": request.previous_steps,
        "cell_size_m": size,
        "band_m": band,
        "cells": len(cells),
        "left_out": left_out,
        "summary": summary,
        "features": features,
    }
