#!/usr/bin/env python
"""Benchmarks of issue 3 (112 incidents) on 1,000,000 synthetic calls, in their own database
(default ``geo_app_bench_incidents``, created and loaded with the sample city on first use):

1. import the same CSV of 1,000,000 incidents with coordinates two ways, side by side, ``--import-runs``
   times each (the order alternates; medians are compared): ``ogr2ogr -f PostgreSQL ... --config
   PG_USE_COPY YES`` into a plain PostGIS table, and ``geo-app import-incidents`` (validation, kelurahan
   assignment, upsert into ``incidents``); then the same file again (nothing changes);
2. ``GET /api/analysis/hotspots`` (aggregation, Gi*, FDR) over the 1,000,000 incidents: median of
   ``--runs`` requests (target: at most 1.5 s), and esda's ``G_Local`` on the same cells and band;
3. the size of the ``/maps/hotspots`` page at 1,000,000 incidents (target: at most 2 MB).

Usage::

    .venv/bin/python scripts/bench/incidents.py [--rows 1000000] [--runs 5] [--import-runs 3]
        [--database NAME] [--keep-csv]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database
from tqdm import tqdm

from geo_app import create_app
from geo_app.catalog import load_catalog
from geo_app.db import bootstrap, connect
from geo_app.ingest.incidents import import_file
from geo_app.settings import Settings

TOKEN_USER = "bench-incidents"


def synthetic_csv(url: str, rows: int, path: Path, seed: int = 112) -> None:
    """``rows`` darurat calls inside the city: a uniform background and a few dense clusters, two years."""
    rng = np.random.default_rng(seed)
    with connect(url) as conn:
        city = shapely.from_wkb(
            conn.execute(
                "SELECT ST_AsBinary(ST_Union(geom)) AS g FROM admin_areas "
                "WHERE city_code = %s AND level = 'kelurahan'",
                (CITY,),
            ).fetchone()["g"]
        ).buffer(-0.0002)  # ~20 m inside the boundary: no point is lost to rounding to 6 decimals
    west, south, east, north = city.bounds
    categories = list(load_catalog(Settings.from_env().layers_dir).incident_categories)
    lon, lat = np.empty(0), np.empty(0)
    with tqdm(total=rows, desc="points", unit="pt") as progress:
        while len(lon) < rows:
            n = rows - len(lon)
            clustered = rng.random(n) < 0.35
            centres = rng.uniform([west, south], [east, north], (8, 2))
            pick = centres[rng.integers(0, 8, n)]
            x = np.where(clustered, pick[:, 0] + rng.normal(0, 0.004, n), rng.uniform(west, east, n))
            y = np.where(clustered, pick[:, 1] + rng.normal(0, 0.004, n), rng.uniform(south, north, n))
            inside = shapely.contains_xy(city, x, y)
            lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
            progress.update(int(inside.sum()) - max(0, len(lon) - rows))
    lon, lat = lon[:rows], lat[:rows]
    start = pd.Timestamp("2024-11-01", tz="Asia/Jakarta").value // 10**9
    received = start + rng.integers(0, 730 * 86400, rows)
    dispatched = received + rng.integers(60, 300, rows)
    arrived = dispatched + rng.gamma(3.0, 240.0, rows).astype(np.int64)
    frame = pd.DataFrame(
        {
            "external_id": [f"B{n:07d}" for n in range(rows)],
            "call_type": "darurat",
            "category": np.array(categories)[rng.integers(0, len(categories), rows)],
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "received_at": pd.to_datetime(received, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dispatched_at": pd.to_datetime(dispatched, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "arrived_at": pd.to_datetime(arrived, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": "closed",
        }
    )
    for chunk in tqdm(np.array_split(np.arange(rows), 10), desc="csv", unit="part"):
        frame.iloc[chunk].to_csv(path, mode="a", header=chunk[0] == 0, index=False)


def run_ogr2ogr(url: str, path: Path) -> float:
    """Seconds for ogr2ogr (COPY mode) to load the CSV as points into a fresh PostGIS table."""
    with connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_ogr_incidents")
        conn.commit()
    database = bootstrap.database_name(url)
    command = [
        "ogr2ogr", "-f", "PostgreSQL", f"PG:dbname={database} host=127.0.0.1 user=postgres", str(path),
        "-nln", "bench_ogr_incidents", "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat",
        "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom",
        "--config", "PG_USE_COPY", "YES",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def remove_bench_rows(url: str) -> None:
    """Back to the sample city: the rows of an earlier import and their dead space go."""
    with connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM incidents WHERE city_code = %s AND external_id LIKE 'B%%'", (CITY,))
        conn.execute("VACUUM FULL ANALYZE incidents")


def run_import(settings: Settings, path: Path) -> tuple[float, object]:
    started = time.perf_counter()
    result = import_file(settings, load_catalog(settings.layers_dir), path)
    return time.perf_counter() - started, result


def admin_client(app, url: str):
    from geo_app.auth import users

    with connect(url) as conn:
        exists = conn.execute("SELECT 1 FROM users WHERE username = %s", (TOKEN_USER,)).fetchone()
    if not exists:
        users.add_user(url, TOKEN_USER, "admin", None)
    token, _ = users.issue_token(url, TOKEN_USER, days=1, label="bench")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def time_requests(client, path: str, runs: int) -> tuple[float, object]:
    client.get(path)  # warm-up (pool, caches)
    timings, response = [], None
    for _ in tqdm(range(runs), desc=path[:40], unit="req"):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return statistics.median(timings), response


def compare_with_esda(url: str, size: float, band: float) -> dict[str, float]:
    """Seconds for Gi* on the request's cells and band: ours (z, p, FDR bins; and with the band search)
    and esda's G_Local (weights built by libpysal DistanceBand; z only, and with 999 permutations)."""
    import esda
    import libpysal

    from geo_app.analysis import hotspots
    from geo_app.store import incident_aggregates
    from geo_app.store.incidents import IncidentFilter

    with connect(url) as conn:
        filters = IncidentFilter(city_code=CITY, call_types=("darurat",))
        cells = incident_aggregates.hexagon_counts(conn, filters, size)
    xy = np.array([(c["x"], c["y"]) for c in cells])
    counts = np.array([c["count"] for c in cells], dtype=float)
    figures = {}
    started = time.perf_counter()
    hotspots.hot_spots(counts, xy, int(counts.sum()), band=band)
    figures["ours: Gi*, p, FDR bins"] = time.perf_counter() - started
    started = time.perf_counter()
    hotspots.hot_spots(counts, xy, int(counts.sum()))
    figures["ours: band search + Gi*, p, FDR bins"] = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for permutations in (0, 999):
            started = time.perf_counter()
            weights = libpysal.weights.DistanceBand(xy, threshold=band, binary=True, silence_warnings=True)
            esda.G_Local(counts, weights, transform="B", star=True, permutations=permutations)
            figures[f"esda: DistanceBand + G_Local, {permutations} permutations"] = (
                time.perf_counter() - started
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="requests per timed page")
    parser.add_argument("--import-runs", type=int, default=3, help="imports timed with each tool")
    parser.add_argument("--database", default="geo_app_bench_incidents")
    parser.add_argument(
        "--keep-csv", action="store_true", help="keep the generated CSV (its path is printed)"
    )
    args = parser.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: apt-get install -y gdal-bin")

    url = sample_city_database(args.database)
    settings = Settings.from_env(database_url=url, city_code=CITY)
    workdir = Path(tempfile.mkdtemp(prefix="geo-app-bench-"))
    csv_path = workdir / "incidents.csv"
    try:
        print(f"generating {args.rows:,} incidents into {csv_path}")
        synthetic_csv(url, args.rows, csv_path)
        print(f"CSV: {csv_path.stat().st_size / 1e6:.0f} MB")
        ogr_times, import_times = [], []
        for run in range(1, args.import_runs + 1):
            remove_bench_rows(url)
            # alternate which goes first: the machine's other load then falls on both alike
            for tool in ("ogr2ogr", "geo-app") if run % 2 else ("geo-app", "ogr2ogr"):
                if tool == "ogr2ogr":
                    ogr_times.append(run_ogr2ogr(url, csv_path))
                    print(f"  run {run}: ogr2ogr (PG_USE_COPY=YES) {ogr_times[-1]:.1f} s")
                else:
                    seconds, result = run_import(settings, csv_path)
                    import_times.append(seconds)
                    print(
                        f"  run {run}: geo-app import-incidents {seconds:.1f} s "
                        f"({result.inserted:,} new, {len(result.rejected)} rejected)"
                    )
        again_seconds, again = run_import(settings, csv_path)
        print(
            f"  same file again: {again_seconds:.1f} s ({again.unchanged:,} unchanged, {again.inserted} new)"
        )

        with connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE incidents")  # as autovacuum would after the import
        app = create_app(settings)
        client = admin_client(app, url)
        hotspot_seconds, response = time_requests(client, "/api/analysis/hotspots", args.runs)
        body = response.get_json()
        print(
            f"  hotspots: median {hotspot_seconds:.2f} s over {body['incidents']:,} incidents, "
            f"{body['cells']} cells of {body['cell_size_m']:g} m, band {body['band_m']:g} m"
        )
        for label, seconds in compare_with_esda(url, body["cell_size_m"], body["band_m"]).items():
            print(f"  {label}: {seconds * 1000:.0f} ms")
        page_seconds, page = time_requests(client, "/maps/hotspots", 1)
        print(f"  /maps/hotspots: {len(page.data) / 1e6:.3f} MB HTML in {page_seconds:.2f} s")
        app.extensions["db_pool"].close()

        print("\nsummary")
        print(
            f"  import {args.rows:,} rows, median of {args.import_runs}: geo-app "
            f"{statistics.median(import_times):.1f} s vs ogr2ogr {statistics.median(ogr_times):.1f} s "
            f"(geo-app {', '.join(f'{t:.1f}' for t in import_times)}; "
            f"ogr2ogr {', '.join(f'{t:.1f}' for t in ogr_times)})"
        )
        print(f"  hotspots request: {hotspot_seconds:.2f} s")
        print(f"  /maps/hotspots HTML: {len(page.data) / 1e6:.3f} MB")
    finally:
        if args.keep_csv:
            print(f"CSV kept at {csv_path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
