"""/api/analysis/hotspots (Gi*, density, DBSCAN, hour × weekday), /emerging and /response for 112 calls.

Every answer states what it computed with (cell size, band, counts) so anyone can recompute it. All
analyses default to call type ``darurat`` (the catalog's call types that count as incidents).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from flask import Blueprint, request

from geo_app.analysis import density, emerging, grids, hotspots, limits
from geo_app.store import areas as area_store
from geo_app.store import incident_aggregates as aggregates
from geo_app.usecases import incidents as incident_usecases
from geo_app.usecases.places import cell_places
from geo_app.web import deps
from geo_app.web.api.incidents import FILTER_PARAMS, incident_filter
from geo_app.web.errors import Problem
from geo_app.web.params import choice, reject_unknown

blueprint = Blueprint("incident_analysis_api", __name__, url_prefix="/api/analysis")

GRID_PARAMS = {"grid", "size", "resolution", "band"}
BIN_LABELS = {
    3: "Hotspot 99%",
    2: "Hotspot 95%",
    1: "Hotspot 90%",
    0: "Tidak signifikan",
    -1: "Coldspot 90%",
    -2: "Coldspot 95%",
    -3: "Coldspot 99%",
}


def number(name: str, default: float | None, low: float, high: float) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise Problem(400, "Invalid parameter", f"{name}={raw!r}: give a number from {low:g} to {high:g}.")
    return value


def boolean(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() not in {"true", "false", "1", "0"}:
        raise Problem(400, "Invalid parameter", f"{name}={raw!r}: use true or false.")
    return raw.lower() in {"true", "1"}


def incident_filters():
    return incident_filter(default_call_types=tuple(deps.catalog().incident_call_types))


def _not_enough(exc: Exception) -> Problem:
    return Problem(422, "Not enough data for a hot-spot analysis", str(exc))


def aggregate_cells(conn, filters) -> tuple[dict, list[dict]]:
    """Cells of the requested grid with counts, centres (metres) and geometry; plus the grid description."""
    grid = choice("grid", ("hexagon", "h3", "kelurahan"), default="hexagon")
    if grid == "kelurahan":
        return {"grid": "kelurahan"}, aggregates.kelurahan_counts(conn, filters)
    extent = analysed_area(conn, filters)
    if grid == "h3":
        resolution = int(number("resolution", 8, 5, 11))
        limits.check_h3_grid(extent["area_m2"], resolution)
        return {"grid": "h3", "h3_resolution": resolution}, _h3_cells(conn, filters, extent, resolution)
    size = hexagon_size(extent)
    limits.check_hexagon_grid(extent["area_m2"], size)
    description = {"grid": "hexagon", "cell_size_m": size, "cell_area_m2": round(grids.hexagon_area(size), 1)}
    return description, aggregates.hexagon_counts(conn, filters, size)


def analysed_area(conn, filters) -> dict:
    """The extent of the kelurahan the filters select (see aggregates.area_extent); 422 when none."""
    extent = aggregates.area_extent(conn, filters)
    if extent["west"] is None:
        raise Problem(422, "No area to analyse", "The filters select no kelurahan of this city.")
    return extent


def hexagon_size(extent: dict) -> float:
    """The ``size`` parameter, by default 1/100 of the area's longer side (grids.default_hex_size)."""
    return number("size", None, 25, 5000) or grids.default_hex_size(
        extent["east"] - extent["west"], extent["north"] - extent["south"]
    )


def cell_area(description: dict) -> float | None:
    """Area (m²) of one grid cell; None for kelurahan, whose few pairs need no limit."""
    if description["grid"] == "h3":
        return grids.h3_cell_area(description["h3_resolution"])
    return description.get("cell_area_m2")


def _h3_cells(conn, filters, extent: dict, resolution: int) -> list[dict]:
    points = aggregates.located_points(conn, filters)
    counts: dict[str, int] = {}
    for cell in grids.h3_cells_of_points([p[2] for p in points], [p[1] for p in points], resolution):
        counts[cell] = counts.get(cell, 0) + 1
    cells = grids.h3_cells_of_polygon(extent["geometry"], resolution) | set(counts)
    rows = []
    to_metric = deps.city().to_metric
    for cell in sorted(cells):
        lon, lat = grids.h3_centre(cell)
        x, y = to_metric.transform(lon, lat)
        geometry = json.dumps({"type": "Polygon", "coordinates": [grids.h3_boundary(cell)]})
        rows.append({"id": cell, "count": counts.get(cell, 0), "x": x, "y": y, "geometry": geometry})
    return rows


