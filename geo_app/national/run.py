"""``geo-app national``: the national analyses of a collection on a Dask cluster, written to a run folder.

The cluster is a ``LocalCluster`` of ``workers`` single-threaded worker processes by default, or the
cluster whose scheduler is at ``scheduler`` (``--scheduler`` or the DASK_SCHEDULER_ADDRESS variable; TLS
and credentials come from Dask's own configuration, see README). Every worker reads the collection by
its path, so on a real cluster the collection must be on storage all workers mount at the same path.

One task per city (largest first, so the long ones do not come last) computes its league figures and
hot spots (``city_analysis``); the cross-border step counts all cities' calls on H3 through
dask-geopandas and runs one Gi* (``cross_border``). A run folder holds:

    league.parquet / league.csv            one row per city
    response_by_category.parquet / .csv    compliance, median, p90 per city and category
    hotspot_cells.parquet                  per-city hexagon cells with count, z, p, bin
    hotspots.json                          per city: grid, band, cells, incidents (or why none)
    national_hotspots.parquet / .json      the national H3 cells with z, p, bin; and the run's band
    cities.parquet                         GeoParquet of city outlines with their league figures
    run.json                               collection, cluster, settings and timings

and ``LATEST`` beside the run folders names the newest complete one (written last, atomically).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
from distributed import Client, LocalCluster, as_completed
from tqdm import tqdm

from geo_app.national import collection, cross_border
from geo_app.national.city_analysis import CityAnalysis, NationalSettings, analyse_city

LATEST_FILE = "LATEST"


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int, processes: bool = True) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a LocalCluster of ``workers`` one-thread workers
    (processes, unless ``processes`` is False) that is shut down afterwards."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            **({"host": "127.0.0.1"} if processes else {}),  # threads talk in-process, not over TCP
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _incident_bytes(root: Path, code: str) -> int:
    return sum(path.stat().st_size for path in collection.city_folder(root, "incidents", code).glob("*"))


def analyse_cities(
    client: Client, root: Path, settings: NationalSettings, progress: bool
) -> list[CityAnalysis]:
    """One task per city on the cluster, largest incident files first; results in city-code order."""
    cities = collection.read_cities(root)
    if cities.empty:
        raise collection.CollectionError(
            f"{root}: no cities table; export a city with geo-app export-parquet"
        )
    rows = sorted(cities.to_dict("records"), key=lambda row: -_incident_bytes(root, row["code"]))
    futures = client.map(analyse_city, [str(root)] * len(rows), rows, [settings] * len(rows), pure=False)
    results = []
    with tqdm(total=len(futures), desc="cities", unit="city", disable=not progress) as bar:
        for future in as_completed(futures):
            results.append(future.result())
            bar.update()
    return sorted(results, key=lambda result: result.code)


def run_national(
    client: Client, root: Path, out_dir: Path, settings: NationalSettings, progress: bool = True
) -> Path:
    """Run every analysis of the collection at ``root`` and write a new run folder under ``out_dir``."""
    root, out_dir = Path(root).resolve(), Path(out_dir)
    started = time.perf_counter()
    client.run(importlib.import_module, analyse_city.__module__)  # each worker loads the code once
    warm_up_s = time.perf_counter() - started
    started = time.perf_counter()
    results = analyse_cities(client, root, settings, progress)
    per_city_s = time.perf_counter() - started
    counts = cross_border.count_emergencies(root, settings.h3_resolution, settings.incident_call_types)
    national_cells, national = cross_border.national_hot_spots(
        counts, {result.code: result.h3_cells for result in results}
    )
    total_s = time.perf_counter() - started
    stamp = datetime.now(UTC)
    run_dir = out_dir / f"{stamp:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True)
    write_results(run_dir, results, national_cells, {**national, "h3_resolution": settings.h3_resolution})
    run = {
        "collection": str(root),
        "finished_at": stamp.isoformat(),
        "cities": len(results),
        "workers": len(client.scheduler_info()["workers"]),
        "scheduler": client.scheduler.address,
        "settings": dataclasses.asdict(settings),
        "seconds": {
            "warm_up": round(warm_up_s, 2),
            "per_city": round(per_city_s, 2),
            "total": round(total_s, 2),
        },
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    latest = out_dir / f".{LATEST_FILE}.{uuid.uuid4().hex}"
    latest.write_text(run_dir.name, encoding="utf-8")
    os.replace(latest, out_dir / LATEST_FILE)
    return run_dir


def write_results(run_dir: Path, results: list[CityAnalysis], national_cells: pd.DataFrame, national: dict):
    league = pd.DataFrame([result.league for result in results])
    league.to_parquet(run_dir / "league.parquet", index=False)
    league.to_csv(run_dir / "league.csv", index=False)
    responses = pd.concat([result.response for result in results], ignore_index=True)
    responses.to_parquet(run_dir / "response_by_category.parquet", index=False)
    responses.to_csv(run_dir / "response_by_category.csv", index=False)
    cells = pd.concat([result.cells for result in results], ignore_index=True)
    cells.to_parquet(run_dir / "hotspot_cells.parquet", index=False)
    hotspots = [result.hotspot for result in results]
    (run_dir / "hotspots.json").write_text(json.dumps(hotspots, indent=2), encoding="utf-8")
    national_cells.to_parquet(run_dir / "national_hotspots.parquet", index=False)
    (run_dir / "national_hotspots.json").write_text(json.dumps(national, indent=2), encoding="utf-8")
    outlines = gpd.GeoDataFrame(league, geometry=[result.outline for result in results], crs=4326)
    outlines.to_parquet(run_dir / "cities.parquet", index=False)


def latest_run(out_dir: Path) -> Path | None:
    """The newest complete run folder under ``out_dir`` (named by LATEST), or None."""
    marker = Path(out_dir) / LATEST_FILE
    if not marker.exists():
        return None
    run_dir = Path(out_dir) / marker.read_text(encoding="utf-8").strip()
    return run_dir if run_dir.is_dir() else None
