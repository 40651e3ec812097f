"""The city's real facts from ``data/reference/`` (codes, names, points, populations, outline).

Everything the sample generator makes up is built on these; they are read from the repository, never from
outside it, so the project runs on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import LineString, Polygon

from geo_app.settings import REPO_DIR

REFERENCE_DIR = REPO_DIR / "data" / "reference"
GEOGRAPHIC_SRID = 4326
METRIC_SRID = 32748
"""Cilegon's UTM zone (48S): the sample city's facts; every other city's comes from its cities row."""
TIMEZONE = "Asia/Jakarta"
"""Cilegon's local time (WIB), in which the sample's calls and green-area dates are generated."""
SAMPLE_SOURCE = "sample data generator (geo_app.sample)"

_TO_METRIC = Transformer.from_crs(GEOGRAPHIC_SRID, METRIC_SRID, always_xy=True)
_TO_GEOGRAPHIC = Transformer.from_crs(METRIC_SRID, GEOGRAPHIC_SRID, always_xy=True)


def to_metric(geometry):
    """Geometry (or array of geometries) from lon/lat to metres in METRIC_SRID."""
    return shapely.transform(geometry, lambda xy: _xy(_TO_METRIC, xy))


def to_geographic(geometry):
    """Geometry (or array of geometries) from metres in METRIC_SRID to lon/lat."""
    return shapely.transform(geometry, lambda xy: _xy(_TO_GEOGRAPHIC, xy))


def _xy(transformer: Transformer, xy: np.ndarray) -> np.ndarray:
    return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))


@dataclass(frozen=True)
class CityFacts:
    """The reference tables, with the outline and coast already in metres."""

    code: str
    name: str
    official_area_km2: float
    official_area_source: str
    population: int
    population_source: str
    population_year: int
    kecamatan: pd.DataFrame  # code, name, name_variants, population, population_source, population_year
    kelurahan: pd.DataFrame  # code, name, name_variants, kecamatan_code, kecamatan_name, lon, lat, x, y
    outline: Polygon  # metric
    coast: LineString  # metric: the Sunda Strait coast, the western and northern edge of the outline


def _variants(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in str(cell).split(";") if part.strip())


@cache
def load_facts(reference_dir: Path = REFERENCE_DIR) -> CityFacts:
    """Read data/reference/*.csv once per process."""
    city = pd.read_csv(reference_dir / "city.csv", dtype={"code": str}).iloc[0]
    kecamatan = pd.read_csv(reference_dir / "kecamatan.csv", dtype={"code": str}, keep_default_na=False)
    kecamatan["name_variants"] = kecamatan["name_variants"].map(_variants)
    kelurahan = pd.read_csv(
        reference_dir / "kelurahan.csv", dtype={"code": str, "kecamatan_code": str}, keep_default_na=False
    )
    kelurahan["name_variants"] = kelurahan["name_variants"].map(_variants)
    points = to_metric(shapely.points(kelurahan["lon"].to_numpy(), kelurahan["lat"].to_numpy()))
    kelurahan["x"] = shapely.get_x(points)
    kelurahan["y"] = shapely.get_y(points)
    vertices = pd.read_csv(reference_dir / "city_outline.csv")[["lon", "lat"]].to_numpy()
    outline = to_metric(Polygon(vertices))
    # The outline starts on the south-western coast and follows the sea up to its northernmost vertex.
    northernmost = int(vertices[:, 1].argmax())
    coast = to_metric(LineString(vertices[: northernmost + 1]))
    return CityFacts(
        code=str(city["code"]),
        name=str(city["name"]),
        official_area_km2=float(city["official_area_km2"]),
        official_area_source=str(city["official_area_source"]),
        population=int(city["population"]),
        population_source=str(city["population_source"]),
        population_year=int(city["population_year"]),
        kecamatan=kecamatan,
        kelurahan=kelurahan,
        outline=outline,
        coast=coast,
    )