def _cell_id(row: dict) -> str:
    return str(row["id"]) if "id" in row else f"{row['i']},{row['j']}"


@blueprint.get("/hotspots")
def hot_spots():
    """Gi* hot and cold spots on hexagons, H3 cells or kelurahan, with FDR bins and the band used."""
    reject_unknown(FILTER_PARAMS | GRID_PARAMS | {"fdr"})
    filters = incident_filters()
    band = number("band", None, 1, 100_000)
    fdr = boolean("fdr", True)
    with deps.connection() as conn:
        description, cells = aggregate_cells(conn, filters)
        if band is not None and cell_area(description) is not None:
            limits.check_band(len(cells), cell_area(description), band)
        # hexagons and H3 cells hold the incidents that are points; kelurahan every incident placed in one
        by_kelurahan = description["grid"] == "kelurahan"
        incidents = aggregates.count_located(conn, filters) if by_kelurahan else None
        left_out = aggregates.left_out(conn, filters, points_only=not by_kelurahan)
        places = cell_places(conn, deps.city(), cells)
    counts = np.array([row["count"] for row in cells], dtype=float)
    incidents = int(counts.sum()) if incidents is None else incidents
    xy = np.array([(row["x"], row["y"]) for row in cells], dtype=float).reshape(-1, 2)
    try:
        result = hotspots.hot_spots(counts, xy, incidents, band=band, fdr=fdr)
    except hotspots.NotEnoughData as exc:
        raise _not_enough(exc) from None
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
        "fdr": fdr,
        "features": features,
    }


@blueprint.get("/hotspots/density")
def density_surface():
    """Quartic kernel density on a regular grid: [lat, lon, incidents per km²] for each node above zero."""
    reject_unknown(FILTER_PARAMS | {"radius", "cell"})
    filters = incident_filters()
    with deps.connection() as conn:
        binned = np.array(aggregates.binned_points(conn, filters, 25.0), dtype=float).reshape(-1, 3)
        extent = aggregates.area_extent(conn, filters)
        left_out = aggregates.left_out(conn, filters, points_only=True)
    incidents = int(binned[:, 2].sum()) if len(binned) else 0
    if incidents < hotspots.MIN_INCIDENTS:
        raise _not_enough(
            f"only {incidents} incidents located to a street or better match ({left_out['why']}); "
            f"a density surface needs {hotspots.MIN_INCIDENTS}."
        )
    xy, weights = binned[:, :2], binned[:, 2]
    radius = number("radius", None, 50, 20_000) or density.default_radius(xy, weights)
    width, height = extent["east"] - extent["west"], extent["north"] - extent["south"]
    cell = number("cell", None, 10, 5000)
    if cell is None:
        cell = max(radius / 4, 50.0, limits.smallest_density_cell(width, height, radius, len(binned)))
    else:
        limits.check_density_cell(width, height, radius, len(binned), cell)
    bounds = (extent["west"], extent["south"], extent["east"], extent["north"])
    nodes, values = density.surface(xy, weights, radius, cell, bounds)
    keep = values > 0
    lon, lat = deps.city().to_lonlat.transform(nodes[keep, 0], nodes[keep, 1])
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


