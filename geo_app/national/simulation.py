"""N synthetic cities written straight into a national collection (no database), for benchmarks and tests.

Each synthetic city is the generated sample city (geo_app.sample) scaled and moved to a place of its own
across Indonesia: its geometries are the sample's metric geometries, scaled by a factor around the
sample's centre and set down in the UTM zone of the new centre, so every city has its own outline, UTM
zone and time zone (by longitude, roughly where WIB, WITA and WIT meet). Its calls are drawn with
replacement from the sample's calls and moved a few metres, so every city has ``calls_per_city`` calls
with the sample's mix of call types, categories, response times and clusters. Codes are 99.01, 99.02, ...
(then 98.01, ...): no real kabupaten/kota has them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo_app.city import WIB, WIT, WITA, utm_srid
from geo_app.national import collection
from geo_app.national.export import INCIDENT_FIELDS
from geo_app.sample.city import SampleCity, generate_sample_city

SEED = 1945
JITTER_M = 25.0
WEST, EAST, SOUTH, NORTH = 96.0, 140.0, -8.5, 4.0
"""Where the synthetic cities are set down: a regular grid over Indonesia's longitudes and latitudes."""
ASSET_COLUMNS = [
    "asset_type",
    "name",
    "status",
    "owner_opd",
    "dimension",
    "roadmap_phase",
    "coverage_radius_m",
]
GREEN_COLUMNS = ["green_type", "is_public", "managing_opd", "name", "valid_from"]
AREA_COLUMNS = [
    "code",
    "level",
    "name",
    "parent_code",
    "population",
    "population_year",
    "population_is_estimate",
]


@dataclass(frozen=True)
class Placement:
    code: str
    name: str
    lon: float
    lat: float
    scale: float
    metric_srid: int
    timezone: str


def synthetic_code(index: int) -> str:
    """99.01 ... 99.99, then 98.01 ...: the index-th synthetic city's code."""
    return f"{99 - index // 99:02d}.{index % 99 + 1:02d}"


def timezone_at(lon: float) -> str:
    """WIB west of 115° E, WITA to 126° E, WIT east of it: close to the province borders they follow."""
    return WIB if lon < 115.0 else WITA if lon < 126.0 else WIT


def placements(count: int, seed: int = SEED) -> list[Placement]:
    """Where each synthetic city goes, spread over a grid of Indonesia, with a scale of 0.7-1.4."""
    rng = np.random.default_rng(seed)
    columns = max(1, int(np.ceil(np.sqrt(count * 3.5))))
    rows = max(1, int(np.ceil(count / columns)))
    found = []
    for index in range(count):
        row, column = divmod(index, columns)
        lon = WEST + (EAST - WEST) * (column + 0.5) / columns
        lat = SOUTH + (NORTH - SOUTH) * (row + 0.5) / rows
        code = synthetic_code(index)
        found.append(
            Placement(
                code,
                f"Kota Sintetis {code}",
                lon,
                lat,
                float(rng.uniform(0.7, 1.4)),
                utm_srid(lon, lat),
                timezone_at(lon),
            )
        )
    return found


def mover(template: SampleCity, place: Placement) -> Callable:
    """Geometries of the sample (metric) -> the synthetic city's geometries (lon/lat)."""
    centre = template.kelurahan.geometry.union_all().centroid
    target_x, target_y = Transformer.from_crs(4326, place.metric_srid, always_xy=True).transform(
        place.lon, place.lat
    )
    to_lonlat = Transformer.from_crs(place.metric_srid, 4326, always_xy=True)

    def move_xy(xy: np.ndarray) -> np.ndarray:
        x = (xy[:, 0] - centre.x) * place.scale + target_x
        y = (xy[:, 1] - centre.y) * place.scale + target_y
        return np.column_stack(to_lonlat.transform(x, y))

    def move(geometries: gpd.GeoSeries) -> gpd.GeoSeries:
        return gpd.GeoSeries(shapely.transform(geometries.to_numpy(), move_xy), crs=4326)

    return move


