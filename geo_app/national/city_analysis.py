"""One city of a national collection: its league figures and its Gi* hot spots, from its Parquet files.

Every figure is computed by the pure function the city node uses, on the same inputs the city node reads
from PostGIS, so a city's national answer equals its own:

- hot spots: ``analysis.grids`` (hexagons of ``ST_HexagonGrid`` in the city's metric CRS, 1/100 of the
  area's longer side) and ``analysis.hotspots`` (band choice, Gi*, FDR bins), on the located calls of the
  emergency call types, like ``/api/analysis/hotspots`` with its defaults;
- response compliance: ``analysis.response`` per category against layers/incidents.yaml, like
  ``/api/analysis/response`` (emergency calls with an arrival);
- fire coverage: ``analysis.coverage`` straight-line discs of FIRE_COVERAGE_RADIUS_M around active fire
  posts, cut per kelurahan, population spread evenly over each kelurahan;
- RTH: ``analysis.green`` union per kelurahan and ``rth_statistics``; the green polygons are cut to the
  kelurahan here (:func:`green_pieces`, the counterpart of the city node's SQL).

The function runs on a Dask worker: it takes plain values and the collection's path and returns small
frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo_app.analysis import coverage, green, grids, hotspots, response
from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.national import collection
from geo_app.store.coverage import COVERING_STATUSES
from geo_app.store.incidents import POINT_PRECISIONS

INCIDENT_COLUMNS = ["call_type", "category", "received_at", "arrived_at", "geocode_precision"]
OUTLINE_TOLERANCE_DEG = 0.0005
"""About 50 m: city outlines on the national map need no more."""


@dataclass(frozen=True)
class NationalSettings:
    """What every city is measured with, read once from the layer catalog and settings by the driver."""

    incident_call_types: tuple[str, ...]
    response_targets: dict[str, float]
    fire_radius_m: float
    h3_resolution: int = 8
    fire_asset_type: str = coverage.FIRE_ASSET_TYPE
    rth_targets: green.Targets = field(default_factory=green.Targets)

    @classmethod
    def from_catalog(cls, catalog: Catalog, fire_radius_m: float, h3_resolution: int = 8) -> NationalSettings:
        return cls(
            incident_call_types=tuple(catalog.incident_call_types),
            response_targets={
                code: entry.response_target_min for code, entry in catalog.incident_categories.items()
            },
            fire_radius_m=float(fire_radius_m),
            h3_resolution=h3_resolution,
        )


@dataclass
class CityAnalysis:
    code: str
    league: dict
    response: pd.DataFrame
    """Per category: incidents, compliance, median_min, p90_min (analysis.response.summarise)."""
    cells: pd.DataFrame
    """Hexagon cells: i, j, cell, count, x, y, z, p, bin (empty when there is not enough data)."""
    hotspot: dict
    """Grid, band and counts of the Gi* run, or ``error`` saying why there is none."""
    outline: shapely.Geometry
    """The city's kelurahan united, lon/lat, simplified for the national map."""
    h3_cells: list[str]
    """H3 cells of the national step whose centre lies in the city (so empty land counts as zero)."""


def metric_points(points: np.ndarray, city: CityContext) -> np.ndarray:
    """(x, y) in the city's metric CRS of the located points among ``points`` (lon/lat, None if unknown)."""
    located = points[~shapely.is_missing(points) & ~shapely.is_empty(points)]
    lonlat = shapely.get_coordinates(located)
    return np.column_stack(city.to_metric.transform(lonlat[:, 0], lonlat[:, 1])).reshape(-1, 2)