@blueprint.get("/hotspots/clusters")
def clusters():
    """DBSCAN (ST_ClusterDBSCAN in the city's metric CRS): one outline per cluster with its incident count."""
    reject_unknown(FILTER_PARAMS | {"eps", "min_points"})
    filters = incident_filters()
    eps = number("eps", 150, 1, 5000)
    min_points = int(number("min_points", 10, 2, 10_000))
    with deps.connection() as conn:
        rows = aggregates.dbscan_clusters(conn, filters, eps, min_points)
        left_out = aggregates.left_out(conn, filters, points_only=True)
        places = cell_places(conn, deps.city(), rows)
    return {
        "type": "FeatureCollection",
        "eps_m": eps,
        "min_points": min_points,
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


@blueprint.get("/hotspots/temporal")
def hour_weekday():
    """Counts per hour of day (0-23) × ISO weekday (1 = Monday), per category and in total, in the city's
    own time zone."""
    reject_unknown(FILTER_PARAMS)
    filters = incident_filters()
    with deps.connection() as conn:
        return incident_usecases.hour_weekday(conn, deps.city(), deps.catalog(), filters)


def _step_count(first: datetime, last: datetime, step: str) -> int:
    """Weeks or months from the first to the last call, counting both ends' steps (an upper bound)."""
    if step == "week":
        return (last - first).days // 7 + 2
    return (last.year - first.year) * 12 + last.month - first.month + 1


@blueprint.get("/emerging")
def emerging_hot_spots():
    """Emerging hot-spot category per hexagon over weekly or monthly steps (space-time Gi*, Mann-Kendall)."""
    reject_unknown(FILTER_PARAMS | {"step", "size", "band", "previous_steps"})
    filters = incident_filters()
    step = choice("step", ("week", "month"), default="month")
    previous_steps = int(number("previous_steps", 1, 0, 12))
    band = number("band", None, 1, 100_000)
    timezone = deps.city().timezone_name
    with deps.connection() as conn:
        extent = analysed_area(conn, filters)
        size = hexagon_size(extent)
        span = aggregates.period(conn, filters)
        steps = _step_count(span["first"], span["last"], step) if span["first"] is not None else 1
        limits.check_space_time(extent["area_m2"], size, steps, step)
        if band is not None:
            limits.check_band(limits.hexagon_cells(extent["area_m2"], size), grids.hexagon_area(size), band)
        cells = aggregates.hexagon_counts(conn, filters, size)
        binned = aggregates.hexagon_step_counts(conn, filters, size, step, timezone)
        left_out = aggregates.left_out(conn, filters, points_only=True)
        places = cell_places(conn, deps.city(), cells)
    if not binned:
        raise _not_enough(
            f"no incidents located to a street or better match the filters ({left_out['why']})."
        )
    zone = ZoneInfo(timezone)
    now = datetime.now(zone).replace(tzinfo=None)  # periods are local times
    totals: dict[datetime, int] = {}
    for row in binned:
        totals[row["period"]] = totals.get(row["period"], 0) + row["count"]
    asked = (
        filters.start.astimezone(zone).replace(tzinfo=None) if filters.start else None,
        (filters.end - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None)
        if filters.end
        else None,
    )
    steps_used = emerging.complete_steps(totals, step, now, asked)
    periods = steps_used.analysed
    if len(periods) < emerging.MIN_STEPS:
        raise _not_enough(
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
    try:
        hotspots.check_enough(totals, int(totals.sum()))
    except hotspots.NotEnoughData as exc:
        raise _not_enough(exc) from None
    band = band or hotspots.choose_band(totals, xy).band
    result = emerging.emerging_hot_spots(cube, xy, band, previous_steps)
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
        "previous_steps": previous_steps,
        "cell_size_m": size,
        "band_m": band,
        "cells": len(cells),
        "left_out": left_out,
        "summary": summary,
        "features": features,
    }


@blueprint.get("/response")
def response_times():
    """Call-to-arrival compliance, median, p90 per category, kelurahan, kecamatan; prank/ghost shares."""
    reject_unknown(FILTER_PARAMS)
    filters = incident_filters()
    with deps.connection() as conn:
        return incident_usecases.response_summary(conn, deps.city(), deps.catalog(), filters)


NO_RESPONSE = {
    "incidents": 0,
    "compliance": None,
    "median_min": None,
    "p90_min": None,
    "goal_pct": None,
    "gap_points": None,
}
"""The figures of a kelurahan without any arrived incident in the period."""


@blueprint.get("/response/kelurahan")
def response_by_kelurahan():
    """Kelurahan polygons with their response compliance, median and p90 (GeoJSON, for the map)."""
    reject_unknown(FILTER_PARAMS)
    filters = incident_filters()
    with deps.connection() as conn:
        summaries = incident_usecases.response_by_kelurahan(conn, deps.catalog(), filters)
        collection = area_store.areas_geojson(conn, filters.city_code, "kelurahan")
    for feature in collection["features"]:
        code = feature["properties"]["code"]
        feature["properties"] = {
            "code": code,
            "name": feature["properties"]["name"],
            "kecamatan": feature["properties"]["parent_name"],
            **summaries.get(code, NO_RESPONSE),
        }
    return collection, 200, {"Content-Type": "application/geo+json"}