def _recode(values: pd.Series, template_code: str, code: str) -> pd.Series:
    return values.where(values.isna(), values.str.replace(template_code, code, n=1, regex=False))


def city_layers(template: SampleCity, place: Placement, calls: int, rng: np.random.Generator) -> dict:
    """The four layers of one synthetic city, in the collection's columns."""
    move = mover(template, place)
    source = template.facts.code
    areas = template.areas.assign(
        code=_recode(template.areas["code"], source, place.code),
        parent_code=_recode(template.areas["parent_code"], source, place.code),
        name=template.areas["name"].where(template.areas["level"] != "kota", place.name),
        population=np.round(template.areas["population"] * place.scale**2).astype("int64"),
    )
    names = areas.set_index("code")["name"]

    drawn = template.incidents.iloc[rng.integers(0, len(template.incidents), calls)].reset_index(drop=True)
    located = drawn.geometry.notna().to_numpy()
    jitter = rng.normal(0.0, JITTER_M / place.scale, (int(located.sum()), 2))
    metric = shapely.transform(drawn.geometry.to_numpy()[located], lambda xy: xy + jitter)
    geometry = np.full(calls, None, dtype=object)
    geometry[located] = move(gpd.GeoSeries(metric)).to_numpy()
    incidents = pd.DataFrame({"id": np.arange(1, calls + 1, dtype="int64")})
    for name in INCIDENT_FIELDS:
        if name in drawn.columns and name != "id":
            incidents[name] = drawn[name].to_numpy()
    for name in ("kelurahan_code", "kecamatan_code"):
        incidents[name] = _recode(drawn[name], source, place.code).to_numpy()
    incidents["kelurahan_name"] = incidents["kelurahan_code"].map(names)
    incidents["kecamatan_name"] = incidents["kecamatan_code"].map(names)
    for name in ("received_at", "dispatched_at", "arrived_at", "closed_at"):
        incidents[name] = incidents[name].dt.tz_convert("UTC")
    incidents = incidents[list(INCIDENT_FIELDS)]

    green = template.green_areas[template.green_areas["valid_to"].isna()]
    return {
        "incidents": gpd.GeoDataFrame(incidents, geometry=gpd.GeoSeries(geometry, crs=4326)),
        "assets": gpd.GeoDataFrame(
            template.assets[ASSET_COLUMNS].assign(
                id=np.arange(1, len(template.assets) + 1),
                kelurahan_code=_recode(template.assets["kelurahan_code"], source, place.code),
            ),
            geometry=move(template.assets.geometry),
        ),
        "green_areas": gpd.GeoDataFrame(
            green[GREEN_COLUMNS].assign(id=green["feature"].to_numpy()).reset_index(drop=True),
            geometry=move(green.geometry).to_numpy(),
            crs=4326,
        ),
        "admin_areas": gpd.GeoDataFrame(
            areas[AREA_COLUMNS], geometry=move(template.areas.geometry).to_numpy(), crs=4326
        ),
    }


def simulate_collection(
    out_dir: Path, cities: int, calls_per_city: int, seed: int = SEED, progress: Callable | None = None
) -> list[Placement]:
    """Write ``cities`` synthetic cities of ``calls_per_city`` calls each into the collection ``out_dir``."""
    template = generate_sample_city()
    streams = np.random.SeedSequence(seed).spawn(cities)
    places = placements(cities, seed)
    for place, stream in zip(places, streams, strict=True):
        layers = city_layers(template, place, calls_per_city, np.random.default_rng(stream))
        for layer, frame in layers.items():
            collection.write_city_layer(out_dir, layer, place.code, [frame])
        kelurahan = layers["admin_areas"][layers["admin_areas"]["level"] == "kelurahan"]
        collection.write_city_row(
            out_dir,
            {
                "code": place.code,
                "name": place.name,
                "timezone": place.timezone,
                "metric_srid": place.metric_srid,
                "population": int(kelurahan["population"].sum()),
            },
        )
        if progress:
            progress(place)
    return places
