#!/usr/bin/env python
"""Benchmark: the national job over N synthetic cities (default 100 × 10^5 calls = 10^7) on 1 and 2 Dask
workers. Targets on the 2-core machine: per-city hot spots plus league tables at most 60 s with 2 workers,
at least 1.6 × faster than with 1.

The collection is written once by the sample generator (``geo-app make-national-sample``) into
``--collection`` and reused. Runs alternate between the worker counts (2, 1, 2, 1, ...), each on a fresh
LocalCluster of single-threaded worker processes, so load from other users of the machine affects both
alike; the load average is printed with every run. Per run: wall time of the per-city phase (league
tables and Gi* per city) and of the cross-border phase (dask-geopandas H3 counts and the national Gi*),
and each worker process's peak resident memory. Then one city's cells from the run are compared with the
city node's pure functions run directly on that city's files. Usage::

    .venv/bin/python scripts/bench/national.py [--cities 100] [--calls 100000] [--rounds 2]
        [--collection .local/bench/national] [--scheduler tcp://host:8786]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from geo_app.catalog import load_catalog
from geo_app.national import collection
from geo_app.national.city_analysis import NationalSettings, hexagon_hot_spots
from geo_app.national.run import dask_client, run_national
from geo_app.national.simulation import simulate_collection
from geo_app.settings import Settings
from geo_app.store.incidents import POINT_PRECISIONS


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM of its own address space (getrusage's ru_maxrss is
    inherited across fork and exec, so a worker would report its parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_collection(path: Path, cities: int, calls: int) -> None:
    cities_file = path / collection.CITIES_FILE
    if cities_file.exists():
        table = collection.read_cities(path)
        rows = collection.read_city_layer(path, "incidents", table["code"][0], ["call_type"])
        if len(table) == cities and len(rows) == calls:
            print(f"collection {path}: {cities} cities × {calls} calls, reused")
            return
        shutil.rmtree(path)
    started = time.perf_counter()
    with tqdm(total=cities, desc="writing cities", unit="city") as bar:
        simulate_collection(path, cities, calls, progress=lambda place: bar.update())
    size = sum(p.stat().st_size for p in path.rglob("*.parquet")) / 1e6
    print(f"collection written in {time.perf_counter() - started:.0f} s, {size:.0f} MB")


def one_run(path: Path, workers: int, scheduler: str | None, settings: NationalSettings, out: Path) -> dict:
    load_before = os.getloadavg()
    with dask_client(scheduler, workers) as client:
        run_dir = run_national(client, path, out, settings, progress=False)
        peaks = client.run(peak_rss_mb)
        cpu = client.run(time.process_time)
    seconds = json.loads((run_dir / "run.json").read_text())["seconds"]
    return {
        "workers": workers,
        "per_city_s": seconds["per_city"],
        "total_s": seconds["total"],
        "cross_border_s": round(seconds["total"] - seconds["per_city"], 2),
        "warm_up_s": seconds["warm_up"],
        "worker_cpu_s": round(sum(cpu.values()), 1),
        "peak_worker_mb": sorted(round(mb) for mb in peaks.values()),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "run_dir": run_dir,
    }


def check_city(path: Path, run_dir: Path, settings: NationalSettings, code: str) -> int:
    """The run's cells of one city against the city node's pure functions on the same files."""
    city = collection.read_cities(path).set_index("code").loc[code]
    incidents = collection.read_city_layer(path, "incidents", code, ["call_type", "geocode_precision"])
    areas = collection.read_city_layer(path, "admin_areas", code)
    emergencies = incidents[  # the calls the city node's hot spots count: emergencies located to a point
        incidents["call_type"].isin(settings.incident_call_types)
        & incidents["geocode_precision"].isin(POINT_PRECISIONS)
    ]
    outline = areas[areas["level"] == "kelurahan"].geometry.union_all()
    area = gpd.GeoSeries([outline], crs=4326).to_crs(int(city["metric_srid"])).iloc[0]
    located = emergencies.geometry.dropna().to_crs(int(city["metric_srid"]))
    expected, _ = hexagon_hot_spots(np.column_stack([located.x, located.y]), area)
    cells = pd.read_parquet(run_dir / "hotspot_cells.parquet")
    national = cells[cells["city_code"] == code].drop(columns="city_code").reset_index(drop=True)
    pd.testing.assert_frame_equal(national, expected)
    return len(expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=100)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per city")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (2 workers, 1 worker)")
    parser.add_argument("--collection", type=Path, default=Path(".local/bench/national"))
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"))
    args = parser.parse_args()

    app_settings = Settings.from_env()
    settings = NationalSettings.from_catalog(
        load_catalog(app_settings.layers_dir), app_settings.fire_coverage_radius_m
    )
    ensure_collection(args.collection, args.cities, args.calls)
    out = Path(tempfile.mkdtemp(prefix="national-bench-"))
    runs = []
    plan = [None] if args.scheduler else [2, 1] * args.rounds
    for workers in plan:
        result = one_run(args.collection, workers or 0, args.scheduler, settings, out)
        runs.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "run_dir"}))
    code = collection.read_cities(args.collection)["code"].iloc[-1]
    cells = check_city(args.collection, runs[-1]["run_dir"], settings, code)
    print(f"city {code}: {cells} cells equal to the city node's functions on its own files")
    if not args.scheduler:
        medians = {
            workers: statistics.median(r["per_city_s"] for r in runs if r["workers"] == workers)
            for workers in (1, 2)
        }
        print(
            f"{args.cities} cities × {args.calls} calls: per-city phase median "
            f"{medians[1]:.1f} s on 1 worker, "
            f"{medians[2]:.1f} s on 2 workers, speed-up {medians[1] / medians[2]:.2f}×"
        )
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