def read_emergencies(root: Path, code: str, call_types: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """Every call (call type, category, times) and the points (lon/lat) of the emergency calls located
    to a point (POINT_PRECISIONS, as the city node's hot spots): only those points are decoded from WKB."""
    table = collection.read_city_table(root, "incidents", code, [*INCIDENT_COLUMNS, "geometry"])
    calls = table.drop_columns(["geometry"]).to_pandas()
    emergency = (
        calls["call_type"].isin(call_types) & calls["geocode_precision"].isin(POINT_PRECISIONS)
    ).to_numpy()
    wkb = table.column("geometry").filter(pa.array(emergency)).to_numpy(zero_copy_only=False)
    return calls, shapely.from_wkb(wkb)


def hexagon_cells(xy: np.ndarray, area: shapely.Geometry, size: float) -> pd.DataFrame:
    """Every hexagon over ``area`` (zeros too) and every hexagon holding a point, with counts, ordered by
    (i, j): the rows the city node's ``store.incident_aggregates.hexagon_counts`` returns."""
    i, j = grids.hexagon_index(xy[:, 0], xy[:, 1], size)
    counted = pd.DataFrame({"i": i, "j": j}).value_counts().rename("count").reset_index()
    area_i, area_j = grids.hexagons_over(area, size)
    cells = pd.DataFrame({"i": area_i, "j": area_j}).merge(counted, on=["i", "j"], how="outer")
    cells = cells.fillna({"count": 0}).astype({"i": "int64", "j": "int64", "count": "int64"})
    cells = cells.sort_values(["i", "j"], ignore_index=True)
    cells["x"], cells["y"] = grids.hexagon_centre(cells["i"].to_numpy(), cells["j"].to_numpy(), size)
    cells.insert(0, "cell", cells["i"].astype(str) + "," + cells["j"].astype(str))
    return cells


def hexagon_hot_spots(xy: np.ndarray, area: shapely.Geometry) -> tuple[pd.DataFrame, dict]:
    """Gi* on the default hexagon grid of ``area`` (metric), as ``/api/analysis/hotspots`` answers
    without parameters: the cells with z, p and bin, and the description of the run."""
    west, south, east, north = area.bounds
    size = grids.default_hex_size(east - west, north - south)
    cells = hexagon_cells(xy, area, size)
    counts = cells["count"].to_numpy(dtype=float)
    description = {
        "grid": "hexagon",
        "cell_size_m": size,
        "cells": len(cells),
        "incidents": int(counts.sum()),
    }
    try:
        result = hotspots.hot_spots(counts, cells[["x", "y"]].to_numpy(), description["incidents"])
    except hotspots.NotEnoughData as exc:
        return cells.iloc[0:0].assign(z=[], p=[], bin=[]), {**description, "error": str(exc)}
    cells = cells.assign(z=result.z, p=result.p, bin=result.bins)
    return cells, {**description, "band_m": result.band_m, "band_choice": result.band.as_dict()}


def green_pieces(kelurahan: gpd.GeoDataFrame, green_areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Green polygons cut to each kelurahan they intersect (code, is_public, wkb; metric), as the city
    node's ``store.green.green_pieces`` gives them: whole when within, else the polygonal intersection
    (an empty piece where they only touch)."""
    if green_areas.empty:
        return pd.DataFrame({"code": [], "is_public": [], "wkb": []})
    area_index, green_index = shapely.STRtree(kelurahan.geometry.values).query(
        green_areas.geometry.values, predicate="intersects"
    )[::-1]
    areas = kelurahan.geometry.values[area_index]
    greens = green_areas.geometry.values[green_index]
    within = shapely.within(greens, areas)
    cut = shapely.intersection(greens, areas)
    polygonal = [_polygonal(piece) for piece in cut]
    pieces = np.where(within, greens, np.asarray(polygonal, dtype=object))
    return pd.DataFrame(
        {
            "code": kelurahan["code"].to_numpy()[area_index],
            "is_public": green_areas["is_public"].to_numpy(dtype=bool)[green_index],
            "wkb": shapely.to_wkb(pieces),
        }
    )


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of an intersection (ST_CollectionExtract(..., 3)): lines and points dropped."""
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def response_by_category(emergencies: pd.DataFrame, code: str, targets: dict[str, float]) -> tuple:
    """Per category and for the whole city: compliance, median and p90 of minutes to arrival."""
    arrived = emergencies[emergencies["arrived_at"].notna()]
    minutes = (arrived["arrived_at"] - arrived["received_at"]).dt.total_seconds() / 60.0
    records = [
        {"category": category, "minutes": value, "city": code}
        for category, value in zip(
            arrived["category"].to_numpy(dtype=object), minutes.to_numpy(dtype=float), strict=True
        )
    ]
    by_category = response.by_group(records, "category", targets)
    whole = response.by_group(records, "city", targets).get(code)
    table = pd.DataFrame(
        [{"category": name, "target_min": targets[name], **summary} for name, summary in by_category.items()],
        columns=["category", "target_min", "incidents", "compliance", "median_min", "p90_min"],
    )
    return table, whole


def kelurahan_frame(areas: gpd.GeoDataFrame, srid: int) -> gpd.GeoDataFrame:
    """The kelurahan in metres with their kecamatan's code and name and their area in hectares."""
    kecamatan = areas[areas["level"] == "kecamatan"].set_index("code")["name"]
    kelurahan = areas[areas["level"] == "kelurahan"].sort_values("code").to_crs(srid).reset_index(drop=True)
    return kelurahan.assign(
        kecamatan_code=kelurahan["parent_code"],
        kecamatan_name=kelurahan["parent_code"].map(kecamatan).fillna(kelurahan["parent_code"]),
        area_ha=kelurahan.geometry.area / 1e4,
    )


def fire_coverage(kelurahan: gpd.GeoDataFrame, assets: gpd.GeoDataFrame, settings: NationalSettings, srid):
    """City row of the straight-line coverage of fire posts (covered_pct, population_covered_pct, ...)."""
    posts = assets[
        (assets["asset_type"] == settings.fire_asset_type) & assets["status"].isin(COVERING_STATUSES)
    ].to_crs(srid)
    areas = coverage.Areas(
        codes=list(kelurahan["code"]),
        names=list(kelurahan["name"]),
        kecamatan_codes=list(kelurahan["kecamatan_code"]),
        kecamatan_names=list(kelurahan["kecamatan_name"]),
        population=kelurahan["population"].to_numpy(dtype=float, na_value=np.nan),
        geoms=kelurahan.geometry.to_numpy(),
    )
    if posts.empty:
        covered = np.array([shapely.Polygon()] * len(kelurahan), dtype=object)
    else:
        covered = coverage.covered_parts(
            areas, coverage.discs(posts.geometry.to_numpy(), settings.fire_radius_m)
        )
    _, city = coverage.summarise(coverage.coverage_table(areas, covered))
    return len(posts), city


def analyse_city(root: str, city: dict, settings: NationalSettings) -> CityAnalysis:
    """Everything the national run needs of one city, read from the collection at ``root``."""
    code, srid = city["code"], int(city["metric_srid"])
    root = Path(root)
    areas = collection.read_city_layer(root, "admin_areas", code)
    kelurahan = kelurahan_frame(areas, srid)
    outline = shapely.union_all(areas[areas["level"] == "kelurahan"].geometry.to_numpy())
    context = CityContext(code, city["name"], ZoneInfo(city["timezone"]), srid)
    incidents, points = read_emergencies(root, code, settings.incident_call_types)
    emergencies = incidents[incidents["call_type"].isin(settings.incident_call_types)]

    area_metric = shapely.transform(outline, lambda xy: np.column_stack(context.to_metric.transform(*xy.T)))
    cells, hotspot = hexagon_hot_spots(metric_points(points, context), area_metric)

    response_table, response_city = response_by_category(emergencies, code, settings.response_targets)
    fire_posts, fire = fire_coverage(
        kelurahan, collection.read_city_layer(root, "assets", code), settings, srid
    )
    green_areas = collection.read_city_layer(root, "green_areas", code, ["is_public"]).to_crs(srid)
    pieces = green_pieces(kelurahan, green_areas)
    kelurahan_table = pd.DataFrame(kelurahan.drop(columns="geometry"))
    rth = green.rth_statistics(
        green.green_by_kelurahan(kelurahan_table, pieces), code, city["name"], settings.rth_targets
    )
    kota = rth[rth["level"] == "kota"].iloc[0]

    population = None if pd.isna(city.get("population")) else int(city["population"])
    received = incidents["received_at"]
    league = {
        "code": code,
        "name": city["name"],
        "timezone": city["timezone"],
        "metric_srid": srid,
        "population": population,
        "period_start": received.min() if len(received) else None,
        "period_end": received.max() if len(received) else None,
        "calls": len(incidents),
        "emergencies": len(emergencies),
        "calls_per_1000": len(incidents) * 1000 / population if population else None,
        "emergencies_per_1000": len(emergencies) * 1000 / population if population else None,
        "response_incidents": response_city["incidents"] if response_city else 0,
        "response_compliance": response_city["compliance"] if response_city else None,
        "response_median_min": response_city["median_min"] if response_city else None,
        "fire_posts": fire_posts,
        "fire_area_share": _share(fire["covered_ha"], fire["area_ha"]),
        "fire_population_share": _share(fire["population_covered"], fire["population"]),
        "rth_share": float(kota["green_share"]),
        "rth_public_share": float(kota["public_share"]),
        "rth_deficit_ha": float(kota["green_deficit_ha"]),
        "rth_public_deficit_ha": float(kota["public_deficit_ha"]),
        "hotspot_cells": int((cells["bin"] > 0).sum()) if "bin" in cells else 0,
    }
    return CityAnalysis(
        code=code,
        league=league,
        response=response_table.assign(city_code=code),
        cells=cells.assign(city_code=code),
        hotspot={"city_code": code, **hotspot},
        outline=shapely.simplify(outline, OUTLINE_TOLERANCE_DEG),
        h3_cells=sorted(grids.h3_cells_of_polygon(shapely.geometry.mapping(outline), settings.h3_resolution)),
    )


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole and not pd.isna(whole) and whole > 0 else None
