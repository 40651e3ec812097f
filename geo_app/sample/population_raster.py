"""The sample city's population raster: people along roads and near the kelurahan centres (the
settlements), few in the industrial kelurahan, city forest and industrial green. Written as a WorldPop-like
GeoTIFF and loaded through ``geo-app import-population``'s importer, so the real path is the tested path."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from geo_app.ingest.population import import_raster
from geo_app.sample.city import SampleCity
from geo_app.sample.gazetteer import INDUSTRIAL_KELURAHAN
from geo_app.sample.reference import to_geographic, to_metric

# WorldPop's grid: 3 arc-seconds (about 93 m at the equator), people per pixel, in EPSG:4326.
RASTER_PIXEL_DEG = 3 / 3600
RASTER_NODATA = -99999.0
RASTER_MODEL = "sample_worldpop_like"
ROAD_REACH_M = 150.0  # people live along roads: weight halves about every 100 m away from the nearest road
SETTLEMENT_REACH_M = 1500.0  # and gather near the kelurahan centre, where the kampung are
SPARSE_GREEN = ("hutan_kota", "kawasan_industri_hijau")  # forest and industrial estates: few people
INDUSTRIAL_SHARE = 0.15


def population_weights(city: SampleCity, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """People per pixel centre (before scaling): along roads and near kelurahan centres, few in the
    industrial kelurahan, in city forest and industrial green; NaN outside the city."""
    points = to_metric(shapely.points(lon, lat))
    inside = shapely.contains_xy(city.facts.outline, shapely.get_x(points), shapely.get_y(points))
    roads = city.network.roads.geometry.to_numpy()
    _, road_m = shapely.STRtree(roads).query_nearest(points, return_distance=True, all_matches=False)
    centres = shapely.points(city.facts.kelurahan[["x", "y"]].to_numpy())
    _, centre_m = shapely.STRtree(centres).query_nearest(points, return_distance=True, all_matches=False)
    weight = np.exp(-road_m / ROAD_REACH_M) * (0.3 + np.exp(-centre_m / SETTLEMENT_REACH_M))
    kelurahan = city.kelurahan
    industrial = kelurahan[kelurahan["name"].isin(INDUSTRIAL_KELURAHAN)].geometry.to_numpy()
    sparse = city.green_areas[city.green_areas["green_type"].isin(SPARSE_GREEN)].geometry.to_numpy()
    for shapes, factor in ((industrial, INDUSTRIAL_SHARE), (sparse, 0.02)):
        tree = shapely.STRtree(shapes)
        hit = np.unique(tree.query(points, predicate="within")[0])
        weight[hit] *= factor
    return np.where(inside, weight, np.nan)


def write_population_raster(city: SampleCity, path: Path) -> None:
    """A WorldPop-like GeoTIFF of the sample city (EPSG:4326, 3″ pixels, people per pixel, nodata outside
    the city), its total the city's official population."""
    west, south, east, north = to_geographic(city.facts.outline).bounds
    columns = int(np.ceil((east - west) / RASTER_PIXEL_DEG))
    rows = int(np.ceil((north - south) / RASTER_PIXEL_DEG))
    lon, lat = np.meshgrid(
        west + RASTER_PIXEL_DEG * (np.arange(columns) + 0.5),
        north - RASTER_PIXEL_DEG * (np.arange(rows) + 0.5),
    )
    weights = population_weights(city, lon.ravel(), lat.ravel()).reshape(rows, columns)
    people = weights * city.facts.population / np.nansum(weights)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=columns,
        height=rows,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(west, north, RASTER_PIXEL_DEG, RASTER_PIXEL_DEG),
        nodata=RASTER_NODATA,
        compress="deflate",
    ) as dataset:
        dataset.write(np.where(np.isnan(people), RASTER_NODATA, people).astype("float32"), 1)


def load_population_grid(conn, city: SampleCity, source: str) -> int:
    """Write the sample raster and import it as the city's population grid (the real import path)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{RASTER_MODEL}_{city.facts.population_year}.tif"
        write_population_raster(city, path)
        report = import_raster(conn, city.facts.code, path, model=RASTER_MODEL, source=source)
    return report.cells
