"""Write the sample city as files people can open or import elsewhere: one GeoPackage with every layer
(lon/lat, EPSG:4326), the 112 calls as CSV in the layout ``geo-app import-incidents`` reads, and the roads,
landmarks and places as the OpenStreetMap file ``geo-app import-osm`` reads. Callers' names and phone
numbers are not written."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from tqdm import tqdm

from geo_app.sample.city import SampleCity, generate_sample_city
from geo_app.sample.osm import write_sample_osm
from geo_app.sample.reference import GEOGRAPHIC_SRID, to_geographic

GEOPACKAGE = "sample_city.gpkg"
INCIDENTS_CSV = "incidents.csv"
OSM_XML = "sample_city.osm"


def _geographic(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lon/lat copy with values every file format can hold (lists and dicts as text)."""
    frame = frame.copy()
    frame["geometry"] = to_geographic(frame.geometry.to_numpy())
    for column in frame.columns.drop("geometry"):
        sample = frame[column].dropna()
        if len(sample) and isinstance(sample.iloc[0], tuple | list):
            frame[column] = frame[column].map(lambda v: ";".join(v) if v is not None else None)
        elif len(sample) and isinstance(sample.iloc[0], dict):
            frame[column] = frame[column].map(json.dumps)
        elif len(sample) and not isinstance(sample.iloc[0], str | int | float | bool | pd.Timestamp):
            frame[column] = frame[column].astype(str).where(frame[column].notna(), None)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=GEOGRAPHIC_SRID)


def _iso_local(times: pd.Series) -> pd.Series:
    """ISO 8601 local times with their offset (``2026-10-31T23:59:00+07:00``); blank when missing.
    Formatting naive local times is far faster than per-value offsets; one offset serves every value,
    as Indonesia's zones keep no daylight saving time."""
    offset = times.dropna().iloc[0].strftime("%z") if times.notna().any() else "+0000"
    return times.dt.tz_localize(None).dt.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


def sample_layers(city: SampleCity) -> dict[str, gpd.GeoDataFrame]:
    layers = {level: city.areas[city.areas["level"] == level] for level in ("kota", "kecamatan", "kelurahan")}
    layers.update(
        road_nodes=city.network.nodes,
        roads=city.network.roads,
        gazetteer=city.gazetteer,
        assets=city.assets,
        green_areas=city.green_areas,
        incidents=city.incidents[city.incidents.geometry.notna()],
    )
    return layers


def write_sample_files(
    out_dir: Path, progress: bool = True, city: SampleCity | None = None
) -> dict[str, int]:
    """Write the sample city (generated unless given) under ``out_dir``; returns the rows per layer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    city = city or generate_sample_city()
    geopackage = out_dir / GEOPACKAGE
    geopackage.unlink(missing_ok=True)
    counts = {}
    for name, frame in tqdm(sample_layers(city).items(), desc="writing layers", disable=not progress):
        _geographic(frame).to_file(geopackage, layer=name, driver="GPKG")
        counts[name] = len(frame)
    incidents = city.incidents
    points = to_geographic(incidents.geometry.to_numpy())
    # The columns `geo-app import-incidents` reads: the kelurahan is derived from the point on import.
    table = pd.DataFrame(incidents.drop(columns=["geometry", "kelurahan_code", "kecamatan_code"])).assign(
        lon=shapely.get_x(points).round(6), lat=shapely.get_y(points).round(6)
    )
    for column in table.columns[table.dtypes.map(lambda dtype: isinstance(dtype, pd.DatetimeTZDtype))]:
        table[column] = _iso_local(table[column])
    table.to_csv(out_dir / INCIDENTS_CSV, index=False)
    counts["incidents.csv"] = len(table)
    write_sample_osm(city, out_dir / OSM_XML)
    counts[OSM_XML] = len(city.network.roads)
    return counts
