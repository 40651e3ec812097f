"""A national collection: GeoParquet per layer, partitioned by city code, plus a small cities table.

    COLLECTION/cities.parquet                              code, name, timezone, metric_srid, population
    COLLECTION/incidents/city_code=36.72/part-0.parquet    one dataset per layer (LAYERS), hive-style
    COLLECTION/assets/city_code=36.72/part-0.parquet
    ...

The city code is a partition *string* in the folder name and nowhere else, written from a plain string
(a categorical partition column makes writers emit a folder for every category of every partition) and
declared as a string when read (``layer_dataset``): pandas and Dask infer the partition as a categorical,
and a reader that parses it as a number turns ``99.10`` into ``99.1``. A
city's folder is replaced whole (written beside it, then renamed), so a reader never sees half a city.
Geometries are longitude/latitude (EPSG:4326) and times UTC; each city's metric CRS and time zone are in
the cities table.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

LAYERS = ("incidents", "assets", "green_areas", "admin_areas")
CITIES_FILE = "cities.parquet"
CITY_COLUMNS = ("code", "name", "timezone", "metric_srid", "population")
CITY_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}")
PARTITIONING = ds.partitioning(pa.schema([("city_code", pa.string())]), flavor="hive")


class CollectionError(ValueError):
    """A collection or city that cannot be read or written; the message says what to fix."""


def checked_code(code: str) -> str:
    """A Kemendagri kabupaten/kota code (36.72): the only thing that may become a folder name."""
    if not CITY_CODE.fullmatch(code):
        raise CollectionError(f"city code {code!r}: use the Kemendagri code of the city, e.g. 36.72")
    return code


def city_folder(root: Path, layer: str, code: str) -> Path:
    return Path(root) / layer / f"city_code={checked_code(code)}"


def write_city_layer(root: Path, layer: str, code: str, parts: Iterable[gpd.GeoDataFrame]) -> int:
    """Replace the city's folder of ``layer`` with ``parts`` (part-0, part-1, ...); returns the rows
    written. The frames must not carry ``city_code``: the folder name is the partition."""
    target = city_folder(root, layer, code)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}"
    staging.mkdir()
    rows = 0
    try:
        for number, part in enumerate(parts):
            if "city_code" in part.columns:
                raise CollectionError(f"{layer}: city_code is the partition folder, not a column")
            part.to_parquet(staging / f"part-{number}.parquet", index=False)
            rows += len(part)
        retired = target.parent / f".{target.name}.old.{uuid.uuid4().hex}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


def read_city_layer(root: Path, layer: str, code: str, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """One city's rows of ``layer`` (all its part files), geometry included whatever ``columns`` says."""
    files = _part_files(root, layer, code)
    wanted = None if columns is None else list(dict.fromkeys([*columns, "geometry"]))
    frames = [gpd.read_parquet(path, columns=wanted) for path in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def read_city_table(root: Path, layer: str, code: str, columns: list[str]) -> pa.Table:
    """One city's ``columns`` of ``layer`` as an Arrow table: geometry stays WKB, for a caller that decodes
    only the rows it needs."""
    return pa.concat_tables(pq.read_table(path, columns=columns) for path in _part_files(root, layer, code))


def _part_files(root: Path, layer: str, code: str) -> list[Path]:
    folder = city_folder(root, layer, code)
    files = sorted(folder.glob("part-*.parquet"), key=lambda path: int(path.stem.split("-")[1]))
    if not files:
        raise CollectionError(f"{folder}: no part files; export the city with geo-app export-parquet")
    return files


def layer_dataset(root: Path, layer: str) -> ds.Dataset:
    """Every city of ``layer`` as one pyarrow dataset, with city_code read as the string it is."""
    return ds.dataset(Path(root) / layer, format="parquet", partitioning=PARTITIONING)


def read_cities(root: Path) -> pd.DataFrame:
    """The cities table (empty, with its columns, when the collection has none yet)."""
    path = Path(root) / CITIES_FILE
    if not path.exists():
        return pd.DataFrame({name: pd.Series(dtype=object) for name in CITY_COLUMNS})
    return pd.read_parquet(path)


def write_city_row(root: Path, row: dict) -> None:
    """Add or replace one city's row of the cities table (written beside it, then renamed)."""
    checked_code(row["code"])
    cities = read_cities(root)
    cities = cities[cities["code"] != row["code"]]
    new = pd.DataFrame([{name: row.get(name) for name in CITY_COLUMNS}])
    cities = new if cities.empty else pd.concat([cities, new], ignore_index=True)
    cities = cities.sort_values("code", ignore_index=True)
    write_cities(root, cities)


def write_cities(root: Path, cities: pd.DataFrame) -> None:
    """The whole cities table, code and name as strings and population as a nullable whole number."""
    table = pd.DataFrame(
        {
            "code": cities["code"].astype(str),
            "name": cities["name"].astype(str),
            "timezone": cities["timezone"].astype(str),
            "metric_srid": cities["metric_srid"].astype("int64"),
            "population": pd.array(cities["population"], dtype="Int64"),
        }
    )
    Path(root).mkdir(parents=True, exist_ok=True)
    staging = Path(root) / f".{CITIES_FILE}.{uuid.uuid4().hex}"
    table.to_parquet(staging, index=False)
    os.replace(staging, Path(root) / CITIES_FILE)
