"""Hot spots that cross city borders: emergency calls of every city summed on one national grid, then
one Gi* over it.

The grid is H3 (resolution 8 by default, cells of ~0.74 km², ~0.46 km edge, the city node's own H3
default): a city's hexagons are drawn in its own UTM zone (eight of them across Indonesia), so two
neighbouring cities' hexagons do not line up, while an H3 cell is the same cell whoever counts into it. A
cell's count is the sum over cities, and every H3 cell whose centre lies in some city is on the grid
with zero calls if it has none, as on the city node's H3 grid.

Gi* needs distances between cell centres: they are taken in World Mercator (EPSG:3395), which is true to
scale along the equator Indonesia straddles and conformal, so the hexagons keep their shape; its scale
error is at most 1.9 % (Pulau Rote, 11° S) and under 1 % for most cities, so the band is "about" the
metres it says. The band is chosen from the national cells with the city node's rule
(``analysis.hotspots.choose_band``).

Counting reads the incidents dataset through dask-geopandas on the cluster: one partition per part
file, each counted into H3 cells by ``geo_app.analysis.grids``, then summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from geo_app.analysis import grids, hotspots
from geo_app.store.incidents import POINT_PRECISIONS

NATIONAL_METRIC_SRID = 3395
COUNT_META = pd.DataFrame({"cell": pd.Series(dtype=str), "count": pd.Series(dtype="int64")})


def h3_counts(partition: gpd.GeoDataFrame, resolution: int, call_types: Sequence[str]) -> pd.DataFrame:
    """Calls of ``call_types`` located to a point (POINT_PRECISIONS) per H3 cell in one partition."""
    chosen = partition[
        partition["call_type"].isin(call_types) & partition["geocode_precision"].isin(POINT_PRECISIONS)
    ].geometry
    chosen = chosen[chosen.notna() & ~chosen.is_empty]
    cells = grids.h3_cells_of_points(chosen.y.to_numpy(), chosen.x.to_numpy(), resolution)
    counted = pd.Series(cells, dtype=str).value_counts()
    return pd.DataFrame({"cell": counted.index.astype(str), "count": counted.to_numpy(dtype="int64")})


def count_emergencies(root: Path, resolution: int, call_types: Sequence[str]) -> pd.Series:
    """Located emergency calls per H3 cell over every city of the collection (on the current Dask
    client), indexed by cell."""
    incidents = dask_geopandas.read_parquet(
        str(Path(root) / "incidents"),
        columns=["call_type", "geocode_precision", "geometry"],
        filters=[("call_type", "in", list(call_types))],  # only these rows are decoded
    )
    counts = incidents.map_partitions(h3_counts, resolution, tuple(call_types), meta=COUNT_META)
    return counts.groupby("cell")["count"].sum().compute()


def national_hot_spots(counts: pd.Series, city_cells: dict[str, Sequence[str]]) -> tuple[pd.DataFrame, dict]:
    """Gi* over the national H3 grid: every cell of ``city_cells`` (city code -> cells inside it) and
    every cell in ``counts``. Returns the cells (cell, cities, count, lon, lat, z, p, bin) and the run's
    description."""
    cities_of: dict[str, list[str]] = {}
    for code, cells in city_cells.items():
        for cell in cells:
            cities_of.setdefault(cell, []).append(code)
    names = sorted(set(cities_of) | set(counts.index))
    values = counts.reindex(names, fill_value=0).to_numpy(dtype=float)
    lonlat = np.array([grids.h3_centre(cell) for cell in names], dtype=float).reshape(-1, 2)
    to_metric = Transformer.from_crs(4326, NATIONAL_METRIC_SRID, always_xy=True)
    xy = np.column_stack(to_metric.transform(lonlat[:, 0], lonlat[:, 1])).reshape(-1, 2)
    table = pd.DataFrame(
        {
            "cell": names,
            "cities": [",".join(sorted(cities_of.get(cell, []))) for cell in names],
            "count": values.astype("int64"),
            "lon": lonlat[:, 0],
            "lat": lonlat[:, 1],
        }
    )
    description = {"grid": "h3", "metric_srid": NATIONAL_METRIC_SRID, "cells": len(names)}
    description["incidents"] = int(values.sum())
    try:
        result = hotspots.hot_spots(values, xy, int(values.sum()))
    except hotspots.NotEnoughData as exc:
        return table.iloc[0:0].assign(z=[], p=[], bin=[]), {**description, "error": str(exc)}
    table = table.assign(z=result.z, p=result.p, bin=result.bins)
    return table, {**description, "band_m": result.band_m, "band_choice": result.band.as_dict()}
